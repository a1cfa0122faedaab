/*
 * fuzz_cmdline.c - the command-line reader (io.c: io_getline, io_read).
 *
 * INPUT
 *	Byte 0 picks the line buffer size cap (CMD_LINE_MAX, AUTH_LINE_MAX
 *	+ 3 as auth.c uses, or a small 2..65 to reach the limits quickly);
 *	byte 1 seeds how the transport hands the bytes out (1..N octets per
 *	read, as a network would) and whether an io_read() of some octets
 *	(BDAT) comes between lines.  The rest is the client's byte stream.
 *	The input goes through struct io_transport from memory, so no fd
 *	or pipe limits get in the way; io->in is /dev/null, which poll()
 *	reports readable, for the one wait before EOF.
 *
 * INVARIANTS (abort on violation)
 *	Against a reference that splits the stream at LF:
 *	- a line of L octets before its LF (a CR included) comes back IO_OK
 *	  iff L + 1 <= cap - 1 (the LF takes a slot of the buffer), with
 *	  len = L minus a final CR, crlf iff that CR was there, the octets
 *	  identical, buf[len] == '\0' and no LF inside; otherwise
 *	  IO_TOOLONG with len 0, and the whole line is skipped, so the next
 *	  call starts exactly after its LF (the dialogue stays in step);
 *	- nothing is ever written to buf beyond cap (ASan: buf is malloc'd
 *	  with exactly cap octets);
 *	- io_read() returns the next octets of the stream, in order;
 *	- octets after the last LF are never returned as a line: IO_EOF.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../io.h"
#include "../session.h"   /* CMD_LINE_MAX, AUTH_LINE_MAX */

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

struct mem {
	const uint8_t *p;
	size_t n, pos;
	uint32_t rng;
};

static uint32_t rng_next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
	struct mem *m = ctx;
	size_t k = 1 + rng_next(&m->rng) % 300;

	if (m->pos == m->n)
		return 0;
	if (k > len)
		k = len;
	if (k > m->n - m->pos)
		k = m->n - m->pos;
	memcpy(buf, m->p + m->pos, k);
	m->pos += k;
	return (ssize_t)k;
}

static ssize_t mem_write(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	return (ssize_t)len;
}

static size_t mem_pending(void *ctx)
{
	struct mem *m = ctx;
	return m->n - m->pos;
}

static struct io io;   /* 80 KiB: static, as in the session */
static int devnull = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m;
	struct io_transport tp = { .read = mem_read, .write = mem_write,
				   .pending = mem_pending, .ctx = &m };
	const uint8_t *in;
	size_t n, pos = 0, cap;
	uint32_t ops;
	char *buf;

	if (size < 2)
		return 0;
	if (devnull < 0)
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	switch (data[0] % 4) {
	case 0: cap = CMD_LINE_MAX; break;
	case 1: cap = AUTH_LINE_MAX + 3; break;
	default: cap = 2 + data[0] / 4; break;
	}
	in = data + 2;
	n = size - 2;
	m = (struct mem){ in, n, 0, 0x2545f491u ^ data[1] };
	ops = 0x6c078965u ^ (uint32_t)data[1] << 8;
	io_init(&io, devnull, devnull, 5, 60);
	io.tp = &tp;
	buf = malloc(cap);

	for (int guard = 0;; guard++) {
		size_t len = 12345, want, got;
		bool crlf = false;
		enum io_status st;

		CHECK(guard <= (int)n + 1);
		if (data[1] & 1 && rng_next(&ops) % 4 == 0) {
			/* a BDAT chunk between lines */
			want = 1 + rng_next(&ops) % 16;
			char raw[16];
			st = io_read(&io, raw, want, &got);
			if (pos == n) {
				CHECK(st == IO_EOF);
				break;
			}
			CHECK(st == IO_OK && got >= 1 && got <= want);
			CHECK(got <= n - pos);
			CHECK(memcmp(raw, in + pos, got) == 0);
			pos += got;
			continue;
		}
		st = io_getline(&io, buf, cap, &len, &crlf);
		const uint8_t *lf = memchr(in + pos, '\n', n - pos);
		if (!lf) {
			CHECK(st == IO_EOF);
			break;
		}
		size_t L = (size_t)(lf - (in + pos));
		if (L + 1 <= cap - 1) {
			bool cr = L > 0 && in[pos + L - 1] == '\r';
			CHECK(st == IO_OK);
			CHECK(crlf == cr);
			CHECK(len == L - cr);
			CHECK(buf[len] == '\0');
			CHECK(memcmp(buf, in + pos, len) == 0);
			CHECK(!memchr(buf, '\n', len));
		} else {
			CHECK(st == IO_TOOLONG);
			CHECK(len == 0);
		}
		pos += L + 1;
	}
	free(buf);
	return 0;
}
