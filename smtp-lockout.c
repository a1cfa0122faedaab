/*
 * smtp-lockout.c - the admin tool for smtp-session's lockout state file.
 *
 * SUMMARY
 *	smtp-lockout [-f FILE] list | check ADDR | unlock ADDR | fail ADDR | clear
 *	FILE defaults to $SMTP_LOCKOUT_FILE; with $SMTP_LOCKOUT_REDIS set
 *	(and no -f) the tool works on that Redis server instead, the store
 *	the sessions use (lockout.c picks it; same commands, same output,
 *	`list` with SCAN).  IPv6 addresses are grouped by
 *	$SMTP_LOCKOUT_V6_PREFIX exactly as the sessions do.
 *	"fail" records one failed login, as a session does, with the policy
 *	of $SMTP_LOCKOUT_THRESHOLD, _WINDOW, _DURATION (and _SLOTS when it
 *	creates the file): other services (an IMAP server's log watcher,
 *	say) can feed the same state file.  These variables are read by
 *	config.c's schema, as the sessions read them: same defaults, same
 *	ranges, and a bad value is reported, never silently replaced.
 *	ADDRESS is an IPv4 or IPv6 address, "unknown" (clients whose address
 *	was not known), or what `list` prints: A.B.C.D/32 or an IPv6 prefix
 *	no shorter than SMTP_LOCKOUT_V6_PREFIX (2001:db8::/64); any address
 *	inside a listed prefix names the same entry (lockout_key()).
 *
 * DIAGNOSTICS
 *	Exit 0: done (check: not locked).  1: check: locked; unlock: no
 *	entry for the address.  2: usage, or a bad SMTP_LOCKOUT_* value
 *	("smtp-lockout: NAME: what is wrong", the session's words, one line
 *	per problem).  3: not an address, or the state file cannot be
 *	opened or is corrupt, or the Redis server cannot be reached or
 *	refuses (the reason on stderr).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "lockout.h"

#define EXIT_USAGE 2
#define EXIT_FILE  3

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smtp-lockout [-f FILE] list\n"
		"       smtp-lockout [-f FILE] check ADDRESS\n"
		"       smtp-lockout [-f FILE] unlock ADDRESS\n"
		"       smtp-lockout [-f FILE] fail ADDRESS\n"
		"       smtp-lockout [-f FILE] clear\n"
		"FILE defaults to $SMTP_LOCKOUT_FILE; without -f, a set\n"
		"$SMTP_LOCKOUT_REDIS names the store.  Exit: 0 ok / not locked,\n"
		"1 locked (check, fail) or no entry (unlock), 2 usage or a bad\n"
		"SMTP_LOCKOUT_* value, 3 not an address, or store error.\n"
		"ADDRESS: an IP address, a prefix as list prints it\n"
		"(2001:db8::/64), or unknown.  See smtp-lockout(8).\n");
}

static void iso_time(uint32_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct list_ctx { unsigned prefix; uint32_t now; unsigned n; };

static void print_entry(const struct lockout_entry *e, void *arg)
{
	struct list_ctx *c = arg;
	char addr[64], until[32], last[32];

	lockout_key_text(e->key, c->prefix, addr, sizeof addr);
	iso_time(e->locked_until > c->now ? e->locked_until : 0, until, sizeof until);
	iso_time(e->last, last, sizeof last);
	printf("%-44s %8u %-21s %5u %s\n", addr, e->failures, until, e->level, last);
	c->n++;
}

static void report(const char *problem)
{
	fprintf(stderr, "smtp-lockout: %s\n", problem);
}

/* What the sessions and this tool share; SMTP_LOCKOUT_FILE and
 * SMTP_LOCKOUT_REDIS (the first two) are not read when -f names the file. */
static const char *const vars[] = {
	"SMTP_LOCKOUT_FILE", "SMTP_LOCKOUT_REDIS", "SMTP_LOCKOUT_THRESHOLD",
	"SMTP_LOCKOUT_WINDOW", "SMTP_LOCKOUT_DURATION", "SMTP_LOCKOUT_V6_PREFIX",
	"SMTP_LOCKOUT_SLOTS", "SMTP_LOCKOUT_REDIS_PASSWORD_FILE",
	"SMTP_LOCKOUT_REDIS_TIMEOUT", NULL
};

/* The store: the file (-f, or SMTP_LOCKOUT_FILE), or the Redis server
 * of SMTP_LOCKOUT_REDIS when no -f is given. */
static int open_store(struct lockout *lk, const struct config *cfg,
		      const char *file, bool create,
		      const struct lockout_policy *pol, char *err, size_t errlen)
{
	struct lockout_redis_conf rc = { cfg->lockout_redis,
		cfg->lockout_redis_password_file, cfg->lockout_redis_timeout };

	if (!file && cfg->lockout_redis)
		return lockout_open_redis(lk, &rc, pol, err, errlen);
	return lockout_open(lk, file ? file : cfg->lockout_file,
			    create ? cfg->lockout_slots : 0, pol, err, errlen);
}

/* A store error after open: the store's reason, if it said one. */
static void store_error(const struct lockout *lk, const char *what)
{
	fprintf(stderr, "smtp-lockout: %s\n",
		*lockout_error(lk) ? lockout_error(lk) : what);
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	struct lockout_policy pol;
	struct config cfg;
	struct lockout lk;
	char err[512];
	int opt, rc = 0;
	unsigned char key[16];

	/* a Redis server that closes the connection must not kill us
	 * mid-write: the write fails and the reason is printed */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return EXIT_FILE;
	while ((opt = getopt(argc, argv, "f:h")) != -1) {
		if (opt == 'f') {
			file = optarg;
		} else {
			usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 ||
	    ((!strcmp(argv[0], "check") || !strcmp(argv[0], "unlock") ||
	      !strcmp(argv[0], "fail")) != (argc == 2)) ||
	    ((!strcmp(argv[0], "list") || !strcmp(argv[0], "clear")) && argc != 1)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (config_load_only(&cfg, file ? vars + 2 : vars, report) > 0)
		return EXIT_USAGE;
	if (!file && !cfg.lockout_file && !cfg.lockout_redis) {
		usage(stderr);
		return EXIT_USAGE;
	}
	pol = (struct lockout_policy){ cfg.lockout_threshold, cfg.lockout_window,
				       cfg.lockout_duration, cfg.lockout_v6_prefix };
	if (argc == 2 && !lockout_key(argv[1], pol.v6_prefix, key)) {
		fprintf(stderr, "smtp-lockout: %s: not an address or a prefix "
			"of at least /%u\n", argv[1], pol.v6_prefix);
		return EXIT_FILE;
	}
	if (open_store(&lk, &cfg, file, !strcmp(argv[0], "fail"), &pol, err,
		       sizeof err) < 0) {
		fprintf(stderr, "smtp-lockout: %s\n", err);
		return EXIT_FILE;
	}
	if (!strcmp(argv[0], "list")) {
		struct list_ctx c = { pol.v6_prefix, (uint32_t)time(NULL), 0 };
		printf("%-44s %8s %-21s %5s %s\n", "ADDRESS", "FAILURES",
		       "LOCKED_UNTIL", "LEVEL", "LAST_FAILURE");
		if (lockout_walk(&lk, print_entry, &c) < 0) {
			store_error(&lk, "cannot read the store");
			rc = EXIT_FILE;
		}
	} else if (!strcmp(argv[0], "check")) {
		time_t until = 0;
		enum lockout_result r = lockout_check(&lk, argv[1], &until);
		char t[32];
		if (r == LOCKOUT_LOCKED) {
			iso_time((uint32_t)until, t, sizeof t);
			printf("%s locked until %s\n", argv[1], t);
			rc = 1;
		} else if (r == LOCKOUT_OK) {
			printf("%s not locked\n", argv[1]);
		} else {
			store_error(&lk, "cannot read the store");
			rc = EXIT_FILE;
		}
	} else if (!strcmp(argv[0], "unlock")) {
		bool found;
		if (lockout_unlock(&lk, argv[1], &found) != LOCKOUT_OK) {
			store_error(&lk, "not an address, or file error");
			rc = EXIT_FILE;
		} else {
			printf("%s %s\n", argv[1], found ? "unlocked" : "has no entry");
			rc = found ? 0 : 1;
		}
	} else if (!strcmp(argv[0], "fail")) {
		time_t until = 0;
		char t[32];
		switch (lockout_fail(&lk, argv[1], &until)) {
		case LOCKOUT_LOCKED:
			iso_time((uint32_t)until, t, sizeof t);
			printf("%s locked until %s\n", argv[1], t);
			rc = 1;
			break;
		case LOCKOUT_OK:
			break;
		default:
			store_error(&lk, "cannot record the failure");
			rc = EXIT_FILE;
		}
	} else if (!strcmp(argv[0], "clear")) {
		rc = lockout_clear(&lk) < 0 ? EXIT_FILE : 0;
		if (rc)
			store_error(&lk, "cannot clear the store");
	} else {
		usage(stderr);
		rc = EXIT_USAGE;
	}
	lockout_close(&lk);
	return rc;
}
