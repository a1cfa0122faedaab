/*
 * fuzz_sasl.c - sasl.c alone: base64 (RFC 4648) and the PLAIN message
 *	(RFC 4616), linked directly, no stubs.
 *
 * INPUT
 *	Byte 0 picks the case: even, sasl_b64_decode() on the rest as text;
 *	odd, sasl_plain_split() on the rest as a decoded PLAIN message.
 *
 * INVARIANTS (abort on violation)
 *	- sasl_b64_decode() agrees with an independent strict reference
 *	  decoder (accept/refuse and octets); a decoded length is <= 3/4 of
 *	  the input; it never writes past cap (ASan), and refuses when the
 *	  result could exceed cap; every octet string encoded by a
 *	  reference encoder decodes back to itself;
 *	- sasl_plain_split() agrees with a reference split: MALFORMED
 *	  unless exactly two NULs; AUTHZID when the authzid is non-empty
 *	  and unlike authcid; else authcid and the password (and its
 *	  length) point at the right octets of the message.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sasl.h"
#include "b64_ref.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static void check_decoder(const uint8_t *in, size_t n)
{
	size_t cap = n / 4 * 3;
	char *text = malloc(n + 1), *out = malloc(cap + 1);
	char *enc = malloc(4 * (n / 3 + 2)), *back;
	uint8_t *ref = malloc(cap + 4);
	long got, want;
	size_t el;

	memcpy(text, in, n);
	text[n] = '\0';
	got = sasl_b64_decode(text, n, out, cap);
	want = ref_decode(text, n, ref);
	CHECK(got == want);
	if (got >= 0) {
		CHECK((size_t)got * 4 <= n * 3);
		CHECK(memcmp(out, ref, (size_t)got) == 0);
	}
	/* a cap one short of what the input could need: refused */
	if (n >= 4 && n % 4 == 0)
		CHECK(sasl_b64_decode(text, n, out, cap - 1) == -1);
	el = ref_encode(in, n, enc);
	back = malloc(el / 4 * 3 + 1);
	CHECK(sasl_b64_decode(enc, el, back, el / 4 * 3) == (long)n);
	CHECK(memcmp(back, in, n) == 0);
	free(back);
	free(ref);
	free(enc);
	free(out);
	free(text);
}

static void check_plain(const uint8_t *in, size_t n)
{
	char *msg = malloc(n + 1);
	const char *authcid = NULL, *pass = NULL;
	const char *a, *b;
	size_t plen = 0;
	enum sasl_plain r;

	memcpy(msg, in, n);
	msg[n] = '\0';
	r = sasl_plain_split(msg, n, &authcid, &pass, &plen);
	a = memchr(msg, 0, n);
	b = a ? memchr(a + 1, 0, n - (size_t)(a - msg) - 1) : NULL;
	if (!a || !b || memchr(b + 1, 0, n - (size_t)(b - msg) - 1)) {
		CHECK(r == SASL_PLAIN_MALFORMED);
	} else if (a > msg && strcmp(msg, a + 1) != 0) {
		CHECK(r == SASL_PLAIN_AUTHZID);
		CHECK(authcid == a + 1);
	} else {
		CHECK(r == SASL_PLAIN_OK);
		CHECK(authcid == a + 1 && pass == b + 1);
		CHECK(plen == n - (size_t)(b - msg) - 1);
		CHECK(strlen(pass) == plen);
	}
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] % 2 == 0)
		check_decoder(data + 1, size - 1);
	else
		check_plain(data + 1, size - 1);
	return 0;
}
