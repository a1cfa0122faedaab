/*
 * config-check.c - the file-system checks of --check-config.
 *
 * SUMMARY
 *	config_check_files() looks at what config_load() (config.c) only
 *	named: the spool directory, the deliver program, the recipients
 *	file, the GeoIP database, the lockout state file, the password file
 *	and the checkpassword program, as whoever runs it (main() runs it
 *	as the sessions' user when started as root).  Kept apart from
 *	config.c so that smtp-lockout can link the configuration without
 *	geoip.c.
 *
 * DIAGNOSTICS
 *	A problem is one line "NAME: path: what is wrong", as config.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config-check.h"
#include "geoip.h"
#include "lockout.h"

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
}

int config_check_files(const struct config *cfg, void (*report)(const char *))
{
	struct config_problems p = { report, 0 };
	struct stat st;

	if (stat(cfg->spool_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		config_problem(&p, "SMTP_SPOOL_DIR: %s: not a directory", cfg->spool_dir);
	else if (access(cfg->spool_dir, W_OK | X_OK) < 0)
		config_problem(&p, "SMTP_SPOOL_DIR: %s: not writable", cfg->spool_dir);
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

