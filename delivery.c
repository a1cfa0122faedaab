/*
 * delivery.c - hands a spooled message to its deliver programs, answers
 *	the client once, and logs one line per recipient.
 *
 * SUMMARY
 *	Local recipients (SMTP_DOMAINS, postmaster) go to SMTP_DELIVER,
 *	relayed ones (a RELAYCLIENT or authenticated client, any other
 *	domain) to SMTP_RELAY_DELIVER; when both name the same program,
 *	it gets them all in one run.  A transaction with recipients of
 *	both kinds is split: the local part runs first, then the relayed
 *	part, and the client gets 250 only when every part succeeded.
 *	Otherwise it gets the failing part's reply (and a part after a
 *	failed one does not run).
 *
 *	SMTP has one reply per message, so a split transaction can fail
 *	after one part was delivered.  Then the reply is that failure --
 *	for a temporary one the client sends the whole message again -- and
 *	each recipient already delivered is remembered: an empty file in
 *	SMTP_SPOOL_DIR/delivered/ named by SHA-256 of the message's digest,
 *	the sender and the recipient.  The retry skips those recipients,
 *	so nothing is delivered twice, and removes their files when it
 *	succeeds.  The digest covers the octets the client sent (not our
 *	Received header), so only the same message from the same sender
 *	matches.  A permanent failure of the second part after the first
 *	was delivered is answered with that failure: the client's bounce
 *	names all recipients, though the local ones have the message.
 *
 * LIMITS
 *	Records older than RECORD_DAYS are removed when a new one is made
 *	(RFC 5321 4.5.4.1: clients give up after 4-5 days).
 *
 * DIAGNOSTICS
 *	A record that cannot be written is logged (record_error); the
 *	reply stays the temporary failure it was, and a retry may then
 *	deliver that part again: never lose, at worst duplicate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "delivery.h"
#include "log.h"
#include "queue.h"
#include "sha256.h"

#define RECORD_DAYS 7
#define RECORD_DIR  "delivered"

enum part_id { PART_LOCAL, PART_RELAY, PARTS };

struct part {
	char *const *argv;
	char **rcpts;              /* max_rcpts slots */
	size_t n;
	bool ran;
	struct queue_result res;
};

struct plan {
	struct part part[PARTS];
	bool split;                /* two programs: records apply */
	unsigned char digest[SHA256_LEN];
	bool *done_before;         /* per recipient: delivered by a retry's
				    * earlier attempt */
};

static bool same_argv(char *const a[], char *const b[])
{
	size_t i = 0;

	for (; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return !a[i] && !b[i];
}

bool delivery_split(const struct session *s)
{
	bool local = false, relayed = false;

	if (!s->cfg->relay_argv[0] ||
	    same_argv(s->cfg->deliver_argv, s->cfg->relay_argv))
		return false;
	for (size_t i = 0; i < s->tx.nrcpts; i++)
		*(s->tx.relayed[i] ? &relayed : &local) = true;
	return local && relayed;
}

/* ---- records of recipients delivered by an attempt that failed ------- */

static void record_path(const struct session *s, const struct plan *p,
			const char *rcpt, char *path, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char key[SHA256_LEN];
	char name[2 * SHA256_LEN + 1];
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, p->digest, sizeof p->digest);
	sha256_update(&c, s->tx.sender, strlen(s->tx.sender) + 1);
	for (; *rcpt; rcpt++) {    /* smtp-deliver files case-insensitively */
		char l = (*rcpt >= 'A' && *rcpt <= 'Z') ? *rcpt + 32 : *rcpt;
		sha256_update(&c, &l, 1);
	}
	sha256_final(&c, key);
	for (size_t i = 0; i < SHA256_LEN; i++) {
		name[2 * i] = hex[key[i] >> 4];
		name[2 * i + 1] = hex[key[i] & 15];
	}
	name[2 * SHA256_LEN] = '\0';
	snprintf(path, cap, "%s/" RECORD_DIR "/%s", s->cfg->spool_dir, name);
}

static bool recorded(const struct session *s, const struct plan *p,
		     const char *rcpt)
{
	char path[4096];
	struct stat st;

	record_path(s, p, rcpt, path, sizeof path);
	return stat(path, &st) == 0 &&
	       st.st_mtime > time(NULL) - RECORD_DAYS * 86400;
}

/* Removes records older than RECORD_DAYS. */
static void sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	time_t old = time(NULL) - RECORD_DAYS * 86400;

	if (!d)
		return;
	while ((e = readdir(d))) {
		struct stat st;

		if (e->d_name[0] != '.' &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime < old)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static void record(const struct session *s, const struct plan *p,
		   const char *rcpt)
{
	char dir[4096], path[4096];
	int fd;

	snprintf(dir, sizeof dir, "%s/" RECORD_DIR, s->cfg->spool_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	record_path(s, p, rcpt, path, sizeof path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || fsync(fd) < 0 || close(fd) < 0)
		goto fail;
	sweep(dir);
	return;
fail:
	log_event("record_error", "to", rcpt, "dir", dir, "error",
		  strerror(errno), NULL);
}

static void unrecord(const struct session *s, const struct plan *p,
		     const char *rcpt)
{
	char path[4096];

	record_path(s, p, rcpt, path, sizeof path);
	(void)unlink(path);
}

/* ---- the parts --------------------------------------------------------- */

static bool plan_init(struct session *s, struct plan *p)
{
	size_t max = s->cfg->max_rcpts;

	memset(p, 0, sizeof *p);
	p->part[PART_LOCAL].argv = s->cfg->deliver_argv;
	p->part[PART_RELAY].argv = s->cfg->relay_argv;
	p->part[PART_LOCAL].rcpts = calloc(max, sizeof (char *));
	p->part[PART_RELAY].rcpts = calloc(max, sizeof (char *));
	p->done_before = calloc(max, sizeof (bool));
	if (!p->part[PART_LOCAL].rcpts || !p->part[PART_RELAY].rcpts ||
	    !p->done_before)
		return false;
	p->split = delivery_split(s) && s->tx.hashing;
	if (p->split)
		sha256_final(&s->tx.digest, p->digest);
	for (size_t i = 0; i < s->tx.nrcpts; i++) {
		/* one program for both kinds: all go to SMTP_DELIVER */
		struct part *t = &p->part[s->tx.relayed[i] &&
			 s->cfg->relay_argv[0] &&
			 !same_argv(s->cfg->deliver_argv, s->cfg->relay_argv)];

		if (p->split && recorded(s, p, s->tx.rcpts[i]))
			p->done_before[i] = true;
		else
			t->rcpts[t->n++] = s->tx.rcpts[i];
	}
	return true;
}

static void plan_free(struct plan *p)
{
	free(p->part[PART_LOCAL].rcpts);
	free(p->part[PART_RELAY].rcpts);
	free(p->done_before);
}

/* Runs the parts in order until one fails; returns the failed one or
 * NULL. */
static struct part *run_parts(struct session *s, struct plan *p)
{
	struct envelope_env env = {
		.remote_ip = s->client_ip, .session_id = s->id,
		.helo = s->helo,
		.auth_user = s->authenticated ? s->auth_user : NULL,
		.tls = s->tls_active ? s->tls_info : NULL,
		.country = s->country,
	};

	for (int i = 0; i < PARTS; i++) {
		struct part *t = &p->part[i];

		if (t->n == 0)
			continue;
		queue_message(s->cfg, t->argv, s->tx.spool.fd, s->tx.sender,
			      t->rcpts, t->n, &env, &t->res);
		t->ran = true;
		if (t->res.code != 250)
			return t;
	}
	return NULL;
}

/* After the reply: remember what a retry must skip, or forget it. */
static void keep_records(struct session *s, struct plan *p, int code)
{
	if (!p->split)
		return;
	for (size_t i = 0; i < s->tx.nrcpts; i++)
		if (code == 250 && p->done_before[i])
			unrecord(s, p, s->tx.rcpts[i]);
	if (code / 100 != 4)
		return;
	for (int i = 0; i < PARTS; i++)
		if (p->part[i].ran && p->part[i].res.code == 250)
			for (size_t j = 0; j < p->part[i].n; j++)
				record(s, p, p->part[i].rcpts[j]);
}

/* ---- the log ----------------------------------------------------------- */

/* The part a recipient went to, and what became of it there: the exit
 * status, "-" (not run: an earlier part failed) or "earlier" (delivered
 * by an attempt that failed elsewhere). */
static const char *part_status(const struct session *s, const struct plan *p,
			       size_t i, char *buf, size_t cap)
{
	const struct part *t = &p->part[PART_LOCAL];

	if (p->done_before[i])
		return "earlier";
	for (int k = 0; k < PARTS; k++)
		for (size_t j = 0; j < p->part[k].n; j++)
			if (p->part[k].rcpts[j] == s->tx.rcpts[i])
				t = &p->part[k];
	if (!t->ran)
		return "-";
	snprintf(buf, cap, "%d", t->res.status);
	return buf;
}

/* The optional key/value pairs, packed so a NULL ends the list. */
static void identity(const struct session *s, const char *opt[5])
{
	const char **o = opt;

	memset(opt, 0, 5 * sizeof opt[0]);
	if (s->authenticated)
		*o++ = "user", *o++ = s->auth_user;
	if (s->tls_active)
		*o++ = "tls", *o++ = s->tls_info;
}

static void log_recipients(struct session *s, const struct plan *p,
			   const char *qid, const char *size)
{
	char from[PATH_MAX_LEN + 3], to[PATH_MAX_LEN + 3], code[8], delay[32];
	char st[16];
	const char *opt[5];
	long long ms = mono_ms() - s->tx.mail_ms;

	identity(s, opt);
	snprintf(from, sizeof from, "<%s>", s->tx.sender);
	snprintf(code, sizeof code, "%d", s->last.code);
	snprintf(delay, sizeof delay, "%lld.%03lld", ms / 1000, ms % 1000);
	for (size_t i = 0; i < s->tx.nrcpts; i++) {
		snprintf(to, sizeof to, "<%s>", s->tx.rcpts[i]);
		log_event(s->last.code == 250 ? "delivered" : "not_delivered",
			  "client_name", s->remote_host, "helo", s->helo,
			  "queue_id", qid, "message_id", msgid_value(&s->tx.msgid),
			  "from", from, "to", to, "size", size,
			  "route", s->tx.relayed[i] ? "relay" : "local",
			  "part_status", part_status(s, p, i, st, sizeof st),
			  "code", code, "dsn", s->last.enh, "reply", s->last.text,
			  "delay", delay, opt[0], opt[1], opt[2], opt[3], NULL);
	}
}

static void log_message(struct session *s, const char *qid, const char *size,
			const struct queue_result *res, long long t0)
{
	char rcpts[24], status[24], ms[24];
	const char *opt[5];

	identity(s, opt);
	snprintf(rcpts, sizeof rcpts, "%zu", s->tx.nrcpts);
	snprintf(status, sizeof status, "%d", res->status);
	snprintf(ms, sizeof ms, "%lld", mono_ms() - t0);
	log_event(res->code == 250 ? "accepted" : "deliver_failed",
		  "msgid", qid, "sender", s->tx.sender, "rcpts", rcpts,
		  "size", size, "reply", res->text, "deliver_status", status,
		  "deliver_ms", ms, opt[0], opt[1], opt[2], opt[3], NULL);
}

void delivery_run(struct session *s, const char *qid)
{
	struct queue_result ok = { .code = 250, .enh = "2.0.0", .text = "Ok: queued" };
	const struct queue_result *res = &ok;
	long long t0 = mono_ms();
	struct part *failed;
	struct plan p;
	char size[24];

	snprintf(size, sizeof size, "%llu", (unsigned long long)s->tx.dec.size);
	if (!plan_init(s, &p)) {
		plan_free(&p);
		queue_map_status(51, &ok);
		reply(s, ok.code, ok.enh, "%s", ok.text);
		return;
	}
	failed = run_parts(s, &p);
	if (failed)
		res = &failed->res;
	log_message(s, qid, size, res, t0);
	s->count_errors = false;
	if (res->code == 250) {
		s->accepted++;
		s->errors = 0;
		reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else {
		reply(s, res->code, res->enh, "%s", res->text);
	}
	keep_records(s, &p, res->code);
	log_recipients(s, &p, qid, size);
	plan_free(&p);
}
