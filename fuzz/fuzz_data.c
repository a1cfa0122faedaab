/*
 * fuzz_data.c - the DATA/BDAT decoder (data.c: data_init, data_decode,
 *	data_finish).
 *
 * INPUT
 *	Byte 0: bit 0 dot_mode (DATA) or not (BDAT), bit 1 reject_bare_lf.
 *	Bytes 1 and 2 seed two independent ways of cutting the rest (the
 *	message octets) into blocks of 1..64 octets or 0 (= all at once).
 *
 * INVARIANTS (abort on violation)
 *	- every data_decode() call gets an output buffer of exactly n+1
 *	  octets (as documented) and writes at most n+1 (ASan checks the
 *	  writes, we check *outlen); it consumes all n octets unless the end
 *	  of data was seen, then st == DS_END;
 *	- over the whole input, the output is never longer than the input
 *	  consumed (data_finish's held CR included);
 *	- an independent line-based reference decoder (below: split at LF,
 *	  CR before LF strips, "." line rules, the start of data counts as
 *	  after a CRLF) gives exactly the same output, the same number of
 *	  octets consumed (up to and including the first real CRLF.CRLF) and
 *	  the same saw_bare_lf; DS_END is reached iff the reference found
 *	  the end: so the end is seen ONLY at <CRLF>.<CRLF> (or ".<CRLF>" at
 *	  the very start), never at <LF>.<LF>, <CR>.<CR> or other mixes;
 *	- d.size == output octets + number of LFs in the output;
 *	- the two different block splits give identical results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

struct result {
	char *out;
	size_t outlen, consumed;
	bool ended, bare_lf;
	uint64_t size;
};

/* Obviously-correct reference: whole lines first, then the tail. */
static void reference(const uint8_t *in, size_t n, bool dot, struct result *r)
{
	bool prev_crlf = true;     /* DATA's own CRLF precedes the data */
	size_t i = 0, o = 0;

	r->ended = r->bare_lf = false;
	while (i < n) {
		const uint8_t *lf = memchr(in + i, '\n', n - i);
		const uint8_t *s = in + i;
		size_t len, c;
		bool crlf;

		if (!lf)
			break;
		len = (size_t)(lf - s);                 /* without the LF */
		crlf = len > 0 && s[len - 1] == '\r';
		c = crlf ? len - 1 : len;               /* the line's text */
		i += len + 1;
		if (dot && c > 0 && s[0] == '.') {
			if (c == 1 && crlf && prev_crlf) {
				r->ended = true;
				break;
			}
			if (c > 1) {                    /* unstuff */
				s++;
				c--;
			}                               /* "." alone: data */
		}
		memcpy(r->out + o, s, c);
		o += c;
		r->out[o++] = '\n';
		if (!crlf)
			r->bare_lf = true;
		prev_crlf = crlf;
	}
	if (!r->ended && i < n) {                       /* unfinished line */
		const uint8_t *t = in + i;
		size_t tl = n - i;

		if (dot && t[0] == '.') {
			t++;
			tl--;
		}
		memcpy(r->out + o, t, tl);              /* the CR included: */
		o += tl;                                /* data_finish gives it */
	}
	r->outlen = o;
	r->consumed = r->ended ? i : n;
}

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void decode(const uint8_t *in, size_t n, bool dot, bool reject,
		   uint8_t seed, struct result *r)
{
	struct data_decoder d;
	uint32_t s = 0x9e3779b9u ^ seed;
	size_t pos = 0, o = 0, fo = 0;
	char fin[2];

	data_init(&d, dot, reject);
	while (pos < n && d.st != DS_END) {
		size_t k = seed == 0 ? n - pos : 1 + rng_next(&s) % 64;
		size_t got, used;
		char *buf, *blk;

		if (k > n - pos)
			k = n - pos;
		blk = malloc(k);                   /* exact: ASan sees overreads */
		memcpy(blk, in + pos, k);
		buf = malloc(k + 1);
		got = (size_t)-1;
		used = data_decode(&d, blk, k, buf, &got);
		CHECK(got <= k + 1);
		CHECK(used <= k);
		CHECK(used == k || d.st == DS_END);
		memcpy(r->out + o, buf, got);
		o += got;
		pos += used;
		free(buf);
		free(blk);
		CHECK(o <= pos);
	}
	r->ended = d.st == DS_END;
	r->consumed = pos;
	data_finish(&d, fin, &fo);
	CHECK(fo <= 1);
	memcpy(r->out + o, fin, fo);
	o += fo;
	CHECK(o <= pos);
	r->outlen = o;
	r->bare_lf = d.saw_bare_lf;
	r->size = d.size;
}

static void same(const struct result *a, const struct result *b,
		 const char *what)
{
	if (a->outlen != b->outlen || a->consumed != b->consumed ||
	    a->ended != b->ended || a->bare_lf != b->bare_lf ||
	    memcmp(a->out, b->out, a->outlen) != 0) {
		fprintf(stderr, "%s differ: outlen %zu/%zu consumed %zu/%zu "
			"ended %d/%d bare_lf %d/%d\n", what, a->outlen,
			b->outlen, a->consumed, b->consumed, a->ended, b->ended,
			a->bare_lf, b->bare_lf);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result ref, a, b;
	const uint8_t *in;
	size_t n, lfs = 0;
	bool dot, reject;

	if (size < 3)
		return 0;
	dot = data[0] & 1;
	reject = data[0] & 2;
	in = data + 3;
	n = size - 3;
	ref.out = malloc(n + 2);
	a.out = malloc(n + 2);
	b.out = malloc(n + 2);

	reference(in, n, dot, &ref);
	decode(in, n, dot, reject, data[1], &a);
	decode(in, n, dot, reject, data[2], &b);
	same(&ref, &a, "reference and decoder");
	same(&a, &b, "two splits");
	CHECK(a.size == b.size);
	for (size_t i = 0; i < a.outlen; i++)
		lfs += a.out[i] == '\n';
	CHECK(a.size == a.outlen + lfs);
	free(ref.out);
	free(a.out);
	free(b.out);
	return 0;
}
