/*
 * sasl.c - the SASL messages of SMTP AUTH (RFC 4954), decoded: base64
 *	(RFC 4648) and the PLAIN message (RFC 4616).
 *
 * SUMMARY
 *	Pure functions: no I/O, no allocation, no session.  auth.c runs the
 *	exchange (334 prompts, replies, the credential check) and calls
 *	these on what the client sent; fuzz/fuzz_sasl.c checks them against
 *	independent reference implementations.
 *
 * LIMITS
 *	The caller bounds the input (AUTH_LINE_MAX) and the output buffer;
 *	sasl_b64_decode() refuses input that could overrun it.
 */
#include <string.h>

#include "sasl.h"

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long sasl_b64_decode(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (n % 4 != 0 || n / 4 * 3 > cap)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;

		for (int k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + (size_t)k];
			if (c == '=' && i + 4 == n && k >= 2 &&
			    (k == 3 || in[i + 3] == '=')) {
				v[k] = 0;
				pad++;
			} else if ((v[k] = b64_value(c)) < 0 || pad) {
				return -1;
			}
		}
		out[o++] = (char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	return (long)o;
}

enum sasl_plain sasl_plain_split(const char *msg, size_t n,
				 const char **authcid, const char **pass,
				 size_t *plen)
{
	const char *end = msg + n;
	const char *a = memchr(msg, '\0', n);
	const char *p = a ? memchr(a + 1, '\0', (size_t)(end - a - 1)) : NULL;

	if (!a || !p || memchr(p + 1, '\0', (size_t)(end - p - 1)))
		return SASL_PLAIN_MALFORMED;
	*authcid = a + 1;
	*pass = p + 1;
	*plen = (size_t)(end - p - 1);
	if (msg[0] && strcmp(msg, *authcid) != 0)
		return SASL_PLAIN_AUTHZID;
	return SASL_PLAIN_OK;
}
