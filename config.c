/*
 * config.c - the configuration: environment variables, read once.
 *
 * SUMMARY
 *	config_vars[] is the one list of every variable, its default and a
 *	line of help; --help prints it and smtp-session(8) documents it.
 *	config_load() parses and range-checks each value and reports every
 *	problem (not just the first), so an admin fixes them in one go.
 *	The file-system checks of --check-config are in config-check.c.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

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
	{ "SMTP_TLS_CERT", "unset", "PEM certificate chain, server first; with SMTP_TLS_KEY: STARTTLS offered" },
	{ "SMTP_TLS_KEY", "unset", "PEM private key of SMTP_TLS_CERT" },
	{ "SMTP_TLS", "optional", "off, optional or required (required: MAIL/RCPT/DATA/BDAT/AUTH before TLS get 530)" },
	{ "SMTP_TLS_IMPLICIT", "0", "1: TLS handshake before the greeting (port 465, RFC 8314)" },
	{ "SMTP_TLS_TICKET_KEYS", "unset", "private file of session-ticket keys shared by all sessions (--new-ticket-key); unset: no tickets" },
	{ "SMTP_AUTH", "off", "off, optional or required (required: MAIL before AUTH gets 530 5.7.0)" },
	{ "SMTP_AUTH_PLAINTEXT", "0", "1: AUTH offered without TLS (default: only after TLS, 538 5.7.11 before)" },
	{ "SMTP_PASSWD", "unset", "file of user:crypt-hash lines (yescrypt, sha512crypt, sha256crypt, bcrypt); mode 0600 or stricter" },
	{ "SMTP_AUTH_FAIL_DELAY", "1000", "milliseconds from a credential check to its 535; must exceed every hash's cost" },
	{ "SMTP_CHECKPASSWORD", "unset", "checkpassword program and arguments, split on spaces (fd 3: user\\0pass\\0\\0)" },
	{ "SMTP_LOG", "auto", "journal, stderr or auto (journal when JOURNAL_STREAM is stderr)" },
	{ "SMTP_ALLOW_ROOT", "0", "1: serve even with effective uid 0" },
	{ "SMTP_LOCKOUT_FILE", "unset", "shared failed-login state file; unset: no lockout" },
	{ "SMTP_LOCKOUT_THRESHOLD", "5", "failed AUTHs within the window that lock an address out" },
	{ "SMTP_LOCKOUT_WINDOW", "900", "seconds over which failures count" },
	{ "SMTP_LOCKOUT_DURATION", "900", "first lockout in seconds; doubles on repeat, capped at 86400" },
	{ "SMTP_LOCKOUT_V6_PREFIX", "64", "IPv6 addresses are counted per prefix of this length" },
	{ "SMTP_LOCKOUT_SLOTS", "65536", "entries in the state file (fixed when the file is created)" },
	{ "SMTP_GEOIP_DB", "unset", "MaxMind DB (Country or City) for the client's country" },
	{ "SMTP_COUNTRY_DENY", "", "ISO codes refused at connect (554 5.7.1); -- = unknown" },
	{ "SMTP_AUTH_COUNTRIES", "", "ISO codes allowed to AUTH (empty: all); others get 535" },
	{ "SMTP_GREET_DELAY", "0", "seconds before the greeting; a client that talks first gets 554" },
	{ NULL, NULL, NULL },
};

void config_problem(struct config_problems *p, const char *fmt, ...)
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

/* A file or directory variable: unset stays NULL (or def), a relative
 * path is a problem (the services run with an unknown working dir). */
static const char *parse_path_var(struct config_problems *p, const char *name,
				  const char *def)
{
	const char *v = env(name);

	if (!v)
		return def;
	if (v[0] != '/')
		config_problem(p, "%s: '%.64s' is not an absolute path", name, v);
	return v;
}

static uint64_t parse_num(struct config_problems *p, const char *name, uint64_t def,
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
		config_problem(p, "%s: '%.64s' is not a number from %llu to %llu", name,
			v, (unsigned long long)min, (unsigned long long)max);
		return def;
	}
	return n;
}

static bool parse_bool(struct config_problems *p, const char *name)
{
	const char *v = env(name);

	if (!v || strcmp(v, "0") == 0)
		return false;
	if (strcmp(v, "1") == 0)
		return true;
	config_problem(p, "%s: '%.64s' must be 0 or 1", name, v);
	return false;
}

/* Index of v in words[] (NULL-terminated), or def when unset. */
static int parse_word(struct config_problems *p, const char *name,
		      const char *const words[], int def)
{
	const char *v = env(name);

	if (!v)
		return def;
	for (int i = 0; words[i]; i++)
		if (strcmp(v, words[i]) == 0)
			return i;
	config_problem(p, "%s: '%.64s' is not one of the allowed values", name, v);
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

static void load_hostname(struct config *cfg, struct config_problems *p)
{
	const char *v = env("SMTP_HOSTNAME");

	if (v) {
		/* an invalid name never reaches a reply: it could hold CR LF */
		snprintf(cfg->hostname, sizeof cfg->hostname, "%s",
			 hostname_valid(v) ? v : "localhost");
		if (!hostname_valid(v))
			config_problem(p, "SMTP_HOSTNAME: '%.64s' is not a host name", v);
		return;
	}
	if (gethostname(cfg->hostname, sizeof cfg->hostname) < 0 ||
	    !hostname_valid(cfg->hostname)) {
		snprintf(cfg->hostname, sizeof cfg->hostname, "localhost");
		config_problem(p, "SMTP_HOSTNAME: unset, and gethostname() gave no usable name");
	}
}

/* Splits buf in place on any of seps into out[]; returns the count or
 * -1 when there are more than max words. */
static int split_in_place(char *buf, const char *seps, char *out[], size_t max)
{
	char *save = NULL;
	size_t n = 0;

	for (char *w = strtok_r(buf, seps, &save); w;
	     w = strtok_r(NULL, seps, &save)) {
		if (n == max)
			return -1;
		out[n++] = w;
	}
	return (int)n;
}

/* The same on a copy of s, kept for the life of the process when there
 * are words (out[] points into it), freed otherwise. */
static int split(const char *s, const char *seps, char *out[], size_t max)
{
	char *copy = strdup(s);
	int n;

	if (!copy)
		return -1;
	n = split_in_place(copy, seps, out, max);
	if (n <= 0)
		free(copy);
	return n;
}

static void load_domains(struct config *cfg, struct config_problems *p)
{
	const char *v = env("SMTP_DOMAINS");
	int n;

	cfg->ndomains = 0;
	if (!v)
		return;
	n = split(v, " ,\t\n", cfg->domains, DOMAINS_MAX);
	if (n < 0) {
		config_problem(p, "SMTP_DOMAINS: more than %d domains", DOMAINS_MAX);
		return;
	}
	for (int i = 0; i < n; i++) {
		char *d = cfg->domains[i];
		for (char *c = d; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!hostname_valid(d[0] == '.' ? d + 1 : d))
			config_problem(p, "SMTP_DOMAINS: '%.64s' is not a domain", d);
	}
	cfg->ndomains = (size_t)n;
}

/* A program and its arguments (split on spaces, no shell) into argv,
 * NULL-terminated; argv[0] is NULL on a problem. */
static void load_argv(struct config_problems *p, const char *name, const char *v,
		      char *argv[DELIVER_ARGV_MAX + 1])
{
	int n = split(v, " \t", argv, DELIVER_ARGV_MAX);

	if (n <= 0) {
		config_problem(p, "%s: empty, or more than %d words", name,
			DELIVER_ARGV_MAX);
		argv[0] = NULL;
		return;
	}
	argv[n] = NULL;
	if (argv[0][0] != '/')
		config_problem(p, "%s: '%.64s' is not an absolute path", name, argv[0]);
}

static void load_deliver(struct config *cfg, struct config_problems *p)
{
	const char *name = "SMTP_DELIVER", *v = env(name);

	if (!v && (v = env("QMAILQUEUE")))  /* netqmail 1.04 convention */
		name = "QMAILQUEUE";
	load_argv(p, name, v ? v : DELIVER_DEFAULT, cfg->deliver_argv);
}

/* "DE, FR --": two-letter codes (or -- for unknown), upper-cased here. */
#define COUNTRIES_MAX 512

static const char *load_countries(struct config_problems *p, const char *name,
				  char out[COUNTRIES_MAX])
{
	const char *v = env(name);
	char check[COUNTRIES_MAX], *words[128];
	int n;

	if (!v)
		return "";
	snprintf(out, COUNTRIES_MAX, "%s", v);
	for (char *c = out; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	memcpy(check, out, sizeof check);
	n = split_in_place(check, " ,\t", words, 128);
	if (n < 0 || strlen(v) >= COUNTRIES_MAX) {
		config_problem(p, "%s: too many codes", name);
		return "";
	}
	for (int i = 0; i < n; i++)
		if (strlen(words[i]) != 2 || (strcmp(words[i], "--") &&
		    (!isupper((unsigned char)words[i][0]) ||
		     !isupper((unsigned char)words[i][1]))))
			config_problem(p, "%s: '%.16s' is not an ISO 3166 country code",
				name, words[i]);
	return out;
}

/* Only names and modes here: the files are read when TLS is used
 * (tls.c) and checked by --check-config. */
static void load_tls(struct config *cfg, struct config_problems *p)
{
	static const char *const modes[] = { "off", "optional", "required", NULL };

	cfg->tls_cert = env("SMTP_TLS_CERT");
	cfg->tls_key = env("SMTP_TLS_KEY");
	cfg->tls_ticket_keys = env("SMTP_TLS_TICKET_KEYS");
	cfg->tls = (enum tls_mode)parse_word(p, "SMTP_TLS", modes, TLS_OPTIONAL);
	cfg->tls_implicit = parse_bool(p, "SMTP_TLS_IMPLICIT");
	if (!cfg->tls_cert != !cfg->tls_key)
		config_problem(p, "SMTP_TLS_CERT and SMTP_TLS_KEY: set both or neither");
	if (cfg->tls == TLS_REQUIRED && !(cfg->tls_cert && cfg->tls_key))
		config_problem(p, "SMTP_TLS: required needs SMTP_TLS_CERT and SMTP_TLS_KEY");
	if (cfg->tls_implicit && !(cfg->tls_cert && cfg->tls_key))
		config_problem(p, "SMTP_TLS_IMPLICIT: needs SMTP_TLS_CERT and SMTP_TLS_KEY");
	if (cfg->tls_implicit && cfg->tls == TLS_OFF)
		config_problem(p, "SMTP_TLS_IMPLICIT: 1 contradicts SMTP_TLS=off");
}

/* SMTP_AUTH and its credential sources; the files are opened by auth.c
 * at each AUTH and checked by --check-config. */
static void load_auth(struct config *cfg, struct config_problems *p)
{
	static const char *const modes[] = { "off", "optional", "required", NULL };
	const char *v = env("SMTP_CHECKPASSWORD");

	cfg->auth = (enum auth_mode)parse_word(p, "SMTP_AUTH", modes, AUTH_OFF);
	cfg->auth_plaintext = parse_bool(p, "SMTP_AUTH_PLAINTEXT");
	cfg->passwd = parse_path_var(p, "SMTP_PASSWD", NULL);
	cfg->auth_fail_delay = (unsigned)parse_num(p, "SMTP_AUTH_FAIL_DELAY",
						   1000, 100, 60000);
	cfg->checkpassword = v;
	cfg->checkpassword_argv[0] = NULL;
	if (v)
		load_argv(p, "SMTP_CHECKPASSWORD", v, cfg->checkpassword_argv);
	if (cfg->auth != AUTH_OFF && !cfg->passwd && !cfg->checkpassword)
		config_problem(p, "SMTP_AUTH: %s needs SMTP_PASSWD or SMTP_CHECKPASSWORD",
			modes[cfg->auth]);
}

static void load_gate(struct config *cfg, struct config_problems *p)
{
	cfg->lockout_file = parse_path_var(p, "SMTP_LOCKOUT_FILE", NULL);
	cfg->lockout_threshold = (unsigned)parse_num(p, "SMTP_LOCKOUT_THRESHOLD",
						     5, 1, 1000);
	cfg->lockout_window = (unsigned)parse_num(p, "SMTP_LOCKOUT_WINDOW", 900,
						  1, 30 * 86400);
	cfg->lockout_duration = (unsigned)parse_num(p, "SMTP_LOCKOUT_DURATION",
						    900, 1, 86400);
	cfg->lockout_v6_prefix = (unsigned)parse_num(p, "SMTP_LOCKOUT_V6_PREFIX",
						     64, 16, 128);
	cfg->lockout_slots = (uint32_t)parse_num(p, "SMTP_LOCKOUT_SLOTS", 65536,
						 64, 1 << 24);
	cfg->geoip_db = env("SMTP_GEOIP_DB");
	static char deny[COUNTRIES_MAX], auth[COUNTRIES_MAX];

	cfg->country_deny = load_countries(p, "SMTP_COUNTRY_DENY", deny);
	cfg->auth_countries = load_countries(p, "SMTP_AUTH_COUNTRIES", auth);
	cfg->greet_delay = (unsigned)parse_num(p, "SMTP_GREET_DELAY", 0, 0, 300);
}

int config_load(struct config *cfg, void (*report)(const char *))
{
	static const char *const bare_lf[] = { "normalize", "reject", NULL };
	static const char *const logs[] = { "auto", "journal", "stderr", NULL };
	struct config_problems p = { report, 0 };

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
	cfg->spool_dir = parse_path_var(&p, "SMTP_SPOOL_DIR",
					"/var/spool/smtp-session");
	load_deliver(cfg, &p);
	cfg->deliver_timeout = (unsigned)parse_num(&p, "SMTP_DELIVER_TIMEOUT",
						   600, 1, 86400);
	cfg->allow_root = parse_bool(&p, "SMTP_ALLOW_ROOT");
	cfg->log_mode = logs[parse_word(&p, "SMTP_LOG", logs, 0)];
	load_tls(cfg, &p);
	load_auth(cfg, &p);
	load_gate(cfg, &p);
	return p.count;
}

void config_usage(int fd)
{
	dprintf(fd,
		"usage: smtp-session [--check-config | --help | --version |\n"
		"                     --new-ticket-key FILE]\n"
		"\n"
		"Serves one SMTP connection: fd 3 when socket-activated, else\n"
		"stdin/stdout.  Configuration comes from the environment:\n\n");
	for (const struct config_var *v = config_vars; v->name; v++)
		dprintf(fd, "  %-22s default %s\n  %-22s   %s\n", v->name,
			*v->def ? v->def : "(empty)", "", v->help);
	dprintf(fd, "\nSee smtp-session(8).\n");
}
