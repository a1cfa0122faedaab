/*
 * io.h - the buffered reader and writer over a transport (io.c).
 */
#ifndef IO_H
#define IO_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define IO_RBUF (64 * 1024)
#define IO_WBUF (16 * 1024)

enum io_status {
	IO_OK = 0,
	IO_EOF,       /* peer closed */
	IO_TIMEOUT,   /* read or session timeout */
	IO_ERROR,     /* read/write error */
	IO_TOOLONG,   /* line longer than the buffer: discarded */
};

struct io;

/* A transport below the buffers: plain fds by default, TLS from tls.c. */
struct io_transport {
	/* >0 bytes, 0 EOF, -1 error; -2 would block (poll and retry). */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	/* bytes already decrypted and waiting (SSL_pending) */
	size_t (*pending)(void *ctx);
	/* which poll events the transport waits for after a -2 */
	short (*wants)(void *ctx);
	/* the end of the connection (TLS: close_notify); may be NULL; may
	 * be called again, and must then do nothing */
	void (*close)(void *ctx, struct io *io);
	void *ctx;
};

struct io {
	int in, out;
	const struct io_transport *tp;  /* NULL: plain read/write */
	unsigned timeout;               /* seconds per wait */
	long long session_end;          /* mono_ms() deadline */
	size_t rpos, rlen;
	size_t wlen;
	bool werror;
	bool out_notsock;               /* out is a pipe or file: plain write() */
	bool wtimeout;                  /* werror came from a write timeout */
	char rbuf[IO_RBUF];
	char wbuf[IO_WBUF];
};

void io_init(struct io *io, int in, int out, unsigned timeout,
	     unsigned session_timeout);
/* Reads one line up to cap-1 octets, without its LF and a CR before it.
 * *crlf tells whether the line ended in CRLF (not a bare LF). */
enum io_status io_getline(struct io *io, char *buf, size_t cap, size_t *len,
			  bool *crlf);
/* Up to len raw octets: the buffered ones first, else one blocking read. */
enum io_status io_read(struct io *io, char *buf, size_t len, size_t *got);
/* Discards whatever input is buffered (STARTTLS injection defence). */
void io_discard_input(struct io *io);
bool io_input_buffered(const struct io *io);
void io_write(struct io *io, const char *buf, size_t len);
int io_flush(struct io *io);
/* Closes the transport (the TLS transport sends its close_notify); later
 * writes are dropped.  The file descriptors stay open: the process exit
 * closes them. */
void io_close(struct io *io);
/* Waits for the fd to become readable within the per-read timeout, for
 * transports doing their own reads (the TLS handshake). */
enum io_status io_wait(struct io *io, short events);
/* CLOCK_MONOTONIC in milliseconds, for deadlines and durations. */
long long mono_ms(void);
/* poll(2) until deadline (a mono_ms() time): an EINTR polls again for
 * the time that is left.  >0: events (in revents); 0: the deadline has
 * passed (at once, without polling, when it already had); -1: error. */
int poll_until(struct pollfd *p, nfds_t n, long long deadline);

#endif
