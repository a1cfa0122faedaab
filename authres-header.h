/*
 * authres-header.h - the header parsing smtp-authres does itself
 * (authres-header.c): pure functions, fuzzed alone (fuzz_authres_header).
 */
#ifndef AUTHRES_HEADER_H
#define AUTHRES_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* One header field: its octets [off, off + len) in the header block,
 * continuation lines and the final line end included; name_len octets
 * of field name (0 for a line without a colon or one that starts
 * with white space before any field). */
struct ah_field {
	size_t off, len, name_len;
};

/* Splits the header block at the start of buf (len octets) into fields.
 * The header ends at the first empty line (LF or CRLF); *body is the
 * offset after it, or len when there is none (a message without a
 * body).  At most max fields; returns the count, or -1 when there are
 * more. */
long ah_split(const char *buf, size_t len, struct ah_field *f, size_t max,
	      size_t *body);

/* True when field f of buf is named name (ASCII case-insensitive; white
 * space before the colon is allowed, RFC 5322 4.5). */
bool ah_name_is(const char *buf, const struct ah_field *f, const char *name);

/* RFC 5322 2.2.3 unfolding of in (len octets): every line end (CRLF or
 * bare LF) followed by SP or HTAB is removed, and so is the final line
 * end.  Writes at most cap - 1 octets and a NUL; returns the length the
 * whole result has (as snprintf: >= cap means it was cut). */
size_t ah_unfold(const char *in, size_t len, char *out, size_t cap);

/* The authserv-id of an Authentication-Results value (RFC 8601 2.2:
 * [CFWS] value, a token or quoted-string), NUL-terminated in out;
 * its length, or -1 when there is none or it does not fit. */
long ah_authserv_id(const char *value, size_t len, char *out, size_t cap);

/* True when the Authentication-Results value names id as its
 * authserv-id, ASCII case-insensitively (RFC 8601 5: such a field in
 * arriving mail is a forgery to remove). */
bool ah_is_ours(const char *value, size_t len, const char *id);

/* The domain of the one address in a From value (RFC 5322 3.6.2,
 * RFC 7489 6.6.1), lower-cased, without a trailing dot, into out
 * (cap octets).  1: found; 0: no usable domain (no address, a domain
 * literal, a character outside letters, digits, '-' and '.', or an
 * empty label); -1: more than one address. */
int ah_from_domain(const char *value, size_t len, char *out, size_t cap);

/* The d= tag of a DKIM-Signature value (unfolded; RFC 6376 3.2 tag
 * list, tag names case-sensitive), as ah_from_domain() gives a domain.
 * 1: found; 0: none or not a usable domain. */
int ah_dkim_domain(const char *value, size_t len, char *out, size_t cap);

#endif
