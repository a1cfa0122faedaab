/*
 * smtp-sendmail.c - hand one message to the host MTA's sendmail command,
 *	qmail-queue style.
 *
 * SUMMARY
 *	smtp-session(8) runs this program as a deliver program: fd 0 is the
 *	message (a regular file, or a pipe from a filter in front), fd 1 a
 *	pipe carrying the envelope "F<sender>\0", one "T<rcpt>\0" per
 *	recipient, then "\0" (qmail-queue(8)).  Like qmail-queue we read
 *	the whole message first (a pipe is spooled into an unnamed file in
 *	$TMPDIR or /tmp), then the envelope.  Then we run, without a shell,
 *
 *		PROGRAM [ARG...] -i -f SENDER -- RCPT...
 *
 *	(PROGRAM defaults to /usr/sbin/sendmail) with the message on its
 *	stdin and its stdout and stderr relayed to our stderr, which the
 *	session logs line by line.  The null sender is passed as "<>"
 *	(Postfix, Exim, msmtp and Sendmail read it as the null sender).
 *	"--" ends the options, so a recipient that starts with '-' stays a
 *	recipient.  sendmail's exit status (sysexits.h) becomes ours
 *	through exit_table[] below.
 *
 *	sendmail runs in its own process group with SIGKILL as its
 *	parent-death signal: at our deadline (--timeout, default 300 s,
 *	below smtp-session's SMTP_DELIVER_TIMEOUT of 600) we kill the
 *	group; if the session kills us first, the kernel kills sendmail.
 *
 * LIMITS
 *	Envelope addresses are at most ADDR_MAX (1002) octets (exit 11); at
 *	most RCPTS_MAX (1000) recipients, so the command line stays far
 *	below ARG_MAX (exit 31); an address with a control octet is
 *	refused (exit 31).  At most OUT_MAX (4 KiB) of sendmail's output is
 *	relayed, the rest is counted and dropped.
 *
 * DIAGNOSTICS
 *	Exit status per qmail-queue(8): 0 accepted by the host MTA; 11 and
 *	31 permanent; 51, 53, 54, 55, 71, 74, 81, 91 temporary.  A failure
 *	writes "smtp-sendmail: <reason>" on stderr.  When sendmail failed
 *	(and for a bad address or too many recipients) a last line follows
 *	that the session answers the client with, "554 5.x.x text" or
 *	"451 4.x.x text" of the exit status's class (no control octets, at
 *	most REPLY_MAX octets).  Addresses in diagnostics are escaped (escape.c).
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "filter-chain.h"
#include "writeall.h"

#define PROGNAME        "smtp-sendmail"
#define VERSION         "0.1.0"
#define DEFAULT_PROGRAM "/usr/sbin/sendmail"
#define DEFAULT_TIMEOUT 300
#define TIMEOUT_MAX     86400
#define ADDR_MAX        1002	/* as smtp-deliver: bounds the envelope */
#define RCPTS_MAX       1000	/* 1000 * 1003 octets: well below ARG_MAX */
#define ENV_MAX         ((RCPTS_MAX + 1) * (ADDR_MAX + 2) + 1)
#define EXTRA_MAX       32	/* PROGRAM's own arguments */
#define OUT_MAX         4096	/* sendmail output relayed to stderr */
#define ERR_MAX         2048
#define REPLY_MAX       200	/* the custom reply line, code included */
#define ESC_MAX         (4 * ADDR_MAX + 8)
#define EXIT_NOEXEC     127	/* the child could not exec PROGRAM */

/* sendmail's exit status (sysexits.h) -> ours and the client's reply.
 * Only a status that says the message or an address is bad is
 * permanent; everything else, and any status not listed (nullmailer
 * and Exim exit 1), is temporary: a retry costs little, a bounce loses
 * the mail. */
static const struct {
	int status, code, smtp;
	const char *enh, *name, *text;
} exit_table[] = {
	{ EX_USAGE,       QQ_REFUSED, 554, "5.3.0", "EX_USAGE",
	  "Host MTA refused the command line" },
	{ EX_DATAERR,     QQ_REFUSED, 554, "5.6.0", "EX_DATAERR",
	  "Host MTA refused the message" },
	{ EX_NOUSER,      QQ_REFUSED, 550, "5.1.1", "EX_NOUSER",
	  "Host MTA: no such recipient" },
	{ EX_NOHOST,      QQ_REFUSED, 550, "5.1.2", "EX_NOHOST",
	  "Host MTA: no such recipient domain" },
	{ EX_NOINPUT,     QQ_TEMP, 451, "4.3.0", "EX_NOINPUT",
	  "Host MTA cannot read the message" },
	{ EX_UNAVAILABLE, QQ_TEMP, 451, "4.3.0", "EX_UNAVAILABLE",
	  "Host MTA unavailable" },
	{ EX_SOFTWARE,    QQ_BUG,  451, "4.3.0", "EX_SOFTWARE",
	  "Host MTA internal error" },
	{ EX_OSERR,       QQ_TEMP, 451, "4.3.0", "EX_OSERR",
	  "Host MTA system error" },
	{ EX_OSFILE,      QQ_TEMP, 451, "4.3.5", "EX_OSFILE",
	  "Host MTA system file missing" },
	{ EX_CANTCREAT,   QQ_TEMP, 451, "4.3.1", "EX_CANTCREAT",
	  "Host MTA cannot queue the message" },
	{ EX_IOERR,       QQ_COMM, 451, "4.4.2", "EX_IOERR",
	  "Host MTA I/O error" },
	{ EX_TEMPFAIL,    QQ_TEMP, 451, "4.3.0", "EX_TEMPFAIL",
	  "Host MTA temporarily refused the message" },
	{ EX_PROTOCOL,    QQ_COMM, 451, "4.4.2", "EX_PROTOCOL",
	  "Host MTA protocol error" },
	{ EX_NOPERM,      QQ_TEMP, 451, "4.3.5", "EX_NOPERM",
	  "Host MTA permission denied" },
	{ EX_CONFIG,      QQ_TEMP, 451, "4.3.5", "EX_CONFIG",
	  "Host MTA configuration error" },
};

struct envelope {
	char *buf;		/* the envelope as read; NULs split it */
	size_t len;
	const char *sender;	/* into buf */
	const char *rcpts[RCPTS_MAX];
	size_t nrcpts;
};

struct plan {
	const char *program;
	char *const *extra;	/* PROGRAM's own arguments */
	int nextra;
	unsigned timeout;	/* seconds */
};

static char errline[ERR_MAX];	/* the first failure's reason */
static char reply[REPLY_MAX];	/* the custom reply line, if any */

/* ---- small helpers -------------------------------------------------- */

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Records the first failure's reason (later ones are consequences) and
 * returns code: "return fail(...)". */
static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	if (errline[0] == '\0') {
		va_start(ap, fmt);
		(void)vsnprintf(errline, sizeof errline, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The line the session answers with, "smtp enh text": smtp-session
 * takes a failing program's last stderr line as its reply when the
 * class (5 or 4) matches the exit status's.  Octets outside printable ASCII become '?' and the line is
 * cut at REPLY_MAX - 1, so whatever goes into text cannot break the
 * client's reply. */
static int with_reply(int code, int smtp, const char *enh, const char *fmt,
		      ...) __attribute__((format(printf, 4, 5)));

static int with_reply(int code, int smtp, const char *enh, const char *fmt,
		      ...)
{
	va_list ap;
	int n = snprintf(reply, sizeof reply, "%d %s ", smtp, enh);

	if (n > 0 && (size_t)n < sizeof reply) {
		va_start(ap, fmt);
		(void)vsnprintf(reply + n, sizeof reply - (size_t)n, fmt, ap);
		va_end(ap);
	}
	for (char *p = reply; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return code;
}

static const char *esc(const char *s)
{
	static char buf[ESC_MAX];
	size_t n = strlen(s);

	if (escape_text(buf, sizeof buf - 3, s, n, 0) < n)
		strcat(buf, "...");
	return buf;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -1;
}

/* ---- arguments ------------------------------------------------------ */

static const char usage_text[] =
	"usage: " PROGNAME " [--timeout=SECONDS] [PROGRAM [ARG...]]\n"
	"       " PROGNAME " --help | --version\n"
	"\n"
	"Hands the message on fd 0 and the envelope on fd 1 (the\n"
	"qmail-queue(8) interface) to the host MTA:\n"
	"  PROGRAM [ARG...] -i -f SENDER -- RCPT...\n"
	"PROGRAM is an absolute path (default " DEFAULT_PROGRAM ");\n"
	"the null sender is passed as <>.  sendmail is killed after\n"
	"SECONDS (default 300; 1-86400).\n"
	"\n"
	"Exit codes (qmail-queue(8); 11 and 31 are permanent):\n"
	"   0  accepted by the host MTA\n"
	"  11  address too long\n"
	"  31  refused: sendmail exit 64, 65, 67, 68; a bad address;\n"
	"      too many recipients\n"
	"  51  out of memory       53  cannot spool a piped message\n"
	"  54  read error          55  bad arguments\n"
	"  71  sendmail failed otherwise, was killed or timed out\n"
	"  74  sendmail exit 74 or 76 (I/O, protocol)\n"
	"  81  sendmail exit 70 (internal error), or ours\n"
	"  91  envelope format error\n"
	"When sendmail failed, the last stderr line is the SMTP reply.\n";

static int print_text(const char *text, bool *done)
{
	*done = true;
	if (write_all(1, text, strlen(text)) == -1)
		return fail(QQ_WRITE, "cannot write to stdout: %s",
			    strerror(errno));
	return QQ_OK;
}

static int parse_timeout(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v < 1 || v > TIMEOUT_MAX)
		return fail(QQ_CONFIG, "--timeout wants 1 to %d seconds, "
			    "not \"%s\"", TIMEOUT_MAX, esc(s));
	*out = (unsigned)v;
	return QQ_OK;
}

/* [--timeout=N] [--] [PROGRAM [ARG...]]; --help and --version alone. */
static int parse_args(int argc, char **argv, struct plan *p, bool *done)
{
	int i = 1, code;

	p->program = DEFAULT_PROGRAM;
	p->timeout = DEFAULT_TIMEOUT;
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return print_text(usage_text, done);
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return print_text(PROGNAME " " VERSION "\n", done);
	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strncmp(argv[i], "--timeout=", 10) != 0)
			return fail(QQ_CONFIG, "unknown option \"%s\"",
				    esc(argv[i]));
		if ((code = parse_timeout(argv[i] + 10, &p->timeout)) != 0)
			return code;
	}
	if (i < argc)
		p->program = argv[i++];
	if (p->program[0] != '/')
		return fail(QQ_CONFIG, "PROGRAM must be an absolute path, "
			    "not \"%s\"", esc(p->program));
	if (argc - i > EXTRA_MAX)
		return fail(QQ_CONFIG, "more than %d arguments for %s",
			    EXTRA_MAX, esc(p->program));
	p->extra = argv + i;
	p->nextra = argc - i;
	return QQ_OK;
}

/* ---- the message ---------------------------------------------------- */

/* The message as sendmail's stdin: fd 0 itself when it is a regular
 * file (rewound), else a copy of the pipe in an unnamed file in $TMPDIR
 * (filter-chain.c).  qmail-queue(8) order: the whole message is read
 * before the envelope, so a writer that sends the message and then the
 * envelope never blocks. */
static int message_fd(int *out)
{
	int code = filter_message_fd(-1, "$TMPDIR", out);

	if (code != QQ_OK)
		return fail(code, "%s", filter_error());
	if (lseek(*out, 0, SEEK_SET) == -1)
		return fail(QQ_READ, "cannot rewind the message: %s",
			    strerror(errno));
	return QQ_OK;
}

/* ---- the envelope --------------------------------------------------- */

/* Reads fd 1 until the final NUL (an empty record after the last
 * address) or end of file, at most ENV_MAX octets. */
static int read_envelope(struct envelope *env)
{
	size_t cap = 4096;

	if ((env->buf = malloc(cap)) == NULL)
		return fail(QQ_NOMEM, "out of memory for the envelope");
	for (;;) {
		ssize_t n;
		size_t from;

		if (env->len == cap) {
			char *b;

			if (cap == ENV_MAX)
				return fail(QQ_REFUSED, "envelope longer than %d "
					    "octets", ENV_MAX);
			cap = cap * 2 > ENV_MAX ? ENV_MAX : cap * 2;
			if ((b = realloc(env->buf, cap)) == NULL)
				return fail(QQ_NOMEM, "out of memory for the "
					    "envelope");
			env->buf = b;
		}
		n = read(1, env->buf + env->len, cap - env->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(QQ_READ, "cannot read the envelope on "
				    "fd 1: %s", strerror(errno));
		if (n == 0)
			return QQ_OK;
		/* "\0\0" ends it (an address is never empty but the null
		 * sender's, and "F\0\0" has no recipients anyway); only
		 * the new octets, and the one before them, are searched */
		from = env->len > 0 ? env->len - 1 : 0;
		env->len += (size_t)n;
		if (memmem(env->buf + from, env->len - from, "\0\0", 2))
			return QQ_OK;
	}
}

/* Control octets would reach sendmail's command line and, through it,
 * SMTP commands or queue files: refused, like smtp-deliver does. */
static bool has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* One record at off: its type octet, then the address up to its NUL. */
static int take_addr(struct envelope *env, size_t *off, const char **addr,
		     const char *what)
{
	const char *start = env->buf + *off + 1;
	const char *nul = memchr(start, '\0', env->len - *off - 1);

	if (nul == NULL)
		return fail(QQ_READ, "the envelope ends inside a %s address",
			    what);
	if (nul - start > ADDR_MAX)
		return fail(QQ_TOOLONG, "%s address longer than %d octets",
			    what, ADDR_MAX);
	if (has_control(start))
		return with_reply(fail(QQ_REFUSED, "%s address <%s> has a "
				       "control octet", what, esc(start)),
				  554, "5.1.3", "Bad %s address syntax", what);
	*addr = start;
	*off = (size_t)(nul - env->buf) + 1;
	return QQ_OK;
}

/* qmail-queue(8): "F<sender>\0", "T<rcpt>\0"..., "\0". */
static int parse_envelope(struct envelope *env)
{
	size_t off = 0;
	int code;

	if (env->len == 0)
		return fail(QQ_READ, "the envelope is empty");
	if (env->buf[0] != 'F')
		return fail(QQ_FORMAT, "the envelope starts with \\x%02x, not F",
			    (unsigned char)env->buf[0]);
	if ((code = take_addr(env, &off, &env->sender, "sender")) != QQ_OK)
		return code;
	for (;;) {
		const char *rcpt;

		if (off == env->len)
			return fail(QQ_READ, "the envelope ends before its "
				    "final NUL");
		if (env->buf[off] == '\0')
			break;
		if (env->buf[off] != 'T')
			return fail(QQ_FORMAT, "envelope record %zu starts "
				    "with \\x%02x, not T", env->nrcpts + 2,
				    (unsigned char)env->buf[off]);
		if (env->nrcpts == RCPTS_MAX)
			return with_reply(fail(QQ_REFUSED, "more than %d "
					       "recipients", RCPTS_MAX),
					  554, "5.5.3", "Too many recipients "
					  "for the host MTA (at most %d)",
					  RCPTS_MAX);
		if ((code = take_addr(env, &off, &rcpt, "recipient")) != QQ_OK)
			return code;
		if (rcpt[0] == '\0')
			return fail(QQ_FORMAT, "empty recipient address");
		env->rcpts[env->nrcpts++] = rcpt;
	}
	if (env->nrcpts == 0)
		return fail(QQ_FORMAT, "the envelope has no recipients");
	return QQ_OK;
}

/* ---- running sendmail ----------------------------------------------- */

/* PROGRAM [ARG...] -i -f SENDER -- RCPT... NULL.  -i: a line with a
 * lone dot is message text, not its end. */
static char **build_argv(const struct plan *p, const struct envelope *env)
{
	size_t n = 0, max = 1 + (size_t)p->nextra + 4 + env->nrcpts + 1;
	char **av = calloc(max, sizeof *av);

	if (av == NULL)
		return NULL;
	av[n++] = (char *)p->program;
	for (int i = 0; i < p->nextra; i++)
		av[n++] = p->extra[i];
	av[n++] = "-i";
	av[n++] = "-f";
	/* separate from -f, so an empty or '-' sender is its argument */
	av[n++] = env->sender[0] != '\0' ? (char *)env->sender : "<>";
	av[n++] = "--";
	for (size_t i = 0; i < env->nrcpts; i++)
		av[n++] = (char *)env->rcpts[i];
	av[n] = NULL;
	return av;
}

struct run {
	int msgfd, outfd;	/* child's stdin; its stdout+stderr */
	char **argv;
	pid_t parent;
};

/* In the child: its own process group (so a timeout kills what it
 * started too), killed with us (PR_SET_PDEATHSIG), default signals,
 * fds 0, 1 and 2 in place; never returns. */
static void exec_child(const struct run *r)
{
	sigset_t none;

	(void)setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != r->parent)
		_exit(EXIT_NOEXEC);
	if (sigemptyset(&none) == -1 ||
	    sigprocmask(SIG_SETMASK, &none, NULL) == -1 ||
	    signal(SIGPIPE, SIG_DFL) == SIG_ERR ||
	    signal(SIGXFSZ, SIG_DFL) == SIG_ERR)
		_exit(EXIT_NOEXEC);
	if (dup2(r->msgfd, 0) == -1 || dup2(r->outfd, 1) == -1 ||
	    dup2(r->outfd, 2) == -1)
		_exit(EXIT_NOEXEC);
	execv(r->argv[0], r->argv);
	dprintf(2, PROGNAME ": cannot run %s: %s\n", esc(r->argv[0]),
		strerror(errno));
	_exit(EXIT_NOEXEC);
}

/* sendmail's output, relayed to our stderr up to OUT_MAX octets. */
struct relay {
	int fd;
	size_t total;
	char last;		/* the last octet relayed */
};

static void relay_output(struct relay *o)
{
	char buf[4096];
	ssize_t n = read(o->fd, buf, sizeof buf);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(&o->fd);
		return;
	}
	if (o->total < OUT_MAX) {
		size_t k = (size_t)n;

		if (k > OUT_MAX - o->total)
			k = OUT_MAX - o->total;
		(void)write_all(2, buf, k);	/* nowhere to report it */
		o->last = buf[k - 1];
	}
	o->total += (size_t)n;
}

/* Ends the relayed output on a line of its own, so our lines (the
 * reply last) are whole lines whatever sendmail printed. */
static void relay_end(const struct relay *o)
{
	char note[96];
	int n;

	if (o->total > 0 && o->last != '\n')
		(void)write_all(2, "\n", 1);
	if (o->total <= OUT_MAX)
		return;
	n = snprintf(note, sizeof note, PROGNAME ": %zu more octets of "
		     "output dropped\n", o->total - OUT_MAX);
	if (n > 0 && (size_t)n < sizeof note)
		(void)write_all(2, note, (size_t)n);
}

static long long now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for the child to exit, relaying its output; false at the
 * deadline.  A grandchild that keeps the output pipe open cannot hold
 * us: the pidfd says when the child itself is done. */
static bool supervise(int pidfd, struct relay *o, long long deadline)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = o->fd, .events = POLLIN },
		};
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return false;
		r = poll(p, 2, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno != EINTR)
			return false;
		if (r > 0 && p[1].revents)
			relay_output(o);
		if (r > 0 && p[0].revents) {
			while (o->fd >= 0 && poll(&p[1], 1, 0) > 0)
				relay_output(o);
			return true;
		}
	}
}

/* The status of the reaped child: exit code, or -signal. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -SIGKILL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* ---- sendmail's status ---------------------------------------------- */

static int map_status(const struct plan *p, int status)
{
	const char *prog = esc(p->program);

	if (status == 0)
		return QQ_OK;
	if (status == EXIT_NOEXEC)
		return with_reply(fail(QQ_TEMP, "cannot run %s", prog), 451,
				  "4.3.0", "Host MTA cannot be run");
	if (status < 0)
		return with_reply(fail(QQ_TEMP, "%s killed by signal %d",
				       prog, -status), 451, "4.3.0",
				  "Host MTA crashed (signal %d)", -status);
	for (size_t i = 0; i < sizeof exit_table / sizeof *exit_table; i++) {
		if (exit_table[i].status != status)
			continue;
		(void)fail(exit_table[i].code, "%s exited %d (%s)", prog,
			   status, exit_table[i].name);
		return with_reply(exit_table[i].code, exit_table[i].smtp,
				  exit_table[i].enh, "%s (sendmail exit %d)",
				  exit_table[i].text, status);
	}
	return with_reply(fail(QQ_TEMP, "%s exited %d", prog, status), 451,
			  "4.3.0", "Host MTA failed (sendmail exit %d)", status);
}

/* Forks the child that execs sendmail; *outfd reads its output.  -1
 * (errno set) when there is no pipe or no process. */
static pid_t spawn(char **argv, int msgfd, int *outfd)
{
	int outp[2];
	struct run r = { .msgfd = msgfd, .argv = argv, .parent = getpid() };
	pid_t pid;

	if (pipe2(outp, O_CLOEXEC) == -1)
		return -1;
	r.outfd = outp[1];
	pid = fork();
	if (pid == 0)
		exec_child(&r);
	close_fd(&outp[1]);
	*outfd = outp[0];
	if (pid < 0) {
		close_fd(outfd);
		return -1;
	}
	(void)setpgid(pid, pid);	/* both sides: no race with kill() */
	(void)fcntl(*outfd, F_SETFL, O_NONBLOCK);
	return pid;
}

/* Runs sendmail on msgfd, relays its output, enforces the deadline,
 * reaps it and maps its status. */
static int run_sendmail(const struct plan *p, char **argv, int msgfd)
{
	struct relay o = { .fd = -1 };
	pid_t pid = spawn(argv, msgfd, &o.fd);
	int pidfd, status, err = 0;
	bool done;

	if (pid < 0)
		return with_reply(fail(QQ_TEMP, "cannot start %s: %s",
				       esc(p->program), strerror(errno)),
				  451, "4.3.0", "Host MTA cannot be run");
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		err = errno;
	done = pidfd >= 0 &&
	       supervise(pidfd, &o, now_ms() + (long long)p->timeout * 1000);
	if (!done) {
		(void)kill(-pid, SIGKILL);	/* sendmail and its helpers */
		(void)kill(pid, SIGKILL);
	}
	close_fd(&pidfd);
	status = reap(pid);
	close_fd(&o.fd);
	relay_end(&o);
	if (err != 0)
		return with_reply(fail(QQ_TEMP, "cannot watch %s: pidfd_open: "
				       "%s", esc(p->program), strerror(err)),
				  451, "4.3.0", "Host MTA cannot be run");
	if (!done)
		return with_reply(fail(QQ_TEMP, "%s killed after %u s",
				       esc(p->program), p->timeout),
				  451, "4.4.7", "Host MTA timed out");
	return map_status(p, status);
}

/* ---- main ----------------------------------------------------------- */

static int bridge(const struct plan *p)
{
	static struct envelope env;
	char **argv = NULL;
	int msgfd = -1, code;

	if ((code = message_fd(&msgfd)) == QQ_OK &&
	    (code = read_envelope(&env)) == QQ_OK &&
	    (code = parse_envelope(&env)) == QQ_OK) {
		if ((argv = build_argv(p, &env)) == NULL)
			code = fail(QQ_NOMEM, "out of memory for the command "
				    "line");
		else
			code = run_sendmail(p, argv, msgfd);
	}
	if (msgfd > 0)
		(void)close(msgfd);
	free(argv);
	free(env.buf);
	return code;
}

/* "smtp-sendmail: reason", then the reply line, if any, last. */
static void print_error(int code)
{
	char line[ERR_MAX + REPLY_MAX + 64];
	int n;

	if ((code == QQ_REFUSED || code == QQ_TEMP) && reply[0] == '\0')
		(void)with_reply(code, code == QQ_REFUSED ? 554 : 451,
				 code == QQ_REFUSED ? "5.3.0" : "4.3.0",
				 "Host MTA refused the message");
	n = snprintf(line, sizeof line, PROGNAME ": %s\n%s%s",
		     errline[0] != '\0' ? errline : "internal error", reply,
		     reply[0] != '\0' ? "\n" : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	(void)write_all(2, line, (size_t)n);
}

int main(int argc, char **argv)
{
	struct plan plan = { 0 };
	bool done = false;
	int code;

	/* fds 0-2 open, SIGPIPE ignored (a write error is an error return,
	 * not death by signal), umask 077: filter-chain.c */
	if (filter_init() == -1)
		return QQ_BUG;
	if ((code = parse_args(argc, argv, &plan, &done)) == QQ_OK && !done)
		code = bridge(&plan);
	if (code != QQ_OK)
		print_error(code);
	return code;
}
