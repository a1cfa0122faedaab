/*
 * smtp-session.c - main(): one SMTP session on one connection.
 *
 * SUMMARY
 *	Sets the signal state, finds the connection (fd 3 under socket
 *	activation, else fd 0/1), the peer address, and the configuration;
 *	refuses root; runs implicit TLS and the connect-time gate; greets;
 *	then hands the session to command_loop() (commands.c).  Also the
 *	command-line modes: --help, --version, --new-ticket-key and
 *	--check-config (its file checks as the service user when run by
 *	root).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "commands.h"
#include "config-check.h"
#include "gate.h"
#include "io.h"
#include "log.h"
#include "session.h"
#include "tls.h"

#define LISTEN_FDS_START 3   /* sd_listen_fds(3) */

static struct config cfg;
static struct session sess;

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

/* Dotted quad of 4 octets.  Not inet_ntop(): that lives among libc's
 * resolver code, and calling it maps ~80 KiB more of libc into every
 * IPv4 session (bench/RESULTS.md, run 4, RSS); IPv6 still uses it. */
static void ipv4_text(const unsigned char a[4], char *ip, size_t iplen)
{
	snprintf(ip, iplen, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

/* Printable address of a socket, IPv4-mapped IPv6 shown as IPv4. */
static bool sockaddr_text(const struct sockaddr_storage *ss, char *ip,
			  size_t iplen, char *port, size_t portlen)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		ipv4_text((const unsigned char *)&a->sin_addr, ip, iplen);
		snprintf(port, portlen, "%u", ntohs(a->sin_port));
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			ipv4_text(&a->sin6_addr.s6_addr[12], ip, iplen);
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

/* The user the shipped units run sessions as (User=smtpd); --user
 * names another. */
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

static int check_files_as_service_user(const char *user)
{
	char why[256];
	struct passwd *pw;
	struct child c;
	bool done;
	int status;

	if (!user && (geteuid() != 0 || cfg.allow_root))
		return check_files();
	pw = getpwnam(user ? user : SERVICE_USER);
	if (!pw) {
		snprintf(why, sizeof why, "--user %.64s: no such user",
			 user ? user : SERVICE_USER);
		report_problem(user ? why :
			       "running as root: the sessions refuse root, and "
			       "there is no user " SERVICE_USER " to check the "
			       "files as; run --check-config as the sessions' user");
		return 1;
	}
	if (pw->pw_uid == geteuid())
		return check_files();
	if (geteuid() != 0) {
		report_problem("--user: only root can check the files as another user");
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

static void report_warning(const char *w)
{
	dprintf(2, "smtp-session: warning: %s\n", w);
}

/* --check-config [--user NAME]: problems make it exit 1, warnings (an
 * unknown SMTP_* name) do not. */
static int check_config(int argc, char **argv)
{
	const char *user = NULL;
	int n, warnings;

	if (argc == 4 && strcmp(argv[2], "--user") == 0)
		user = argv[3];
	else if (argc != 2) {
		config_usage(2);
		return 2;
	}
	n = config_load(&cfg, report_problem);
	warnings = config_check_names(report_warning);
	n += check_files_as_service_user(user);
	if (n == 0 && warnings == 0)
		printf("smtp-session: configuration ok\n");
	else if (n == 0)
		printf("smtp-session: configuration ok, %d warning%s\n",
		       warnings, warnings == 1 ? "" : "s");
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
			return check_config(argc, argv);
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
	s->tx.relayed = calloc(cfg.max_rcpts, sizeof *s->tx.relayed);
	if (!s->tx.rcpts || !s->tx.relayed)
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
