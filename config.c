/*
 * config.c - the configuration: environment variables, read once.
 *
 * SUMMARY
 *	config_vars[] is the one list of every variable, its default and a
 *	line of help; --help prints it and smtp-session(8) documents it.
 *	config_load() parses and range-checks each value and reports every
 *	problem (not just the first), so an admin fixes them in one go.
 *	config_check_files() adds the file-system checks of --check-config.
 *
 * LIMITS
 *	Numbers are decimal, within the ranges in parse_num() calls below.
 *	At most DOMAINS_MAX local domains and DELIVER_ARGV_MAX deliver
 *	arguments.
 *
 * DIAGNOSTICS
 *	A problem is one line "NAME: what is wrong".  A configuration with
 *	problems never accepts mail: main() answers 421 4.3.0 and exits 1.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smtp-session.h"

#ifndef DELIVER_DEFAULT
#define DELIVER_DEFAULT "/usr/local/sbin/smtp-deliver"
#endif

const struct config_var config_vars[] = {
	{ "SMTP_HOSTNAME", "gethostname()", "name in greeting, EHLO reply and Received header" },
	{ "SMTP_DOMAINS", "", "local domains, space or comma separated; .example.org also matches subdomains" },
	{ "RELAYCLIENT", "unset", "set: this client may relay to any domain (qmail convention)" },
	{ "SMTP_RECIPIENTS", "unset", "file of valid local addresses, one per line, @domain = catch-all" },
	{ "SMTP_MAX_SIZE", "26214400", "message size limit in octets, advertised as SIZE" },
	{ "SMTP_MAX_RCPTS", "100", "recipients per message (452 4.5.3 beyond)" },
	{ "SMTP_MAX_ERRORS", "10", "bad commands before 421 4.7.0 and close" },
	{ "SMTP_BARE_LF", "normalize", "bare LF in DATA: normalize (line end) or reject (554 5.6.0)" },
	{ "SMTP_TIMEOUT", "300", "seconds to wait for a command or a data block" },
	{ "SMTP_SESSION_TIMEOUT", "1800", "seconds for the whole session" },
	{ "SMTP_SPOOL_DIR", "/var/spool/smtp-session", "where messages are written before hand-off" },
	{ "SMTP_DELIVER", DELIVER_DEFAULT, "deliver program and arguments, split on spaces (QMAILQUEUE if unset)" },
	{ "SMTP_DELIVER_TIMEOUT", "600", "seconds before the deliver program is killed (451 4.3.0)" },
	{ "SMTP_LOG", "auto", "journal, stderr or auto (journal when JOURNAL_STREAM is stderr)" },
	{ "SMTP_ALLOW_ROOT", "0", "1: serve even with effective uid 0" },
	{ NULL, NULL, NULL },
};

struct problems {
	void (*report)(const char *);
	int count;
};

static void problem(struct problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct problems *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	p->count++;
	if (p->report)
		p->report(line);
}

/* An unset or empty variable takes its default. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static uint64_t parse_num(struct problems *p, const char *name, uint64_t def,
			  uint64_t min, uint64_t max)
{
	const char *v = env(name);
	unsigned long long n;
	char *end;

	if (!v)
		return def;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || errno == ERANGE ||
	    n < min || n > max) {
		problem(p, "%s: '%.64s' is not a number from %llu to %llu", name,
			v, (unsigned long long)min, (unsigned long long)max);
		return def;
	}
	return n;
}

static bool parse_bool(struct problems *p, const char *name)
{
	const char *v = env(name);

	if (!v || strcmp(v, "0") == 0)
		return false;
	if (strcmp(v, "1") == 0)
		return true;
	problem(p, "%s: '%.64s' must be 0 or 1", name, v);
	return false;
}

/* Index of v in words[] (NULL-terminated), or def when unset. */
static int parse_word(struct problems *p, const char *name,
		      const char *const words[], int def)
{
	const char *v = env(name);

	if (!v)
		return def;
	for (int i = 0; words[i]; i++)
		if (strcmp(v, words[i]) == 0)
			return i;
	problem(p, "%s: '%.64s' is not one of the allowed values", name, v);
	return def;
}

/* RFC 1035 2.3.1 letters, digits, hyphen; dot-separated labels. */
static bool hostname_valid(const char *h)
{
	size_t label = 0, len = strlen(h);

	if (len == 0 || len > HOSTNAME_MAX || h[0] == '.' || h[len - 1] == '.')
		return false;
	for (; *h; h++) {
		if (*h == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum((unsigned char)*h) || *h == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static void load_hostname(struct config *cfg, struct problems *p)
{
	const char *v = env("SMTP_HOSTNAME");

	if (v) {
		snprintf(cfg->hostname, sizeof cfg->hostname, "%s", v);
		if (!hostname_valid(v))
			problem(p, "SMTP_HOSTNAME: '%.64s' is not a host name", v);
		return;
	}
	if (gethostname(cfg->hostname, sizeof cfg->hostname) < 0 ||
	    !hostname_valid(cfg->hostname)) {
		snprintf(cfg->hostname, sizeof cfg->hostname, "localhost");
		problem(p, "SMTP_HOSTNAME: unset, and gethostname() gave no usable name");
	}
}

/* Splits a copy of s on any of seps into out[]; returns the count or
 * -1 when there are more than max words. */
static int split(const char *s, const char *seps, char *out[], size_t max)
{
	char *copy = strdup(s), *save = NULL;
	size_t n = 0;

	if (!copy)
		return -1;
	for (char *w = strtok_r(copy, seps, &save); w;
	     w = strtok_r(NULL, seps, &save)) {
		if (n == max)
			return -1;
		out[n++] = w;
	}
	return (int)n;       /* copy is kept: out[] points into it */
}

static void load_domains(struct config *cfg, struct problems *p)
{
	const char *v = env("SMTP_DOMAINS");
	int n;

	cfg->ndomains = 0;
	if (!v)
		return;
	n = split(v, " ,\t\n", cfg->domains, DOMAINS_MAX);
	if (n < 0) {
		problem(p, "SMTP_DOMAINS: more than %d domains", DOMAINS_MAX);
		return;
	}
	for (int i = 0; i < n; i++) {
		char *d = cfg->domains[i];
		for (char *c = d; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!hostname_valid(d[0] == '.' ? d + 1 : d))
			problem(p, "SMTP_DOMAINS: '%.64s' is not a domain", d);
	}
	cfg->ndomains = (size_t)n;
}

static void load_deliver(struct config *cfg, struct problems *p)
{
	const char *v = env("SMTP_DELIVER");
	int n;

	if (!v)
		v = env("QMAILQUEUE");     /* netqmail 1.04 convention */
	if (!v)
		v = DELIVER_DEFAULT;
	n = split(v, " \t", cfg->deliver_argv, DELIVER_ARGV_MAX);
	if (n <= 0) {
		problem(p, "SMTP_DELIVER: empty, or more than %d words",
			DELIVER_ARGV_MAX);
		cfg->deliver_argv[0] = NULL;
		return;
	}
	cfg->deliver_argv[n] = NULL;
	if (cfg->deliver_argv[0][0] != '/')
		problem(p, "SMTP_DELIVER: '%.64s' is not an absolute path",
			cfg->deliver_argv[0]);
}

int config_load(struct config *cfg, void (*report)(const char *))
{
	static const char *const bare_lf[] = { "normalize", "reject", NULL };
	static const char *const logs[] = { "auto", "journal", "stderr", NULL };
	struct problems p = { report, 0 };

	memset(cfg, 0, sizeof *cfg);
	load_hostname(cfg, &p);
	load_domains(cfg, &p);
	cfg->relayclient = getenv("RELAYCLIENT") != NULL;
	cfg->recipients = env("SMTP_RECIPIENTS");
	cfg->max_size = parse_num(&p, "SMTP_MAX_SIZE", 26214400, 1024,
				  (uint64_t)1 << 40);
	cfg->max_rcpts = (unsigned)parse_num(&p, "SMTP_MAX_RCPTS", 100, 1, 10000);
	cfg->max_errors = (unsigned)parse_num(&p, "SMTP_MAX_ERRORS", 10, 1, 1000);
	cfg->bare_lf = (enum bare_lf_mode)parse_word(&p, "SMTP_BARE_LF", bare_lf,
						     BARE_LF_NORMALIZE);
	cfg->timeout = (unsigned)parse_num(&p, "SMTP_TIMEOUT", 300, 1, 86400);
	cfg->session_timeout = (unsigned)parse_num(&p, "SMTP_SESSION_TIMEOUT",
						   1800, 1, 7 * 86400);
	cfg->spool_dir = env("SMTP_SPOOL_DIR");
	if (!cfg->spool_dir)
		cfg->spool_dir = "/var/spool/smtp-session";
	if (cfg->spool_dir[0] != '/')
		problem(&p, "SMTP_SPOOL_DIR: '%.64s' is not an absolute path",
			cfg->spool_dir);
	load_deliver(cfg, &p);
	cfg->deliver_timeout = (unsigned)parse_num(&p, "SMTP_DELIVER_TIMEOUT",
						   600, 1, 86400);
	cfg->allow_root = parse_bool(&p, "SMTP_ALLOW_ROOT");
	cfg->log_mode = logs[parse_word(&p, "SMTP_LOG", logs, 0)];
	return p.count;
}

int config_check_files(const struct config *cfg, void (*report)(const char *))
{
	struct problems p = { report, 0 };
	struct stat st;

	if (stat(cfg->spool_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		problem(&p, "SMTP_SPOOL_DIR: %s: not a directory", cfg->spool_dir);
	else if (access(cfg->spool_dir, W_OK | X_OK) < 0)
		problem(&p, "SMTP_SPOOL_DIR: %s: not writable", cfg->spool_dir);
	if (cfg->deliver_argv[0] && access(cfg->deliver_argv[0], X_OK) < 0)
		problem(&p, "SMTP_DELIVER: %s: %s", cfg->deliver_argv[0],
			strerror(errno));
	if (cfg->recipients && access(cfg->recipients, R_OK) < 0)
		problem(&p, "SMTP_RECIPIENTS: %s: %s", cfg->recipients,
			strerror(errno));
	return p.count;
}

void config_usage(int fd)
{
	dprintf(fd,
		"usage: smtp-session [--check-config | --help | --version]\n"
		"\n"
		"Serves one SMTP connection: fd 3 when socket-activated, else\n"
		"stdin/stdout.  Configuration comes from the environment:\n\n");
	for (const struct config_var *v = config_vars; v->name; v++)
		dprintf(fd, "  %-22s default %s\n  %-22s   %s\n", v->name,
			*v->def ? v->def : "(empty)", "", v->help);
	dprintf(fd, "\nSee smtp-session(8).\n");
}
