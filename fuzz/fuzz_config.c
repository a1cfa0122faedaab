/*
 * fuzz_config.c - config_load() (config.c) on an environment built from
 *	the input.
 *
 * INPUT
 *	Records separated by NUL: the first octet of a record picks the
 *	variable (any name of config_schema[], or QMAILQUEUE / RELAYCLIENT),
 *	the rest is its value (so values never hold a NUL, as in a real
 *	environment); a repeated name replaces the earlier value.  Every
 *	input starts from clearenv() and gets an environ of its own, freed
 *	afterwards, so runs do not see each other's variables (setenv() is
 *	not used: glibc keeps every string it ever made).
 *
 * INVARIANTS (abort on violation)
 *	- never crashes (ASan/UBSan);
 *	- the count returned is >= 0 and equals the number of report()
 *	  calls; every reported line is non-empty, at most 511 octets and
 *	  starts with the name of a variable.  (Not checked: a line quotes
 *	  up to 64 octets of the raw value, control octets included; the
 *	  session logs it through log_event(), which escapes them, and only
 *	  --check-config prints it raw, to the administrator who set it.)
 *	- whatever the input, the result is safe to use: hostname is a
 *	  valid, NUL-terminated host name; ndomains <= DOMAINS_MAX;
 *	  deliver_argv and checkpassword_argv are NULL-terminated within
 *	  their arrays; numbers are within the ranges config_load()
 *	  documents (even after a problem, the default is kept), and every
 *	  CONFIG_NUM field is within its row's min and max; the enums are
 *	  in range; log_mode is one of auto/journal/stderr;
 *	- every row that must have a default has one, within its range.
 *	- with 0 problems the deliver program is an absolute path.
 *
 * MEMORY
 *	config_load() keeps strdup'd copies (domains, deliver and
 *	checkpassword argv) for the life of the process: cfg points into
 *	them.  In a fuzzer that calls it millions of times they would pile
 *	up and LeakSanitizer would report them at exit although they are
 *	no leak in smtp-session.  So config.c is compiled for this target
 *	with -Dstrdup=fuzz_strdup -Dfree=fuzz_free (Makefile): the copies
 *	still held are recorded here and freed after each input.  That
 *	bounds the memory and lets LeakSanitizer stay on (no
 *	-detect_leaks=0) for any other, real leak.  Should config.c ever
 *	keep memory another way, record it the same way or run this target
 *	with -detect_leaks=0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config.h"

/* -Dstrdup=fuzz_strdup -Dfree=fuzz_free are meant for config.c only */
#undef strdup
#undef free
void free(void *p);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

/* ---- process-life copies, freed per input ----------------------------- */

static char *copies[64];
static size_t ncopies;

char *fuzz_strdup(const char *s);
char *fuzz_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	CHECK(ncopies < sizeof copies / sizeof copies[0]);
	copies[ncopies++] = p;
	return p;
}

/* config.c frees a copy it does not keep (split() with no words). */
void fuzz_free(void *p);
void fuzz_free(void *p)
{
	for (size_t i = 0; i < ncopies; i++)
		if (copies[i] == p) {
			copies[i] = copies[--ncopies];
			break;
		}
	free(p);
}

/* ---- the check -------------------------------------------------------- */

static int reports;

static void report(const char *line)
{
	size_t n = strlen(line);
	bool named = false;

	reports++;
	CHECK(n > 0 && n < 512);
	for (const struct config_schema *r = config_schema; r->name; r++)
		if (strncmp(line, r->name, strlen(r->name)) == 0 ||
		    (r->alias && strncmp(line, r->alias, strlen(r->alias)) == 0))
			named = true;
	CHECK(named);
}

/* A CONFIG_NUM field, read as config.c stores it (by its size). */
static uint64_t num_field(const struct config *cfg, const struct config_schema *r)
{
	const char *f = (const char *)cfg + r->offset;
	uint64_t v64;
	uint32_t v32;

	if (r->size == sizeof v64) {
		memcpy(&v64, f, sizeof v64);
		return v64;
	}
	CHECK(r->size == sizeof v32 && r->max <= UINT32_MAX);
	memcpy(&v32, f, sizeof v32);
	return v32;
}

/* The rows themselves: a default where one is needed, within range. */
static void check_schema(void)
{
	for (const struct config_schema *r = config_schema; r->name; r++) {
		switch (r->type) {
		case CONFIG_NUM: {
			unsigned long long d;
			char *end;
			CHECK(r->def && r->min <= r->max);
			d = strtoull(r->def, &end, 10);
			CHECK(!*end && d >= r->min && d <= r->max);
			break;
		}
		case CONFIG_ENUM:
		case CONFIG_WORD:
			CHECK(r->def && r->words);
			break;
		case CONFIG_BOOL:
			CHECK(r->def);
			break;
		default:
			break;
		}
		CHECK(r->help && *r->help);
	}
}

static bool host_ok(const char *h)
{
	size_t n = strnlen(h, HOSTNAME_MAX + 1);

	if (n == 0 || n > HOSTNAME_MAX || h[0] == '.' || h[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(h[i] == '.' || h[i] == '-' || (h[i] >= '0' && h[i] <= '9') ||
		      (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z')))
			return false;
	return true;
}

static bool argv_ok(char *const argv[])
{
	for (size_t i = 0; i <= DELIVER_ARGV_MAX; i++)
		if (argv[i] == NULL)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg;
	static bool schema_checked;
	size_t nvars = 0;
	const char *names[64];
	int count;

	/* the order of the seeds in fuzz/corpus/config: the rows, then
	 * these two (RELAYCLIENT twice, as ever) */
	for (const struct config_schema *r = config_schema; r->name; r++) {
		CHECK(nvars < 62);
		names[nvars++] = r->name;
	}
	names[nvars++] = "QMAILQUEUE";
	names[nvars++] = "RELAYCLIENT";
	CHECK(nvars < 64);
	if (!schema_checked) {
		check_schema();
		schema_checked = true;
	}

	/* our own environ, not setenv(): glibc never frees the strings
	 * setenv() makes, which grows the process by ~500 bytes per input */
	static char *envp[64];           /* nvars + NULL fit */
	size_t nenv = 0;

	clearenv();
	for (size_t i = 0; i < size;) {
		const uint8_t *end = memchr(data + i, 0, size - i);
		size_t len = end ? (size_t)(end - (data + i)) : size - i;

		if (len > 0) {
			const char *name = names[data[i] % nvars];
			size_t nl = strlen(name), k;
			char *e = malloc(nl + 1 + len);

			memcpy(e, name, nl);
			e[nl] = '=';
			memcpy(e + nl + 1, data + i + 1, len - 1);
			e[nl + len] = '\0';
			for (k = 0; k < nenv; k++)     /* a repeat replaces */
				if (strncmp(envp[k], e, nl + 1) == 0)
					break;
			if (k < nenv)
				free(envp[k]);
			else
				nenv++;               /* <= nvars < 64 */
			envp[k] = e;
		}
		i += len + 1;
	}
	envp[nenv] = NULL;
	environ = envp;

	reports = 0;
	count = config_load(&cfg, report);
	CHECK(count >= 0);
	CHECK(count == reports);
	CHECK(host_ok(cfg.hostname));
	CHECK(cfg.ndomains <= DOMAINS_MAX);
	for (size_t i = 0; i < cfg.ndomains; i++)
		CHECK(cfg.domains[i] && cfg.domains[i][0]);
	CHECK(argv_ok(cfg.deliver_argv));
	CHECK(argv_ok(cfg.checkpassword_argv));
	CHECK(cfg.max_size >= 1024 && cfg.max_size <= (uint64_t)1 << 40);
	CHECK(cfg.max_rcpts >= 1 && cfg.max_rcpts <= 10000);
	CHECK(cfg.max_errors >= 1 && cfg.max_errors <= 1000);
	CHECK(cfg.timeout >= 1 && cfg.timeout <= 86400);
	CHECK(cfg.session_timeout >= 1 && cfg.session_timeout <= 7 * 86400);
	CHECK(cfg.deliver_timeout >= 1 && cfg.deliver_timeout <= 86400);
	CHECK(cfg.lockout_threshold >= 1 && cfg.lockout_threshold <= 1000);
	CHECK(cfg.lockout_v6_prefix >= 16 && cfg.lockout_v6_prefix <= 128);
	CHECK(cfg.lockout_slots >= 64 && cfg.lockout_slots <= 1 << 24);
	CHECK(cfg.greet_delay <= 300);
	CHECK(cfg.bare_lf == BARE_LF_NORMALIZE || cfg.bare_lf == BARE_LF_REJECT);
	CHECK(cfg.tls <= TLS_REQUIRED && cfg.auth <= AUTH_REQUIRED);
	CHECK(cfg.spool_dir && cfg.country_deny && cfg.auth_countries);
	CHECK(!strcmp(cfg.log_mode, "auto") || !strcmp(cfg.log_mode, "journal") ||
	      !strcmp(cfg.log_mode, "stderr"));
	for (const struct config_schema *r = config_schema; r->name; r++)
		if (r->type == CONFIG_NUM)
			CHECK(num_field(&cfg, r) >= r->min && num_field(&cfg, r) <= r->max);
	if (count == 0) {
		CHECK(cfg.deliver_argv[0] && cfg.deliver_argv[0][0] == '/');
		CHECK(cfg.spool_dir[0] == '/');
	}

	for (size_t i = 0; i < ncopies; i++)
		free(copies[i]);
	ncopies = 0;
	clearenv();                       /* environ = NULL; ours go: */
	for (size_t i = 0; i < nenv; i++)
		free(envp[i]);
	return 0;
}
