/*
 * floor.c - the smallest correct SMTP receiver of smtp-session's shape,
 * the speed limit `make bench` compares against.
 *
 *	One process per connection, fd 0 in and fd 1 out (inetd style).
 *	HELO/EHLO, MAIL, RCPT, DATA (dot-unstuffing, end only at CRLF.CRLF,
 *	CRLF stored as LF, a Received: line first), RSET, NOOP, QUIT.  The
 *	message goes to an unnamed file in $FLOOR_SPOOL (O_TMPFILE); then
 *	$FLOOR_DELIVER is run qmail-queue style (fd 0 message, fd 1 pipe
 *	with "F<from>\0T<rcpt>\0...\0") and 250 is sent after it exits 0.
 *	Replies are buffered and flushed before every blocking read, so
 *	pipelined commands get their replies in one write.  No TLS, no
 *	AUTH, no policy: every recipient is accepted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SIZE (64L << 20)

static char in[65536], out[4096], sbuf[65536], env[65536];
static size_t ilen, ipos, olen, slen, elen;
static int spool = -1;

static void flush(void)
{
	for (size_t o = 0; o < olen;) {
		ssize_t w = write(1, out + o, olen - o);
		if (w <= 0) _exit(1);
		o += (size_t)w;
	}
	olen = 0;
}

static void say(const char *s)
{
	size_t n = strlen(s);
	if (olen + n > sizeof out) flush();
	memcpy(out + olen, s, n);
	olen += n;
}

/* Make at least n unread octets available; 0 at EOF. */
static int need(size_t n)
{
	while (ilen - ipos < n) {
		if (ipos) {
			memmove(in, in + ipos, ilen - ipos);
			ilen -= ipos; ipos = 0;
		}
		flush();
		alarm(300);
		ssize_t r = read(0, in + ilen, sizeof in - ilen);
		if (r <= 0) return 0;
		ilen += (size_t)r;
	}
	return 1;
}

static int swrite(const char *p, size_t n)
{
	if (slen + n > sizeof sbuf) {
		if (write(spool, sbuf, slen) != (ssize_t)slen) return -1;
		slen = 0;
	}
	if (n > sizeof sbuf) return write(spool, p, n) == (ssize_t)n ? 0 : -1;
	memcpy(sbuf + slen, p, n);
	slen += n;
	return 0;
}

/* Reads the message up to CRLF.CRLF into the spool file; 0 ok, -1 I/O
 * error (keep reading to the end), -2 EOF. */
static int data(void)
{
	int sol = 1, crlf = 1, err = 0;	/* at start of line; last line ended CRLF */
	long size = 0;
	for (;;) {
		if (!need(1)) return -2;
		if (sol && in[ipos] == '.') {
			if (!need(3)) return -2;
			if (crlf && in[ipos + 1] == '\r' && in[ipos + 2] == '\n') {
				ipos += 3;
				break;
			}
			ipos++;			/* dot-stuffing */
		}
		char *s = in + ipos, *nl = memchr(s, '\n', ilen - ipos);
		size_t n = nl ? (size_t)(nl - s) : ilen - ipos;
		if (!nl && n && s[n - 1] == '\r') n--;	/* CR may start CRLF */
		if (!nl && !n) { if (!need(ilen - ipos + 1)) return -2; continue; }
		int cr = nl && n && s[n - 1] == '\r';
		size_t keep = n - (size_t)cr;
		size += (long)keep + !!nl;
		if (!err && size <= MAX_SIZE && (swrite(s, keep) < 0 || (nl && swrite("\n", 1) < 0)))
			err = 1;
		ipos += n + (nl ? 1 : 0);
		sol = nl != NULL;
		if (nl) crlf = cr;
	}
	if (slen && write(spool, sbuf, slen) != (ssize_t)slen) err = 1;
	slen = 0;
	return err || size > MAX_SIZE ? -1 : 0;
}

static int deliver(void)
{
	int p[2];
	if (pipe(p) < 0 || lseek(spool, 0, SEEK_SET) < 0) return -1;
	pid_t pid = fork();
	if (pid < 0) return -1;
	if (pid == 0) {
		dup2(spool, 0);
		dup2(p[0], 1);
		close(p[0]); close(p[1]);
		const char *prog = getenv("FLOOR_DELIVER");
		execl(prog, prog, (char *)NULL);
		_exit(71);
	}
	close(p[0]);
	env[elen++] = 0;
	ssize_t w = write(p[1], env, elen);
	close(p[1]);
	int st;
	while (waitpid(pid, &st, 0) < 0) ;
	return w == (ssize_t)elen && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Appends tag + the address between < and > to the envelope. */
static int addr(char tag, char *arg)
{
	char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (!gt || elen + (size_t)(gt - lt) + 3 > sizeof env) return -1;
	env[elen++] = tag;
	memcpy(env + elen, lt + 1, (size_t)(gt - lt - 1));
	elen += (size_t)(gt - lt - 1);
	env[elen++] = 0;
	return 0;
}

int main(void)
{
	int state = 0;		/* 0 no HELO, 1 ready, 2 after MAIL, 3 after RCPT */
	signal(SIGPIPE, SIG_IGN);
	const char *dir = getenv("FLOOR_SPOOL");
	if (!dir || !getenv("FLOOR_DELIVER")) return 1;
	say("220 floor ESMTP\r\n");
	for (;;) {
		if (!need(1)) break;
		char *s = in + ipos, *nl = memchr(s, '\n', ilen - ipos);
		if (!nl) {
			if (ilen - ipos >= 1000) { say("500 line too long\r\n"); ipos = ilen; }
			else if (!need(ilen - ipos + 1)) break;
			continue;
		}
		*nl = 0;
		if (nl > s && nl[-1] == '\r') nl[-1] = 0;
		ipos = (size_t)(nl - in) + 1;
		if (!strncasecmp(s, "EHLO ", 5)) {
			say("250-floor\r\n250-PIPELINING\r\n250 8BITMIME\r\n"); state = 1; elen = 0;
		} else if (!strncasecmp(s, "HELO ", 5)) {
			say("250 floor\r\n"); state = 1; elen = 0;
		} else if (!strncasecmp(s, "MAIL FROM:", 10)) {
			if (state != 1) say("503 bad sequence\r\n");
			else if (addr('F', s + 10) < 0) say("501 bad address\r\n");
			else { say("250 ok\r\n"); state = 2; }
		} else if (!strncasecmp(s, "RCPT TO:", 8)) {
			if (state < 2) say("503 bad sequence\r\n");
			else if (addr('T', s + 8) < 0) say("501 bad address\r\n");
			else { say("250 ok\r\n"); state = 3; }
		} else if (!strcasecmp(s, "DATA")) {
			if (state != 3) { say("503 bad sequence\r\n"); continue; }
			spool = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
			if (spool < 0) { say("451 spool\r\n"); continue; }
			say("354 go ahead\r\n");
			int r = swrite("Received: from client by floor; bench\n", 38);
			int d = data();
			if (d == -2) break;
			if (r < 0 || d < 0 || deliver() < 0) say("451 not delivered\r\n");
			else say("250 ok\r\n");
			close(spool); spool = -1;
			state = 1; elen = 0;
		} else if (!strcasecmp(s, "RSET")) {
			say("250 ok\r\n"); if (state) state = 1; elen = 0;
		} else if (!strcasecmp(s, "NOOP")) {
			say("250 ok\r\n");
		} else if (!strcasecmp(s, "QUIT")) {
			say("221 bye\r\n"); break;
		} else {
			say("500 unrecognized\r\n");
		}
	}
	flush();
	return 0;
}
