/*
 * smtp-deliver.c - deliver one message into Maildirs, qmail-queue style.
 *
 * SUMMARY
 *	smtp-session(8) execs this program the way qmail-smtpd execs
 *	qmail-queue(8): fd 0 is the message (a regular file at offset 0,
 *	LF line ends, already carrying smtp-session's Received: header);
 *	fd 1 is a pipe carrying the envelope "F<sender>\0", one
 *	"T<rcpt>\0" per recipient, then one more "\0".  Like qmail-queue
 *	we read the whole message first, then the envelope.
 *
 *	Each recipient gets one copy in $MAILDIR_ROOT/<domain>/<local>/,
 *	both parts lower-cased, the domain taken after the last '@'.  A
 *	part that could name anything but one directory (empty, leading
 *	dot, '/', '\', control octet) refuses the message (exit 31):
 *	mailbox_check() in mailbox.c, the rule smtp-session applies at
 *	RCPT too, so it refuses such a recipient alone.  A recipient whose
 *	domain is not in SMTP_DOMAINS (postmaster@SMTP_HOSTNAME aside, the
 *	session's bare <postmaster>) refuses the message too (exit 31): a
 *	relayed recipient must go to SMTP_RELAY_DELIVER, never into a
 *	local Maildir nobody reads.  A copy is "Return-Path: <sender>",
 *	"Delivered-To: rcpt" (no angle brackets, as qmail and Postfix
 *	write it), then the message bytes unchanged.  A message whose
 *	header already has "Delivered-To: rcpt" for one of its recipients
 *	has been here before: it is refused as a loop (exit 31, and the
 *	reply "554 5.4.6" as the last stderr line, which smtp-session
 *	gives the client; RFC 5321 6.3, qmail-local's rule).  maildir(5): a copy is written and fsync'd under
 *	tmp/, then linked into new/; a reader never sees a partial file.
 *
 *	Delivery is all-or-nothing: every copy is written into tmp/
 *	before the first is linked into new/.  A failure before that
 *	point unlinks the tmp/ copies already written, so the client's
 *	retry (every failure but a bad address is temporary) does not
 *	duplicate anything.
 *
 *	No symbolic link is followed inside the tree: MAILDIR_ROOT
 *	itself, <domain>, <local> and tmp/, new/, cur/ are each opened
 *	alone, relative to the directory fd above, with O_NOFOLLOW (also
 *	after a mkdirat(2), and again for the link into new/), so a link
 *	planted in the tree cannot send a copy outside MAILDIR_ROOT.  The
 *	parents of MAILDIR_ROOT may be links: they are the administrator's.
 *
 * LIMITS
 *	Envelope addresses are at most 1002 octets (exit 11); at most
 *	10000 recipients (exit 31): filter-chain.c reads the envelope.
 *	Local and domain parts become directory names, so each is at most
 *	PART_MAX (255, NAME_MAX) octets (exit 11).  The message is never held in memory:
 *	it is read in 64 KiB blocks with pread(2), once to check that it
 *	is readable and once per recipient.  A message on a pipe (a filter
 *	in front: `filter | smtp-deliver`) is first read into an unnamed
 *	file in MAILDIR_ROOT, which stands in for fd 0.  Memory is bounded
 *	by the recipient list (about 10000 * (2 * 1003 + 100) octets at
 *	worst).
 *
 * DIAGNOSTICS
 *	The exit status follows qmail-queue(8): 0 delivered; 11 and 31
 *	permanent; 51, 53, 54, 55, 61, 81, 91 temporary.  A symbolic link
 *	in the tree is a broken Maildir directory like any other: 61,
 *	"refusing to follow the symbolic link <path>".  Every non-zero
 *	exit writes exactly one line "smtp-deliver: <reason>" on stderr;
 *	a loop adds a second, the SMTP reply (smtp-session(8), CUSTOM
 *	REPLIES in queue.c).
 *	Addresses in it are escaped (anything outside printable ASCII,
 *	and backslash, as \xHH).  The message body is never echoed.
 *
 * BUGS
 *	A failure after the first link into new/ (link(2) or the fsync(2)
 *	of a new/ directory failing) cannot be undone: the copies already
 *	in new/ stay, the exit is temporary (53 or 61), and the client's
 *	retry duplicates them.  The stderr line names the recipients
 *	already delivered (they are always the first K in envelope order).
 *	If the process is killed while writing, tmp/ copies stay behind;
 *	maildir(5) readers remove tmp/ files older than 36 hours.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "config.h"
#include "escape.h"
#include "filter-chain.h"
#include "mailbox.h"
#include "writeall.h"

#define PROGNAME     "smtp-deliver"
#define VERSION      "0.1.0"
#define DEFAULT_ROOT "/var/lib/smtp-session/Maildir"

/* Copy unit: large enough for throughput, small enough for the stack of
 * any caller; the message itself is never loaded whole. */
#define BLOCK_SIZE   (64 * 1024)
/* Envelope address bound: far above RFC 5321's 256-octet path, leaving
 * room for SMTPUTF8, yet it bounds the memory an envelope can take. */
#define ADDR_MAX     FILTER_ADDR_MAX
/* Local and domain parts become directory names (NAME_MAX). */
#define PART_MAX     MAILBOX_PART_MAX
/* The escaped host name is cut here so "<uniq>.<host>" stays < NAME_MAX. */
#define HOST_ESC_MAX 160
#define UNIQ_MAX     80
#define NAME_BUF     (UNIQ_MAX + 1 + HOST_ESC_MAX + 1)
#define REL_PATH_MAX (2 * (PART_MAX + 1) + 4 + NAME_BUF)
#define ERR_MAX      8000	/* fits smtp-session's 8 KiB stderr capture */
#define ESC_MAX      (4 * ADDR_MAX + 8)
#define ESC_SLOTS    4
/* Tries to find an unused tmp/ name before giving up (maildir(5)). */
#define CREATE_TRIES 4

enum rcpt_state {
	R_NONE,			/* nothing on disk yet */
	R_TMP,			/* a copy exists in tmp/ (remove on failure) */
	R_NEW,			/* linked into new/: delivered */
};

struct rcpt {
	const char *addr;		/* as in the envelope: Delivered-To, stderr */
	char *lower;		/* lower-cased copy split at the last '@' */
	const char *local;	/* points into lower */
	const char *domain;	/* points into lower */
	char uniq[UNIQ_MAX];	/* maildir(5) unique name without ".host" */
	enum rcpt_state state;
};

struct envelope {
	struct filter_envelope in;	/* as read; addresses point in here */
	const char *sender;
	struct rcpt *rcpts;
	size_t nrcpts;
};

struct message {
	int fd;
	off_t size;		/* measured by the first read */
};

static const char *maildir_root;
static struct config cfg;		/* SMTP_DOMAINS, SMTP_HOSTNAME */
static char errline[ERR_MAX];		/* the one diagnostic line */
static char replyline[ERR_MAX];		/* an SMTP reply after it, or "" */
static char host[HOST_ESC_MAX + 1];	/* escaped as maildir(5) says */
static char block[BLOCK_SIZE];		/* the copy buffer */
static unsigned deliveries;		/* maildir(5) Q<n> */

/* ---- small helpers -------------------------------------------------- */

/* Records the reason of the first failure (later ones are consequences)
 * and returns code, so callers can write "return fail(...)". */
static int fail(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

/* Escapes s for stderr (escape.c): anything outside printable ASCII,
 * and the backslash itself, becomes \xHH, so an address cannot forge log
 * lines or terminal controls; a cut one ends in "...".  Rotating
 * buffers: up to ESC_SLOTS calls may feed one diagnostic line. */
static const char *esc(const char *s)
{
	static char bufs[ESC_SLOTS][ESC_MAX];
	static unsigned which;
	char *out = bufs[which++ % ESC_SLOTS];
	size_t n = strlen(s);

	if (escape_text(out, ESC_MAX - 3, s, n, 0) < n)
		strcat(out, "...");
	return out;
}

/* Errors of directory operations: space and I/O are "write errors"
 * (53), anything else is a broken tree (61); both are temporary. */
static int dir_code(int err)
{
	switch (err) {
	case ENOSPC: case EDQUOT: case EIO: case EFBIG:
		return QQ_WRITE;
	case ENOMEM:
		return QQ_NOMEM;
	default:
		return QQ_ROOT;
	}
}

static int write_code(int err)
{
	return err == ENOMEM ? QQ_NOMEM : QQ_WRITE;
}

/* A read-only directory fd has no data to lose: close(2) errors on it
 * carry no information we could act on. */
static void close_dir(int fd)
{
	if (fd >= 0)
		(void)close(fd);
}

/* ---- arguments and configuration ------------------------------------ */

static const char usage_text[] =
	"usage: " PROGNAME " [--help | --version]\n"
	"\n"
	"Delivers the message on fd 0 to every recipient of the envelope on\n"
	"fd 1 (the qmail-queue(8) interface): one Maildir copy per recipient\n"
	"in $MAILDIR_ROOT/<domain>/<local>/, all recipients or none.\n"
	"\n"
	"Environment:\n"
	"  MAILDIR_ROOT  absolute path of the Maildir tree\n"
	"                (default " DEFAULT_ROOT ")\n"
	"  SMTP_DOMAINS  the local domains (as smtp-session's); any other\n"
	"                domain is refused, but postmaster@SMTP_HOSTNAME\n"
	"\n"
	"Exit codes (qmail-queue(8); 11 and 31 are permanent):\n"
	"   0  delivered to every recipient\n"
	"  11  address too long\n"
	"  31  permanently refused (bad address, domain not local, too many\n"
	"      recipients, a mail loop: then \"554 5.4.6 ...\" follows)\n"
	"  51  out of memory\n"
	"  53  write error or disk full\n"
	"  54  cannot read the message or the envelope\n"
	"  55  configuration problem (MAILDIR_ROOT, SMTP_DOMAINS, arguments)\n"
	"  61  problem with the Maildir root or a Maildir directory\n"
	"      (also: a symbolic link in the tree, never followed)\n"
	"  81  internal bug\n"
	"  91  envelope format error\n";

/* --help and --version print on fd 1 and stop; anything else is a
 * wrong deliver command line in smtp-session's configuration. */
static int parse_args(int argc, char **argv, bool *done)
{
	static const char version_text[] = PROGNAME " " VERSION "\n";
	const char *text;

	if (argc <= 1)
		return QQ_OK;
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		text = usage_text;
	else if (argc == 2 && strcmp(argv[1], "--version") == 0)
		text = version_text;
	else
		return fail(QQ_CONFIG, "unexpected argument \"%s\" "
			    "(usage: " PROGNAME " [--help | --version])",
			    esc(argv[1]));
	*done = true;
	if (write_all(1, text, strlen(text)) == -1)
		return fail(QQ_WRITE, "cannot write to stdout: %s",
			    strerror(errno));
	return QQ_OK;
}

static int config_root(void)
{
	const char *root = getenv("MAILDIR_ROOT");

	if (root == NULL)
		root = DEFAULT_ROOT;
	if (root[0] != '/')
		return fail(QQ_CONFIG, "MAILDIR_ROOT must be an absolute "
			    "path, not \"%s\"", esc(root));
	if (strlen(root) >= PATH_MAX)
		return fail(QQ_CONFIG, "MAILDIR_ROOT is longer than %d "
			    "octets", PATH_MAX - 1);
	maildir_root = root;
	return QQ_OK;
}

static void config_report(const char *problem)
{
	(void)fail(QQ_CONFIG, "%s", problem);
}

/* The session's own rows, from the environment it passes on. */
static int config_domains(void)
{
	static const char *const names[] = { "SMTP_DOMAINS", "SMTP_HOSTNAME", NULL };

	return config_load_only(&cfg, names, config_report) ? QQ_CONFIG : QQ_OK;
}

/* ---- the message ---------------------------------------------------- */

/* qmail-queue(8) reads the whole message before the envelope; we do
 * too, which also proves fd 0 readable before anything is written.
 * The size measured here is what every copy gets. */
static int open_root(int *fd);

/* A message on a pipe (a filter in front of us: `filter |
 * smtp-deliver`) is read once into an unnamed file in MAILDIR_ROOT (the
 * file system the copies go to, so a full disk fails here, as a write
 * error), which then stands in for fd 0, so every copy can be read
 * again from the start. */
static int message_scan(struct message *m)
{
	struct stat st;
	off_t off = 0;
	int rootfd, code;

	m->fd = 0;
	if (fstat(0, &st) == -1)
		return fail(QQ_READ, "cannot stat the message on fd 0: %s",
			    strerror(errno));
	if (!S_ISREG(st.st_mode)) {
		if ((code = open_root(&rootfd)) != QQ_OK)
			return code;
		code = filter_message_fd(rootfd, esc(maildir_root), &m->fd);
		(void)close(rootfd);
		if (code != QQ_OK)
			return fail(code, "%s", filter_error());
	}
	for (;;) {
		ssize_t n = pread(m->fd, block, sizeof block, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(QQ_READ, "cannot read the message: %s",
				    strerror(errno));
		if (n == 0)
			break;
		off += n;
	}
	m->size = off;
	return QQ_OK;
}

/* Copies exactly m->size octets of the message to fd, 64 KiB at a
 * time.  pread(2) leaves the file offset alone, so every recipient
 * gets the same bytes from offset 0. */
static int copy_message(int fd, const struct message *m,
			const struct rcpt *r)
{
	off_t off = 0;

	while (off < m->size) {
		size_t want = sizeof block;
		ssize_t n;

		if (m->size - off < (off_t)want)
			want = (size_t)(m->size - off);
		n = pread(m->fd, block, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fail(QQ_READ, "cannot read the message: %s",
				    strerror(errno));
		if (n == 0)
			return fail(QQ_READ, "the message shrank while being "
				    "delivered");
		if (write_all(fd, block, (size_t)n) == -1)
			return fail(write_code(errno), "cannot write the copy "
				    "for <%s>: %s", esc(r->addr),
				    strerror(errno));
		off += n;
	}
	return QQ_OK;
}

/* ---- the envelope --------------------------------------------------- */

/* filter-chain.c reads and bounds the envelope; each recipient gets
 * its own state here. */
static int read_envelope(struct envelope *env)
{
	int code = filter_read_envelope(1, &env->in);

	if (code != QQ_OK)
		return fail(code, "%s", filter_error());
	env->sender = env->in.sender;
	env->rcpts = calloc(env->in.nrcpts, sizeof *env->rcpts);
	if (env->rcpts == NULL)
		return fail(QQ_NOMEM, "out of memory for the recipient list");
	env->nrcpts = env->in.nrcpts;
	for (size_t i = 0; i < env->nrcpts; i++)
		env->rcpts[i].addr = env->in.rcpts[i];
	return QQ_OK;
}

static void free_envelope(struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		free(env->rcpts[i].lower);
	free(env->rcpts);
	env->rcpts = NULL;
	env->nrcpts = 0;
	filter_free_envelope(&env->in);
}

/* ---- address checks ------------------------------------------------- */

/* mailbox_check() (mailbox.c, shared with smtp-session's RCPT) says
 * whether each part can be one path component under the root: no '/',
 * no leading dot, no backslash, no control character, 1..255 octets.
 * The address is split at the LAST '@' (a quoted local part may hold
 * '@'); a lower-cased copy is kept for the path, Delivered-To keeps
 * the original. */
static int check_rcpt(struct rcpt *r)
{
	struct mailbox_split split;
	enum mailbox_error e = mailbox_check(r->addr, &split);
	size_t llen = split.local_len, len = strlen(r->addr);

	if (e != MAILBOX_OK)
		return fail(e == MAILBOX_TOOLONG ? QQ_TOOLONG : QQ_REFUSED,
			    "recipient <%s>: %s", esc(r->addr),
			    mailbox_error_text(e, split.in_domain));
	r->lower = malloc(len + 1);
	if (r->lower == NULL)
		return fail(QQ_NOMEM, "out of memory for the recipient list");
	for (size_t i = 0; i <= len; i++) {
		char c = r->addr[i];

		/* ASCII only: the C locale's idea, whatever LANG says. */
		r->lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a')
						     : c;
	}
	r->lower[llen] = '\0';
	r->local = r->lower;
	r->domain = r->lower + llen + 1;
	if (!domain_listed(cfg.domains, cfg.ndomains, r->domain) &&
	    !(strcmp(r->local, "postmaster") == 0 &&
	      strcasecmp(r->domain, cfg.hostname) == 0))
		return fail(QQ_REFUSED, "recipient <%s>: domain not in "
			    "SMTP_DOMAINS", esc(r->addr));
	return QQ_OK;
}

/* The sender only goes into Return-Path:, but a CR or LF there would
 * forge header lines, so control characters are refused too. */
static int check_sender(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return fail(QQ_REFUSED, "sender contains a control "
				    "character");
	}
	return QQ_OK;
}

/* Every address is checked before anything touches the disk: a bad one
 * refuses the whole message and leaves no trace. */
static int check_envelope(struct envelope *env)
{
	int code;

	if ((code = check_sender(env->sender)) != QQ_OK)
		return code;
	for (size_t i = 0; i < env->nrcpts; i++)
		if ((code = check_rcpt(&env->rcpts[i])) != QQ_OK)
			return code;
	return QQ_OK;
}

/* ---- loops ------------------------------------------------------------ */

/* "Delivered-To: value" (any case, blanks and <> around the value
 * dropped) names addr: the line one of our copies began with. */
static bool delivered_to(const char *line, size_t n, const char *addr)
{
	static const char name[] = "Delivered-To:";
	size_t a = strlen(addr), nl = sizeof name - 1;

	if (n < nl || strncasecmp(line, name, nl) != 0)
		return false;
	line += nl, n -= nl;
	while (n > 0 && (*line == ' ' || *line == '\t'))
		line++, n--;
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			 line[n - 1] == '\r'))
		n--;
	if (n >= 2 && line[0] == '<' && line[n - 1] == '>')
		line++, n -= 2;
	return n == a && strncasecmp(line, addr, a) == 0;
}

static int loop_found(const char *line, size_t n, const struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++)
		if (delivered_to(line, n, env->rcpts[i].addr)) {
			snprintf(replyline, sizeof replyline, "554 5.4.6 Mail "
				 "loop: already delivered to <%s>",
				 esc(env->rcpts[i].addr));
			return fail(QQ_REFUSED, "mail loop: the message already "
				    "has Delivered-To: %s",
				    esc(env->rcpts[i].addr));
		}
	return QQ_OK;
}

/* Reads the header section (up to the first empty line) a line at a
 * time; lines longer than the longest Delivered-To we could have
 * written are skipped. */
static int check_loops(const struct message *m, const struct envelope *env)
{
	char line[ADDR_MAX + 64];
	size_t n = 0;
	bool skipping = false;
	off_t off = 0;

	while (off < m->size) {
		ssize_t got = pread(m->fd, block, sizeof block, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return fail(QQ_READ, "cannot read the message: %s",
				    got < 0 ? strerror(errno) : "it shrank");
		for (ssize_t i = 0; i < got; i++) {
			int code;

			if (block[i] != '\n') {
				if (n < sizeof line)
					line[n++] = block[i];
				else
					skipping = true;
				continue;
			}
			if (n == 0 || (n == 1 && line[0] == '\r'))
				return QQ_OK;      /* the end of the header */
			if (!skipping && (code = loop_found(line, n, env)) != QQ_OK)
				return code;
			n = 0;
			skipping = false;
		}
		off += got;
	}
	return QQ_OK;
}

/* ---- Maildir names and directories ---------------------------------- */

/* maildir(5): the host name part has '/' as \057 and ':' as \072 (':'
 * starts the info part, '/' would be a path separator). */
static void init_host(void)
{
	char name[256];
	size_t o = 0;

	if (gethostname(name, sizeof name) == -1 || name[0] == '\0')
		(void)snprintf(name, sizeof name, "localhost");
	name[sizeof name - 1] = '\0';
	for (const char *p = name; *p != '\0'; p++) {
		const char *rep = *p == '/' ? "\\057" :
				  *p == ':' ? "\\072" : NULL;
		size_t need = rep != NULL ? 4 : 1;

		if (o + need > HOST_ESC_MAX)
			break;
		if (rep != NULL)
			memcpy(host + o, rep, 4);
		else
			host[o] = *p;
		o += need;
	}
	host[o] = '\0';
}

/* maildir(5) unique name "<time>.M<usec>P<pid>Q<n>": seconds, then
 * microseconds, process id and delivery count make it unique on this
 * host; ".<host>" is appended when the name is used. */
static int make_uniq(struct rcpt *r)
{
	struct timespec ts;
	int n;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return fail(QQ_BUG, "clock_gettime: %s", strerror(errno));
	n = snprintf(r->uniq, sizeof r->uniq, "%lld.M%ldP%ldQ%u",
		     (long long)ts.tv_sec, (long)(ts.tv_nsec / 1000),
		     (long)getpid(), ++deliveries);
	if (n < 0 || (size_t)n >= sizeof r->uniq)
		return fail(QQ_BUG, "unique name too long");
	return QQ_OK;
}

static int file_name(char out[NAME_BUF], const struct rcpt *r)
{
	int n = snprintf(out, NAME_BUF, "%s.%s", r->uniq, host);

	if (n < 0 || n >= NAME_BUF)
		return fail(QQ_BUG, "file name too long for <%s>",
			    esc(r->addr));
	return QQ_OK;
}

/* "<domain>/<local>/<sub>/<name>" under the root, for diagnostics only:
 * the file system is reached one component at a time (open_sub()). */
static int rel_path(char out[REL_PATH_MAX], const struct rcpt *r,
		    const char *sub)
{
	int n = snprintf(out, REL_PATH_MAX, "%s/%s/%s/%s.%s", r->domain,
			 r->local, sub, r->uniq, host);

	if (n < 0 || n >= REL_PATH_MAX)
		return fail(QQ_BUG, "path too long for <%s>", esc(r->addr));
	return QQ_OK;
}

/* Opens the directory parent/name, never through a symbolic link: a
 * link planted in the tree (a domain, a mailbox, its tmp/, new/ or cur/)
 * must not send a delivery outside MAILDIR_ROOT.  O_NOFOLLOW refuses a
 * link as the last component, and each caller names one component only,
 * so no link is followed anywhere.  A link fails with errno ELOOP (with
 * O_DIRECTORY, Linux says ENOTDIR; fstatat(2) tells the two apart). */
static int open_dir(int parent, const char *name)
{
	struct stat st;
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			O_CLOEXEC);

	if (fd == -1 && errno == ENOTDIR &&
	    fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		errno = ELOOP;
	return fd;
}

/* The diagnostic for a directory that cannot be created or opened:
 * <root>[/a[/b[/c]]].  A symbolic link is named as such: it is a broken
 * or tampered tree, temporary like any other (61), so the client's
 * retry delivers once it is repaired and no mail is lost. */
static int dir_fail(int err, const char *a, const char *b, const char *c)
{
	char path[PATH_MAX + REL_PATH_MAX];
	int n = snprintf(path, sizeof path, "%s%s%s%s%s%s%s", maildir_root,
			 a != NULL ? "/" : "", a != NULL ? a : "",
			 b != NULL ? "/" : "", b != NULL ? b : "",
			 c != NULL ? "/" : "", c != NULL ? c : "");

	if (n < 0)
		path[0] = '\0';
	if (err == ELOOP)
		return fail(QQ_ROOT, "refusing to follow the symbolic link %s "
			    "(Maildir directories must not be links)",
			    esc(path));
	return fail(dir_code(err), "cannot create or open %s: %s", esc(path),
		    strerror(err));
}

/* Creates the root itself if missing (not its parents: a missing
 * /var/lib/smtp-session is an installation problem) and opens it; all
 * later paths are relative to this fd.  The root may not be a symbolic
 * link either (its parents may: they are the administrator's). */
static int open_root(int *fd)
{
	if (mkdir(maildir_root, 0700) == -1 && errno != EEXIST)
		return fail(QQ_ROOT, "cannot create MAILDIR_ROOT %s: %s",
			    esc(maildir_root), strerror(errno));
	*fd = open_dir(AT_FDCWD, maildir_root);
	if (*fd == -1 && errno == ELOOP)
		return dir_fail(errno, NULL, NULL, NULL);
	if (*fd == -1)
		return fail(QQ_ROOT, "cannot open MAILDIR_ROOT %s: %s",
			    esc(maildir_root), strerror(errno));
	return QQ_OK;
}

/* Opens parent/name, creating it (mode 0700) on first use.  A new entry
 * is fsync'd into its parent: a delivery must survive a crash, and so
 * must the directory that holds it.  Both opens refuse a symbolic link,
 * also one that appears between mkdirat(2) and the second open (a
 * racing delivery makes the directory; an attacker may make a link).
 * -1 with errno on failure. */
static int make_dir(int parent, const char *name)
{
	int fd = open_dir(parent, name);

	if (fd != -1 || errno != ENOENT)     /* the usual case: it exists */
		return fd;
	if (mkdirat(parent, name, 0700) == 0) {
		if (fsync(parent) == -1)
			return -1;
	} else if (errno != EEXIST) {        /* EEXIST: a racing delivery */
		return -1;
	}
	return open_dir(parent, name);
}

/* Makes sure <domain>/<local>/{tmp,new,cur} exist; returns tmp/ open.
 * new/ is checked here, before any copy is written, so a broken
 * Maildir fails the delivery while it can still be undone. */
static int maildir_make(int rootfd, const struct rcpt *r, int *tmpfd)
{
	static const char *const subs[] = { "cur", "new" };
	int dom, box, fd, err;

	dom = make_dir(rootfd, r->domain);
	if (dom == -1)
		return dir_fail(errno, r->domain, NULL, NULL);
	box = make_dir(dom, r->local);
	err = errno;
	close_dir(dom);
	if (box == -1)
		return dir_fail(err, r->domain, r->local, NULL);
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
		fd = make_dir(box, subs[i]);
		if (fd == -1) {
			err = errno;
			close_dir(box);
			return dir_fail(err, r->domain, r->local, subs[i]);
		}
		close_dir(fd);
	}
	*tmpfd = make_dir(box, "tmp");
	err = errno;
	close_dir(box);
	if (*tmpfd == -1)
		return dir_fail(err, r->domain, r->local, "tmp");
	return QQ_OK;
}

/* Opens <domain>/<local>/<sub> of an existing Maildir one component at
 * a time (open_dir: no symbolic link followed), for the link into new/
 * and the tidying after it: a path of several components would follow
 * a link swapped in after maildir_make().  -1 with errno on failure,
 * *depth then says which component failed (1 domain, 2 local, 3 sub). */
static int open_sub(int rootfd, const struct rcpt *r, const char *sub,
		    int *depth)
{
	int dom, box, fd, err;

	*depth = 1;
	dom = open_dir(rootfd, r->domain);
	if (dom == -1)
		return -1;
	*depth = 2;
	box = open_dir(dom, r->local);
	err = errno;
	close_dir(dom);
	if (box == -1) {
		errno = err;
		return -1;
	}
	*depth = 3;
	fd = open_dir(box, sub);
	err = errno;
	close_dir(box);
	errno = err;
	return fd;
}

/* dir_fail() for open_sub(): names the path down to the failed part. */
static int sub_fail(int err, const struct rcpt *r, const char *sub,
		    int depth)
{
	return dir_fail(err, r->domain, depth >= 2 ? r->local : NULL,
			depth >= 3 ? sub : NULL);
}

/* ---- writing the copies into tmp/ ----------------------------------- */

/* Creates tmp/<uniq>.<host> exclusively.  O_EXCL | O_NOFOLLOW: never
 * reuse or follow an existing name; maildir(5) says to try a new name
 * if one is taken (the Q counter makes the next one differ). */
static int create_tmp(int tmpfd, struct rcpt *r, int *fd)
{
	char name[NAME_BUF];
	int code;

	for (int tries = 0; tries < CREATE_TRIES; tries++) {
		if ((code = make_uniq(r)) != QQ_OK ||
		    (code = file_name(name, r)) != QQ_OK)
			return code;
		*fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL |
			     O_NOFOLLOW | O_CLOEXEC, 0600);
		if (*fd >= 0)
			return QQ_OK;
		if (errno != EEXIST)
			break;
	}
	return fail(dir_code(errno), "cannot create a file in %s/%s/%s/tmp: "
		    "%s", esc(maildir_root), esc(r->domain), esc(r->local),
		    strerror(errno));
}

/* Return-Path:, Delivered-To:, the message; then fsync, because
 * maildir(5) links into new/ only what is safely on disk. */
static int write_copy(int fd, const struct rcpt *r, const struct message *m,
		      const char *sender)
{
	char hdr[2 * ADDR_MAX + 64];
	int n, code;

	n = snprintf(hdr, sizeof hdr, "Return-Path: <%s>\nDelivered-To: %s\n",
		     sender, r->addr);
	if (n < 0 || (size_t)n >= sizeof hdr)
		return fail(QQ_BUG, "header too long for <%s>", esc(r->addr));
	if (write_all(fd, hdr, (size_t)n) == -1)
		return fail(write_code(errno), "cannot write the copy for "
			    "<%s>: %s", esc(r->addr), strerror(errno));
	if ((code = copy_message(fd, m, r)) != QQ_OK)
		return code;
	if (fsync(fd) == -1)
		return fail(write_code(errno), "cannot fsync the copy for "
			    "<%s>: %s", esc(r->addr), strerror(errno));
	return QQ_OK;
}

static int deliver_tmp(int rootfd, struct rcpt *r, const struct message *m,
		       const char *sender)
{
	int tmpfd, fd, code;

	if ((code = maildir_make(rootfd, r, &tmpfd)) != QQ_OK)
		return code;
	code = create_tmp(tmpfd, r, &fd);
	close_dir(tmpfd);
	if (code != QQ_OK)
		return code;
	r->state = R_TMP;
	code = write_copy(fd, r, m, sender);
	/* close(2) can report a delayed write error (NFS): check it. */
	if (close(fd) == -1 && code == QQ_OK)
		code = fail(write_code(errno), "cannot close the copy for "
			    "<%s>: %s", esc(r->addr), strerror(errno));
	return code;
}

static int write_all_tmp(int rootfd, struct envelope *env,
			 const struct message *m)
{
	int code;

	for (size_t i = 0; i < env->nrcpts; i++)
		if ((code = deliver_tmp(rootfd, &env->rcpts[i], m,
					env->sender)) != QQ_OK)
			return code;
	return QQ_OK;
}

/* Removes r's copy from its tmp/; -1 with errno on failure. */
static int unlink_tmp(int rootfd, const struct rcpt *r)
{
	char name[NAME_BUF];
	int fd, rc, err, depth;

	if (file_name(name, r) != QQ_OK) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open_sub(rootfd, r, "tmp", &depth);
	if (fd == -1)
		return -1;
	rc = unlinkat(fd, name, 0);
	err = errno;
	close_dir(fd);
	errno = err;
	return rc;
}

/* On failure before delivery: remove every tmp/ copy.  Best effort (we
 * are failing already); what stays is removed by maildir(5) readers
 * after 36 hours. */
static void cleanup_tmp(int rootfd, struct envelope *env)
{
	for (size_t i = 0; i < env->nrcpts; i++) {
		struct rcpt *r = &env->rcpts[i];

		if (r->state != R_TMP)
			continue;
		if (unlink_tmp(rootfd, r) == 0 || errno == ENOENT)
			r->state = R_NONE;
	}
}

/* ---- moving into new/ ----------------------------------------------- */

/* maildir(5): link(2) tmp/ into new/ (it fails rather than replace an
 * existing name).  File systems without hard links get rename(2);
 * the unique name makes a clash there as unlikely as anywhere.  Both
 * sides are directory fds: nothing on the way is resolved by path. */
static int link_or_rename(int tmpfd, int newfd, const char *name)
{
	if (linkat(tmpfd, name, newfd, name, 0) == 0)
		return 0;
	if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS)
		return renameat(tmpfd, name, newfd, name);
	return -1;
}

/* Links r's tmp/ copy into its new/. */
static int link_one(int rootfd, struct rcpt *r)
{
	char name[NAME_BUF], from[REL_PATH_MAX];
	int tmpfd, newfd, rc, err, depth, code;

	if ((code = file_name(name, r)) != QQ_OK ||
	    (code = rel_path(from, r, "tmp")) != QQ_OK)
		return code;
	tmpfd = open_sub(rootfd, r, "tmp", &depth);
	if (tmpfd == -1)
		return sub_fail(errno, r, "tmp", depth);
	newfd = open_sub(rootfd, r, "new", &depth);
	if (newfd == -1) {
		err = errno;
		close_dir(tmpfd);
		return sub_fail(err, r, "new", depth);
	}
	rc = link_or_rename(tmpfd, newfd, name);
	err = errno;
	close_dir(tmpfd);
	close_dir(newfd);
	if (rc == -1)
		return fail(dir_code(err), "cannot link %s/%s into new/ for "
			    "<%s>: %s", esc(maildir_root), esc(from),
			    esc(r->addr), strerror(err));
	r->state = R_NEW;
	return QQ_OK;
}

/* fsync(2)s r's new/ directory. */
static int sync_new(int rootfd, const struct rcpt *r)
{
	int fd, depth, err;

	fd = open_sub(rootfd, r, "new", &depth);
	if (fd == -1)
		return sub_fail(errno, r, "new", depth);
	if (fsync(fd) == -1) {
		err = errno;
		close_dir(fd);
		return fail(dir_code(err), "cannot fsync %s/%s/%s/new: %s",
			    esc(maildir_root), esc(r->domain), esc(r->local),
			    strerror(err));
	}
	close_dir(fd);
	return QQ_OK;
}

static bool same_maildir(const struct rcpt *a, const struct rcpt *b)
{
	return strcmp(a->domain, b->domain) == 0 &&
	       strcmp(a->local, b->local) == 0;
}

/* After the links: fsync each new/ so the deliveries are on disk, then
 * drop the tmp/ names.  The tmp/ side is tidying only: a stale tmp/
 * name is harmless and readers remove it (maildir(5)). */
static int sync_moved(int rootfd, struct envelope *env, size_t moved)
{
	int code = QQ_OK, c;

	for (size_t i = 0; i < moved; i++) {
		struct rcpt *r = &env->rcpts[i];

		if (i > 0 && same_maildir(r, &env->rcpts[i - 1]))
			continue;
		if ((c = sync_new(rootfd, r)) != QQ_OK && code == QQ_OK)
			code = c;
	}
	/* tidying only: a tmp/ name that survives a crash is harmless
	 * (readers clean tmp/), so the unlink is not fsynced */
	for (size_t i = 0; i < moved; i++)
		(void)unlink_tmp(rootfd, &env->rcpts[i]);
	return code;
}

/* Links every copy into new/, in envelope order; *moved tells how many
 * got there (the first *moved recipients are delivered). */
static int move_all(int rootfd, struct envelope *env, size_t *moved)
{
	int code = QQ_OK, sync_code;
	size_t i;

	for (i = 0; i < env->nrcpts; i++)
		if ((code = link_one(rootfd, &env->rcpts[i])) != QQ_OK)
			break;
	*moved = i;
	sync_code = sync_moved(rootfd, env, i);
	return code != QQ_OK ? code : sync_code;
}

/* Appends to the diagnostic which recipients were delivered before a
 * failure in the move phase (they are the first `moved` ones). */
static void report_partial(const struct envelope *env, size_t moved)
{
	size_t len = strlen(errline);
	int n;

	n = snprintf(errline + len, sizeof errline - len, "; already "
		     "delivered to the first %zu of %zu recipients:", moved,
		     env->nrcpts);
	if (n < 0 || (size_t)n >= sizeof errline - len)
		return;
	len += (size_t)n;
	for (size_t i = 0; i < moved; i++) {
		const char *a = esc(env->rcpts[i].addr);
		size_t alen = strlen(a);

		if (len + alen + 8 >= sizeof errline) {
			memcpy(errline + len, " ...", 5);
			return;
		}
		errline[len++] = ' ';
		errline[len++] = '<';
		memcpy(errline + len, a, alen);
		len += alen;
		errline[len++] = '>';
		errline[len] = '\0';
	}
}

/* ---- main ----------------------------------------------------------- */

static int deliver(void)
{
	static struct envelope env;
	struct message msg;
	int rootfd = -1, code;
	size_t moved = 0;

	if ((code = config_root()) == QQ_OK &&
	    (code = config_domains()) == QQ_OK &&
	    (code = message_scan(&msg)) == QQ_OK &&
	    (code = read_envelope(&env)) == QQ_OK &&
	    (code = check_envelope(&env)) == QQ_OK &&
	    (code = check_loops(&msg, &env)) == QQ_OK &&
	    (code = open_root(&rootfd)) == QQ_OK) {
		init_host();
		code = write_all_tmp(rootfd, &env, &msg);
		if (code == QQ_OK) {
			code = move_all(rootfd, &env, &moved);
			if (code != QQ_OK && moved > 0)
				report_partial(&env, moved);
		}
		if (code != QQ_OK)
			cleanup_tmp(rootfd, &env);
		close_dir(rootfd);
	}
	free_envelope(&env);
	return code;
}

static void print_error(void)
{
	char line[ERR_MAX + 64];
	int n;

	n = snprintf(line, sizeof line, PROGNAME ": %s\n",
		     errline[0] != '\0' ? errline : "internal error");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	/* Nowhere left to report a failing stderr. */
	(void)write_all(2, line, (size_t)n);
	if (replyline[0] != '\0') {
		n = snprintf(line, sizeof line, "%s\n", replyline);
		if (n > 0 && (size_t)n < sizeof line)
			(void)write_all(2, line, (size_t)n);
	}
}

int main(int argc, char **argv)
{
	bool done = false;
	int code;

	/* With fd 2 closed, the first file we open would become "stderr"
	 * and a diagnostic would land inside a delivered message; a write
	 * error must be an error return, not death by signal (EFBIG past
	 * RLIMIT_FSIZE, EPIPE on a closed stderr): filter_init().  A
	 * closed fd 0 or 1 then reads as an empty message or envelope. */
	if (filter_init() == -1) {
		code = fail(QQ_BUG, "cannot set up fds and signals: %s",
			    strerror(errno));
	} else {
		code = parse_args(argc, argv, &done);
		if (code == QQ_OK && !done)
			code = deliver();
	}
	if (code != QQ_OK)
		print_error();
	return code;
}
