/*
 * queue.c - hands one spooled message to the deliver program.
 *
 * SUMMARY
 *	The qmail-queue interface (qmail-queue(8)): the child gets fd 0 =
 *	the message file at offset 0 and fd 1 = a pipe carrying the envelope
 *	F<sender>\0 T<rcpt>\0 ... \0; its exit status says what happened.
 *	The child runs in its own process group (child.c); its stderr goes
 *	to a pipe and each line of it to our log, never to the client.  The
 *	parent waits with poll() on the envelope pipe, the stderr pipe and a
 *	pidfd of the child, so a child that hangs (or a grandchild that keeps
 *	stderr open) cannot hang the session: after SMTP_DELIVER_TIMEOUT the
 *	whole group is killed and the answer is 451 4.3.0.  The child is
 *	always reaped.
 *
 * LIMITS
 *	SMTP_DELIVER_TIMEOUT seconds; at most STDERR_MAX octets of the
 *	child's stderr are logged, in lines of at most 400 octets.
 *
 * DIAGNOSTICS
 *	Every outcome is mapped through status_table[] below; a fork, pipe
 *	or exec failure is a temporary failure (451 4.3.0).
 *
 * CUSTOM REPLIES
 *	A program that fails may say why in its own words: when its last
 *	line on stderr reads "550 5.7.1 Message rejected as spam" -- a
 *	reply code and an RFC 3463 code of the class its exit status has
 *	(5 for 11-40, 4 for the other failures), then a text -- the client
 *	gets that line instead of the table's (custom_reply()).  A line of
 *	the wrong class, a 2xx, or one after exit 0 is only logged: a
 *	filter cannot turn a failure into a success or a permanent
 *	failure into a temporary one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "io.h"
#include "log.h"
#include "queue.h"

#define STDERR_MAX    8192
#define LINE_MAX_LOG  400       /* a stderr line is logged in pieces of this */
#define EXIT_EXEC_FAILED 120    /* qmail.c: the child could not exec */
#define STATUS_TIMEOUT (-1000)

/* qmail-queue(8) exit codes: 0 queued, 11-40 permanent, everything else
 * temporary; the texts follow notqmail's qmail-smtpd with RFC 3463 codes.
 * Codes marked "-" are not used by qmail-queue but by programs that
 * offer its interface. */
static const struct {
	int status;
	int code;
	const char *enh, *text;
} status_table[] = {
	{ 0,  250, "2.0.0", "Ok: queued" },
	{ 11, 554, "5.1.3", "Envelope address too long for the queue" },
	{ 31, 554, "5.3.0", "Mail server permanently rejected the message" }, /* - */
	{ 51, 451, "4.3.0", "Queue out of memory" },
	{ 52, 451, "4.3.0", "Queue timeout" },
	{ 53, 451, "4.3.0", "Queue write error or disk full" },
	{ 54, 451, "4.3.0", "Queue read error" },
	{ 55, 451, "4.3.0", "Queue unable to read its configuration" },       /* - */
	{ 56, 451, "4.3.0", "Queue had trouble making a network connection" },/* - */
	{ 61, 451, "4.3.0", "Queue trouble in home directory" },
	{ 62, 451, "4.3.0", "Queue trouble creating files" },
	{ 63, 451, "4.3.0", "Queue trouble creating files" },
	{ 64, 451, "4.3.0", "Queue trouble creating files" },
	{ 65, 451, "4.3.0", "Queue trouble creating files" },
	{ 66, 451, "4.3.0", "Queue trouble creating files" },
	{ 71, 451, "4.3.0", "Mail server temporarily rejected the message" }, /* - */
	{ 72, 451, "4.4.1", "Connection to mail server timed out" },          /* - */
	{ 73, 451, "4.4.1", "Connection to mail server rejected" },           /* - */
	{ 74, 451, "4.4.2", "Communication with mail server failed" },        /* - */
	{ 81, 451, "4.3.0", "Queue internal bug" },
	{ 91, 451, "4.3.0", "Queue envelope format error" },
	{ EXIT_EXEC_FAILED, 451, "4.3.0", "Unable to run the deliver program" },
};

void queue_map_status(int status, struct queue_result *res)
{
	res->status = status;
	if (status == STATUS_TIMEOUT) {
		res->code = 451; res->enh = "4.3.0";
		res->text = "Deliver program timed out";
		return;
	}
	if (status < 0) {
		res->code = 451; res->enh = "4.3.0";
		res->text = "Deliver program crashed";
		return;
	}
	for (size_t i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
		if (status_table[i].status == status) {
			res->code = status_table[i].code;
			res->enh = status_table[i].enh;
			res->text = status_table[i].text;
			return;
		}
	if (status >= 11 && status <= 40) {
		res->code = 554; res->enh = "5.3.0";
		res->text = "Permanent problem delivering the message";
	} else {
		res->code = 451; res->enh = "4.3.0";
		res->text = "Temporary problem delivering the message";
	}
}

/* F<sender>\0 T<rcpt>\0 ... \0 into a heap buffer (bounded by the
 * recipient limit times PATH_MAX_LEN). */
static char *build_envelope(const char *sender, char *const rcpts[],
			    size_t n, size_t *len)
{
	size_t cap = strlen(sender) + 3, o = 0;
	char *env;

	for (size_t i = 0; i < n; i++)
		cap += strlen(rcpts[i]) + 2;
	env = malloc(cap);
	if (!env)
		return NULL;
	o += (size_t)sprintf(env, "F%s", sender) + 1;
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(env + o, "T%s", rcpts[i]) + 1;
	env[o++] = '\0';
	*len = o;
	return env;
}

static void set_env(const char *name, const char *value)
{
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

struct child_plan {
	char *const *argv;
	int msgfd, envfd, errfd;
	const struct envelope_env *e;
};

/* In the child (child_spawn() has set the process group and the signal
 * state): never returns. */
static void exec_child(void *arg)
{
	const struct child_plan *c = arg;
	const struct envelope_env *e = c->e;

	if (dup2(c->msgfd, 0) < 0 || dup2(c->envfd, 1) < 0 ||
	    dup2(c->errfd, 2) < 0)
		_exit(EXIT_EXEC_FAILED);
	set_env("TCPREMOTEIP", e->remote_ip);
	set_env("SMTP_SESSION_ID", e->session_id);
	set_env("SMTP_HELO", e->helo);
	set_env("SMTP_AUTH_USER", e->auth_user);
	set_env("SMTP_TLS", e->tls);
	set_env("SMTP_COUNTRY", e->country);
	execv(c->argv[0], c->argv);
	dprintf(2, "cannot run %s: %s\n", c->argv[0],
		strerror(errno));
	_exit(EXIT_EXEC_FAILED);
}

struct child_io {
	int envfd, errfd;
	const char *env;
	size_t envlen, envoff;
	bool env_failed;
	size_t errlen, errtotal;
	char errbuf[512];
	char last[LINE_MAX_LOG + 1];   /* the last line logged */
};

static void log_line(struct child_io *c, const char *line)
{
	size_t n = strnlen(line, sizeof c->last - 1);

	log_event("deliver_stderr", "text", line, NULL);
	memcpy(c->last, line, n);
	c->last[n] = '\0';
}

/* Logs complete lines of the child's stderr; keeps a partial one. */
static void log_child_stderr(struct child_io *c, bool final)
{
	char *buf = c->errbuf, *start = buf, *nl;
	size_t *len = &c->errlen;

	while ((nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
		*nl = '\0';
		log_line(c, start);
		start = nl + 1;
	}
	*len -= (size_t)(start - buf);
	memmove(buf, start, *len);
	if ((final || *len > LINE_MAX_LOG) && *len > 0) {
		buf[*len] = '\0';
		log_line(c, buf);
		*len = 0;
	}
}

static bool digits(const char *s, size_t min, size_t max, size_t *n)
{
	size_t i = 0;

	while (i < max && s[i] >= '0' && s[i] <= '9')
		i++;
	*n = i;
	return i >= min && (s[i] < '0' || s[i] > '9');
}

/* "550 5.7.1 text" of the class the exit status has (see CUSTOM
 * REPLIES): copies it into res and returns true. */
static bool custom_reply(const char *line, struct queue_result *res)
{
	char cls = res->code >= 500 ? '5' : '4';
	size_t n, o = 0, a, b;
	const char *t;

	if (res->status <= 0 || line[0] != cls || !digits(line, 3, 3, &n) ||
	    line[3] != ' ' || line[4] != cls || line[5] != '.' ||
	    !digits(line + 6, 1, 3, &a) || line[6 + a] != '.' ||
	    !digits(line + 7 + a, 1, 3, &b) || line[7 + a + b] != ' ')
		return false;
	t = line + 8 + a + b;
	if (!*t)
		return false;
	res->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	snprintf(res->custom_enh, sizeof res->custom_enh, "%.*s",
		 (int)(3 + a + b), line + 4);
	/* printable ASCII only: the text goes on the wire */
	for (; *t && o + 1 < sizeof res->custom_text; t++)
		res->custom_text[o++] = (*t >= 32 && *t < 127) ? *t : '?';
	res->custom_text[o] = '\0';
	res->enh = res->custom_enh;
	res->text = res->custom_text;
	return true;
}

static void pump_stderr(struct child_io *c)
{
	ssize_t r = read(c->errfd, c->errbuf + c->errlen,
			 sizeof c->errbuf - 1 - c->errlen);
	if (r <= 0) {
		if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(c->errfd);
			c->errfd = -1;
		}
		return;
	}
	if (c->errtotal < STDERR_MAX) {
		c->errlen += (size_t)r;
		log_child_stderr(c, false);
	}
	c->errtotal += (size_t)r;
}

static void pump_envelope(struct child_io *c)
{
	ssize_t w = write(c->envfd, c->env + c->envoff, c->envlen - c->envoff);

	if (w > 0)
		c->envoff += (size_t)w;
	else if (w < 0 && errno != EINTR && errno != EAGAIN)
		c->env_failed = true;       /* EPIPE: the child went away */
	if (c->env_failed || c->envoff == c->envlen) {
		close(c->envfd);
		c->envfd = -1;
	}
}

/* Runs until the child exits (pidfd readable) or the deadline; returns
 * false on timeout. */
static bool supervise(struct child_io *c, int pidfd, long long deadline)
{
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = pidfd, .events = POLLIN },
			{ .fd = c->envfd, .events = POLLOUT },
			{ .fd = c->errfd, .events = POLLIN },
		};
		int r = poll_until(p, 3, deadline);

		if (r <= 0)
			return false;      /* the deadline, or poll failed */
		if (p[2].revents)
			pump_stderr(c);
		if (p[1].revents & POLLOUT)
			pump_envelope(c);
		else if (p[1].revents)
			c->env_failed = true, close(c->envfd), c->envfd = -1;
		if (p[0].revents) {
			/* drain what the child wrote before it exited */
			while (c->errfd >= 0) {
				struct pollfd e = { .fd = c->errfd, .events = POLLIN };
				if (poll(&e, 1, 0) <= 0)
					break;
				pump_stderr(c);
			}
			return true;
		}
	}
}

/* Octets still in a pipe (-1 on error). */
static int pipe_unread(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}

/* The exit status, -signal, or 81 (internal bug) when the child could
 * not be reaped. */
static int wait_status(struct child *proc)
{
	int st;

	if (child_end(proc, &st) < 0)
		return 81;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return -WTERMSIG(st);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void queue_message(const struct config *cfg, char *const argv[], int msgfd,
		   const char *sender, char *const rcpts[], size_t nrcpts,
		   const struct envelope_env *e, struct queue_result *res)
{
	struct child_io c = { .envfd = -1, .errfd = -1, .last = "" };
	int envp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	char *env = build_envelope(sender, rcpts, nrcpts, &c.envlen);
	struct child_plan plan = { .argv = argv, .msgfd = msgfd, .e = e };
	struct child proc;
	bool finished;

	if (!env || pipe2(envp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		queue_map_status(51, res);
		goto out;
	}
	/* the child shares the file offset: a second program (delivery.c)
	 * must read from the start too */
	if (lseek(msgfd, 0, SEEK_SET) < 0) {
		queue_map_status(54, res);
		goto out;
	}
	plan.envfd = envp[0];
	plan.errfd = errp[1];
	if (child_spawn(&proc, exec_child, &plan, EXIT_EXEC_FAILED) < 0) {
		queue_map_status(EXIT_EXEC_FAILED, res);
		goto out;
	}
	/* We keep envp[0]: what is left unread in the pipe when the child
	 * exits tells whether it read the whole envelope. */
	close_fd(&errp[1]);
	c.env = env;
	c.envfd = envp[1];
	c.errfd = errp[0];
	envp[1] = errp[0] = -1;           /* owned by c from here */
	fcntl(c.envfd, F_SETFL, O_NONBLOCK);
	fcntl(c.errfd, F_SETFL, O_NONBLOCK);
	finished = proc.pidfd >= 0 &&
		   supervise(&c, proc.pidfd,
			     mono_ms() + (long long)cfg->deliver_timeout * 1000);
	/* The child is dead (a zombie: its pid cannot be reused yet) or
	 * hangs; either way nothing of its process group may linger. */
	queue_map_status(wait_status(&proc), res);
	if (!finished)
		queue_map_status(STATUS_TIMEOUT, res);
	else if (res->status == 0 && (c.env_failed || c.envoff < c.envlen ||
				      pipe_unread(envp[0]) != 0))
		queue_map_status(54, res);  /* ok without reading the envelope */
	log_child_stderr(&c, true);
	if (finished && res->status > 0)
		(void)custom_reply(c.last, res);
out:
	close_fd(&c.envfd);
	close_fd(&c.errfd);
	close_fd(&envp[0]);
	close_fd(&envp[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	free(env);
}
