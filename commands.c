/*
 * commands.c - the command loop: read a line, find its verb in the
 *	command table, check the verb's rules, run its handler.
 *
 * SUMMARY
 *	command_loop() is the one place that waits for a command; before it
 *	blocks, io.c flushes the buffered replies (pipelining).  commands[]
 *	names each verb's argument flags, its rules (rules[]: a predicate
 *	that holds when the command must be refused now, and the reply) and
 *	its handler: envelope.c for MAIL and RCPT, message.c for DATA and
 *	BDAT, auth.c for AUTH, tls.c for STARTTLS, the simple ones here.
 *	Handlers only proceed; the sequence is checked here, in one place.
 *
 * LIMITS
 *	Command lines: CMD_LINE_MAX (2048) octets with CRLF; AUTH lines up
 *	to AUTH_LINE_MAX (RFC 4954 4).  SMTP_MAX_ERRORS 5xx replies to
 *	commands end the session with 421 4.7.0; SMTP_TIMEOUT and
 *	SMTP_SESSION_TIMEOUT end it with 421 4.4.2; an HTTP request line
 *	ends it with 421 4.7.0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "commands.h"
#include "config.h"
#include "envelope.h"
#include "io.h"
#include "log.h"
#include "message.h"
#include "session.h"
#include "tls.h"

/* ---- the simple commands ---------------------------------------------- */

static bool helo_arg(struct session *s, const char *verb, const char *arg)
{
	size_t n = strlen(arg);

	while (n > 0 && arg[n - 1] == ' ')
		n--;
	if (n == 0 || n > HELO_MAX) {
		reply(s, 501, "5.5.4", "Syntax: %s hostname", verb);
		return false;
	}
	memcpy(s->helo, arg, n);
	s->helo[n] = '\0';
	tx_reset(s);
	s->state = ST_HELO;
	return true;
}

static void cmd_helo(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	(void)refused;
	if (!helo_arg(s, "HELO", arg))
		return;
	s->esmtp = false;
	reply(s, 250, NULL, "%s", s->cfg->hostname);
}

static void cmd_ehlo(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	char size[48];

	(void)refused;
	if (!helo_arg(s, "EHLO", arg))
		return;
	s->esmtp = true;
	snprintf(size, sizeof size, "SIZE %llu",
		 (unsigned long long)s->cfg->max_size);
	reply_line(s, 250, false, s->cfg->hostname);
	reply_line(s, 250, false, "PIPELINING");
	reply_line(s, 250, false, size);
	reply_line(s, 250, false, "8BITMIME");
	reply_line(s, 250, false, "ENHANCEDSTATUSCODES");
	if (tls_configured(s->cfg) && !s->tls_active)
		reply_line(s, 250, false, "STARTTLS");
	if (auth_offered(s))
		reply_line(s, 250, false, "AUTH PLAIN LOGIN");
	reply_line(s, 250, false, "CHUNKING");
	reply_line(s, 250, true, "SMTPUTF8");
}

static void cmd_rset(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	(void)refused;
	(void)arg;
	tx_reset(s);
	reply(s, 250, "2.0.0", "Ok");
}

static void cmd_noop(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	(void)refused;
	(void)arg;
	reply(s, 250, "2.0.0", "Ok");
}

static void cmd_quit(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	(void)refused;
	(void)arg;
	reply(s, 221, "2.0.0", "%s Bye", s->cfg->hostname);
	s->quit = true;
}

/* RFC 5321 3.5.3: 252 when we will not verify but will accept. */
static void cmd_vrfy(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	(void)refused;
	(void)arg;
	reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_help(struct session *s, const char *arg,
		     const struct refusal *refused)
{
	(void)refused;
	(void)arg;
	reply(s, 214, "2.0.0", "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see smtp-session(8)");
}

static void cmd_not_implemented(struct session *s, const char *arg,
				const struct refusal *refused)
{
	(void)refused;
	(void)arg;
	reply(s, 502, "5.5.1", "Error: command not implemented");
}

/* ---- the rules' predicates: true when the command must wait -------- */

static bool tls_first(const struct session *s)
{
	return s->cfg->tls == TLS_REQUIRED && !s->tls_active;
}

static bool helo_first(const struct session *s)
{
	return s->state == ST_GREETED;
}

static bool ehlo_first(const struct session *s)
{
	return s->state == ST_GREETED || !s->esmtp;
}

static bool in_tx(const struct session *s)
{
	return s->state == ST_MAIL;
}

static bool no_tx(const struct session *s)
{
	return s->state != ST_MAIL;
}

static bool no_rcpt(const struct session *s)
{
	return s->tx.nrcpts == 0;
}

static bool after_bdat(const struct session *s)
{
	return s->tx.bdat;
}

static bool auth_first(const struct session *s)
{
	return s->cfg->auth == AUTH_REQUIRED && !s->authenticated;
}

static bool auth_off(const struct session *s)
{
	return s->cfg->auth == AUTH_OFF;
}

static bool authenticated(const struct session *s)
{
	return s->authenticated;
}

static bool auth_needs_tls(const struct session *s)
{
	return !s->tls_active && !s->cfg->auth_plaintext;
}

static bool tls_not_offered(const struct session *s)
{
	return !tls_configured(s->cfg);
}

static bool tls_active(const struct session *s)
{
	return s->tls_active;
}

/* ---- the command table ------------------------------------------------ */

/*
 * Sequence and policy rules as data, checked in one place (dispatch()),
 * as OpenSMTPD's smtp_session.c pairs a check with a proceed: each rule
 * is a predicate that is true when the command must be refused now, and
 * the reply it is refused with.  A command's row lists its rules in the
 * order they are checked; the first that holds answers.  The handlers
 * only proceed: they check their own arguments, never the sequence.
 */
enum rule {
	R_END = 0,
	R_TLS_FIRST,       /* SMTP_TLS=required and no TLS yet (RFC 3207 4) */
	R_HELO_FIRST,      /* no HELO/EHLO yet */
	R_EHLO_FIRST,      /* no EHLO yet (AUTH is an ESMTP extension) */
	R_NO_NESTED_MAIL,  /* a transaction is open */
	R_AUTH_FIRST,      /* SMTP_AUTH=required and not authenticated */
	R_MAIL_FIRST,      /* no transaction open */
	R_RCPT_FIRST,      /* no recipient yet */
	R_NOT_AFTER_BDAT_RCPT, /* RFC 3030 3: BDAT ends the RCPTs ... */
	R_NOT_AFTER_BDAT_DATA, /* ... and excludes DATA */
	R_AUTH_ON,         /* SMTP_AUTH=off: AUTH is not a command here */
	R_AUTH_ONCE,       /* RFC 4954 4: after a successful AUTH */
	R_AUTH_NO_TX,      /* RFC 4954 4: not during a mail transaction */
	R_AUTH_TLS,        /* RFC 4954 4 / 538: plaintext AUTH not allowed */
	R_TLS_OFFERED,     /* STARTTLS without a certificate: as Postfix */
	R_TLS_ONCE,        /* STARTTLS when TLS is active */
};

static const struct rule_def {
	bool (*holds)(const struct session *s);
	struct refusal reply;
} rules[] = {
	[R_TLS_FIRST]      = { tls_first,      { 530, "5.7.0", TLS_FIRST_TEXT } },
	[R_HELO_FIRST]     = { helo_first,     { 503, "5.5.1", "Error: send HELO/EHLO first" } },
	[R_EHLO_FIRST]     = { ehlo_first,     { 503, "5.5.1", "Error: send EHLO first" } },
	[R_NO_NESTED_MAIL] = { in_tx,          { 503, "5.5.1", "Error: nested MAIL command" } },
	[R_AUTH_FIRST]     = { auth_first,     { 530, "5.7.0", "Authentication required" } },
	[R_MAIL_FIRST]     = { no_tx,          { 503, "5.5.1", "Error: need MAIL command" } },
	[R_RCPT_FIRST]     = { no_rcpt,        { 503, "5.5.1", "Error: need RCPT command" } },
	[R_NOT_AFTER_BDAT_RCPT] = { after_bdat, { 503, "5.5.1", "Error: RCPT after BDAT" } },
	[R_NOT_AFTER_BDAT_DATA] = { after_bdat, { 503, "5.5.1", "Error: DATA after BDAT" } },
	[R_AUTH_ON]        = { auth_off,       { 502, "5.5.1", "Error: command not implemented" } },
	[R_AUTH_ONCE]      = { authenticated,  { 503, "5.5.1", "Error: already authenticated" } },
	[R_AUTH_NO_TX]     = { in_tx,          { 503, "5.5.1", "Error: AUTH not allowed during a mail transaction" } },
	[R_AUTH_TLS]       = { auth_needs_tls, { 538, "5.7.11", "Encryption required for requested authentication mechanism" } },
	[R_TLS_OFFERED]    = { tls_not_offered, { 502, "5.5.1", "Error: STARTTLS not offered" } },
	[R_TLS_ONCE]       = { tls_active,     { 503, "5.5.1", "Error: TLS already active" } },
};

enum {
	CMD_ARG     = 1 << 0,  /* needs an argument: 501 without */
	CMD_NOARG   = 1 << 1,  /* takes none: 501 with one */
	CMD_AUTHLEN = 1 << 2,  /* its line may be AUTH_LINE_MAX long */
	/* a refusal by the rules goes to the handler, which reads the
	 * command's data first (BDAT's chunk must never become commands) */
	CMD_READ_FIRST = 1 << 3,
	/* a 4xx or 5xx reply is logged with the argument (RCPT) */
	CMD_LOG_REFUSAL = 1 << 4,
};

#define RULES_MAX 7

static const struct command {
	const char *verb;
	unsigned flags;
	enum rule rules[RULES_MAX];
	void (*run)(struct session *, const char *arg, const struct refusal *);
} commands[] = {
	{ "HELO", CMD_ARG, { R_END }, cmd_helo },
	{ "EHLO", CMD_ARG, { R_END }, cmd_ehlo },
	{ "MAIL", CMD_ARG, { R_TLS_FIRST, R_HELO_FIRST, R_NO_NESTED_MAIL,
			     R_AUTH_FIRST }, cmd_mail },
	{ "RCPT", CMD_ARG | CMD_LOG_REFUSAL, { R_TLS_FIRST, R_HELO_FIRST, R_MAIL_FIRST,
			     R_NOT_AFTER_BDAT_RCPT }, cmd_rcpt },
	{ "DATA", CMD_NOARG, { R_TLS_FIRST, R_HELO_FIRST, R_MAIL_FIRST,
			       R_NOT_AFTER_BDAT_DATA, R_RCPT_FIRST }, cmd_data },
	/* RFC 3030: the chunk is read whatever the verdict */
	{ "BDAT", CMD_ARG | CMD_READ_FIRST, { R_TLS_FIRST, R_MAIL_FIRST,
					      R_RCPT_FIRST }, cmd_bdat },
	{ "RSET", CMD_NOARG, { R_END }, cmd_rset },
	{ "NOOP", 0, { R_END }, cmd_noop },           /* RFC 5321 4.1.1.9 */
	{ "QUIT", CMD_NOARG, { R_END }, cmd_quit },
	{ "VRFY", CMD_ARG, { R_END }, cmd_vrfy },
	{ "HELP", 0, { R_END }, cmd_help },
	{ "STARTTLS", CMD_NOARG, { R_TLS_ONCE, R_TLS_OFFERED }, cmd_starttls },
	{ "AUTH", CMD_AUTHLEN, { R_TLS_FIRST, R_AUTH_ON, R_EHLO_FIRST,
				 R_AUTH_ONCE, R_AUTH_NO_TX, R_AUTH_TLS },
	  cmd_auth },
	{ "EXPN", 0, { R_END }, cmd_not_implemented },
	{ "TURN", 0, { R_END }, cmd_not_implemented },
	{ "ETRN", 0, { R_END }, cmd_not_implemented },
};

static const struct command *lookup(const char *verb, size_t len)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strlen(commands[i].verb) == len &&
		    strncasecmp(commands[i].verb, verb, len) == 0)
			return &commands[i];
	return NULL;
}

/* The first of the command's rules that holds, or NULL: it may run. */
static const struct refusal *check(const struct session *s,
				   const struct command *c)
{
	for (size_t i = 0; i < RULES_MAX && c->rules[i] != R_END; i++)
		if (rules[c->rules[i]].holds(s))
			return &rules[c->rules[i]].reply;
	return NULL;
}

static void run_command(struct session *s, const struct command *c,
			const char *arg, size_t len)
{
	const struct refusal *refused;

	if (len > CMD_LINE_MAX - 2 && !(c && (c->flags & CMD_AUTHLEN))) {
		reply(s, 500, "5.5.2", "Line too long");
		return;
	}
	if (!c) {
		/* Not the text: a client that runs ahead of a refused AUTH
		 * sends its base64 credentials as "commands". */
		char n[24];
		snprintf(n, sizeof n, "%zu", len);
		log_event("unknown_command", "length", n, NULL);
		reply(s, 500, "5.5.2", "Error: command not recognized");
		return;
	}
	if ((c->flags & CMD_ARG) && !*arg) {
		reply(s, 501, "5.5.4", "Syntax: %s needs an argument", c->verb);
		return;
	}
	if ((c->flags & CMD_NOARG) && *arg) {
		reply(s, 501, "5.5.4", "Syntax: %s takes no argument", c->verb);
		return;
	}
	refused = check(s, c);
	if (refused && !(c->flags & CMD_READ_FIRST)) {
		reply(s, refused->code, refused->enh, "%s", refused->text);
		return;
	}
	c->run(s, arg, refused);
}

static void dispatch(struct session *s, const char *line, size_t len)
{
	size_t vlen = strcspn(line, " ");
	const struct command *c = lookup(line, vlen);
	const char *arg = line + vlen;

	while (*arg == ' ')
		arg++;
	s->last.code = 0;
	s->refusal_reason = NULL;
	run_command(s, c, arg, len);
	if (c && (c->flags & CMD_LOG_REFUSAL) && s->last.code >= 400)
		rcpt_log_refusal(s, arg);
}

static bool looks_like_http(const char *line)
{
	static const char *const verbs[] = { "GET ", "POST ", "PUT ", "HEAD ",
		"CONNECT ", "OPTIONS ", "Host:", "User-Agent:", NULL };

	for (size_t i = 0; verbs[i]; i++)
		if (strncasecmp(line, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

void command_loop(struct session *s)
{
	static char line[AUTH_LINE_MAX + 3];

	while (!s->quit) {
		size_t len;
		bool crlf;
		enum io_status st = io_getline(&s->io, line, sizeof line, &len,
					       &crlf);

		s->count_errors = true;
		if (st == IO_TIMEOUT) {
			reply(s, 421, "4.4.2", "%s Timeout, closing connection",
			      s->cfg->hostname);
			session_end(s, "timeout");
			return;
		}
		if (st == IO_EOF || st == IO_ERROR) {
			session_end(s, st == IO_EOF ? "eof" : "read_error");
			return;
		}
		if (st == IO_TOOLONG)
			reply(s, 500, "5.5.2", "Line too long");
		else if (memchr(line, '\0', len))
			reply(s, 500, "5.5.2", "Error: NUL octet in command");
		else if (looks_like_http(line)) {
			reply(s, 421, "4.7.0", "%s Error: this is an SMTP server",
			      s->cfg->hostname);
			session_end(s, "http_command");
			return;
		} else
			dispatch(s, line, len);
		if (!s->quit && s->errors >= s->cfg->max_errors) {
			reply(s, 421, "4.7.0", "%s Too many errors, closing connection",
			      s->cfg->hostname);
			session_end(s, "too_many_errors");
			return;
		}
	}
	session_end(s, "quit");
}
