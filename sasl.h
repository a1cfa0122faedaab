/*
 * sasl.h - the SASL messages of SMTP AUTH, decoded (sasl.c): base64 and
 *	the PLAIN message.  Pure functions, no session types; the SASL
 *	fuzzer links sasl.c alone.
 */
#ifndef SASL_H
#define SASL_H

#include <stddef.h>

/* RFC 4648 4, strict: padded to a multiple of 4, '=' only at the end.
 * Returns the decoded length, or -1 for bad base64 or when the result
 * could exceed cap (n/4*3 > cap). */
long sasl_b64_decode(const char *in, size_t n, char *out, size_t cap);

enum sasl_plain {
	SASL_PLAIN_OK,            /* authcid and passwd set */
	SASL_PLAIN_MALFORMED,     /* not exactly two NULs */
	SASL_PLAIN_AUTHZID,       /* an authzid other than authcid */
};

/* RFC 4616: [authzid] NUL authcid NUL passwd, in msg[0..n) (msg[n] is
 * NUL).  Points *authcid and *pass into msg (both NUL-terminated);
 * *plen is the password's length.  We authorize nobody to act as
 * someone else: a non-empty authzid must equal authcid. */
enum sasl_plain sasl_plain_split(const char *msg, size_t n,
				 const char **authcid, const char **pass,
				 size_t *plen);

#endif
