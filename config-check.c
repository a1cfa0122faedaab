/*
 * config-check.c - the file-system checks of --check-config.
 *
 * SUMMARY
 *	config_check_files() looks at what config_load() (config.c) only
 *	named: the spool directory, the deliver program, the recipients
 *	file, the GeoIP database, the lockout state file (or the Redis
 *	server of SMTP_LOCKOUT_REDIS: connected, one check), the password file
 *	and the checkpassword program, as whoever runs it (main() runs it
 *	as the sessions' user when started as root).  Kept apart from
 *	config.c so that smtp-lockout can link the configuration without
 *	geoip.c.
 *
 *	config_check_names() finds the SMTP_* variables nothing reads:
 *	SMTP_DOMIANS=example.org passes every other check and leaves the
 *	domains unset.
 *
 * DIAGNOSTICS
 *	A problem is one line "NAME: path: what is wrong", as config.c's.
 *	An unknown name is a warning, not a problem: "SMTP_DOMIANS: not a
 *	variable of smtp-session (did you mean SMTP_DOMAINS?)".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config-check.h"
#include "geoip.h"
#include "lockout.h"

/* ---- unknown names ------------------------------------------------- */

#define NAME_MAX_CHECK 64

/* Optimal string alignment distance: Levenshtein plus the swap of two
 * neighbours (SMTP_DOMIANS is 1 from SMTP_DOMAINS). */
static size_t distance(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b), d[NAME_MAX_CHECK + 1][NAME_MAX_CHECK + 1];

	if (n > NAME_MAX_CHECK || m > NAME_MAX_CHECK)
		return (size_t)-1;
	for (size_t i = 0; i <= n; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[n][m];
}

/* The known name nearest to name (n octets), NULL when none is close;
 * *known: name is one of them. */
static const char *nearest(const char *name, size_t n, bool *known)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;

	*known = false;
	for (const struct config_schema *r = config_schema; r->name; r++) {
		size_t d = distance(name, n, r->name);
		if (d == 0)
			*known = true;
		if (d < bestd)
			bestd = d, best = r->name;
	}
	for (size_t i = 0; config_other_names[i]; i++) {
		size_t d = distance(name, n, config_other_names[i]);
		if (d == 0)
			*known = true;
		if (d < bestd)
			bestd = d, best = config_other_names[i];
	}
	/* a suggestion only when it is close: a third of the name at most */
	return bestd <= 1 + n / 3 ? best : NULL;
}

int config_check_names(void (*warn)(const char *))
{
	extern char **environ;
	char line[256];
	int count = 0;

	for (char **e = environ; *e; e++) {
		size_t n = strcspn(*e, "=");
		const char *near;
		bool known;

		if (strncmp(*e, "SMTP_", 5) != 0)
			continue;
		near = nearest(*e, n, &known);
		if (known)
			continue;
		if (near)
			snprintf(line, sizeof line, "%.*s: not a variable of "
				 "smtp-session (did you mean %s?)", (int)(n > 64 ? 64 : n),
				 *e, near);
		else
			snprintf(line, sizeof line, "%.*s: not a variable of "
				 "smtp-session", (int)(n > 64 ? 64 : n), *e);
		warn(line);
		count++;
	}
	return count;
}

/* ---- files ------------------------------------------------------------ */

static void check_auth_files(const struct config *cfg, struct config_problems *p)
{
	struct stat st;
	int fd;

	if (cfg->passwd && cfg->passwd[0] == '/') {  /* else reported */
		fd = open(cfg->passwd, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			config_problem(p, "SMTP_PASSWD: %s: %s", cfg->passwd,
				strerror(errno));
		else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
			config_problem(p, "SMTP_PASSWD: %s: not a regular file",
				cfg->passwd);
		else if (st.st_mode & 077)
			config_problem(p, "SMTP_PASSWD: %s: readable by group or others (mode %04o); chmod 600",
				cfg->passwd, (unsigned)(st.st_mode & 07777));
		if (fd >= 0)
			close(fd);
	}
	if (cfg->checkpassword_argv[0] && cfg->checkpassword_argv[0][0] == '/' &&
	    access(cfg->checkpassword_argv[0], X_OK) < 0)
		config_problem(p, "SMTP_CHECKPASSWORD: %s: %s",
			cfg->checkpassword_argv[0], strerror(errno));
}

/* SMTP_LOCKOUT_REDIS: connects, and one check (of "unknown") proves the
 * password, the DB and the script. */
static void check_redis(const struct config *cfg, struct config_problems *p)
{
	struct lockout_redis_conf rc = { cfg->lockout_redis,
		cfg->lockout_redis_password_file, cfg->lockout_redis_timeout };
	struct lockout_policy pol = { 1, 1, 1, cfg->lockout_v6_prefix };
	struct lockout lk;
	char err[512];
	time_t until;

	if (!cfg->lockout_redis)
		return;
	if (lockout_open_redis(&lk, &rc, &pol, err, sizeof err) < 0) {
		config_problem(p, "SMTP_LOCKOUT_REDIS: %s", err);
		return;
	}
	if (lockout_check(&lk, LOCKOUT_UNKNOWN, &until) == LOCKOUT_ERROR)
		config_problem(p, "SMTP_LOCKOUT_REDIS: %s", lockout_error(&lk));
	lockout_close(&lk);
}

static void check_gate_files(const struct config *cfg, struct config_problems *p)
{
	char err[512];

	if (cfg->geoip_db) {
		if (geoip_open(cfg->geoip_db, err, sizeof err) < 0)
			config_problem(p, "SMTP_GEOIP_DB: %s", err);
		else
			geoip_close();
	}
	if (cfg->lockout_file && cfg->lockout_file[0] == '/') {  /* else reported */
		struct lockout lk;
		struct lockout_policy pol = { 1, 1, 1, cfg->lockout_v6_prefix };
		if (lockout_open(&lk, cfg->lockout_file, cfg->lockout_slots, &pol,
				 err, sizeof err) < 0)
			config_problem(p, "SMTP_LOCKOUT_FILE: %s", err);
		else
			lockout_close(&lk);
	}
	check_redis(cfg, p);
}

int config_check_files(const struct config *cfg, void (*report)(const char *))
{
	struct config_problems p = { report, 0 };
	struct stat st;

	if (stat(cfg->spool_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		config_problem(&p, "SMTP_SPOOL_DIR: %s: not a directory", cfg->spool_dir);
	else if (access(cfg->spool_dir, W_OK | X_OK) < 0)
		config_problem(&p, "SMTP_SPOOL_DIR: %s: not writable", cfg->spool_dir);
	if (cfg->relay_argv[0] && access(cfg->relay_argv[0], X_OK) < 0)
		config_problem(&p, "SMTP_RELAY_DELIVER: %s: %s", cfg->relay_argv[0],
			       strerror(errno));
	if (cfg->deliver_argv[0] && access(cfg->deliver_argv[0], X_OK) < 0)
		config_problem(&p, "SMTP_DELIVER: %s: %s", cfg->deliver_argv[0],
			strerror(errno));
	if (cfg->recipients && access(cfg->recipients, R_OK) < 0)
		config_problem(&p, "SMTP_RECIPIENTS: %s: %s", cfg->recipients,
			strerror(errno));
	check_gate_files(cfg, &p);
	check_auth_files(cfg, &p);
	return p.count;
}

