/*
 * smtp-session.c - main(): one SMTP session on one connection.
 *
 * SUMMARY
 *	Finds the connection (fd 3 under socket activation, else fd 0/1),
 *	the peer address, and the configuration; refuses root; greets; then
 *	runs one linear loop: read a command line, look the verb up in
 *	commands[], apply the table's cross-cutting checks (arguments,
 *	HELO first), run the handler.  Handlers for MAIL/RCPT live in
 *	envelope.c, DATA/BDAT in message.c.
 *
 * LIMITS
 *	Command lines: CMD_LINE_MAX (2048) octets with CRLF; AUTH lines up to
 *	AUTH_LINE_MAX (RFC 4954 4).  SMTP_MAX_ERRORS 5xx replies to commands
 *	end the session with 421 4.7.0.  SMTP_TIMEOUT and SMTP_SESSION_TIMEOUT
 *	end it with 421 4.4.2.
 *
 * DIAGNOSTICS
 *	Exit 0 after a session, 1 on a configuration problem (after 421 4.3.0
 *	to the client), 2 on a usage error.  Every event is logged (log.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>

#include "auth.h"
#include "child.h"
#include "config.h"
#include "config-check.h"
#include "envelope.h"
#include "gate.h"
#include "io.h"
#include "log.h"
#include "message.h"
#include "session.h"
#include "tls.h"

#define LISTEN_FDS_START 3   /* sd_listen_fds(3) */

static struct config cfg;
static struct session sess;

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
	(void)refused;
	char size[48];

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
	{ "RCPT", CMD_ARG, { R_TLS_FIRST, R_HELO_FIRST, R_MAIL_FIRST,
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

static void dispatch(struct session *s, const char *line, size_t len)
{
	size_t vlen = strcspn(line, " ");
	const struct command *c = lookup(line, vlen);
	const char *arg = line + vlen;
	const struct refusal *refused;

	while (*arg == ' ')
		arg++;
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

static bool looks_like_http(const char *line)
{
	static const char *const verbs[] = { "GET ", "POST ", "PUT ", "HEAD ",
		"CONNECT ", "OPTIONS ", "Host:", "User-Agent:", NULL };

	for (size_t i = 0; verbs[i]; i++)
		if (strncasecmp(line, verbs[i], strlen(verbs[i])) == 0)
			return true;
	return false;
}

static void command_loop(struct session *s)
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

/* ---- connection discovery --------------------------------------------- */

/* sd_listen_fds(3) semantics without libsystemd: LISTEN_PID must be us;
 * the variables are removed so the deliver program does not see them. */
static int listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	int count = 0;

	if (pid && n && strtol(pid, NULL, 10) == (long)getpid())
		count = atoi(n);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	for (int fd = LISTEN_FDS_START; fd < LISTEN_FDS_START + count; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return count;
}

/* Printable address of a socket, IPv4-mapped IPv6 shown as IPv4. */
static bool sockaddr_text(const struct sockaddr_storage *ss, char *ip,
			  size_t iplen, char *port, size_t portlen)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, ip, (socklen_t)iplen);
		snprintf(port, portlen, "%u", ntohs(a->sin_port));
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip,
				  (socklen_t)iplen);
		else
			inet_ntop(AF_INET6, &a->sin6_addr, ip, (socklen_t)iplen);
		snprintf(port, portlen, "%u", ntohs(a->sin6_port));
		return true;
	}
	return false;
}

/* An address from the environment, accepted only if it parses. */
static bool env_ip(const char *name, char *ip, size_t iplen)
{
	const char *v = getenv(name);
	unsigned char buf[sizeof(struct in6_addr)];

	if (!v || strlen(v) >= iplen)
		return false;
	if (inet_pton(AF_INET, v, buf) != 1 && inet_pton(AF_INET6, v, buf) != 1)
		return false;
	strcpy(ip, v);
	return true;
}

static void find_peer(struct session *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	const char *port = NULL, *host = getenv("TCPREMOTEHOST");

	snprintf(s->client_ip, sizeof s->client_ip, "unknown");
	s->client_port[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    sockaddr_text(&ss, s->client_ip, sizeof s->client_ip,
			  s->client_port, sizeof s->client_port))
		;
	else if (env_ip("TCPREMOTEIP", s->client_ip, sizeof s->client_ip))
		port = getenv("TCPREMOTEPORT");
	else if (env_ip("REMOTE_ADDR", s->client_ip, sizeof s->client_ip))
		port = getenv("REMOTE_PORT");
	if (port && strlen(port) < sizeof s->client_port &&
	    strspn(port, "0123456789") == strlen(port))
		strcpy(s->client_port, port);
	/* tcp-environ(5): TCPREMOTEHOST may hold anything; keep it tame */
	if (host && *host && strlen(host) <= HOSTNAME_MAX &&
	    strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789.-") == strlen(host))
		strcpy(s->remote_host, host);
	else
		strcpy(s->remote_host, "unknown");
}

/* Replies are already batched by io.c; Nagle would only hold the last
 * small write of a burst (after TLS, the EHLO reply behind two session
 * tickets) for the client's delayed ACK, ~40 ms.  Not a socket: no-op. */
static void set_nodelay(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void make_id(char *id, size_t len)
{
	unsigned char r[8];

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		memset(r, 0, sizeof r);
	snprintf(id, len, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7]);
}

/* ---- main ------------------------------------------------------------- */

static void report_problem(const char *p)
{
	dprintf(2, "smtp-session: %s\n", p);
}

/* Problems found before the log is set up (its mode is configuration
 * too) are kept here and logged right after. */
#define PROBLEMS_KEPT 32
static char problems_kept[PROBLEMS_KEPT][512];
static int nproblems_kept;

static void keep_problem(const char *p)
{
	if (nproblems_kept < PROBLEMS_KEPT)
		snprintf(problems_kept[nproblems_kept++], sizeof problems_kept[0],
			 "%s", p);
}

/*
 * The signal state, set explicitly before anything else.  execve(2)
 * resets handlers but keeps the signal mask and every SIG_IGN, and
 * launchers leave both behind: swaks --pipe (Perl) and some tcpserver
 * wrappers and shell scripts ignore SIGCHLD, others block signals.  With
 * SIGCHLD ignored the kernel reaps the deliver and checkpassword
 * programs itself, waitpid(2) fails with ECHILD, and the client gets
 * 451 4.3.0 for a message that is already delivered (and sends it
 * again), or 454 for a good password.  A blocked SIGTERM makes the
 * session deaf to systemd stopping it.  And our children would inherit
 * all of it.  So: an empty mask; SIGCHLD and every other ignored signal
 * back to SIG_DFL (no handler survives exec, so the rest is SIG_DFL
 * already or was set up in this process, e.g. by a sanitizer runtime,
 * and stays); then SIGPIPE ignored, the one disposition the code relies
 * on: a write to a closed socket or pipe (the client, OpenSSL's writes,
 * the envelope pipe, the log) must fail with EPIPE, not kill.  The
 * children put SIGPIPE back to SIG_DFL (queue.c, auth.c) and inherit
 * the rest.  Nothing installs a handler: timeouts are poll(2) deadlines.
 * Returns the number of problems (kept for the log; 421 4.3.0).
 */
/* glibc keeps two real-time signals (32 and 33: thread cancellation and
 * setxid) to itself and refuses sigaction() on them, but a launcher can
 * leave them ignored (GNU parallel does) and exec passes that on to our
 * children.  The raw system call puts an ignored one back to SIG_DFL; we
 * have no threads, so nothing of the C library's is lost.  The kernel's
 * struct: handler, flags, restorer, an 8-octet mask. */
static bool libc_signal_dfl(int sig)
{
	struct { void *handler; unsigned long flags; void *restorer;
		 unsigned long long mask; } old, dfl = { 0 };

	dfl.handler = (void *)SIG_DFL;
	if (syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof old.mask) < 0)
		return errno == EINVAL;       /* no such signal */
	if (old.handler != (void *)SIG_IGN)
		return true;
	return syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask) == 0;
}

static int signals_reset(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t none;
	char why[128];

	if (sigemptyset(&none) < 0 || sigemptyset(&dfl.sa_mask) < 0 ||
	    sigemptyset(&ign.sa_mask) < 0 ||
	    sigprocmask(SIG_SETMASK, &none, NULL) < 0 ||
	    sigaction(SIGCHLD, &dfl, NULL) < 0)
		goto fail;
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction old;

		/* EINVAL: SIGKILL, SIGSTOP, the C library's own real-time ones */
		if (sigaction(sig, NULL, &old) < 0) {
			if (sig != SIGKILL && sig != SIGSTOP && !libc_signal_dfl(sig))
				goto fail;
			continue;
		}
		if (old.sa_handler == SIG_IGN && sigaction(sig, &dfl, NULL) < 0)
			goto fail;
	}
	if (sigaction(SIGPIPE, &ign, NULL) < 0)
		goto fail;
	return 0;
fail:
	snprintf(why, sizeof why, "cannot set the signal dispositions: %s",
		 strerror(errno));
	keep_problem(why);
	return 1;
}

/* --check-config's file-system checks: the files the configuration
 * names, the TLS files, what SMTP_PASSWD's hashes cost. */
static int check_files(void)
{
	int n = config_check_files(&cfg, report_problem);

	if (cfg.tls_cert || cfg.tls_key || cfg.tls_ticket_keys)
		n += tls_check_files(&cfg, report_problem);
	return n + auth_check_costs(&cfg, report_problem);
}

/* The user the shipped units run sessions as (User=smtpd). */
#define SERVICE_USER "smtpd"

/* Root without SMTP_ALLOW_ROOT=1: the sessions will never run as root, so
 * root's view of the files says nothing (root reads a key only root can
 * read; checking SMTP_LOCKOUT_FILE would even create it owned by root,
 * unusable by the sessions).  The checks run in a child with the
 * credentials of SERVICE_USER instead; its problems are its exit status. */
/* The child's side: become the service user, check, exit with the count. */
static void check_files_as(void *arg)
{
	const struct passwd *pw = arg;
	int n;

	if (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
	    setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0 || geteuid() == 0)
		_exit(1);
	n = check_files();
	fflush(NULL);
	_exit(n > 100 ? 100 : n);
}

#define CHECK_FILES_TIMEOUT_MS 60000   /* a hung NFS mount, say */

static int check_files_as_service_user(void)
{
	struct passwd *pw;
	struct child c;
	bool done;
	int status;

	if (geteuid() != 0 || cfg.allow_root)
		return check_files();
	pw = getpwnam(SERVICE_USER);
	if (!pw) {
		report_problem("running as root: the sessions refuse root, and "
			       "there is no user " SERVICE_USER " to check the "
			       "files as; run --check-config as the sessions' user");
		return 1;
	}
	fflush(NULL);
	if (child_spawn(&c, check_files_as, pw, 1) < 0) {
		report_problem("running as root: fork failed; files not checked");
		return 1;
	}
	done = child_wait(&c, mono_ms() + CHECK_FILES_TIMEOUT_MS);
	if (child_end(&c, &status) < 0 || !done) {
		report_problem("running as root: the file checks did not finish");
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int check_config(void)
{
	int n = config_load(&cfg, report_problem);

	n += check_files_as_service_user();
	if (n == 0)
		printf("smtp-session: configuration ok\n");
	return n == 0 ? 0 : 1;
}

/* Refuses the connection with 421 and a log line; returns the exit code. */
static int refuse(struct session *s, const char *enh, const char *why,
		  const char *text)
{
	log_event("refused", "reason", why, NULL);
	reply(s, 421, enh, "%s %s", cfg.hostname[0] ? cfg.hostname : "localhost",
	      text);
	io_flush(&s->io);
	return 1;
}

static void greet(struct session *s)
{
	log_event("connect", "port", s->client_port, "host", s->remote_host,
		  NULL);
	reply(s, 220, NULL, "%s ESMTP smtp-session", s->cfg->hostname);
}

int main(int argc, char **argv)
{
	struct session *s = &sess;
	int problems = signals_reset(), in = 0, out = 1;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0) {
			config_usage(1);
			return 0;
		}
		if (strcmp(argv[1], "--version") == 0) {
			printf("smtp-session %s\n", SMTP_SESSION_VERSION);
			return 0;
		}
		if (strcmp(argv[1], "--new-ticket-key") == 0 && argc == 3)
			return tls_new_ticket_key(argv[2]);
		if (strcmp(argv[1], "--check-config") == 0)
			return check_config();
		config_usage(2);
		return 2;
	}
	if (listen_fds() == 1)
		in = out = LISTEN_FDS_START;
	problems += config_load(&cfg, keep_problem);
	log_init(argv[0], cfg.log_mode);
	make_id(s->id, sizeof s->id);
	s->cfg = &cfg;
	find_peer(s, in);
	set_nodelay(in);
	log_context(s->id, s->client_ip, NULL);
	io_init(&s->io, in, out, cfg.timeout, cfg.session_timeout);
	if (problems > 0) {
		for (int i = 0; i < nproblems_kept; i++)
			log_event("config_error", "problem", problems_kept[i], NULL);
		return refuse(s, "4.3.0", "config_error",
			      "Service not available, configuration error");
	}
	if (geteuid() == 0 && !cfg.allow_root)
		return refuse(s, "4.3.0", "running_as_root",
			      "Service not available, refusing to run as root");
	s->tx.rcpts = calloc(cfg.max_rcpts, sizeof *s->tx.rcpts);
	if (!s->tx.rcpts)
		return refuse(s, "4.3.0", "out_of_memory", "Out of memory");
	s->tx.spool.fd = -1;
	if (cfg.tls_implicit && !tls_implicit_start(s)) {
		session_end(s, "tls_failed");  /* RFC 8314: no reply possible */
		return 0;
	}
	if (!gate_connect(s)) {
		session_end(s, "refused");
		return 0;
	}
	greet(s);
	command_loop(s);
	return 0;
}
