/*
 * session.c - the session layer: replies, the end of a session, the
 *	RFC 3207 restart, the transaction's reset.
 *
 * SUMMARY
 *	Every command handler (envelope.c, message.c, auth.c, tls.c, gate.c,
 *	the simple ones in smtp-session.c) answers through reply() and
 *	reply_line() and ends the session through session_end(); none of
 *	them calls exit().  This file calls no handler: it sits on io.c,
 *	log.c and spool.c only, so the file-level call graph has no cycle
 *	(tools/callgraph checks it in make check).
 *
 * LIMITS
 *	A reply line is at most 1024 octets with CRLF (longer text is cut);
 *	a line of a multi-line reply carries at most 500 octets of text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "log.h"
#include "session.h"
#include "spool.h"

/* ---- replies ---------------------------------------------------------- */

/* The reply as the log shows it (the text from end-of-code to CRLF). */
static void remember(struct session *s, int code, const char *enh,
		     const char *text, size_t n)
{
	s->last.code = code;
	snprintf(s->last.enh, sizeof s->last.enh, "%s", enh ? enh : "");
	snprintf(s->last.text, sizeof s->last.text, "%.*s", (int)n, text);
}

void reply(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	char line[1024];
	int n, prefix;
	va_list ap;

	n = prefix = enh ? snprintf(line, sizeof line, "%d %s ", code, enh)
			 : snprintf(line, sizeof line, "%d ", code);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, ap);
	va_end(ap);
	if ((size_t)n > sizeof line - 3)
		n = sizeof line - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	io_write(&s->io, line, (size_t)n);
	remember(s, code, enh, line + prefix, (size_t)(n - 2 - prefix));
	if (code >= 500 && s->count_errors)
		s->errors++;
	if (code == 421) {
		io_flush(&s->io);
		s->quit = true;
	}
}

void reply_line(struct session *s, int code, bool last, const char *text)
{
	char line[600];
	int n = snprintf(line, sizeof line, "%d%c%.500s\r\n", code,
			 last ? ' ' : '-', text);
	io_write(&s->io, line, (size_t)n);
}

void tx_reset(struct session *s)
{
	struct tx *t = &s->tx;

	for (size_t i = 0; i < t->nrcpts; i++) {
		free(t->rcpts[i]);
		t->rcpts[i] = NULL;
	}
	t->nrcpts = 0;
	t->sender[0] = '\0';
	t->hashing = false;
	t->utf8 = t->bdat = false;
	if (t->spooling)
		spool_close(&t->spool);
	t->spooling = false;
	if (s->state == ST_MAIL)
		s->state = ST_HELO;
}

/*
 * RFC 3207 4.2: after the handshake "the server MUST discard any
 * knowledge obtained from the client, such as the argument to the EHLO
 * command, which was not obtained from the TLS negotiation itself."
 * The one place that does it.  Field by field (struct session):
 *
 *   forgotten  helo, esmtp, state (ST_GREETED: EHLO again, else 503);
 *              the transaction (tx_reset: sender, recipients, spool);
 *              authenticated and auth_user (no relaying, no ESMTPA, no
 *              SMTP_AUTH_USER until the client authenticates again,
 *              which RFC 4954 4 then allows: AUTH is no longer 503);
 *              errors (the SMTP_MAX_ERRORS count) and auth_failures
 *              (AUTH_MAX_FAILURES), which
 *              counted commands of the plaintext session; the plaintext
 *              input already buffered (io_discard_input, before the
 *              handshake).
 *   kept       what the client did not tell us in SMTP: cfg; io (its
 *              transport is TLS now); id; client_ip, client_port,
 *              remote_host and country (from the connection, tcpserver
 *              and GeoIP); tls_active and tls_info (from the negotiation
 *              itself); messages and accepted (our counts: the queue id
 *              "<id>.<messages>" must stay unique); quit, ended and
 *              count_errors (control flow).  The lockout file's failures
 *              stay too: they belong to the address, not to the session.
 */
void session_restart(struct session *s)
{
	tx_reset(s);
	s->state = ST_GREETED;
	memset(s->helo, 0, sizeof s->helo);
	s->esmtp = false;
	s->authenticated = false;
	memset(s->auth_user, 0, sizeof s->auth_user);
	s->errors = 0;
	s->auth_failures = 0;
}

void session_end(struct session *s, const char *why)
{
	char msgs[24], acc[24], errs[24];

	if (s->ended)
		return;
	s->ended = true;
	io_flush(&s->io);
	io_close(&s->io);              /* TLS: our close_notify */
	snprintf(msgs, sizeof msgs, "%u", s->messages);
	snprintf(acc, sizeof acc, "%u", s->accepted);
	snprintf(errs, sizeof errs, "%u", s->errors);
	log_event("disconnect", "reason", why, "messages", msgs,
		  "accepted", acc, "errors", errs, NULL);
	tx_reset(s);
	s->quit = true;
}
