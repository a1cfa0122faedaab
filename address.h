/*
 * address.h - RFC 5321 paths and parameters, domain matching (address.c): pure
 *	functions, no session types, no I/O.
 */
#ifndef ADDRESS_H
#define ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets; the mailbox fits in it. */
#define PATH_MAX_LEN     256

enum path_error {
	PATH_OK = 0,
	PATH_SYNTAX,      /* 501: the command's shape is wrong */
	PATH_BAD,         /* 553: the address itself is bad */
	PATH_TOOLONG,     /* 553 */
	PATH_UTF8,        /* 553 5.6.7: non-ASCII without SMTPUTF8 */
};

/* "FROM:<path> params" or "TO:<path> params".  prefix is "FROM:" or
 * "TO:".  The mailbox (unquoted, source route dropped) goes to addr;
 * *params points at the parameters in arg (or at "").  utf8 allows
 * non-ASCII (RFC 6531); allow_null allows "<>". */
enum path_error parse_path(const char *arg, const char *prefix, bool utf8,
			   bool allow_null, char addr[PATH_MAX_LEN + 1],
			   const char **params);
/* Next "KEY[=VALUE]" from *p; returns false at the end.  Lengths bounded. */
struct esmtp_param { char key[32]; char value[PATH_MAX_LEN + 1]; bool has_value; };
enum path_error next_param(const char **p, struct esmtp_param *out);
/* Domain part of an address ("" if none), not copied. */
const char *addr_domain(const char *addr);
/* Is domain one of the listed ones (".example.org": it and below)? */
bool domain_listed(char *const domains[], size_t ndomains, const char *domain);
bool utf8_valid(const unsigned char *s, size_t len);
bool is_postmaster(const char *addr);

#endif
