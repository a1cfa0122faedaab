/*
 * filter-chain.c - the qmail-queue(8) chain interface: what every
 * program in the chain does the same way.
 *
 * SUMMARY
 *	smtp-session runs its deliver command as qmail-smtpd runs
 *	qmail-queue: the message on fd 0 (a regular file at offset 0), the
 *	envelope "F<sender>\0T<rcpt>\0...\0" on fd 1 (a pipe).  A filter
 *	(smtp-authres, smtp-dkimsign) reads both, writes a new message
 *	(its header fields, then the original) to an unnamed file, puts
 *	the envelope into another, dup2()s them onto fds 0 and 1 and
 *	execv()s the next program: no process of the chain stays behind.
 *	smtp-deliver, the last program, reads the envelope and, when the
 *	message comes on a pipe (`filter | smtp-deliver`), spools it with
 *	the same functions.
 *
 * LIMITS
 *	An envelope address is at most FILTER_ADDR_MAX (1002) octets (exit
 *	11); at most FILTER_RCPTS_MAX (10000) recipients (exit 31).  So an
 *	envelope takes at most about 10 MB.  The message is never held in
 *	memory: it is copied in 64 KiB blocks.
 *
 * DIAGNOSTICS
 *	Every function returns a qmail-queue code (filter-chain.h) and
 *	leaves the reason in filter_error(): 54 for a read error or a
 *	truncated envelope, 91 for a malformed one, 53 for a write error,
 *	51 out of memory, 55 when the next program cannot be run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filter-chain.h"
#include "writeall.h"

#define BLOCK_SIZE (64 * 1024)
#define ENV_BUF    4096
#define ERR_MAX    1024

static char errline[ERR_MAX];
static char block[BLOCK_SIZE];

struct envreader {
	int fd;
	size_t pos, len;
	unsigned char buf[ENV_BUF];
};

static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(errline, sizeof errline, fmt, ap);
	va_end(ap);
	return code;
}

const char *filter_error(void)
{
	return errline[0] != '\0' ? errline : "internal error";
}

int filter_init(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		n = open("/dev/null", O_RDWR);
		if (n != fd) {
			if (n >= 0)
				(void)close(n);
			return -1;
		}
	}
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR ||
	    signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
		return -1;
	/* Mail is private: 0600 files, 0700 directories. */
	(void)umask(077);
	return 0;
}

/* ---- the envelope --------------------------------------------------- */

/* The next envelope octet: 0..255, -1 at end of file, -2 on a read
 * error (errno set). */
static int env_getc(struct envreader *rd)
{
	if (rd->pos == rd->len) {
		ssize_t n;

		do
			n = read(rd->fd, rd->buf, sizeof rd->buf);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -2;
		if (n == 0)
			return -1;
		rd->pos = 0;
		rd->len = (size_t)n;
	}
	return rd->buf[rd->pos++];
}

static int env_read_error(void)
{
	return fail(QQ_READ, "cannot read the envelope on fd 1: %s",
		    strerror(errno));
}

/* Appends c to env->raw; the bounds of the readers keep it finite. */
static int raw_put(struct filter_envelope *env, char c)
{
	if (env->rawlen == env->rawcap) {
		size_t cap = env->rawcap == 0 ? 4096 : env->rawcap * 2;
		char *p = realloc(env->raw, cap);

		if (p == NULL)
			return fail(QQ_NOMEM, "out of memory for the envelope");
		env->raw = p;
		env->rawcap = cap;
	}
	env->raw[env->rawlen++] = c;
	return QQ_OK;
}

/* One address up to and with its terminating NUL, at most
 * FILTER_ADDR_MAX octets. */
static int read_addr(struct envreader *rd, struct filter_envelope *env,
		     const char *what)
{
	size_t len = 0;
	int code;

	for (;;) {
		int c = env_getc(rd);

		if (c == -2)
			return env_read_error();
		if (c == -1)
			return fail(QQ_READ, "the envelope ends inside a %s "
				    "address", what);
		if ((code = raw_put(env, (char)c)) != QQ_OK)
			return code;
		if (c == '\0')
			return QQ_OK;
		if (len++ == FILTER_ADDR_MAX)
			return fail(QQ_TOOLONG, "%s address longer than %d "
				    "octets", what, FILTER_ADDR_MAX);
	}
}

/* The pointers into raw, once raw no longer moves. */
static int index_envelope(struct filter_envelope *env)
{
	size_t off = 1 + strlen(env->raw + 1) + 1;

	env->sender = env->raw + 1;
	env->rcpts = calloc(env->nrcpts, sizeof *env->rcpts);
	if (env->rcpts == NULL)
		return fail(QQ_NOMEM, "out of memory for the recipient list");
	env->rcap = env->nrcpts;
	for (size_t i = 0; i < env->nrcpts; i++) {
		env->rcpts[i] = env->raw + off + 1;
		off += 1 + strlen(env->raw + off + 1) + 1;
	}
	return QQ_OK;
}

/* qmail-queue(8): "F<sender>\0" then "T<rcpt>\0"... then "\0". */
static int read_records(struct envreader *rd, struct filter_envelope *env)
{
	int c, code;

	c = env_getc(rd);
	if (c == -2)
		return env_read_error();
	if (c == -1)
		return fail(QQ_READ, "the envelope is empty");
	if (c != 'F')
		return fail(QQ_FORMAT, "the envelope starts with \\x%02x, "
			    "not F", (unsigned)c);
	if ((code = raw_put(env, 'F')) != QQ_OK ||
	    (code = read_addr(rd, env, "sender")) != QQ_OK)
		return code;
	for (;;) {
		c = env_getc(rd);
		if (c == -2)
			return env_read_error();
		if (c == -1)
			return fail(QQ_READ, "the envelope ends before its "
				    "final NUL");
		if (c == '\0')
			return raw_put(env, '\0');
		if (c != 'T')
			return fail(QQ_FORMAT, "envelope record %zu starts "
				    "with \\x%02x, not T", env->nrcpts + 2,
				    (unsigned)c);
		if (env->nrcpts == FILTER_RCPTS_MAX)
			return fail(QQ_REFUSED, "more than %d recipients",
				    FILTER_RCPTS_MAX);
		if ((code = raw_put(env, 'T')) != QQ_OK ||
		    (code = read_addr(rd, env, "recipient")) != QQ_OK)
			return code;
		env->nrcpts++;
	}
}

int filter_read_envelope(int fd, struct filter_envelope *env)
{
	static struct envreader rd;
	int code;

	memset(env, 0, sizeof *env);
	rd.fd = fd;
	rd.pos = rd.len = 0;
	if ((code = read_records(&rd, env)) != QQ_OK)
		return code;
	/* Nothing to deliver is a caller bug, not a success to report. */
	if (env->nrcpts == 0)
		return fail(QQ_FORMAT, "the envelope has no recipients");
	return index_envelope(env);
}

void filter_free_envelope(struct filter_envelope *env)
{
	free(env->raw);
	free(env->rcpts);
	memset(env, 0, sizeof *env);
}

/* ---- unnamed files ---------------------------------------------------- */

/* O_TMPFILE, or on file systems without it a random name made with
 * O_EXCL and unlinked at once. */
int filter_unnamed_file(int dirfd)
{
	unsigned char r[8];
	char name[64];
	const char *tmp = getenv("TMPDIR");
	int dir = dirfd, fd, err;

	if (dirfd == -1) {
		if (tmp == NULL || tmp[0] != '/')
			tmp = "/tmp";
		dir = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dir == -1)
			return -1;
	}
	fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR) &&
	    getrandom(r, sizeof r, 0) == (ssize_t)sizeof r) {
		snprintf(name, sizeof name, ".smtp-chain.%02x%02x%02x%02x"
			 "%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
			 r[5], r[6], r[7]);
		fd = openat(dir, name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW |
			    O_CLOEXEC, 0600);
		if (fd >= 0 && unlinkat(dir, name, 0) == -1) {
			err = errno;
			(void)close(fd);
			fd = -1;
			errno = err;
		}
	}
	err = errno;
	if (dirfd == -1)
		(void)close(dir);
	errno = err;
	return fd;
}

/* Copies fd 0 to its end into out. */
static int copy_input(int out)
{
	for (;;) {
		ssize_t n = read(0, block, sizeof block);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(QQ_READ, "cannot read the message: %s",
				    strerror(errno));
		if (n == 0)
			return QQ_OK;
		if (write_all(out, block, (size_t)n) < 0)
			return fail(QQ_WRITE, "cannot spool the piped message: "
				    "%s", strerror(errno));
	}
}

int filter_message_fd(int dirfd, const char *dirname, int *fd)
{
	struct stat st;
	int code, out;

	*fd = 0;
	if (fstat(0, &st) == -1)
		return fail(QQ_READ, "cannot stat the message on fd 0: %s",
			    strerror(errno));
	if (S_ISREG(st.st_mode))
		return QQ_OK;
	/* a pipe: read once into a file that can be read again */
	out = filter_unnamed_file(dirfd);
	if (out == -1)
		return fail(QQ_WRITE, "cannot make a file for the piped "
			    "message in %s: %s", dirname, strerror(errno));
	if ((code = copy_input(out)) != QQ_OK) {
		(void)close(out);
		return code;
	}
	*fd = out;
	return QQ_OK;
}

/* ---- the new message and the hand-off --------------------------------- */

/* Copies in's octets [from, to) to out; to == -1: to the end. */
static int copy_range(int in, off_t from, off_t to, int out)
{
	while (to == -1 || from < to) {
		size_t want = sizeof block;
		ssize_t n;

		if (to != -1 && to - from < (off_t)want)
			want = (size_t)(to - from);
		n = pread(in, block, want, from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(QQ_READ, "cannot read the message: %s",
				    strerror(errno));
		if (n == 0)
			break;
		if (write_all(out, block, (size_t)n) == -1)
			return fail(QQ_WRITE, "cannot write the new message: "
				    "%s", strerror(errno));
		from += n;
	}
	return QQ_OK;
}

int filter_write_message(int out, const char *head, size_t hlen, int in,
			 const struct filter_cut *cuts, size_t ncuts)
{
	off_t pos = 0;
	int code;

	if (hlen > 0 && write_all(out, head, hlen) == -1)
		return fail(QQ_WRITE, "cannot write the new message: %s",
			    strerror(errno));
	for (size_t i = 0; i < ncuts; i++) {
		if (cuts[i].off < pos)
			return fail(QQ_BUG, "cut ranges out of order");
		if ((code = copy_range(in, pos, cuts[i].off, out)) != QQ_OK)
			return code;
		pos = cuts[i].off + cuts[i].len;
	}
	return copy_range(in, pos, -1, out);
}

/* fd to target, rewound; the original closed. */
static int put_on(int fd, int target)
{
	if (lseek(fd, 0, SEEK_SET) == -1)
		return -1;
	if (fd == target)
		return 0;
	if (dup2(fd, target) == -1)
		return -1;
	return close(fd);
}

int filter_exec_next(int msg, const struct filter_envelope *env,
		     char *const argv[])
{
	int envfd = filter_unnamed_file(-1);

	if (envfd == -1)
		return fail(QQ_WRITE, "cannot make a file for the envelope: "
			    "%s", strerror(errno));
	if (write_all(envfd, env->raw, env->rawlen) == -1)
		return fail(QQ_WRITE, "cannot write the envelope: %s",
			    strerror(errno));
	/* msg first: envfd is never 0 (fd 0 is open), but msg may be 1 */
	if (msg == 1) {
		int m = dup(msg);

		if (m == -1)
			return fail(QQ_WRITE, "dup: %s", strerror(errno));
		msg = m;
	}
	if (put_on(msg, 0) == -1 || put_on(envfd, 1) == -1)
		return fail(QQ_WRITE, "cannot hand the message on: %s",
			    strerror(errno));
	/* O_CLOEXEC came with the files; the copies on 0 and 1 lack it */
	execv(argv[0], argv);
	return fail(QQ_CONFIG, "cannot run %s: %s", argv[0], strerror(errno));
}
