/*
 * b64_ref.h - reference base64 (RFC 4648) for the fuzzers: an encoder
 *	and a strict decoder written apart from sasl.c, to check it against.
 */
#ifndef B64_REF_H
#define B64_REF_H

#include <stdint.h>
#include <string.h>

static const char B64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t ref_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;

		if (k > 1) v |= (uint32_t)in[i + 1] << 8;
		if (k > 2) v |= in[i + 2];
		out[o++] = B64[v >> 18 & 63];
		out[o++] = B64[v >> 12 & 63];
		out[o++] = k > 1 ? B64[v >> 6 & 63] : '=';
		out[o++] = k > 2 ? B64[v & 63] : '=';
	}
	out[o] = '\0';               /* out has room for one more */
	return o;
}

/* Strict: length a multiple of 4, '=' only as the last one or two. */
static long ref_decode(const char *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t v = 0;
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			char c = in[i + (size_t)k];
			const char *p = c ? strchr(B64, c) : NULL;

			if (c == '=') {
				if (i + 4 != n || k < 2)
					return -1;
				pad++;
				v <<= 6;
			} else if (!p || pad) {
				return -1;
			} else {
				v = v << 6 | (uint32_t)(p - B64);
			}
		}
		out[o++] = (uint8_t)(v >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(v >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)v;
	}
	return (long)o;
}

#endif
