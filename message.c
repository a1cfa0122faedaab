/*
 * message.c - DATA and BDAT: receive the message, spool it, deliver it.
 *
 * SUMMARY
 *	Both paths read the client in blocks (io_read), decode with data.c,
 *	and write the spool file (spool.c) behind our Received header
 *	(RFC 5321 4.4, with the RFC 3848 "with" word).  At the end the
 *	spooled message goes to the deliver program (queue.c) and only its
 *	exit status decides the reply: 250 only after it succeeded.
 *	An error inside the message (too big, bare LF under "reject", spool
 *	write failure) is latched; the rest of the message is read and
 *	thrown away, and one reply answers it (RFC 5321 4.2.5: the client
 *	must not be left mid-message).
 *
 * LIMITS
 *	SMTP_MAX_SIZE octets, counted as sent (CRLF lines, after
 *	unstuffing, without our header); BDAT chunks count raw octets.
 *	A BDAT chunk size is at most 20 digits.
 *
 * DIAGNOSTICS
 *	451 4.3.0 when the spool cannot be written; 552 5.3.4 too big;
 *	554 5.6.0 bare LF under SMTP_BARE_LF=reject; the deliver program's
 *	status mapped by queue.c.  A client gone mid-message: nothing is
 *	delivered, the unnamed spool file vanishes with the process.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "data.h"
#include "delivery.h"
#include "io.h"
#include "log.h"
#include "message.h"
#include "session.h"
#include "spool.h"

static char inbuf[IO_RBUF];
static char outbuf[IO_RBUF + 2];

/* RFC 3848: SMTP, ESMTP, ESMTPA, ESMTPS, ESMTPSA; RFC 6531 4.3: the
 * UTF8SMTP family for a transaction that used SMTPUTF8. */
static const char *with_word(const struct session *s)
{
	static const char *const words[2][4] = {
		{ "ESMTP", "ESMTPA", "ESMTPS", "ESMTPSA" },
		{ "UTF8SMTP", "UTF8SMTPA", "UTF8SMTPS", "UTF8SMTPSA" },
	};

	if (!s->esmtp)
		return "SMTP";
	return words[s->tx.utf8][s->authenticated + 2 * s->tls_active];
}

/* The HELO name as a comment-safe token: printable ASCII except ( ) \. */
static void helo_token(const char *helo, char *out, size_t cap)
{
	size_t o = 0;

	for (; *helo && o + 1 < cap; helo++) {
		unsigned char c = (unsigned char)*helo;
		out[o++] = (c > 32 && c < 127 && c != '(' && c != ')' &&
			    c != '\\' && c != ';') ? (char)c : '_';
	}
	out[o] = '\0';
}

static void message_id(const struct session *s, char *id, size_t len)
{
	snprintf(id, len, "%s.%u", s->id, s->messages);
}

static void write_received(struct session *s, const char *msgid)
{
	char hdr[1024], date[64], helo[HELO_MAX + 1], tls[160] = "";
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S %z", &tm); /* RFC 5322 3.3 */
	helo_token(s->helo, helo, sizeof helo);
	if (s->tls_active)
		snprintf(tls, sizeof tls, " (%s)", s->tls_info);
	/* RFC 5321 4.4 and 4.1.3: the address literal, "IPv6:" for IPv6 */
	n = snprintf(hdr, sizeof hdr,
		     "Received: from %s (%s [%s%s])\n"
		     "\tby %s (smtp-session) with %s%s\n"
		     "\tid %s;\n"
		     "\t%s\n",
		     helo, s->remote_host, strchr(s->client_ip, ':') ? "IPv6:" : "",
		     s->client_ip, s->cfg->hostname,
		     with_word(s), tls, msgid, date);
	if (n > 0)
		spool_write(&s->tx.spool, hdr, (size_t)n < sizeof hdr ?
			    (size_t)n : sizeof hdr - 1);
}

/* Opens the spool file and writes the header; replies 451 on failure. */
static bool start_message(struct session *s, bool dot_mode)
{
	char msgid[48];

	s->messages++;
	if (spool_open(&s->tx.spool, s->cfg->spool_dir) < 0) {
		log_event("spool_error", "dir", s->cfg->spool_dir, "error",
			  strerror(errno), NULL);
		reply(s, 451, "4.3.0", "Local error: cannot create spool file");
		return false;
	}
	s->tx.spooling = true;
	data_init(&s->tx.dec, dot_mode, s->cfg->bare_lf == BARE_LF_REJECT);
	msgid_init(&s->tx.msgid);
	s->tx.hashing = delivery_split(s);
	if (s->tx.hashing)
		sha256_init(&s->tx.digest);
	message_id(s, msgid, sizeof msgid);
	write_received(s, msgid);
	return true;
}

static void count(char *buf, size_t len, unsigned long long n)
{
	snprintf(buf, len, "%llu", n);
}

/* Spool is complete: hand it over (delivery.c) and answer. */
static void deliver(struct session *s)
{
	char qid[48];

	message_id(s, qid, sizeof qid);
	if (spool_finish(&s->tx.spool) < 0) {
		log_event("spool_error", "error", "write failed", NULL);
		s->count_errors = false;
		reply(s, 451, "4.3.0", "Local error: cannot write spool file");
		return;
	}
	delivery_run(s, qid);
}

/* After the last octet: the latched error, or delivery. */
static void finish_message(struct session *s)
{
	char size[24];

	count(size, sizeof size, s->tx.dec.size);
	s->count_errors = false;
	if (s->tx.dec.size > s->cfg->max_size) {
		log_event("rejected", "reason", "size", "size", size, NULL);
		reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
	} else if (s->tx.dec.reject_bare_lf && s->tx.dec.saw_bare_lf) {
		log_event("rejected", "reason", "bare_lf", NULL);
		reply(s, 554, "5.6.0", "Message contains bare LF (RFC 5321 2.3.8)");
	} else if (s->tx.spool.failed) {
		log_event("spool_error", "error", "write failed", NULL);
		reply(s, 451, "4.3.0", "Local error: cannot write spool file");
	} else {
		deliver(s);
	}
	tx_reset(s);
}

/* Decoded octets: to the spool, the Message-ID scan, the digest. */
static void take(struct session *s, const char *p, size_t n)
{
	spool_write(&s->tx.spool, p, n);
	msgid_feed(&s->tx.msgid, p, n);
	if (s->tx.hashing)
		sha256_update(&s->tx.digest, p, n);
}

/* Feeds n octets to the decoder and the spool, unless an error is already
 * latched; returns the octets consumed (fewer at the end of DATA). */
static size_t feed(struct session *s, const char *in, size_t n)
{
	size_t outlen, used = data_decode(&s->tx.dec, in, n, outbuf, &outlen);

	if (s->tx.dec.size <= s->cfg->max_size)
		take(s, outbuf, outlen);
	return used;
}

static void lost_client(struct session *s, enum io_status st)
{
	if (st == IO_TIMEOUT)
		reply(s, 421, "4.4.2", "%s Timeout, closing connection",
		      s->cfg->hostname);
	log_event("message_aborted", "reason",
		  st == IO_TIMEOUT ? "timeout" : "client gone", NULL);
	session_end(s, st == IO_TIMEOUT ? "timeout" : "eof");
}

/* Sequence rules (MAIL and RCPT first, none after BDAT): the table's. */
void cmd_data(struct session *s, const char *arg,
	      const struct refusal *refused)
{
	(void)arg;
	(void)refused;
	if (!start_message(s, true))
		return;
	reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	for (;;) {
		size_t got, used;
		enum io_status st = io_read(&s->io, inbuf, sizeof inbuf, &got);

		if (st != IO_OK) {
			lost_client(s, st);
			return;
		}
		used = feed(s, inbuf, got);
		if (s->tx.dec.st == DS_END) {
			/* give back what follows the dot: pipelined commands */
			s->io.rpos -= got - used;
			break;
		}
	}
	finish_message(s);
}

/* "BDAT <size> [LAST]" (RFC 3030 2). */
static bool parse_bdat(const char *arg, uint64_t *size, bool *last)
{
	uint64_t n = 0;
	size_t digits = 0;

	for (; isdigit((unsigned char)*arg); arg++, digits++) {
		if (digits == 20 || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*arg - '0');
	}
	if (digits == 0)
		return false;
	if (*arg && *arg != ' ')            /* "BDAT 4LAST" */
		return false;
	while (*arg == ' ')
		arg++;
	*last = strcasecmp(arg, "LAST") == 0;
	if (*arg && !*last)
		return false;
	*size = n;
	return true;
}

/* Reads a chunk of exactly size octets, feeding it when accept is true. */
static enum io_status read_chunk(struct session *s, uint64_t size, bool accept)
{
	while (size > 0) {
		size_t want = size < sizeof inbuf ? (size_t)size : sizeof inbuf;
		size_t got;
		enum io_status st = io_read(&s->io, inbuf, want, &got);

		if (st != IO_OK)
			return st;
		if (accept)
			feed(s, inbuf, got);
		size -= got;
	}
	return IO_OK;
}

/* Readies the transaction for a chunk (opening the spool at the first);
 * returns why the chunk cannot be taken (the reply to send after reading
 * it), or NULL.  The sequence rules were checked by the command table,
 * which hands their refusal over instead of sending it (CMD_READ_FIRST). */
static const struct refusal *bdat_start(struct session *s,
					const struct refusal *refused)
{
	static const struct refusal spool = { 0, NULL, NULL }; /* 451 sent */

	if (refused)
		return refused;
	if (!s->tx.spooling && !start_message(s, false))
		return &spool;
	return NULL;
}

void cmd_bdat(struct session *s, const char *arg,
	      const struct refusal *refused)
{
	const struct refusal *refusal;
	enum io_status st;
	uint64_t size;
	bool last;

	if (!parse_bdat(arg, &size, &last)) {
		reply(s, 501, "5.5.4", "Syntax: BDAT <size> [LAST]");
		return;
	}
	refusal = bdat_start(s, refused);
	if (!refusal)
		s->tx.bdat = true;
	/* a refused chunk is still read, never taken for commands */
	st = read_chunk(s, size, refusal == NULL);
	if (st != IO_OK) {
		lost_client(s, st);
		return;
	}
	if (refusal) {
		if (refusal->code)
			reply(s, refusal->code, refusal->enh, "%s", refusal->text);
		else
			tx_reset(s);     /* the 451 failed the transaction */
		return;
	}
	if (s->tx.dec.size > s->cfg->max_size || s->tx.spool.failed) {
		/* RFC 3030 2: a failed chunk fails the transaction */
		finish_message(s);
		return;
	}
	if (!last) {
		s->count_errors = true;
		reply(s, 250, "2.0.0", "%llu octets received",
		      (unsigned long long)size);
		return;
	}
	{
		size_t outlen;
		data_finish(&s->tx.dec, outbuf, &outlen);
		take(s, outbuf, outlen);
	}
	finish_message(s);
}
