/*
 * smtp-load.c - SMTP load generator for `make bench`.
 *
 *	smtp-load [-H host] [-p port] [-c conc] [-n conns] [-d secs] [-m msgs]
 *		  [-s size] [-P] [-T] [-R] [-E] [-a user:pass] [-r rcpt]
 *
 *	-c	concurrent client threads (default 1)
 *	-n	total connections (0: until -d runs out; default 0)
 *	-d	stop starting messages after this many seconds (default 5)
 *	-m	messages per connection (default 1; 0: greeting + QUIT only,
 *		or EHLO [+ STARTTLS + EHLO] [+ AUTH] + QUIT with -E, -T, -a)
 *	-s	message size in octets, headers included (default 4096)
 *	-P	pipeline MAIL, RCPT and DATA (needs PIPELINING)
 *	-T	STARTTLS (no certificate check); -R resumes every TLS session
 *		from a ticket saved by the first connection
 *	-a	AUTH PLAIN user:pass after EHLO (after STARTTLS with -T)
 *
 *	Latency of a message: MAIL sent to the 250 after the final dot.
 *	Greeting latency: connect(2) started to the 220 line read.
 *	Output, one line: key=value pairs (msgs, msgs_s, MB_s with MB =
 *	10^6 octets of message, p50_ms, p99_ms, greet_p50_ms, greet_p99_ms,
 *	conns, resumed, errors, secs).  Exit 1 if any error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1", *port = "2525", *auth, *rcpt = "bench@example.test";
static int conc = 1, nconns, msgs_per_conn = 1, pipelining, starttls, resume, ehlo;
static double duration = 5;
static size_t size = 4096;
static char *body;		/* the DATA payload, ending in CRLF.CRLF */
static size_t body_len;
static SSL_CTX *ctx;
static SSL_SESSION *saved;	/* for -R */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int next_conn, errors, resumed, conns_done;
static double t_start, t_end;

struct lat { double *v; size_t n, cap; };
struct worker { pthread_t th; struct lat msg, greet; unsigned long long bytes; };

struct conn { int fd; SSL *ssl; char buf[16384]; size_t len, off; };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void push(struct lat *l, double v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v) abort();
	}
	l->v[l->n++] = v;
}

static int fail(struct conn *c, const char *what)
{
	if (atomic_fetch_add(&errors, 1) < 5)
		fprintf(stderr, "smtp-load: %s\n", what);
	(void)c;
	return -1;
}

static int put(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = c->ssl ? SSL_write(c->ssl, p, (int)(n > 1 << 20 ? 1 << 20 : n))
				   : write(c->fd, p, n);
		if (w <= 0) {
			if (!c->ssl && w < 0 && errno == EINTR) continue;
			return fail(c, "write failed");
		}
		p += w; n -= (size_t)w;
	}
	return 0;
}

static int fill(struct conn *c)
{
	if (c->off) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off; c->off = 0;
	}
	if (c->len == sizeof c->buf) return -1;
	ssize_t r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len))
			   : read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
	if (r <= 0) return -1;
	c->len += (size_t)r;
	return 0;
}

/* One (multi-line) reply; returns its code, -1 on EOF/garbage. */
static int reply(struct conn *c)
{
	for (;;) {
		char *s = c->buf + c->off, *nl = memchr(s, '\n', c->len - c->off);
		if (!nl) {
			if (fill(c) < 0) return -1;
			continue;
		}
		size_t n = (size_t)(nl - s) + 1;
		c->off += n;
		if (n < 5 || s[0] < '2' || s[0] > '5') return -1;
		if (s[3] == ' ' || s[3] == '\r' || s[3] == '\n')
			return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	}
}

static int cmd(struct conn *c, const char *line, int want)
{
	if (put(c, line, strlen(line)) < 0) return -1;
	int r = reply(c);
	if (r != want) {
		char m[160];
		snprintf(m, sizeof m, "%.*s -> %d, expected %d", (int)strcspn(line, "\r"), line, r, want);
		return fail(c, m);
	}
	return 0;
}

static int dial(void)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0) return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd); fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	return fd;
}

static int session(struct worker *w, struct conn *c)
{
	char line[600];
	double t0 = now();
	if ((c->fd = dial()) < 0) return fail(c, "connect failed");
	if (reply(c) != 220) return fail(c, "no 220 greeting");
	push(&w->greet, (now() - t0) * 1e3);
	if (msgs_per_conn == 0 && !starttls && !auth && !ehlo)
		return cmd(c, "QUIT\r\n", 221);
	if (cmd(c, "EHLO load.test\r\n", 250) < 0) return -1;
	if (starttls) {
		if (cmd(c, "STARTTLS\r\n", 220) < 0) return -1;
		c->ssl = SSL_new(ctx);
		SSL_set_fd(c->ssl, c->fd);
		if (resume) {
			pthread_mutex_lock(&lock);
			if (saved) SSL_set_session(c->ssl, saved);
			pthread_mutex_unlock(&lock);
		}
		if (SSL_connect(c->ssl) != 1) return fail(c, "TLS handshake failed");
		if (SSL_session_reused(c->ssl)) atomic_fetch_add(&resumed, 1);
		if (cmd(c, "EHLO load.test\r\n", 250) < 0) return -1;
	}
	if (auth) {
		const char *colon = strchr(auth, ':');
		unsigned char raw[300], b64[420];
		size_t ul = colon ? (size_t)(colon - auth) : strlen(auth), n = 0;
		raw[n++] = 0; memcpy(raw + n, auth, ul); n += ul; raw[n++] = 0;
		if (colon) { memcpy(raw + n, colon + 1, strlen(colon + 1)); n += strlen(colon + 1); }
		EVP_EncodeBlock(b64, raw, (int)n);
		snprintf(line, sizeof line, "AUTH PLAIN %s\r\n", b64);
		if (cmd(c, line, 235) < 0) return -1;
	}
	snprintf(line, sizeof line, "MAIL FROM:<load@load.test>\r\nRCPT TO:<%s>\r\nDATA\r\n", rcpt);
	for (int m = 0; m < msgs_per_conn && now() < t_end; m++) {
		double t = now();
		if (pipelining) {
			if (put(c, line, strlen(line)) < 0) return -1;
			int a = reply(c), b = reply(c), d = reply(c);
			if (a != 250 || b != 250 || d != 354) return fail(c, "pipelined MAIL/RCPT/DATA refused");
		} else {
			char r[400];
			snprintf(r, sizeof r, "RCPT TO:<%s>\r\n", rcpt);
			if (cmd(c, "MAIL FROM:<load@load.test>\r\n", 250) < 0 || cmd(c, r, 250) < 0 ||
			    cmd(c, "DATA\r\n", 354) < 0)
				return -1;
		}
		if (put(c, body, body_len) < 0) return -1;
		int r = reply(c);
		if (r != 250) {
			char e[64];
			snprintf(e, sizeof e, "end of data -> %d", r);
			return fail(c, e);
		}
		push(&w->msg, (now() - t) * 1e3);
		w->bytes += size;
	}
	if (cmd(c, "QUIT\r\n", 221) < 0) return -1;
	if (c->ssl && resume) {
		pthread_mutex_lock(&lock);
		if (!saved) {
			SSL_SESSION *s = SSL_get1_session(c->ssl);
			if (s && SSL_SESSION_is_resumable(s)) saved = s;
			else SSL_SESSION_free(s);
		}
		pthread_mutex_unlock(&lock);
	}
	return 0;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		int i = atomic_fetch_add(&next_conn, 1);
		if ((nconns && i >= nconns) || (!nconns && now() >= t_end)) break;
		struct conn *c = calloc(1, sizeof *c);
		if (!c) abort();
		session(w, c);
		if (c->ssl) { SSL_shutdown(c->ssl); SSL_free(c->ssl); }
		if (c->fd >= 0) close(c->fd);
		free(c);
		atomic_fetch_add(&conns_done, 1);
		if (atomic_load(&errors) > 20) break;
	}
	return NULL;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(struct lat *l, double p)
{
	if (!l->n) return 0;
	size_t i = (size_t)(p * (double)(l->n - 1) + 0.5);
	return l->v[i];
}

static void make_body(void)
{
	body = malloc(size + 200);
	if (!body) abort();
	int n = sprintf(body, "From: <load@load.test>\r\nTo: <%s>\r\nSubject: bench\r\n\r\n", rcpt);
	size_t len = (size_t)n;
	while (len < size) {		/* 78 'x' + CRLF per line */
		size_t k = size - len < 80 ? size - len : 80;
		if (k < 3) { memset(body + len, 'x', k); len += k; break; }
		memset(body + len, 'x', k - 2);
		body[len + k - 2] = '\r'; body[len + k - 1] = '\n';
		len += k;
	}
	if (len < 2 || memcmp(body + len - 2, "\r\n", 2) != 0) {
		memcpy(body + len, "\r\n", 2); len += 2;
	}
	memcpy(body + len, ".\r\n", 3);
	body_len = len + 3;
}

int main(int argc, char **argv)
{
	int opt;
	while ((opt = getopt(argc, argv, "H:p:c:n:d:m:s:PTRa:r:E")) != -1) {
		switch (opt) {
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'c': conc = atoi(optarg); break;
		case 'n': nconns = atoi(optarg); break;
		case 'd': duration = atof(optarg); break;
		case 'm': msgs_per_conn = atoi(optarg); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'P': pipelining = 1; break;
		case 'T': starttls = 1; break;
		case 'R': resume = starttls = 1; break;
		case 'a': auth = optarg; break;
		case 'r': rcpt = optarg; break;
		case 'E': ehlo = 1; break;
		default:
			fprintf(stderr, "usage: smtp-load [-H host] [-p port] [-c conc] [-n conns] "
				"[-d secs] [-m msgs] [-s size] [-P] [-T] [-R] [-E] [-a user:pass] [-r rcpt]\n");
			return 2;
		}
	}
	if (conc < 1 || msgs_per_conn < 0) return 2;
	make_body();
	if (starttls) {
		ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
	struct worker *w = calloc((size_t)conc, sizeof *w);
	if (!w) abort();
	t_start = now();
	t_end = nconns ? 1e300 : t_start + duration;
	if (resume) {		/* prime the ticket with one connection first */
		int save = nconns;
		struct conn *c = calloc(1, sizeof *c);
		struct worker tmp = {0};
		int m = msgs_per_conn;
		msgs_per_conn = 0;
		session(&tmp, c);
		msgs_per_conn = m; nconns = save;
		if (c->ssl) { SSL_shutdown(c->ssl); SSL_free(c->ssl); }
		close(c->fd); free(c);
		if (!saved) fprintf(stderr, "smtp-load: no resumable session from the first connection\n");
		t_start = now();
		t_end = nconns ? 1e300 : t_start + duration;
	}
	for (int i = 0; i < conc; i++) pthread_create(&w[i].th, NULL, run, &w[i]);
	struct lat all = {0}, greet = {0};
	unsigned long long bytes = 0;
	for (int i = 0; i < conc; i++) {
		pthread_join(w[i].th, NULL);
		for (size_t j = 0; j < w[i].msg.n; j++) push(&all, w[i].msg.v[j]);
		for (size_t j = 0; j < w[i].greet.n; j++) push(&greet, w[i].greet.v[j]);
		bytes += w[i].bytes;
	}
	double secs = now() - t_start;
	qsort(all.v, all.n, sizeof *all.v, cmpd);
	qsort(greet.v, greet.n, sizeof *greet.v, cmpd);
	printf("msgs=%zu msgs_s=%.1f MB_s=%.2f p50_ms=%.3f p99_ms=%.3f greet_p50_ms=%.3f "
	       "greet_p99_ms=%.3f conns=%d resumed=%d errors=%d secs=%.2f\n",
	       all.n, all.n / secs, bytes / secs / 1e6, pct(&all, .5), pct(&all, .99),
	       pct(&greet, .5), pct(&greet, .99), atomic_load(&conns_done), atomic_load(&resumed),
	       atomic_load(&errors), secs);
	return atomic_load(&errors) ? 1 : 0;
}
