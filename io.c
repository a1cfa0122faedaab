/*
 * io.c - the buffered line reader and reply writer of one connection.
 *
 * SUMMARY
 *	Input is read in blocks of up to IO_RBUF octets; lines and raw DATA
 *	octets are taken from that buffer, so the data path makes one read
 *	per block, not per line.  Replies are collected in wbuf and written
 *	only when the reader is about to wait for input it does not have
 *	(RFC 2920 pipelining: one write answers a whole pipelined group) or
 *	when wbuf is full.  Below the buffers sits either the plain fd pair or
 *	a transport (TLS, tls.c).
 *
 * LIMITS
 *	timeout: seconds for each wait for input or output (SMTP_TIMEOUT).
 *	session_end: the whole session (SMTP_SESSION_TIMEOUT).  A line longer
 *	than the caller's buffer is read to its LF and discarded (IO_TOOLONG),
 *	so the dialogue stays in step.
 *
 * DIAGNOSTICS
 *	IO_TIMEOUT, IO_EOF, IO_ERROR to the caller; a failed write sets
 *	io->werror and later writes are dropped (the next read then sees the
 *	closed connection).  SIGPIPE is ignored by main(), so a vanished peer
 *	gives EPIPE, not death.  A client that stops reading is held to the
 *	same timeout: writes on a socket never block (MSG_DONTWAIT), and a
 *	write that cannot go on within it ends the session as a timeout.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void io_init(struct io *io, int in, int out, unsigned timeout,
	     unsigned session_timeout)
{
	io->in = in;
	io->out = out;
	io->tp = NULL;
	io->timeout = timeout;
	io->session_end = mono_ms() + (long long)session_timeout * 1000;
	io->rpos = io->rlen = io->wlen = 0;
	io->werror = false;
	io->out_notsock = false;
	io->wtimeout = false;
}

int poll_until(struct pollfd *p, nfds_t n, long long deadline)
{
	for (;;) {
		long long left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(p, n, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && mono_ms() < deadline)
			continue;       /* woke early (capped wait): wait on */
		return r;
	}
}

/* The end of one wait: the per-wait timeout from now, or the end of the
 * session if that comes first. */
static long long wait_deadline(const struct io *io)
{
	long long per = mono_ms() + (long long)io->timeout * 1000;

	return io->session_end < per ? io->session_end : per;
}

enum io_status io_wait(struct io *io, short events)
{
	struct pollfd p = { .fd = (events & POLLOUT) ? io->out : io->in,
			    .events = events };
	int r = poll_until(&p, 1, wait_deadline(io));

	if (r < 0)
		return IO_ERROR;
	if (r == 0)
		return IO_TIMEOUT;
	return IO_OK;   /* readable, or HUP/ERR: the read tells */
}

/* On a socket, never block in the write itself: a client that stops
 * reading must not hold us past SMTP_TIMEOUT, so EAGAIN sends io_flush
 * to its poll.  Pipes (tests) are written as they are. */
static ssize_t raw_write(struct io *io, const char *p, size_t n)
{
	ssize_t w;

	if (io->tp)
		return io->tp->write(io->tp->ctx, p, n);
	if (!io->out_notsock) {
		w = send(io->out, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w >= 0 || errno != ENOTSOCK)
			return w;
		io->out_notsock = true;
	}
	return write(io->out, p, n);
}

static ssize_t raw_read(struct io *io, char *p, size_t n)
{
	if (io->tp)
		return io->tp->read(io->tp->ctx, p, n);
	return read(io->in, p, n);
}

static short transport_wants(struct io *io, short dflt)
{
	return io->tp && io->tp->wants ? io->tp->wants(io->tp->ctx) : dflt;
}

int io_flush(struct io *io)
{
	size_t off = 0;

	while (off < io->wlen && !io->werror) {
		ssize_t w = raw_write(io, io->wbuf + off, io->wlen - off);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && w != -2 && errno == EINTR)
			continue;
		else if (w == -2 || (w < 0 && errno == EAGAIN)) {
			enum io_status st = io_wait(io, transport_wants(io, POLLOUT));
			if (st != IO_OK) {
				io->werror = true;
				io->wtimeout = st == IO_TIMEOUT;
			}
		} else
			io->werror = true;
	}
	io->wlen = 0;
	return io->werror ? -1 : 0;
}

void io_close(struct io *io)
{
	if (io->tp && io->tp->close)      /* idempotent, as the ops are */
		io->tp->close(io->tp->ctx, io);
	/* Closed: a later write is dropped like one after a write error.
	 * The transport stays, so nothing can leave in the clear on a
	 * connection that spoke TLS. */
	io->werror = true;
}

void io_write(struct io *io, const char *buf, size_t len)
{
	while (len > 0) {
		size_t room = sizeof io->wbuf - io->wlen;
		size_t n = len < room ? len : room;

		memcpy(io->wbuf + io->wlen, buf, n);
		io->wlen += n;
		buf += n;
		len -= n;
		if (io->wlen == sizeof io->wbuf)
			io_flush(io);
	}
}

bool io_input_buffered(const struct io *io)
{
	return io->rpos < io->rlen ||
	       (io->tp && io->tp->pending && io->tp->pending(io->tp->ctx) > 0);
}

void io_discard_input(struct io *io)
{
	io->rpos = io->rlen = 0;
}

/* Refills rbuf (which the caller has consumed).  Flushes pending replies
 * first: this is the one place that may block on input. */
static enum io_status fill(struct io *io)
{
	io->rpos = io->rlen = 0;
	if (io->wlen > 0 && io_flush(io) < 0)
		return io->wtimeout ? IO_TIMEOUT : IO_ERROR;
	for (;;) {
		bool ready = io->tp && io->tp->pending &&
			     io->tp->pending(io->tp->ctx) > 0;
		ssize_t r;

		if (!ready) {
			enum io_status st = io_wait(io, POLLIN);
			if (st != IO_OK)
				return st;
		}
		r = raw_read(io, io->rbuf, sizeof io->rbuf);
		if (r > 0) {
			io->rlen = (size_t)r;
			return IO_OK;
		}
		if (r == 0)
			return IO_EOF;
		if (r == -2) {
			short ev = transport_wants(io, POLLIN);
			if (ev & POLLOUT) {
				enum io_status st = io_wait(io, POLLOUT);
				if (st != IO_OK)
					return st;
			}
			continue;
		}
		if (errno == EINTR || errno == EAGAIN)
			continue;
		return errno == ECONNRESET ? IO_EOF : IO_ERROR;
	}
}

enum io_status io_getline(struct io *io, char *buf, size_t cap, size_t *len,
			  bool *crlf)
{
	size_t n = 0;
	bool toolong = false;

	for (;;) {
		char *lf;
		size_t avail, take;

		if (io->rpos == io->rlen) {
			enum io_status st = fill(io);
			if (st != IO_OK)
				return st;
		}
		avail = io->rlen - io->rpos;
		lf = memchr(io->rbuf + io->rpos, '\n', avail);
		take = lf ? (size_t)(lf - (io->rbuf + io->rpos)) + 1 : avail;
		if (!toolong && n + take <= cap - 1) {
			memcpy(buf + n, io->rbuf + io->rpos, take);
			n += take;
		} else {
			toolong = true;
		}
		io->rpos += take;
		if (lf)
			break;
	}
	if (toolong) {
		*len = 0;
		return IO_TOOLONG;
	}
	n--;                                  /* the LF */
	*crlf = n > 0 && buf[n - 1] == '\r';
	if (*crlf)
		n--;
	buf[n] = '\0';
	*len = n;
	return IO_OK;
}

enum io_status io_read(struct io *io, char *buf, size_t len, size_t *got)
{
	size_t n;

	if (io->rpos == io->rlen) {
		enum io_status st = fill(io);
		if (st != IO_OK)
			return st;
	}
	n = io->rlen - io->rpos;
	if (n > len)
		n = len;
	memcpy(buf, io->rbuf + io->rpos, n);
	io->rpos += n;
	*got = n;
	return IO_OK;
}
