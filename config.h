/*
 * config.h - the configuration, read once from the environment (config.c).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_SESSION_VERSION "0.1.0"

#define HOSTNAME_MAX     255
#define DELIVER_ARGV_MAX 32
#define DOMAINS_MAX      256

enum bare_lf_mode { BARE_LF_NORMALIZE, BARE_LF_REJECT };
enum tls_mode     { TLS_OFF, TLS_OPTIONAL, TLS_REQUIRED };
enum auth_mode    { AUTH_OFF, AUTH_OPTIONAL, AUTH_REQUIRED };
enum lockout_fallback { FALLBACK_NONE, FALLBACK_FILE };

struct config {
	char hostname[HOSTNAME_MAX + 1];
	char *domains[DOMAINS_MAX];       /* lower-case, as listed */
	size_t ndomains;
	bool relayclient;                 /* RELAYCLIENT is set */
	const char *recipients;           /* SMTP_RECIPIENTS file or NULL */
	uint64_t max_size;
	unsigned max_rcpts;
	unsigned max_errors;
	enum bare_lf_mode bare_lf;
	unsigned timeout;                 /* seconds per read */
	unsigned session_timeout;         /* seconds per session */
	const char *spool_dir;
	char *deliver_argv[DELIVER_ARGV_MAX + 1];
	char *relay_argv[DELIVER_ARGV_MAX + 1];    /* NULL[0]: unset */
	unsigned deliver_timeout;
	bool allow_root;
	/* TLS and AUTH (their own modules fill the behaviour in). */
	const char *tls_cert, *tls_key, *tls_ticket_keys;
	enum tls_mode tls;
	bool tls_implicit;
	enum auth_mode auth;
	bool auth_plaintext;
	const char *passwd;
	unsigned auth_fail_delay;         /* ms from the check to a 535 */
	char *checkpassword_argv[DELIVER_ARGV_MAX + 1];  /* NULL[0]: unset */
	const char *log_mode;
	/* lockout, GeoIP, greet delay (gate.c) */
	const char *lockout_file;
	unsigned lockout_threshold, lockout_window, lockout_duration;
	unsigned lockout_v6_prefix;
	uint32_t lockout_slots;
	const char *lockout_redis;        /* SMTP_LOCKOUT_REDIS: the fleet's store */
	const char *lockout_redis_password_file;
	unsigned lockout_redis_timeout;   /* ms */
	enum lockout_fallback lockout_redis_fallback;  /* when Redis fails */
	const char *geoip_db;
	const char *country_deny;         /* "" or "CN RU --" */
	const char *auth_countries;       /* "" = all */
	unsigned greet_delay;
};

/*
 * The schema: one row per variable (config_schema[], config.c).  The
 * default is a string, parsed like a value from the environment (so
 * NUM, BOOL, ENUM and WORD rows must have one); NULL means unset.  An
 * unset or empty variable takes the default; a bad one is a problem,
 * and the field keeps the default.
 */
enum config_type {
	CONFIG_NUM,        /* decimal in [min, max]; uint64_t or 32-bit field */
	CONFIG_BOOL,       /* 0 or 1; bool */
	CONFIG_SET,        /* set at all, even empty (RELAYCLIENT); bool */
	CONFIG_ENUM,       /* one of words[]; an enum field gets its index */
	CONFIG_WORD,       /* one of words[]; a const char * gets the word */
	CONFIG_PATH,       /* an absolute path; const char * */
	CONFIG_TEXT,       /* anything; const char * */
	CONFIG_HOST,       /* a host name, unset: gethostname(); char[] */
	CONFIG_DOMAINS,    /* domains, lower-cased; domains[] and ndomains */
	CONFIG_ARGV,       /* program and arguments, split on spaces; char *[] */
	CONFIG_COUNTRIES,  /* ISO 3166 codes (-- unknown), upper-cased; const char * */
};

struct config_schema {
	const char *name;
	const char *def;             /* default value; NULL: unset */
	enum config_type type;
	uint64_t min, max;           /* CONFIG_NUM */
	const char *const *words;    /* CONFIG_ENUM, CONFIG_WORD; NULL-terminated */
	size_t offset, size;         /* the field of struct config */
	const char *help;            /* one line for --help */
	const char *shown;           /* --help's default when def does not say it */
	const char *alias;           /* read when name is unset (QMAILQUEUE) */
};
extern const struct config_schema config_schema[];   /* ends with name NULL */
/* SMTP_* names that are not rows: read by the other programs of the
 * suite, or set by smtp-session for its deliver program (NULL-ended). */
extern const char *const config_other_names[];

/* Problems are counted, and passed to report() one line at a time
 * ("NAME: what is wrong", at most 511 octets). */
struct config_problems {
	void (*report)(const char *problem);
	int count;
};
void config_problem(struct config_problems *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Fills cfg from the environment.  Returns the number of problems, each
 * reported through report(); 0 means the configuration is usable. */
int config_load(struct config *cfg, void (*report)(const char *problem));
/* The same for the named variables only (a NULL-terminated list), without
 * the checks between variables; the other fields are zero.  smtp-lockout
 * reads its SMTP_LOCKOUT_* variables so, exactly as the sessions do. */
int config_load_only(struct config *cfg, const char *const names[],
		     void (*report)(const char *problem));
/* --help: the usage and every row of config_schema[] with its default. */
void config_usage(int fd);

#endif
