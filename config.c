/*
 * config.c - the configuration: environment variables, read once.
 *
 * SUMMARY
 *	config_schema[] is the one description of every variable: its name,
 *	its type, its default (a string, parsed like a value from the
 *	environment), its range or allowed words, a line of help and the
 *	field of struct config it fills.  config_load() parses every row,
 *	config_usage() (--help) prints them, smtp-lockout loads its
 *	SMTP_LOCKOUT_* rows with config_load_only(), and smtp-session(8)'s
 *	ENVIRONMENT list is tested against --help (tests/docs.bats).
 *	Every problem is reported (not just the first), so an admin fixes
 *	them in one go.  The file-system checks of --check-config are in
 *	config-check.c.
 *
 * LIMITS
 *	Numbers are decimal, within each row's min and max.  At most
 *	DOMAINS_MAX local domains and DELIVER_ARGV_MAX deliver arguments.
 *
 * DIAGNOSTICS
 *	A problem is one line "NAME: what is wrong"; after one, the field
 *	keeps its default.  A configuration with problems never accepts
 *	mail: main() answers 421 4.3.0 and exits 1.
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

/* "DE, FR --": two-letter codes (or -- for unknown), upper-cased here. */
#define COUNTRIES_MAX 512

static const char *const bare_lf_words[] = { "normalize", "reject", NULL };
static const char *const mode_words[] = { "off", "optional", "required", NULL };
static const char *const log_words[] = { "auto", "journal", "stderr", NULL };
static const char *const fallback_words[] = { "none", "file", NULL };

#define FIELD(f)	.offset = offsetof(struct config, f), \
			.size = sizeof(((struct config *)0)->f)
#define NUM(f, lo, hi)	.type = CONFIG_NUM, .min = (lo), .max = (hi), FIELD(f)
#define BOOL(f)		.type = CONFIG_BOOL, FIELD(f)
#define SET(f)		.type = CONFIG_SET, FIELD(f)
#define ENUM(f, w)	.type = CONFIG_ENUM, .words = (w), FIELD(f)
#define WORD(f, w)	.type = CONFIG_WORD, .words = (w), FIELD(f)
#define PATH(f)		.type = CONFIG_PATH, FIELD(f)
#define TEXT(f)		.type = CONFIG_TEXT, FIELD(f)
#define HOST(f)		.type = CONFIG_HOST, FIELD(f)
#define DOMAINS(f)	.type = CONFIG_DOMAINS, FIELD(f)
#define ARGV(f)		.type = CONFIG_ARGV, FIELD(f)
#define COUNTRIES(f)	.type = CONFIG_COUNTRIES, FIELD(f)

/* SMTP_* names --check-config knows besides config_schema[]'s: what
 * smtp-session sets for the deliver program (queue.c), and what the other
 * programs of the suite read (their man pages). */
const char *const config_other_names[] = {
	/* set by smtp-session for the deliver program (queue.c) */
	"SMTP_SESSION_ID", "SMTP_HELO", "SMTP_AUTH_USER", "SMTP_COUNTRY",
	/* smtp-authres(8) */
	"SMTP_AUTHRES_SPF_REJECT", "SMTP_AUTHRES_DMARC_REJECT",
	"SMTP_AUTHRES_DMARC_QUARANTINE", "SMTP_AUTHRES_DMARC_RECORD",
	"SMTP_AUTHRES_DNS_TIMEOUT", "SMTP_AUTHRES_DEADLINE", "SMTP_AUTHRES_PSL",
	/* smtp-dkimsign(8), smtp-dmarc-report(8) (and smtp-authres) */
	"SMTP_DKIM_KEYS", "SMTP_DKIM_SIGN_RELAYCLIENT",
	"SMTP_DMARC_DIR", "SMTP_DMARC_ORG", "SMTP_DMARC_EMAIL",
	NULL,
};

/* { name, default (NULL: unset), type and field, help }, in --help's order. */
const struct config_schema config_schema[] = {
	{ "SMTP_HOSTNAME", NULL, HOST(hostname), .shown = "gethostname()",
	  .help = "name in greeting, EHLO reply and Received header" },
	{ "SMTP_DOMAINS", "", DOMAINS(domains),
	  .help = "local domains, space or comma separated; .example.org also matches subdomains" },
	{ "RELAYCLIENT", NULL, SET(relayclient),
	  .help = "set: this client may relay to any domain (qmail convention)" },
	{ "SMTP_RECIPIENTS", NULL, TEXT(recipients),
	  .help = "file of valid local addresses, one per line, @domain = catch-all" },
	{ "SMTP_MAX_SIZE", "26214400", NUM(max_size, 1024, (uint64_t)1 << 40),
	  .help = "message size limit in octets, advertised as SIZE" },
	{ "SMTP_MAX_RCPTS", "100", NUM(max_rcpts, 1, 10000),
	  .help = "recipients per message (452 4.5.3 beyond)" },
	{ "SMTP_MAX_ERRORS", "10", NUM(max_errors, 1, 1000),
	  .help = "bad commands before 421 4.7.0 and close" },
	{ "SMTP_BARE_LF", "normalize", ENUM(bare_lf, bare_lf_words),
	  .help = "bare LF in DATA: normalize (line end) or reject (554 5.6.0)" },
	{ "SMTP_TIMEOUT", "300", NUM(timeout, 1, 86400),
	  .help = "seconds to wait for a command or a data block" },
	{ "SMTP_SESSION_TIMEOUT", "1800", NUM(session_timeout, 1, 7 * 86400),
	  .help = "seconds for the whole session" },
	{ "SMTP_SPOOL_DIR", "/var/spool/smtp-session", PATH(spool_dir),
	  .help = "where messages are written before hand-off" },
	{ "SMTP_DELIVER", DELIVER_DEFAULT, ARGV(deliver_argv),
	  .alias = "QMAILQUEUE",         /* netqmail 1.04 convention */
	  .help = "deliver program and arguments, split on spaces (QMAILQUEUE if unset)" },
	{ "SMTP_RELAY_DELIVER", NULL, ARGV(relay_argv),
	  .help = "deliver program for relayed recipients (outside SMTP_DOMAINS); unset: 550 5.7.1" },
	{ "SMTP_DELIVER_TIMEOUT", "600", NUM(deliver_timeout, 1, 86400),
	  .help = "seconds before the deliver program is killed (451 4.3.0)" },
	/* TLS: only names and modes here, the files are read when TLS is
	 * used (tls.c) and checked by --check-config */
	{ "SMTP_TLS_CERT", NULL, TEXT(tls_cert),
	  .help = "PEM certificate chain, server first; with SMTP_TLS_KEY: STARTTLS offered" },
	{ "SMTP_TLS_KEY", NULL, TEXT(tls_key),
	  .help = "PEM private key of SMTP_TLS_CERT" },
	{ "SMTP_TLS", "optional", ENUM(tls, mode_words),
	  .help = "off, optional or required (required: MAIL/RCPT/DATA/BDAT/AUTH before TLS get 530)" },
	{ "SMTP_TLS_IMPLICIT", "0", BOOL(tls_implicit),
	  .help = "1: TLS handshake before the greeting (port 465, RFC 8314)" },
	{ "SMTP_TLS_TICKET_KEYS", NULL, TEXT(tls_ticket_keys),
	  .help = "private file of session-ticket keys shared by all sessions (--new-ticket-key); unset: no tickets" },
	/* AUTH: the files are opened by auth.c at each AUTH */
	{ "SMTP_AUTH", "off", ENUM(auth, mode_words),
	  .help = "off, optional or required (required: MAIL before AUTH gets 530 5.7.0)" },
	{ "SMTP_AUTH_PLAINTEXT", "0", BOOL(auth_plaintext),
	  .help = "1: AUTH offered without TLS (default: only after TLS, 538 5.7.11 before)" },
	{ "SMTP_PASSWD", NULL, PATH(passwd),
	  .help = "file of user:crypt-hash lines (yescrypt, sha512crypt, sha256crypt, bcrypt); mode 0600 or stricter" },
	{ "SMTP_AUTH_FAIL_DELAY", "1000", NUM(auth_fail_delay, 100, 60000),
	  .help = "milliseconds from a credential check to its 535; must exceed every hash's cost" },
	{ "SMTP_CHECKPASSWORD", NULL, ARGV(checkpassword_argv),
	  .help = "checkpassword program and arguments, split on spaces (fd 3: user\\0pass\\0\\0)" },
	{ "SMTP_LOG", "auto", WORD(log_mode, log_words),
	  .help = "journal, stderr or auto (journal when JOURNAL_STREAM is stderr)" },
	{ "SMTP_ALLOW_ROOT", "0", BOOL(allow_root),
	  .help = "1: serve even with effective uid 0" },
	/* lockout, GeoIP, greet delay (gate.c); the SMTP_LOCKOUT_* rows are
	 * smtp-lockout's too */
	{ "SMTP_LOCKOUT_FILE", NULL, PATH(lockout_file),
	  .help = "shared failed-login state file; unset: no lockout" },
	{ "SMTP_LOCKOUT_THRESHOLD", "5", NUM(lockout_threshold, 1, 1000),
	  .help = "failed AUTHs within the window that lock an address out" },
	{ "SMTP_LOCKOUT_WINDOW", "900", NUM(lockout_window, 1, 30 * 86400),
	  .help = "seconds over which failures count" },
	{ "SMTP_LOCKOUT_DURATION", "900", NUM(lockout_duration, 1, 86400),
	  .help = "first lockout in seconds; doubles on repeat, capped at 86400" },
	{ "SMTP_LOCKOUT_V6_PREFIX", "64", NUM(lockout_v6_prefix, 16, 128),
	  .help = "IPv6 addresses are counted per prefix of this length" },
	{ "SMTP_LOCKOUT_SLOTS", "65536", NUM(lockout_slots, 64, 1 << 24),
	  .help = "entries in the state file (fixed when the file is created)" },
	{ "SMTP_LOCKOUT_REDIS", NULL, TEXT(lockout_redis),
	  .help = "redis://IP[:PORT][/DB] or unix:/PATH[?db=DB]: the lockout shared by a fleet, instead of the file" },
	{ "SMTP_LOCKOUT_REDIS_PASSWORD_FILE", NULL, PATH(lockout_redis_password_file),
	  .help = "file whose first line is the Redis password (AUTH); unset: none" },
	{ "SMTP_LOCKOUT_REDIS_TIMEOUT", "50", NUM(lockout_redis_timeout, 1, 10000),
	  .help = "milliseconds for the Redis connect, and for each reply" },
	{ "SMTP_LOCKOUT_REDIS_FALLBACK", "none", ENUM(lockout_redis_fallback, fallback_words),
	  .help = "none (AUTH 454 while Redis fails) or file (SMTP_LOCKOUT_FILE meanwhile)" },
	{ "SMTP_GEOIP_DB", NULL, TEXT(geoip_db),
	  .help = "MaxMind DB (Country or City) for the client's country" },
	{ "SMTP_COUNTRY_DENY", "", COUNTRIES(country_deny),
	  .help = "ISO codes refused at connect (554 5.7.1); -- = unknown" },
	{ "SMTP_AUTH_COUNTRIES", "", COUNTRIES(auth_countries),
	  .help = "ISO codes allowed to AUTH (empty: all); others get 535" },
	{ "SMTP_GREET_DELAY", "0", NUM(greet_delay, 0, 300),
	  .help = "seconds before the greeting; a client that talks first gets 554" },
	{ .name = NULL },
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

/* ---- one parser per type ---------------------------------------------- *
 * Each gets the row, the name the value came from (the row's or its
 * alias), the value (the environment's, else the row's default; NULL
 * when both are unset) and the row's field. */

struct value {
	const struct config_schema *row;
	const char *name, *v;
	void *field;
	struct config *cfg;
};

/* Is v a decimal number in the row's [min, max]? */
static bool number(const char *v, const struct config_schema *r, uint64_t *out)
{
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)v[0]) || *end || errno == ERANGE ||
	    n < r->min || n > r->max)
		return false;
	*out = n;
	return true;
}

static void store_num(const struct value *x, uint64_t n)
{
	if (x->row->size == sizeof(uint64_t)) {
		memcpy(x->field, &n, sizeof n);
	} else {
		uint32_t m = (uint32_t)n;   /* the row's max fits: fuzz_config.c */
		memcpy(x->field, &m, sizeof m);
	}
}

static void load_num(const struct value *x, struct config_problems *p)
{
	uint64_t n = 0;

	if (!number(x->v, x->row, &n)) {
		config_problem(p, "%s: '%.64s' is not a number from %llu to %llu",
			       x->name, x->v, (unsigned long long)x->row->min,
			       (unsigned long long)x->row->max);
		number(x->row->def, x->row, &n);
	}
	store_num(x, n);
}

static void load_bool(const struct value *x, struct config_problems *p)
{
	bool b = strcmp(x->v, "1") == 0;

	if (!b && strcmp(x->v, "0") != 0)
		config_problem(p, "%s: '%.64s' must be 0 or 1", x->name, x->v);
	memcpy(x->field, &b, sizeof b);
}

/* Index of v in the row's words, or of the default. */
static int word(const struct value *x, struct config_problems *p)
{
	int def = 0;

	for (int i = 0; x->row->words[i]; i++) {
		if (strcmp(x->v, x->row->words[i]) == 0)
			return i;
		if (strcmp(x->row->def, x->row->words[i]) == 0)
			def = i;
	}
	config_problem(p, "%s: '%.64s' is not one of the allowed values",
		       x->name, x->v);
	return def;
}

_Static_assert(sizeof(enum tls_mode) == sizeof(int) &&
	       sizeof(enum auth_mode) == sizeof(int) &&
	       sizeof(enum bare_lf_mode) == sizeof(int) &&
	       sizeof(enum lockout_fallback) == sizeof(int), "CONFIG_ENUM stores an int");

static void load_enum(const struct value *x, struct config_problems *p)
{
	int i = word(x, p);

	memcpy(x->field, &i, sizeof i);
}

static void load_word(const struct value *x, struct config_problems *p)
{
	const char *w = x->row->words[word(x, p)];

	memcpy(x->field, &w, sizeof w);
}

/* A file or directory: a relative path is a problem (the services run
 * with an unknown working directory), but is kept. */
static void load_path(const struct value *x, struct config_problems *p)
{
	if (x->v && x->v[0] != '/')
		config_problem(p, "%s: '%.64s' is not an absolute path", x->name,
			       x->v);
	memcpy(x->field, &x->v, sizeof x->v);
}

static void load_text(const struct value *x, struct config_problems *p)
{
	(void)p;
	memcpy(x->field, &x->v, sizeof x->v);
}

/* Set at all, even to the empty string (qmail's RELAYCLIENT). */
static void load_set(const struct value *x, struct config_problems *p)
{
	bool set = getenv(x->name) != NULL;

	(void)p;
	memcpy(x->field, &set, sizeof set);
}

static void load_host(const struct value *x, struct config_problems *p)
{
	char *h = x->field;

	if (x->v) {
		/* an invalid name never reaches a reply: it could hold CR LF */
		snprintf(h, x->row->size, "%s",
			 hostname_valid(x->v) ? x->v : "localhost");
		if (!hostname_valid(x->v))
			config_problem(p, "%s: '%.64s' is not a host name",
				       x->name, x->v);
		return;
	}
	if (gethostname(h, x->row->size) < 0 || !hostname_valid(h)) {
		snprintf(h, x->row->size, "localhost");
		config_problem(p, "%s: unset, and gethostname() gave no usable name",
			       x->name);
	}
}

/* Lower-cased into cfg->domains, cfg->ndomains (the field is domains). */
static void load_domains(const struct value *x, struct config_problems *p)
{
	struct config *cfg = x->cfg;
	int n;

	cfg->ndomains = 0;
	if (!x->v || !*x->v)
		return;
	n = split(x->v, " ,\t\n", cfg->domains, DOMAINS_MAX);
	if (n < 0) {
		config_problem(p, "%s: more than %d domains", x->name, DOMAINS_MAX);
		return;
	}
	for (int i = 0; i < n; i++) {
		char *d = cfg->domains[i];
		for (char *c = d; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		if (!hostname_valid(d[0] == '.' ? d + 1 : d))
			config_problem(p, "%s: '%.64s' is not a domain", x->name, d);
	}
	cfg->ndomains = (size_t)n;
}

/* A program and its arguments (split on spaces, no shell) into argv,
 * NULL-terminated; argv[0] is NULL when unset or on a problem. */
static void load_argv(const struct value *x, struct config_problems *p)
{
	char **argv = x->field;
	int n;

	argv[0] = NULL;
	if (!x->v)
		return;
	n = split(x->v, " \t", argv, DELIVER_ARGV_MAX);
	if (n <= 0) {
		config_problem(p, "%s: empty, or more than %d words", x->name,
			       DELIVER_ARGV_MAX);
		argv[0] = NULL;
		return;
	}
	argv[n] = NULL;
	if (argv[0][0] != '/')
		config_problem(p, "%s: '%.64s' is not an absolute path", x->name,
			       argv[0]);
}

/* Upper-cased into a copy kept for the life of the process; "" when
 * empty or on a problem of size. */
static void load_countries(const struct value *x, struct config_problems *p)
{
	const char *out = "";
	char check[COUNTRIES_MAX], *words[128], *copy;
	int n;

	if (x->v && *x->v) {
		if (strlen(x->v) >= COUNTRIES_MAX || !(copy = strdup(x->v))) {
			config_problem(p, "%s: too many codes", x->name);
			goto done;
		}
		for (char *c = copy; *c; c++)
			*c = (char)toupper((unsigned char)*c);
		snprintf(check, sizeof check, "%s", copy);
		n = split_in_place(check, " ,\t", words, 128);
		if (n < 0) {
			config_problem(p, "%s: too many codes", x->name);
			free(copy);
			goto done;
		}
		for (int i = 0; i < n; i++)
			if (strlen(words[i]) != 2 || (strcmp(words[i], "--") &&
			    (!isupper((unsigned char)words[i][0]) ||
			     !isupper((unsigned char)words[i][1]))))
				config_problem(p, "%s: '%.16s' is not an ISO 3166 country code",
					       x->name, words[i]);
		out = copy;
	}
done:
	memcpy(x->field, &out, sizeof out);
}

static void (*const loaders[])(const struct value *, struct config_problems *) = {
	[CONFIG_NUM] = load_num,         [CONFIG_BOOL] = load_bool,
	[CONFIG_SET] = load_set,         [CONFIG_ENUM] = load_enum,
	[CONFIG_WORD] = load_word,       [CONFIG_PATH] = load_path,
	[CONFIG_TEXT] = load_text,       [CONFIG_HOST] = load_host,
	[CONFIG_DOMAINS] = load_domains, [CONFIG_ARGV] = load_argv,
	[CONFIG_COUNTRIES] = load_countries,
};

static void load_row(struct config *cfg, const struct config_schema *r,
		     struct config_problems *p)
{
	struct value x = { r, r->name, env(r->name),
			   (char *)cfg + r->offset, cfg };

	if (!x.v && r->alias && (x.v = env(r->alias)))
		x.name = r->alias;
	if (!x.v)
		x.v = r->def;
	loaders[r->type](&x, p);
}

/* What one variable cannot say alone. */
static void check_together(const struct config *cfg, struct config_problems *p)
{
	bool cert_and_key = cfg->tls_cert && cfg->tls_key;

	if (!cfg->tls_cert != !cfg->tls_key)
		config_problem(p, "SMTP_TLS_CERT and SMTP_TLS_KEY: set both or neither");
	if (cfg->tls == TLS_REQUIRED && !cert_and_key)
		config_problem(p, "SMTP_TLS: required needs SMTP_TLS_CERT and SMTP_TLS_KEY");
	if (cfg->tls_implicit && !cert_and_key)
		config_problem(p, "SMTP_TLS_IMPLICIT: needs SMTP_TLS_CERT and SMTP_TLS_KEY");
	if (cfg->tls_implicit && cfg->tls == TLS_OFF)
		config_problem(p, "SMTP_TLS_IMPLICIT: 1 contradicts SMTP_TLS=off");
	if (cfg->lockout_redis_fallback == FALLBACK_FILE && !cfg->lockout_file)
		config_problem(p, "SMTP_LOCKOUT_REDIS_FALLBACK: file needs SMTP_LOCKOUT_FILE");
	/* env(): a checkpassword that did not split is reported already */
	if (cfg->auth != AUTH_OFF && !cfg->passwd && !env("SMTP_CHECKPASSWORD"))
		config_problem(p, "SMTP_AUTH: %s needs SMTP_PASSWD or SMTP_CHECKPASSWORD",
			       mode_words[cfg->auth]);
}

int config_load(struct config *cfg, void (*report)(const char *))
{
	struct config_problems p = { report, 0 };

	memset(cfg, 0, sizeof *cfg);
	for (const struct config_schema *r = config_schema; r->name; r++)
		load_row(cfg, r, &p);
	check_together(cfg, &p);
	return p.count;
}

int config_load_only(struct config *cfg, const char *const names[],
		     void (*report)(const char *))
{
	struct config_problems p = { report, 0 };

	memset(cfg, 0, sizeof *cfg);
	for (const struct config_schema *r = config_schema; r->name; r++)
		for (size_t i = 0; names[i]; i++)
			if (strcmp(names[i], r->name) == 0)
				load_row(cfg, r, &p);
	return p.count;
}

void config_usage(int fd)
{
	dprintf(fd,
		"usage: smtp-session [--check-config [--user NAME] | --help |\n"
		"                     --version | --new-ticket-key FILE]\n"
		"\n"
		"Serves one SMTP connection: fd 3 when socket-activated, else\n"
		"stdin/stdout.  Configuration comes from the environment:\n\n");
	for (const struct config_schema *r = config_schema; r->name; r++) {
		dprintf(fd, "  %-22s default %s\n  %-22s   %s", r->name,
			r->shown ? r->shown : !r->def ? "unset" :
			*r->def ? r->def : "(empty)", "", r->help);
		if (r->type == CONFIG_NUM)
			dprintf(fd, "; %llu to %llu", (unsigned long long)r->min,
				(unsigned long long)r->max);
		dprintf(fd, "\n");
	}
	dprintf(fd, "\nSee smtp-session(8).\n");
}
