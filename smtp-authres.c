/*
 * smtp-authres.c - the verifier in the qmail-queue chain: SPF, DKIM,
 * DMARC and iprev verdicts as one Authentication-Results header field
 * (RFC 8601), then the next program of the chain.
 *
 * SUMMARY
 *	smtp-authres NEXT [ARGS...] reads the message (fd 0) and the
 *	envelope (fd 1) as qmail-queue(8) does (filter-chain.c), splits
 *	the header (authres-header.c), and runs the checks in a child
 *	process that sandboxes itself first (authres-sandbox.c): iprev of
 *	TCPREMOTEIP, SPF of the MAIL FROM (HELO when <>), every DKIM
 *	signature, DMARC of the From domain.  The child sends the verdicts
 *	back over a pipe; the parent writes the new message -- our
 *	Authentication-Results field, the header without any
 *	Authentication-Results field that names our authserv-id (RFC 8601
 *	5: a forgery), the body -- to an unnamed file, appends the DMARC
 *	record (dmarc-store.c), applies the policies and execs NEXT.
 *
 *	Policies, each off by default, never for an authenticated
 *	(SMTP_AUTH_USER) or RELAYCLIENT sender:
 *	  SMTP_AUTHRES_SPF_REJECT=1        spf=fail: exit 31,
 *	                                   "550 5.7.23 SPF check failed ..."
 *	  SMTP_AUTHRES_DMARC_REJECT=1      dmarc=fail, policy reject: exit
 *	                                   31, "550 5.7.1 ..."
 *	  SMTP_AUTHRES_DMARC_QUARANTINE=1  dmarc=fail, policy quarantine
 *	                                   (or reject not enforced): the
 *	                                   message gets "X-Spam-Flag: YES"
 *	The reply is the last stderr line (smtp-session's custom replies).
 *
 * LIMITS
 *	The header is read into a 1 MiB buffer (HEADER_MAX; larger: exit
 *	31, 552 5.3.4) and split into at most 10000 fields.  The checks
 *	get SMTP_AUTHRES_DEADLINE seconds in all: each DNS query takes at
 *	most SMTP_AUTHRES_DNS_TIMEOUT seconds once (RES_OPTIONS for the
 *	libraries, the res_state for iprev), a check that would start too
 *	late is not started, and at the deadline the child is killed:
 *	what it had not finished is temperror.  A dead resolver therefore
 *	costs temperror verdicts, never a hang.
 *
 * DIAGNOSTICS
 *	One log line on stderr, "smtp-authres: iprev=... spf=... dkim=...
 *	dmarc=... disposition=...", values escaped (escape.c).  Exit
 *	codes follow qmail-queue(8) (filter-chain.h): 31 with a last line
 *	"550 ..." for a policy refusal, 55 for a configuration error, the
 *	others from filter-chain.c; on success the exit status is NEXT's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authres.h"
#include "authres-header.h"
#include "authres-psl.h"
#include "authres-sandbox.h"
#include "dmarc-store.h"
#include "escape.h"
#include "filter-chain.h"
#include "writeall.h"

#define PROGNAME    "smtp-authres"
#define VERSION     "0.1.0"
#define HEADER_MAX  (1024 * 1024)
#define FIELDS_MAX  10000
#define VALUE_MAX   (64 * 1024)	/* an unfolded field, for our checks */
#define AR_MAX      16384	/* our field: 8 signatures of 256-octet names */
#define LINE_MAX_   2048	/* one stderr line */

/* ---- configuration: one row a variable -------------------------------- */

struct config {
	const char *hostname;
	bool spf_reject, dmarc_reject, dmarc_quarantine, dmarc_record;
	int dns_timeout, deadline;
	const char *psl;
};

enum kind { K_TEXT, K_BOOL, K_NUM };

struct var {
	const char *name, *def;
	enum kind kind;
	int min, max;
	const char *help;
};

static const struct var vars[] = {
	{ "SMTP_HOSTNAME", "", K_TEXT, 0, 0,
	  "authserv-id of the Authentication-Results field; empty: the host name" },
	{ "SMTP_AUTHRES_SPF_REJECT", "0", K_BOOL, 0, 1,
	  "1: refuse a message whose SPF result is fail (550 5.7.23)" },
	{ "SMTP_AUTHRES_DMARC_REJECT", "0", K_BOOL, 0, 1,
	  "1: refuse a message failing DMARC whose domain publishes reject (550 5.7.1)" },
	{ "SMTP_AUTHRES_DMARC_QUARANTINE", "0", K_BOOL, 0, 1,
	  "1: add X-Spam-Flag: YES to a message failing DMARC whose domain publishes quarantine (or reject, when that is not refused)" },
	{ "SMTP_AUTHRES_DMARC_RECORD", "1", K_BOOL, 0, 1,
	  "1: append one DMARC evaluation per message to the store in SMTP_DMARC_DIR" },
	{ "SMTP_DMARC_DIR", DMARC_STORE_DIR_DEFAULT, K_TEXT, 0, 0,
	  "directory of the DMARC evaluation store (smtp-dmarc-report reads it)" },
	{ "SMTP_AUTHRES_DNS_TIMEOUT", "3", K_NUM, 1, 30,
	  "seconds one DNS query may take (one try)" },
	{ "SMTP_AUTHRES_DEADLINE", "30", K_NUM, 2, 600,
	  "seconds all checks of one message may take; what is not done by then is temperror" },
	{ "SMTP_AUTHRES_PSL", "/usr/share/publicsuffix/public_suffix_list.dat", K_TEXT, 0, 0,
	  "the public suffix list (DMARC organizational domains)" },
};

static char errline[LINE_MAX_];

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

static const char *var(const char *name)
{
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strcmp(vars[i].name, name) == 0) {
			const char *v = getenv(name);

			return v != NULL ? v : vars[i].def;
		}
	return "";
}

/* Every row checked: a wrong value is a configuration error (55), not
 * a silent default. */
static int check_vars(void)
{
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const struct var *v = &vars[i];
		const char *s = var(v->name);
		char *end;
		long n;

		if (v->kind == K_TEXT)
			continue;
		errno = 0;
		n = strtol(s, &end, 10);
		if (errno != 0 || end == s || *end != '\0' || n < v->min ||
		    n > v->max)
			return fail(QQ_CONFIG, "%s must be %s%d..%d, not \"%s\"",
				    v->name, v->kind == K_BOOL ? "0 or 1: " : "",
				    v->min, v->max, s);
	}
	return QQ_OK;
}

static int load_config(struct config *c)
{
	static char host[256];
	int code = check_vars();

	if (code != QQ_OK)
		return code;
	c->hostname = var("SMTP_HOSTNAME");
	if (c->hostname[0] == '\0') {
		if (gethostname(host, sizeof host) == -1 || host[0] == '\0')
			snprintf(host, sizeof host, "localhost");
		host[sizeof host - 1] = '\0';
		c->hostname = host;
	}
	c->spf_reject = strcmp(var("SMTP_AUTHRES_SPF_REJECT"), "1") == 0;
	c->dmarc_reject = strcmp(var("SMTP_AUTHRES_DMARC_REJECT"), "1") == 0;
	c->dmarc_quarantine =
		strcmp(var("SMTP_AUTHRES_DMARC_QUARANTINE"), "1") == 0;
	c->dmarc_record = strcmp(var("SMTP_AUTHRES_DMARC_RECORD"), "1") == 0;
	c->dns_timeout = atoi(var("SMTP_AUTHRES_DNS_TIMEOUT"));
	c->deadline = atoi(var("SMTP_AUTHRES_DEADLINE"));
	c->psl = var("SMTP_AUTHRES_PSL");
	return QQ_OK;
}

/* ---- the message's header ------------------------------------------- */

struct header {
	char buf[HEADER_MAX];
	size_t len, body;
	struct ah_field f[FIELDS_MAX];
	size_t nf;
	struct filter_cut cuts[FIELDS_MAX];
	size_t ncuts;
	char from[AR_DOMAIN_MAX];
	int from_state;		/* ah_from_domain(), 0 when no From */
	char dkim_d[AR_DKIM_MAX][AR_DOMAIN_MAX];  /* d= of the signatures */
	size_t ndkim_d;
	size_t nsigs;		/* DKIM-Signature fields */
};

static char value_buf[VALUE_MAX];

/* The unfolded value of field i (after the colon). */
static const char *field_value(const struct header *h, size_t i, size_t *len)
{
	const struct ah_field *f = &h->f[i];
	size_t colon = f->name_len;

	while (h->buf[f->off + colon] != ':')	/* WSP before the colon */
		colon++;
	*len = ah_unfold(h->buf + f->off + colon + 1,
			 f->len - colon - 1, value_buf, sizeof value_buf);
	if (*len >= sizeof value_buf)
		*len = sizeof value_buf - 1;
	return value_buf;
}

static int read_header(int msg, struct header *h)
{
	long n;

	h->len = 0;
	while (h->len < sizeof h->buf) {
		ssize_t r = pread(msg, h->buf + h->len, sizeof h->buf - h->len,
				  (off_t)h->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(QQ_READ, "cannot read the message: %s",
				    strerror(errno));
		if (r == 0)
			break;
		h->len += (size_t)r;
	}
	n = ah_split(h->buf, h->len, h->f, FIELDS_MAX, &h->body);
	if (n < 0)
		return fail(QQ_REFUSED, "552 5.3.4 The message header has "
			    "more than %d fields", FIELDS_MAX);
	if (h->body == h->len && h->len == sizeof h->buf)
		return fail(QQ_REFUSED, "552 5.3.4 The message header is "
			    "larger than %d octets", HEADER_MAX);
	h->nf = (size_t)n;
	return QQ_OK;
}

/* Our forged fields to cut, the From domain, the signers' d=. */
static void scan_header(struct header *h, const char *id)
{
	size_t froms = 0, len;

	h->ncuts = 0;
	h->from_state = 0;
	h->from[0] = '\0';
	h->ndkim_d = h->nsigs = 0;
	for (size_t i = 0; i < h->nf; i++) {
		if (ah_name_is(h->buf, &h->f[i], "DKIM-Signature")) {
			const char *v = field_value(h, i, &len);

			h->nsigs++;
			if (h->ndkim_d < AR_DKIM_MAX &&
			    ah_dkim_domain(v, len, h->dkim_d[h->ndkim_d],
					   AR_DOMAIN_MAX) == 1)
				h->ndkim_d++;
			continue;
		}
		if (ah_name_is(h->buf, &h->f[i], "Authentication-Results")) {
			const char *v = field_value(h, i, &len);

			if (ah_is_ours(v, len, id)) {
				h->cuts[h->ncuts].off = (off_t)h->f[i].off;
				h->cuts[h->ncuts].len = (off_t)h->f[i].len;
				h->ncuts++;
			}
		} else if (ah_name_is(h->buf, &h->f[i], "From")) {
			const char *v = field_value(h, i, &len);

			if (froms++ == 0)
				h->from_state = ah_from_domain(v, len, h->from,
							       sizeof h->from);
			else
				h->from_state = -1;	/* RFC 7489 6.6.1 */
		}
	}
}

/* ---- the checks, in a sandboxed child ----------------------------------- */

struct ctx {
	const struct config *cfg;
	const char *ip, *helo, *sender, *spf_domain;
	int msg;
	const struct header *h;
};

static void temperror_all(struct ar_results *r)
{
	memset(r, 0, sizeof *r);
	snprintf(r->iprev, AR_WORD, "temperror");
	snprintf(r->spf.result, AR_WORD, "temperror");
	snprintf(r->spf.identity, AR_WORD, "mailfrom");
	snprintf(r->dmarc.result, AR_WORD, "temperror");
	r->dmarc.pct = -1;
}

static bool time_left(const struct timespec *start, int deadline,
		      int need)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return false;
	return now.tv_sec - start->tv_sec + need < deadline;
}

static void send_results(int fd, const struct ar_results *r)
{
	(void)write_all(fd, r, sizeof *r);
}

/* The child: each verdict is sent as soon as it is known, so a deadline
 * keeps what was done. */
static void child_checks(const struct ctx *c, int out)
{
	static struct ar_results r;
	struct timespec start;
	int t = c->cfg->dns_timeout, dl = c->cfg->deadline;

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	temperror_all(&r);
	snprintf(r.spf.domain, sizeof r.spf.domain, "%s", c->spf_domain);
	if (c->sender[0] == '\0')
		snprintf(r.spf.identity, AR_WORD, "helo");
	snprintf(r.dmarc.from, sizeof r.dmarc.from, "%s", c->h->from);
	send_results(out, &r);
	if (time_left(&start, dl, t))
		authres_iprev(c->ip, t, r.iprev, r.iprev_name);
	send_results(out, &r);
	if (time_left(&start, dl, t))
		authres_spf(c->ip, c->helo, c->sender, &r.spf);
	send_results(out, &r);
	/* no signature: no libopendkim (its start-up is OpenSSL's) */
	if (c->h->nsigs == 0)
		r.ndkim = 0;
	else if (time_left(&start, dl, t))
		r.ndkim = (unsigned)authres_dkim(c->msg, c->h->buf, c->h->f,
						 c->h->nf, (off_t)c->h->body,
						 t, r.dkim);
	send_results(out, &r);
	if (time_left(&start, dl, t))
		authres_dmarc(c->ip, c->h->from, c->h->from_state, &r.spf,
			      r.dkim, r.ndkim, &r.dmarc);
	send_results(out, &r);
}

/* Reads the child's results until EOF or the deadline; keeps the last
 * whole set. */
static void collect(int in, pid_t pid, int deadline, struct ar_results *r)
{
	static struct ar_results got;
	struct timespec end, now;
	size_t have = 0;

	(void)clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += deadline;
	for (;;) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		long ms;
		ssize_t n;

		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (end.tv_sec - now.tv_sec) * 1000 +
		     (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0 || (poll(&p, 1, (int)ms) == 0))
			break;		/* the deadline: keep what we have */
		n = read(in, (char *)&got + have, sizeof got - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (have == sizeof got) {
			*r = got;
			have = 0;
		}
	}
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
	authres_sanitize(r);
}

/* RFC 7208 2.4: the MAIL FROM domain, or HELO for <>. */
static const char *spf_domain(const char *sender, const char *helo)
{
	const char *at = strrchr(sender, '@');

	if (sender[0] == '\0')
		return helo;
	return at != NULL ? at + 1 : sender;
}

/* RES_OPTIONS: the resolver of every library (res_ninit reads it) tries
 * each query once and waits at most timeout seconds. */
static int resolver_options(int timeout)
{
	char opts[64];

	snprintf(opts, sizeof opts, "timeout:%d attempts:1", timeout);
	return setenv("RES_OPTIONS", opts, 1);
}

/* The public suffix list lines this message needs (authres-psl.c), in
 * a memfd the child reads as /proc/self/fd/N before its sandbox; the
 * whole list when that cannot be made. */
static int psl_for(const struct ctx *c, char *path, size_t cap)
{
	const char *domains[AR_DKIM_MAX + 2];
	size_t n = 0;
	int fd = memfd_create("smtp-authres-psl", MFD_CLOEXEC);

	domains[n++] = c->h->from;
	domains[n++] = c->spf_domain;
	for (size_t i = 0; i < c->h->ndkim_d; i++)
		domains[n++] = c->h->dkim_d[i];
	if (fd >= 0 && psl_filter(c->cfg->psl, domains, n, fd) == 0) {
		snprintf(path, cap, "/proc/self/fd/%d", fd);
		return fd;
	}
	if (fd >= 0)
		(void)close(fd);
	snprintf(path, cap, "%s", c->cfg->psl);
	return -1;
}

static int run_checks(const struct ctx *c, struct ar_results *r)
{
	char psl[PATH_MAX];
	int p[2], pslfd;
	pid_t pid;

	temperror_all(r);
	pslfd = psl_for(c, psl, sizeof psl);
	if (pipe2(p, O_CLOEXEC) == -1)
		return fail(QQ_NOMEM, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid == -1) {
		(void)close(p[0]);
		(void)close(p[1]);
		if (pslfd >= 0)
			(void)close(pslfd);
		return fail(QQ_NOMEM, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		(void)close(p[0]);
		/* the suffix list is read before the sandbox: it may not let
		 * /proc be opened; a failure leaves dmarc=permerror */
		if (resolver_options(c->cfg->dns_timeout) == 0) {
			(void)authres_dmarc_init(psl);
			if (authres_sandbox() == 0)
				child_checks(c, p[1]);
		}
		_exit(0);
	}
	if (pslfd >= 0)
		(void)close(pslfd);
	(void)close(p[1]);
	collect(p[0], pid, c->cfg->deadline, r);
	(void)close(p[0]);
	return QQ_OK;
}

/* ---- policy, record, output ------------------------------------------- */

static const char *esc(const char *s)
{
	static char bufs[4][1100];
	static unsigned which;
	char *o = bufs[which++ % 4];

	(void)escape_text(o, sizeof bufs[0], s, strlen(s), 0);
	return o;
}

static void log_line(const struct ar_results *r, const char *disposition)
{
	char line[LINE_MAX_], dk[600] = "";
	size_t dl = 0;

	for (unsigned i = 0; i < r->ndkim && dl < sizeof dk - 80; i++)
		dl += (size_t)snprintf(dk + dl, sizeof dk - dl, "%s%s:%s",
				       i > 0 ? "," : "", esc(r->dkim[i].d),
				       r->dkim[i].result);
	snprintf(line, sizeof line, PROGNAME ": iprev=%s spf=%s smtp.%s=%s "
		 "dkim=%s dmarc=%s header.from=%s policy=%s disposition=%s\n",
		 r->iprev, r->spf.result, r->spf.identity, esc(r->spf.domain),
		 r->ndkim > 0 ? dk : "none", r->dmarc.result,
		 esc(r->dmarc.from), r->dmarc.policy[0] != '\0'
		 ? r->dmarc.policy : "-", disposition);
	(void)write_all(2, line, strlen(line));
}

static void record(const struct config *cfg, const struct ctx *c,
		   const struct ar_results *r, const char *disposition)
{
	char doms[1100] = "", res[200] = "";
	size_t dl = 0, rl = 0;
	const char *at = strrchr(c->sender, '@');
	struct dmarc_record rec;

	if (!cfg->dmarc_record || r->dmarc.from[0] == '\0')
		return;
	for (unsigned i = 0; i < r->ndkim; i++) {
		dl += (size_t)snprintf(doms + dl, sizeof doms - dl, "%s%s",
				       i > 0 ? "," : "", r->dkim[i].d);
		rl += (size_t)snprintf(res + rl, sizeof res - rl, "%s%s",
				       i > 0 ? "," : "", r->dkim[i].result);
		if (dl >= sizeof doms || rl >= sizeof res)
			break;
	}
	memset(&rec, 0, sizeof rec);
	rec.when = (long long)time(NULL);
	rec.source_ip = c->ip;
	rec.header_from = r->dmarc.from;
	rec.envelope_from = c->sender[0] != '\0' && at != NULL ? at + 1 : "";
	rec.spf_domain = r->spf.domain;
	rec.spf_result = r->spf.result;
	rec.dkim_domains = doms;
	rec.dkim_results = res;
	rec.dmarc_result = r->dmarc.result;
	rec.policy = r->dmarc.p;
	rec.disposition = disposition;
	rec.spf_aligned = r->dmarc.spf_aligned;
	rec.dkim_aligned = r->dmarc.dkim_aligned;
	rec.adkim = r->dmarc.adkim;
	rec.aspf = r->dmarc.aspf;
	rec.sp = r->dmarc.sp;
	rec.pct = r->dmarc.pct;
	if (dmarc_store_append(dmarc_store_dir(), &rec) == -1) {
		char line[LINE_MAX_];

		snprintf(line, sizeof line, PROGNAME ": dmarc record not "
			 "kept: %s: %s\n", esc(dmarc_store_dir()),
			 strerror(errno));
		(void)write_all(2, line, strlen(line));
	}
}

/* What the policies make of the verdicts: "none", "quarantine" or
 * "reject" (*reply set). */
static const char *decide(const struct config *cfg, bool exempt,
			  const struct ar_results *r, char *reply, size_t cap)
{
	bool dmarc_fail = strcmp(r->dmarc.result, "fail") == 0;

	if (exempt)
		return "none";
	if (cfg->spf_reject && strcmp(r->spf.result, "fail") == 0) {
		snprintf(reply, cap, "550 5.7.23 SPF check failed for %s: "
			 "%s is not allowed to send its mail", esc(r->spf.domain),
			 esc(getenv("TCPREMOTEIP") != NULL ?
			     getenv("TCPREMOTEIP") : "this host"));
		return "reject";
	}
	if (dmarc_fail && strcmp(r->dmarc.policy, "reject") == 0 &&
	    cfg->dmarc_reject) {
		snprintf(reply, cap, "550 5.7.1 DMARC policy of %s rejects "
			 "this message (neither SPF nor DKIM aligned)",
			 esc(r->dmarc.from));
		return "reject";
	}
	if (dmarc_fail && cfg->dmarc_quarantine &&
	    (strcmp(r->dmarc.policy, "quarantine") == 0 ||
	     strcmp(r->dmarc.policy, "reject") == 0))
		return "quarantine";
	return "none";
}

static int hand_off(struct header *h, int msg, const char *field,
		    size_t flen, bool quarantine,
		    const struct filter_envelope *env, char **next)
{
	static const char flag[] = "X-Spam-Flag: YES\n";
	static char head[AR_MAX + sizeof flag];
	size_t hl = 0;
	int out, code;

	if (quarantine) {
		memcpy(head, flag, sizeof flag - 1);
		hl = sizeof flag - 1;
	}
	memcpy(head + hl, field, flen);
	hl += flen;
	out = filter_unnamed_file(-1);
	if (out == -1)
		return fail(QQ_WRITE, "cannot make the new message: %s",
			    strerror(errno));
	code = filter_write_message(out, head, hl, msg, h->cuts, h->ncuts);
	if (code == QQ_OK)
		code = filter_exec_next(out, env, next);
	return fail(code, "%s", filter_error());
}

/* ---- main ------------------------------------------------------------- */

static const char usage_text[] =
	"usage: " PROGNAME " NEXT [ARGS...] | --help | --version\n"
	"\n"
	"A filter in smtp-session's qmail-queue chain: adds an\n"
	"Authentication-Results header field (iprev, SPF, DKIM, DMARC) to\n"
	"the message on fd 0 (envelope on fd 1), applies the policies,\n"
	"then execs NEXT with the same interface.\n"
	"\n"
	"Environment:\n";

static int usage(void)
{
	char line[512];

	if (write_all(1, usage_text, sizeof usage_text - 1) == -1)
		return QQ_WRITE;
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		const struct var *v = &vars[i];
		int n;

		if (v->kind == K_NUM)
			n = snprintf(line, sizeof line, "  %s (default %s, "
				     "%d..%d)\n      %s\n", v->name, v->def,
				     v->min, v->max, v->help);
		else
			n = snprintf(line, sizeof line, "  %s (default \"%s\")"
				     "\n      %s\n", v->name, v->def, v->help);
		if (n < 0 || write_all(1, line, (size_t)n) == -1)
			return QQ_WRITE;
	}
	return QQ_OK;
}

static struct header hdr;

static int authres(char **next)
{
	static char field[AR_MAX];
	static struct ar_results r;
	struct config cfg;
	struct filter_envelope env;
	struct ctx c;
	char reply[LINE_MAX_] = "";
	const char *auth = getenv("SMTP_AUTH_USER"), *disposition;
	bool exempt;
	size_t flen;
	int msg = 0, code;

	memset(&env, 0, sizeof env);
	if ((code = load_config(&cfg)) != QQ_OK)
		return code;
	if ((code = filter_message_fd(-1, "the temporary directory", &msg)) !=
	    QQ_OK ||
	    (code = filter_read_envelope(1, &env)) != QQ_OK) {
		filter_free_envelope(&env);
		return fail(code, "%s", filter_error());
	}
	if ((code = read_header(msg, &hdr)) != QQ_OK) {
		filter_free_envelope(&env);
		return code;
	}
	scan_header(&hdr, cfg.hostname);
	c.cfg = &cfg;
	c.ip = getenv("TCPREMOTEIP") != NULL ? getenv("TCPREMOTEIP") : "";
	c.helo = getenv("SMTP_HELO") != NULL ? getenv("SMTP_HELO") : "";
	c.sender = env.sender;
	c.spf_domain = spf_domain(env.sender, c.helo);
	c.msg = msg;
	c.h = &hdr;
	if ((code = run_checks(&c, &r)) != QQ_OK) {
		filter_free_envelope(&env);
		return code;
	}
	exempt = (auth != NULL && auth[0] != '\0') ||
		 getenv("RELAYCLIENT") != NULL;
	disposition = decide(&cfg, exempt, &r, reply, sizeof reply);
	log_line(&r, disposition);
	record(&cfg, &c, &r, disposition);
	if (strcmp(disposition, "reject") == 0) {
		filter_free_envelope(&env);
		return fail(QQ_REFUSED, "%s", reply);
	}
	flen = authres_format(field, sizeof field, cfg.hostname, c.ip, auth,
			      &r);
	if (flen == 0) {
		filter_free_envelope(&env);
		return fail(QQ_BUG, PROGNAME ": the Authentication-Results "
			    "field does not fit %d octets", AR_MAX);
	}
	code = hand_off(&hdr, msg, field, flen,
			strcmp(disposition, "quarantine") == 0, &env, next);
	filter_free_envelope(&env);
	return code;
}

int main(int argc, char **argv)
{
	int code;

	if (filter_init() == -1)
		return QQ_BUG;
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return usage();
	if (argc == 2 && strcmp(argv[1], "--version") == 0)
		return write_all(1, PROGNAME " " VERSION "\n",
				 sizeof PROGNAME " " VERSION "\n" - 1) == -1
		       ? QQ_WRITE : QQ_OK;
	if (argc < 2 || argv[1][0] == '-')
		code = fail(QQ_CONFIG, PROGNAME ": usage: " PROGNAME
			    " NEXT [ARGS...]");
	else
		code = authres(argv + 1);
	/* the last line: a reply ("550 ...") or the reason, prefixed */
	if (code != QQ_OK) {
		char line[LINE_MAX_ + 64];
		bool reply = errline[0] >= '2' && errline[0] <= '5' &&
			     errline[3] == ' ';
		int n = snprintf(line, sizeof line, "%s%s\n",
				 reply || strncmp(errline, PROGNAME ":",
						  sizeof PROGNAME) == 0
				 ? "" : PROGNAME ": ", errline);

		if (n > 0)
			(void)write_all(2, line, (size_t)n < sizeof line
					? (size_t)n : sizeof line - 1);
	}
	return code;
}
