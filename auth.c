/*
 * auth.c - SMTP AUTH (RFC 4954): SASL PLAIN (RFC 4616) and LOGIN, checked
 *	against a crypt(3) password file or a checkpassword program.
 *
 * SUMMARY
 *	cmd_auth() runs one exchange.  Policy first: SMTP_AUTH=off → 502;
 *	before EHLO, inside a transaction or after a success → 503; without
 *	TLS and without SMTP_AUTH_PLAINTEXT=1 → 538 5.7.11.  PLAIN takes an
 *	initial response or asks with "334 "; "=" is an empty initial
 *	response (RFC 4954 4), which for PLAIN is a malformed message.  LOGIN
 *	asks "334 VXNlcm5hbWU6" (Username:) unless the user came as the
 *	initial response, then "334 UGFzc3dvcmQ6" (Password:).  "*" cancels
 *	(501 5.7.0), undecodable base64 is 501 5.5.2.
 *
 *	Credentials: SMTP_PASSWD is a file of "user:hash" lines ('#'
 *	comments and blank lines skipped, first match wins, fields after a
 *	second ':' ignored), opened afresh for every AUTH so edits count at
 *	once; the hash is checked with crypt_rn(3) (yescrypt $y$,
 *	sha512crypt $6$, sha256crypt $5$, bcrypt $2b$, anything libxcrypt
 *	knows) and compared in constant time.  A locked entry ("!..", "*")
 *	never matches.  A user that is not in the file (or has an unusable
 *	hash) still costs one crypt_rn(), against a yescrypt dummy setting
 *	made once per process, so the time does not tell which users exist.
 *	A user not in the file (or every user, without SMTP_PASSWD) is
 *	checked by SMTP_CHECKPASSWORD if set: the program (argv, no shell)
 *	reads "user\0pass\0\0" (empty timestamp) on fd 3, has /dev/null as
 *	fd 0 and 1, runs in its own process group and is killed with it
 *	(child.c) after CHECKPW_TIMEOUT seconds (capped by SMTP_TIMEOUT);
 *	exit 0 = good, 1 = bad, anything else, a signal or the timeout =
 *	temporary failure (454 4.7.0, not counted).  A checkpassword program usually
 *	runs its remaining arguments on success: configure e.g.
 *	SMTP_CHECKPASSWORD="/usr/bin/checkpassword /bin/true".
 *
 *	Failure: every refused credential goes through auth_failed() (or
 *	auth_refused(), for a verified one).  It logs the user and the
 *	reason, counts the failure, waits until SMTP_AUTH_FAIL_DELAY ms
 *	after the check began (so a wrong password, an unknown user and a
 *	slow or fast hash all answer at the same moment: a password-file
 *	hash is checked in a child cut off at that moment, a slower one is
 *	refused unverified and logged (auth_slow_hash), and --check-config
 *	reports a setting that takes more than half the delay),
 *	replies 535 5.7.8, and after AUTH_MAX_FAILURES in one session adds
 *	421 4.7.0 and ends the session.  A 535 is a 5xx, so it also counts
 *	toward SMTP_MAX_ERRORS in reply().
 *
 * LOCKOUT SEAM
 *	auth_failed() is the one place where a credential failure is known:
 *	it records the failure for the client address (gate_auth_failed(),
 *	lockout.c) and, when that locks the address, answers 421 4.7.0 after
 *	the 535.  The lockout is checked (gate_auth_check()) once the
 *	mechanism is known, before anything is read.  Then, before a password
 *	is verified, finish() charges the attempt to the address's budget
 *	(gate_auth_charge()): a locked address, or one whose remaining
 *	guesses are all being verified by other sessions, gets 421 4.7.0 and
 *	no verification.  The verdict settles the charge: a failure counts,
 *	a success or a temporary failure erases nothing.  SMTP_AUTH_COUNTRIES
 *	is checked before the credentials and refuses through auth_failed().
 *
 * SECRETS
 *	The password, the decoded SASL messages, the response lines, the
 *	consumed part of the input buffer and the AUTH command line itself
 *	are cleared with explicit_bzero() as soon as the check is done.
 *	Nothing logged holds a password or a base64 blob: the "auth" event
 *	has mechanism, user, result and a fixed reason text.
 *
 * LIMITS
 *	Response lines up to AUTH_LINE_MAX (12288) octets (RFC 4954 4);
 *	longer → 500 5.5.6.  User names up to 255 octets, no control
 *	characters; longer or odd names never authenticate.  The checkpassword
 *	message is at most 512 octets (checkpassword(8)); a longer one is a
 *	bad credential.  AUTH_MAX_FAILURES (3) and
 *	CHECKPW_TIMEOUT (30 s) are compile-time constants.
 *
 * DIAGNOSTICS
 *	libcrypt.so.1 is loaded at the first check (crypt_load(), dlib.c):
 *	missing, every check is a temporary failure (454 4.7.0, the auth
 *	event's reason "libcrypt.so.1 not available: ...").
 *	Log events: "auth" (result ok, failed, tempfail, cancelled, error,
 *	aborted) and "auth_limit" when the session is closed after too many
 *	failures.  An SMTP_PASSWD file that cannot be opened, is not a
 *	regular file or can be read by group or others gives 454 4.7.0 and a
 *	log line naming the file (and is a problem for --check-config).
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "child.h"
#include "dlib.h"
#include "gate.h"
#include "io.h"
#include "log.h"
#include "sasl.h"
#include "session.h"

#ifndef AUTH_MAX_FAILURES
#define AUTH_MAX_FAILURES 3
#endif
#ifndef CHECKPW_TIMEOUT
#define CHECKPW_TIMEOUT 30
#endif
#define CHECKPW_MAX 512              /* checkpassword(8): at most 512 octets */
#define AUTH_USER_MAX 255
/* base64 of AUTH_LINE_MAX octets decodes to at most 3/4 of it */
#define DECODED_MAX (AUTH_LINE_MAX / 4 * 3 + 4)

/* V_SLOW: the hash did not verify within SMTP_AUTH_FAIL_DELAY; refused
 * unverified, so it tells nothing and costs the address nothing. */
enum verdict { V_OK, V_BAD, V_TEMP, V_SLOW };
enum step { STEP_OK, STEP_DONE };      /* DONE: replied, exchange over */

/* Buffers that hold secrets: static (the line is 12 KiB, the crypt
 * state 32 KiB), cleared after every use. */
static char line[AUTH_LINE_MAX + 3];
static char decoded[DECODED_MAX];
static char login_user[DECODED_MAX];
static struct crypt_data crypt_state;

/* ---- small helpers ---------------------------------------------------- */

bool auth_offered(const struct session *s)
{
	return s->cfg->auth != AUTH_OFF &&
	       (s->tls_active || s->cfg->auth_plaintext);
}

/* Constant time in the length: no early exit on the first difference. */
static bool ct_equal(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Milliseconds since the check began. */
static long long check_ms(const struct session *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - s->auth_started.tv_sec) * 1000LL +
	       (now.tv_nsec - s->auth_started.tv_nsec) / 1000000;
}

/* When a 535 is due, in mono_ms() terms: SMTP_AUTH_FAIL_DELAY after the
 * check began. */
static long long reply_due(const struct session *s)
{
	return s->auth_started.tv_sec * 1000LL +
	       s->auth_started.tv_nsec / 1000000 + s->cfg->auth_fail_delay;
}

static void log_slow(const struct session *s, const char *user)
{
	char took[24];

	snprintf(took, sizeof took, "%lld", check_ms(s));
	log_event("auth_slow_hash", "user", user ? user : "", "ms", took, "reason",
		  "verification slower than SMTP_AUTH_FAIL_DELAY", NULL);
}

/* Sleeps until SMTP_AUTH_FAIL_DELAY after s->auth_started (from now, when
 * no check was started: a refusal before any credential was looked at).
 * A check that took longer than that (a checkpassword program; a password
 * file hash is cut off at the deadline instead) gives itself away by its
 * timing: it is logged for the admin, unless the caller did already. */
static void failure_delay(struct session *s, const char *user, bool logged)
{
	unsigned ms = s->cfg->auth_fail_delay;
	struct timespec until, now;

	if (s->auth_started.tv_sec == 0 && s->auth_started.tv_nsec == 0)
		clock_gettime(CLOCK_MONOTONIC, &s->auth_started);
	until = s->auth_started;
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ms > 0 && (now.tv_sec > until.tv_sec ||
		       (now.tv_sec == until.tv_sec && now.tv_nsec > until.tv_nsec))) {
		if (!logged)
			log_slow(s, user);
		return;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL)
	       == EINTR)
		;
}

/* The octets of the connection's input buffer already read may hold a
 * response line: clear them (the unread rest stays). */
static void scrub_input(struct session *s)
{
	explicit_bzero(s->io.rbuf, s->io.rpos);
}

/* ---- outcomes ----------------------------------------------------------- */


/* Counts and logs a refused credential (before the lockout's verdict,
 * so the log reads in order). */
static void log_failure(struct session *s, const char *user, const char *why)
{
	char count[16];

	s->auth_failures++;
	snprintf(count, sizeof count, "%u", s->auth_failures);
	log_event("auth", "mechanism", s->auth_mechanism, "user",
		  user ? user : "", "result", "failed", "reason", why,
		  "failures", count, NULL);
}

/* The answer to a refused credential: 535 at the fixed moment, then 421
 * when the address is now locked or the session used up its tries. */
static void answer_failure(struct session *s, const char *user, bool locked,
			   bool slow_logged)
{
	char count[16];

	io_flush(&s->io);
	failure_delay(s, user, slow_logged);
	reply(s, 535, "5.7.8", "Authentication credentials invalid");
	if (locked) {
		reply(s, 421, "4.7.0", "%s Too many failed logins, try again later",
		      s->cfg->hostname);
		session_end(s, "locked_out");
	} else if (s->auth_failures >= AUTH_MAX_FAILURES) {
		snprintf(count, sizeof count, "%u", s->auth_failures);
		log_event("auth_limit", "failures", count, NULL);
		reply(s, 421, "4.7.0", "%s Too many failed logins, closing connection",
		      s->cfg->hostname);
		session_end(s, "auth_limit");
	}
}

static void auth_failed(struct session *s, const char *user, const char *why)
{
	log_failure(s, user, why);
	answer_failure(s, user, gate_auth_failed(s), false); /* the lockout */
}

/* A charged verification said no: it settles the charge as a failure. */
static void auth_refused(struct session *s, const char *user, const char *why)
{
	log_failure(s, user, why);
	answer_failure(s, user, gate_auth_settle(s, true), false);
}

static void auth_succeeded(struct session *s, const char *user)
{
	snprintf(s->auth_user, sizeof s->auth_user, "%s", user);
	s->authenticated = true;
	log_event("auth", "mechanism", s->auth_mechanism, "user", user,
		  "result", "ok", NULL);
	reply(s, 235, "2.7.0", "Authentication successful");
}

static void auth_tempfail(struct session *s, const char *user, const char *why)
{
	log_event("auth", "mechanism", s->auth_mechanism, "user",
		  user ? user : "", "result", "tempfail", "reason", why, NULL);
	reply(s, 454, "4.7.0", "Temporary authentication failure");
}

/* ---- the password file ---------------------------------------------- */

/* A user name we are willing to look up and to hand on. */
static bool user_valid(const char *user, size_t len)
{
	if (len == 0 || len > AUTH_USER_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* ---- libcrypt, loaded at the first check ---------------------------- */

/*
 * libcrypt is not linked (dlib.c): a session without AUTH never maps
 * it.  crypt_load() runs in the session before the first check (not in
 * the hash-checking child, which would load it again each time).
 * Missing: the check is a temporary failure, 454 4.7.0, with
 * "libcrypt.so.1 not available: <dlerror>" as the auth event's reason;
 * --check-config reports it.
 */
#define CRYPT_SONAME "libcrypt.so.1"
#define CRYPT_FUNCS(X) X(crypt_rn) X(crypt_gensalt_rn)

static struct {
#define X(f) __typeof__(&f) f;
	CRYPT_FUNCS(X)
#undef X
} C;

static const char *crypt_load(void)
{
	static const struct dlib_sym syms[] = {
#define X(f) { #f, &C.f },
		CRYPT_FUNCS(X)
#undef X
	};
	static int state;                 /* 0 not tried, 1 ok, -1 failed */
	static char err[256];

	if (state == 0)
		state = dlib_load(CRYPT_SONAME, syms, sizeof syms / sizeof syms[0],
				  err, sizeof err) ? 1 : -1;
	return state > 0 ? NULL : err;
}

/* One crypt_rn(): 1 when pass gives exactly hash, 0 when not, -1 when
 * the hash is unusable (locked "!...", "*", empty, unknown method). */
static int crypt_check(const char *pass, const char *hash)
{
	const char *h;
	int r;

	memset(&crypt_state, 0, sizeof crypt_state);
	h = C.crypt_rn(pass, hash, &crypt_state, sizeof crypt_state);
	if (!h || h[0] == '*')
		r = -1;
	else
		r = strlen(h) == strlen(hash) && ct_equal(h, hash, strlen(hash));
	explicit_bzero(&crypt_state, sizeof crypt_state);
	return r;
}

/* crypt_check() in a child that must finish by deadline (mono_ms()):
 * 1, 0 or -1 as crypt_check() says; -2 when it did not finish in time
 * (the child is killed); -3 when it could not be run.  The child's exit
 * status carries the verdict: 0 match, 1 not, 2 unusable. */
struct crypt_job { const char *pass, *hash; };

static void crypt_job_run(void *arg)
{
	const struct crypt_job *j = arg;
	int m = crypt_check(j->pass, j->hash);

	_exit(m == 1 ? 0 : m == 0 ? 1 : 2);
}

static int crypt_check_in_child(const char *pass, const char *hash,
				long long deadline)
{
	struct crypt_job job = { pass, hash };
	struct child c;
	bool done;
	int st;

	if (child_spawn(&c, crypt_job_run, &job, 3) < 0)
		return -3;
	done = child_wait(&c, deadline);
	if (child_end(&c, &st) < 0)
		return -3;
	if (!done)
		return -2;
	if (!WIFEXITED(st) || WEXITSTATUS(st) > 2)
		return -3;
	return WEXITSTATUS(st) == 0 ? 1 : WEXITSTATUS(st) == 1 ? 0 : -1;
}

/* The same work as checking a real yescrypt hash, for a user that does
 * not exist; the setting is made once, when first needed. */
static void dummy_crypt(const char *pass)
{
	static char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (!setting[0] &&
	    !C.crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof setting)) {
		setting[0] = '\0';
		return;
	}
	(void)crypt_check(pass, setting);
}

enum lookup { LK_FOUND, LK_MISSING, LK_ERROR };

/* Finds user's hash in the SMTP_PASSWD file. */
static enum lookup passwd_lookup(const char *file, const char *user,
				 char *hash, size_t cap)
{
	size_t ulen = strlen(user), n = 0;
	enum lookup r = LK_MISSING;
	char *buf = NULL;
	struct stat st;
	ssize_t len;
	FILE *f;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		log_event("auth_config", "file", file, "error", strerror(errno),
			  NULL);
		return LK_ERROR;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077)) {
		log_event("auth_config", "file", file, "error",
			  "not a regular file, or readable by group or others",
			  NULL);
		close(fd);
		return LK_ERROR;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return LK_ERROR;
	}
	while (r == LK_MISSING && (len = getline(&buf, &n, f)) >= 0) {
		char *colon, *end;

		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		if (len == 0 || buf[0] == '#')
			continue;
		colon = strchr(buf, ':');
		if (!colon || (size_t)(colon - buf) != ulen ||
		    memcmp(buf, user, ulen) != 0)
			continue;
		end = strchr(colon + 1, ':');
		if (end)
			*end = '\0';
		if (strlen(colon + 1) < cap) {
			strcpy(hash, colon + 1);
			r = LK_FOUND;
		} else {
			hash[0] = '\0';         /* too long: never matches */
			r = LK_FOUND;
		}
	}
	if (r == LK_MISSING && ferror(f)) {
		log_event("auth_config", "file", file, "error", "read error",
			  NULL);
		r = LK_ERROR;
	}
	if (buf) {
		explicit_bzero(buf, n);
		free(buf);
	}
	fclose(f);
	return r;
}

/* ---- the checkpassword program -------------------------------------- */

/* True when fd 2 is the client connection (it must not be the child's). */
static bool stderr_is_connection(const struct session *s)
{
	struct stat a, b;

	return fstat(2, &a) == 0 && fstat(s->io.in, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

struct checkpw_plan {
	const struct session *s;
	int rfd;
};

/* In the child (child_spawn() has set the process group and the signal
 * state): never returns. */
static void checkpw_child(void *arg)
{
	const struct checkpw_plan *c = arg;
	const struct session *s = c->s;
	int devnull, fd3;

	fd3 = fcntl(c->rfd, F_DUPFD_CLOEXEC, 10);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd3 < 0 || devnull < 0 || dup2(devnull, 0) < 0 ||
	    dup2(devnull, 1) < 0 || dup2(fd3, 3) < 0)
		_exit(111);
	if (stderr_is_connection(s) && dup2(devnull, 2) < 0)
		_exit(111);
	setenv("TCPREMOTEIP", s->client_ip, 1);
	execv(s->cfg->checkpassword_argv[0], s->cfg->checkpassword_argv);
	dprintf(2, "smtp-session: cannot run %s: %s\n",
		s->cfg->checkpassword_argv[0], strerror(errno));
	_exit(111);
}

static enum verdict run_checkpassword(struct session *s, const char *user,
				      const char *pass, const char **why)
{
	size_t ulen = strlen(user), plen = strlen(pass);
	unsigned secs = s->cfg->timeout < CHECKPW_TIMEOUT ? s->cfg->timeout
							  : CHECKPW_TIMEOUT;
	char msg[CHECKPW_MAX];
	int p[2], st, forked;
	struct checkpw_plan plan = { .s = s };
	struct child proc;
	bool exited;
	ssize_t w;

	if (ulen + plen + 3 > sizeof msg) {
		*why = "credentials too long for checkpassword";
		return V_BAD;
	}
	memcpy(msg, user, ulen + 1);
	memcpy(msg + ulen + 1, pass, plen + 1);
	msg[ulen + plen + 2] = '\0';        /* the (empty) timestamp */
	if (pipe2(p, O_CLOEXEC) < 0) {
		explicit_bzero(msg, sizeof msg);
		*why = "pipe failed";
		return V_TEMP;
	}
	/* at most 512 octets: fits the pipe, the write cannot block */
	w = write(p[1], msg, ulen + plen + 3);
	explicit_bzero(msg, sizeof msg);
	close(p[1]);
	if (w != (ssize_t)(ulen + plen + 3)) {
		close(p[0]);
		*why = "pipe write failed";
		return V_TEMP;
	}
	io_flush(&s->io);
	plan.rfd = p[0];
	forked = child_spawn(&proc, checkpw_child, &plan, 111);
	close(p[0]);
	if (forked < 0) {
		*why = "fork failed";
		return V_TEMP;
	}
	exited = child_wait(&proc, mono_ms() + (long long)secs * 1000);
	if (child_end(&proc, &st) < 0) {
		*why = "waitpid failed";
		return V_TEMP;
	}
	if (!exited) {
		*why = "checkpassword timed out";
		return V_TEMP;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return V_OK;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 1) {
		*why = "checkpassword refused";
		return V_BAD;
	}
	*why = WIFEXITED(st) ? "checkpassword temporary failure"
			     : "checkpassword killed by a signal";
	return V_TEMP;
}

/* ---- --check-config: what each hash costs ------------------------------ */

#define COST_SETTINGS_MAX 32           /* distinct settings measured */

/* The setting of a hash: all but its last "$" field (the hash proper);
 * two salt characters for a DES hash. */
static size_t setting_len(const char *hash)
{
	const char *dollar = strrchr(hash, '$');

	if (hash[0] != '$' || !dollar)
		return strlen(hash) < 2 ? strlen(hash) : 2;
	return (size_t)(dollar - hash);
}

/* Milliseconds one crypt_rn() of hash takes, cut off after limit ms (a
 * bcrypt cost of 31 would run for days); -1 when it did not finish in
 * time or could not be run. */
static long long hash_cost(const char *hash, int limit)
{
	long long start = mono_ms();
	int m = crypt_check_in_child("smtp-session cost probe", hash,
				     start + limit);

	return m < -1 ? -1 : mono_ms() - start;
}

/* Reports a user whose hash would answer a wrong password later than
 * the failure delay; once per distinct setting. */
static int check_cost(const struct config *cfg, const char *user,
		      const char *hash, char seen[][CRYPT_GENSALT_OUTPUT_SIZE],
		      unsigned *nseen, void (*report)(const char *))
{
	unsigned limit = cfg->auth_fail_delay / 2;
	size_t n = setting_len(hash);
	char msg[512];
	long long ms;

	if (n == 0 || n >= CRYPT_GENSALT_OUTPUT_SIZE || hash[0] == '!' ||
	    hash[0] == '*' || *nseen >= COST_SETTINGS_MAX)
		return 0;
	for (unsigned i = 0; i < *nseen; i++)
		if (strlen(seen[i]) == n && memcmp(seen[i], hash, n) == 0)
			return 0;
	memcpy(seen[*nseen], hash, n);
	seen[(*nseen)++][n] = '\0';
	ms = hash_cost(hash, (int)limit);
	if (ms >= 0 && ms <= limit)
		return 0;
	snprintf(msg, sizeof msg,
		 "SMTP_PASSWD: user %.64s: the hash takes %s%lld ms to verify, "
		 "over half of SMTP_AUTH_FAIL_DELAY (%u ms), so its 535 would "
		 "come late and show that the user exists; rehash it with a "
		 "cheaper setting or raise SMTP_AUTH_FAIL_DELAY", user,
		 ms < 0 ? "more than " : "", ms < 0 ? (long long)limit : ms,
		 cfg->auth_fail_delay);
	if (report)
		report(msg);
	return 1;
}

int auth_check_costs(const struct config *cfg, void (*report)(const char *))
{
	static char seen[COST_SETTINGS_MAX][CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned nseen = 0;
	int count = 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	const char *nolib;

	if (!cfg->passwd || !(f = fopen(cfg->passwd, "re")))
		return 0;                 /* check_auth_files() said why */
	if ((nolib = crypt_load())) {
		fclose(f);
		if (report) {
			char msg[320];
			snprintf(msg, sizeof msg, "SMTP_PASSWD: %s", nolib);
			report(msg);
		}
		return 1;
	}
	while ((len = getline(&buf, &cap, f)) >= 0) {
		char *colon, *end;

		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = '\0';
		colon = strchr(buf, ':');
		if (len == 0 || buf[0] == '#' || !colon)
			continue;
		*colon = '\0';
		if ((end = strchr(colon + 1, ':')))
			*end = '\0';
		count += check_cost(cfg, buf, colon + 1, seen, &nseen, report);
	}
	free(buf);
	fclose(f);
	return count;
}

/* ---- the check ------------------------------------------------------ */

static enum verdict check_credentials(struct session *s, const char *user,
				      size_t ulen, const char *pass,
				      size_t plen, const char **why)
{
	const struct config *cfg = s->cfg;
	char hash[CRYPT_OUTPUT_SIZE];
	enum verdict v = V_BAD;
	bool valid = user_valid(user, ulen) && strlen(user) == ulen;
	const char *nolib = crypt_load();

	if (nolib) {                      /* every path below may crypt */
		*why = nolib;
		return V_TEMP;
	}
	*why = "unknown user";
	if (plen == 0 || strlen(pass) != plen) {
		/* empty, or a NUL inside: crypt would see only a prefix */
		dummy_crypt("");
		*why = "malformed password";
		return V_BAD;
	}
	if (cfg->passwd) {
		enum lookup lk = valid ? passwd_lookup(cfg->passwd, user, hash,
							sizeof hash)
				       : LK_MISSING;
		if (lk == LK_ERROR) {
			*why = "password file unusable";
			return V_TEMP;
		}
		if (lk == LK_FOUND) {
			/* cut off when the 535 is due: a slower hash would
			 * tell by its timing that the user exists */
			int m = crypt_check_in_child(pass, hash, reply_due(s));

			explicit_bzero(hash, sizeof hash);
			*why = "wrong password";
			if (m == -2) {
				*why = "hash slower than SMTP_AUTH_FAIL_DELAY";
				return V_SLOW;
			}
			if (m == -3) {
				*why = "cannot run the hash check";
				return V_TEMP;
			}
			if (m == -1)
				dummy_crypt(pass);     /* locked: same cost */
			else if (m == 1)
				v = V_OK;
			return v;
		}
	}
	if (cfg->checkpassword_argv[0] && valid)
		return run_checkpassword(s, user, pass, why);
	dummy_crypt(pass);
	return V_BAD;
}

/* Checks and answers; the user and password are cleared by the caller. */
static void finish(struct session *s, const char *user, size_t ulen,
		   const char *pass, size_t plen)
{
	const char *why = "";
	char shown[AUTH_USER_MAX + 1];
	enum verdict v;

	/* the name as logged: cut, NULs stop it (log_event escapes) */
	snprintf(shown, sizeof shown, "%.*s", (int)(ulen < AUTH_USER_MAX ?
						    ulen : AUTH_USER_MAX), user);
	if (!gate_auth_country_ok(s)) {    /* SMTP_AUTH_COUNTRIES */
		auth_failed(s, shown, "country not allowed");
		return;
	}
	/* the attempt is charged to the address before it is verified, so
	 * concurrent sessions cannot verify more than the lockout allows */
	switch (gate_auth_charge(s)) {
	case GATE_AUTH_LOCKED:             /* 421 sent, the session ends */
		return;
	case GATE_AUTH_TEMPFAIL:
		auth_tempfail(s, shown, "lockout store unusable");
		return;
	case GATE_AUTH_OK:
		break;
	}
	v = check_credentials(s, user, ulen, pass, plen, &why);
	if (v == V_BAD) {
		auth_refused(s, shown, why);
		return;
	}
	if (v == V_SLOW) {                 /* refused unverified: no count */
		gate_auth_settle(s, false);
		log_failure(s, shown, why);
		log_slow(s, shown);
		answer_failure(s, shown, false, true);
		return;
	}
	/* a success or a temporary failure only returns the charge: it
	 * erases no failure that other guesses ran up */
	gate_auth_settle(s, false);
	if (v == V_OK)
		auth_succeeded(s, user);
	else
		auth_tempfail(s, shown, why);
}

/* ---- the exchange --------------------------------------------------- */

/* Decodes one client response (initial or after 334) into out;
 * replies on a bad one. */
static enum step decode(struct session *s, const char *text, size_t len,
			char *out, size_t *outlen)
{
	long n;

	if (len == 1 && text[0] == '*') {
		log_event("auth", "mechanism", s->auth_mechanism, "result",
			  "cancelled", NULL);
		reply(s, 501, "5.7.0", "Authentication cancelled");
		return STEP_DONE;
	}
	n = sasl_b64_decode(text, len, out, DECODED_MAX - 1);
	if (n < 0) {
		log_event("auth", "mechanism", s->auth_mechanism,
			  "result", "error",
			  "reason", "bad base64", NULL);
		reply(s, 501, "5.5.2", "Cannot decode response");
		return STEP_DONE;
	}
	out[n] = '\0';
	*outlen = (size_t)n;
	return STEP_OK;
}

/* Sends a 334 challenge and reads and decodes the response. */
static enum step challenge(struct session *s, const char *prompt, char *out,
			   size_t *outlen)
{
	enum io_status st;
	size_t len = 0;
	bool crlf;
	enum step r;

	reply(s, 334, NULL, "%s", prompt);
	st = io_getline(&s->io, line, sizeof line, &len, &crlf);
	if (st == IO_TOOLONG) {
		scrub_input(s);
		log_event("auth", "mechanism", s->auth_mechanism,
			  "result", "error",
			  "reason", "line too long", NULL);
		reply(s, 500, "5.5.6", "Authentication Exchange line is too long");
		return STEP_DONE;
	}
	if (st != IO_OK) {
		if (st == IO_TIMEOUT)
			reply(s, 421, "4.4.2", "%s Timeout, closing connection",
			      s->cfg->hostname);
		log_event("auth", "mechanism", s->auth_mechanism,
			  "result", "aborted",
			  "reason", st == IO_TIMEOUT ? "timeout" : "client gone",
			  NULL);
		session_end(s, st == IO_TIMEOUT ? "timeout" : "eof");
		return STEP_DONE;
	}
	r = decode(s, line, len, out, outlen);
	explicit_bzero(line, len);
	scrub_input(s);
	return r;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static void mech_plain(struct session *s, const char *initial)
{
	size_t n = 0, plen = 0;
	const char *authcid = "", *pass = "";

	if (initial) {
		if (strcmp(initial, "=") == 0) {
			decoded[0] = '\0';      /* RFC 4954 4: empty response */
		} else if (decode(s, initial, strlen(initial), decoded, &n)
			   != STEP_OK) {
			return;
		}
	} else if (challenge(s, "", decoded, &n) != STEP_OK) {
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->auth_started);
	switch (sasl_plain_split(decoded, n, &authcid, &pass, &plen)) {
	case SASL_PLAIN_MALFORMED:
		auth_failed(s, "", "malformed PLAIN message");
		return;
	case SASL_PLAIN_AUTHZID:      /* we authorize nobody as another */
		auth_failed(s, authcid, "authorization identity differs");
		return;
	case SASL_PLAIN_OK:
		break;
	}
	finish(s, authcid, strlen(authcid), pass, plen);
}

static void mech_login(struct session *s, const char *initial)
{
	size_t ulen = 0, plen = 0;

	if (initial) {
		if (strcmp(initial, "=") == 0)
			login_user[0] = '\0';
		else if (decode(s, initial, strlen(initial), login_user, &ulen)
			 != STEP_OK)
			return;
	} else if (challenge(s, "VXNlcm5hbWU6", login_user, &ulen) != STEP_OK) {
		return;
	}
	if (challenge(s, "UGFzc3dvcmQ6", decoded, &plen) != STEP_OK)
		return;
	clock_gettime(CLOCK_MONOTONIC, &s->auth_started);
	finish(s, login_user, ulen, decoded, plen);
}

/* Policy and sequence (SMTP_AUTH off, EHLO first, once, not inside a
 * transaction, TLS unless SMTP_AUTH_PLAINTEXT) are the command table's
 * rules (smtp-session.c). */
void cmd_auth(struct session *s, const char *arg,
	      const struct refusal *refused)
{
	char mech[16];
	size_t mlen = strcspn(arg, " ");
	const char *initial = arg + mlen;

	(void)refused;
	s->auth_mechanism = "";
	s->auth_started.tv_sec = s->auth_started.tv_nsec = 0;
	while (*initial == ' ')
		initial++;
	if (mlen == 0 || strchr(initial, ' ')) {
		reply(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	if (!*initial)
		initial = NULL;
	snprintf(mech, sizeof mech, "%.*s", (int)(mlen < 15 ? mlen : 15), arg);
	if (mlen == 5 && strcasecmp(mech, "PLAIN") == 0)
		s->auth_mechanism = "PLAIN";
	else if (mlen == 5 && strcasecmp(mech, "LOGIN") == 0)
		s->auth_mechanism = "LOGIN";
	else
		reply(s, 504, "5.5.4", "Unrecognized authentication type");
	/* the lockout is checked before any password is looked at */
	if (*s->auth_mechanism) {
		enum gate_auth g = gate_auth_check(s);

		if (g == GATE_AUTH_TEMPFAIL)
			auth_tempfail(s, "", "lockout store unusable");
		else if (g == GATE_AUTH_OK && s->auth_mechanism[0] == 'P')
			mech_plain(s, initial);
		else if (g == GATE_AUTH_OK)
			mech_login(s, initial);
		/* GATE_AUTH_LOCKED: 421 sent, the session ends */
	}
	/* the command line held the initial response: it is ours to clear
	 * (a static buffer of the command loop), and so is what we read */
	explicit_bzero(decoded, sizeof decoded);
	explicit_bzero(login_user, sizeof login_user);
	explicit_bzero(line, sizeof line);
	if (initial)
		explicit_bzero((char *)initial, strlen(initial));
	scrub_input(s);
}
