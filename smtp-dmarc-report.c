/*
 * smtp-dmarc-report.c - the DMARC aggregate report (RFC 7489 section 7.2
 * and appendix C) of one domain and period, from the DMARC store.
 *
 * SUMMARY
 *	smtp-dmarc-report --domain D [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *	    [--org NAME] [--email ADDR] [--report-id ID] [--extra-contact X]
 *	    [--subdomains] [--dir DIR]
 *	smtp-dmarc-report --dump [--domain D] [--from ...] [--to ...]
 *
 *	Reads the records smtp-authres appended to the store
 *	(dmarc-store.c) for the UTC days from..to (both default to
 *	yesterday), keeps those whose RFC5322.From domain is D (or below
 *	it, with --subdomains), groups them into rows by source address,
 *	disposition, aligned verdicts and authentication results, and
 *	prints the feedback document on stdout.  --dump prints the records
 *	themselves, one per line, for an administrator or a test.
 *
 *	The XML follows RFC 7489 appendix C: the source address is written
 *	in the schema's IPAddress form (dotted quad, or all eight IPv6
 *	groups); words outside a schema enumeration are mapped to the
 *	nearest valid one (an unknown SPF or DKIM result to permerror, an
 *	unknown disposition to none); text is UTF-8 with markup escaped and
 *	anything not valid UTF-8, or a control octet, as U+FFFD.
 *	policy_published is the policy of the newest record of the period
 *	(r, r, sp = p, pct 100 where the verifier did not know); fo is not
 *	recorded and is written as its default, 0.  When the verifier did
 *	not record the aligned verdicts, they are derived: aligned when the
 *	authenticated domain equals the From domain or (relaxed) one is a
 *	subdomain of the other (no public suffix list: two sibling
 *	subdomains count as not aligned).
 *
 * LIMITS
 *	At most ROWS_MAX distinct rows; a period of at most 3660 days.
 *
 * DIAGNOSTICS
 *	Exit 0: the report is on stdout.  1: no record of D in the period
 *	(nothing printed: RFC 7489 7.2 sends no empty report).  2: usage.
 *	3: the store could not be read, or stdout not written.  Damaged
 *	store lines (a crash mid-write) are skipped and counted in one
 *	stderr line; so are records with an unusable source address.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "dmarc-store.h"
#include "escape.h"

#define ROWS_MAX (1L << 20)

/* ---- variables: name, default, meaning (printed by --help) ---- */

static const struct var {
	const char *name, *def, *help;
} vars[] = {
	{ DMARC_STORE_DIR_VAR, DMARC_STORE_DIR_DEFAULT,
	  "the DMARC store directory (smtp-authres appends to it)" },
	{ "SMTP_DMARC_ORG", "",
	  "org_name of the report (--org); empty: SMTP_HOSTNAME, else the host name" },
	{ "SMTP_DMARC_EMAIL", "",
	  "email of the report (--email); empty: postmaster@ the host name" },
	{ "SMTP_HOSTNAME", "",
	  "this host's name (smtp-session's); empty: gethostname()" },
};

static const char *var(const char *name)
{
	const char *v = getenv(name);

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strcmp(vars[i].name, name) == 0 && (!v || !*v))
			return vars[i].def;
	return v ? v : "";
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smtp-dmarc-report --domain D [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
		"         [--org NAME] [--email ADDR] [--report-id ID] [--extra-contact X]\n"
		"         [--subdomains] [--dir DIR]\n"
		"       smtp-dmarc-report --dump [--domain D] [--from ...] [--to ...] [--dir DIR]\n"
		"Prints the RFC 7489 aggregate report of D for the UTC days from..to\n"
		"(default: yesterday) from the DMARC store.  Exit 0 report printed,\n"
		"1 no record, 2 usage, 3 store or output error.\n"
		"Environment:\n");
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		fprintf(f, "  %-18s default \"%s\"\n      %s\n", vars[i].name,
			vars[i].def, vars[i].help);
}

/* ---- XML text ---- */

/* The length of the valid UTF-8 sequence at s (n octets left), 0 if
 * none (RFC 3629: no overlong form, no surrogate, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		k = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		k = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		k = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff ||
	    c == 0xfffe || c == 0xffff)
		return 0;
	return k;
}

/* Writes s as XML character data into dst (cap octets, NUL-terminated);
 * returns the length, or -1 when it does not fit.  Markup characters
 * become references; control octets (XML 1.0 2.2 allows none but TAB,
 * LF, CR, and we want none) and invalid UTF-8 become U+FFFD. */
int xml_escape(char *dst, size_t cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), w = 0;

	for (size_t i = 0; i < n;) {
		const char *rep = NULL;
		char one[5];
		size_t k = utf8_len(p + i, n - i), rl;

		if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
			rep = "\xef\xbf\xbd";
			k = k ? k : 1;
		} else if (p[i] == '&') {
			rep = "&amp;";
		} else if (p[i] == '<') {
			rep = "&lt;";
		} else if (p[i] == '>') {
			rep = "&gt;";
		} else if (p[i] == '"') {
			rep = "&quot;";
		} else {
			memcpy(one, p + i, k);
			one[k] = '\0';
			rep = one;
		}
		rl = strlen(rep);
		if (w + rl + 1 > cap)
			return -1;
		memcpy(dst + w, rep, rl);
		w += rl;
		i += k;
	}
	if (w + 1 > cap)
		return -1;
	dst[w] = '\0';
	return (int)w;
}

static void put(const char *indent, const char *tag, const char *text)
{
	static char buf[6 * 4096];	/* a field is < 4096 octets */

	if (xml_escape(buf, sizeof buf, text) < 0)
		buf[0] = '\0';
	printf("%s<%s>%s</%s>\n", indent, tag, buf, tag);
}

/* ---- normalising a record ---- */

static int word_in(const char *w, const char *const *set)
{
	for (; *set; set++)
		if (strcasecmp(w, *set) == 0)
			return 1;
	return 0;
}

/* w lower-cased when it is in set, else dflt. */
static const char *pick(const char *w, const char *const *set,
			const char *dflt)
{
	for (; *set; set++)
		if (strcasecmp(w, *set) == 0)
			return *set;
	return dflt;
}

static const char *const dispositions[] = { "none", "quarantine", "reject", NULL };
static const char *const verdicts[] = { "pass", "fail", NULL };
static const char *const modes[] = { "r", "s", NULL };
static const char *const spf_words[] = { "none", "neutral", "pass", "fail",
	"softfail", "temperror", "permerror", NULL };
static const char *const dkim_words[] = { "none", "pass", "fail", "policy",
	"neutral", "temperror", "permerror", NULL };

/* The schema's IPAddress: a dotted quad, or all eight IPv6 groups (its
 * pattern has no "::"); an IPv4-mapped IPv6 address as the IPv4 one.
 * 0, or -1 when ip is not an address. */
static int source_ip(char *out, size_t cap, const char *ip)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return inet_ntop(AF_INET, a, out, (socklen_t)cap) ? 0 : -1;
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
		return inet_ntop(AF_INET, a + 12, out, (socklen_t)cap) ? 0 : -1;
	snprintf(out, cap, "%x:%x:%x:%x:%x:%x:%x:%x",
		 a[0] << 8 | a[1], a[2] << 8 | a[3], a[4] << 8 | a[5],
		 a[6] << 8 | a[7], a[8] << 8 | a[9], a[10] << 8 | a[11],
		 a[12] << 8 | a[13], a[14] << 8 | a[15]);
	return 0;
}

/* a is b, or (relaxed) one is below the other; RFC 7489 3.1 with the
 * organizational domain approximated (see SUMMARY). */
static int aligned(const char *a, const char *b, const char *mode)
{
	size_t la = strlen(a), lb = strlen(b);

	if (!*a || !*b)
		return 0;
	if (strcasecmp(a, b) == 0)
		return 1;
	if (strcmp(mode, "s") == 0)
		return 0;
	if (la > lb)
		return a[la - lb - 1] == '.' && strcasecmp(a + la - lb, b) == 0;
	return b[lb - la - 1] == '.' && strcasecmp(b + lb - la, a) == 0;
}

/* The i-th comma-separated entry of list into out; "" past the end. */
static void entry(char *out, size_t cap, const char *list, int i)
{
	size_t n;

	for (; i > 0; i--) {
		list = strchr(list, ',');
		if (!list) {
			*out = '\0';
			return;
		}
		list++;
	}
	n = strcspn(list, ",");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, list, n);
	out[n] = '\0';
}

static int entries(const char *list)
{
	int n = 1;

	if (!*list)
		return 0;
	for (; *list; list++)
		n += *list == ',';
	return n;
}

static const char *dkim_eval(const struct dmarc_record *r, const char *adkim)
{
	char d[4096], res[4096];

	if (word_in(r->dkim_aligned, verdicts))
		return pick(r->dkim_aligned, verdicts, "fail");
	for (int i = 0; i < entries(r->dkim_domains); i++) {
		entry(d, sizeof d, r->dkim_domains, i);
		entry(res, sizeof res, r->dkim_results, i);
		if (strcasecmp(res, "pass") == 0 &&
		    aligned(d, r->header_from, adkim))
			return "pass";
	}
	return "fail";
}

static const char *spf_eval(const struct dmarc_record *r, const char *aspf)
{
	if (word_in(r->spf_aligned, verdicts))
		return pick(r->spf_aligned, verdicts, "fail");
	return strcasecmp(r->spf_result, "pass") == 0 &&
	       aligned(r->spf_domain, r->header_from, aspf) ? "pass" : "fail";
}

/* ---- rows ---- */

/* A row: the strings that make its identity, NUL-separated in key
 * (so two rows are one exactly when their keys are equal). */
enum { K_IP, K_DISP, K_DKIM, K_SPF, K_HFROM, K_EFROM, K_SPFDOM, K_SCOPE,
       K_SPFRES, K_DKIMDOMS, K_DKIMRES, K_N };

struct row {
	char *key;
	size_t klen;
	const char *f[K_N];	/* into key */
	unsigned long count;
};

struct report {
	const char *domain;
	int subdomains, dump;
	long long from, to;
	struct row *rows;
	size_t nrows, cap;
	size_t *hash;		/* open addressing: row index + 1, 0 empty */
	size_t hcap;
	unsigned long skipped_ip, records;
	/* the newest record's policy */
	long long pol_when;
	char p[16], sp[16], adkim[2], aspf[2];
	int pct;
};

static uint64_t fnv(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

static int grow(struct report *rp)
{
	size_t hcap = rp->hcap ? rp->hcap * 2 : 1024;
	size_t *h = calloc(hcap, sizeof *h);

	if (!h)
		return -1;
	for (size_t i = 0; i < rp->nrows; i++) {
		size_t j = fnv(rp->rows[i].key, rp->rows[i].klen) & (hcap - 1);

		while (h[j])
			j = (j + 1) & (hcap - 1);
		h[j] = i + 1;
	}
	free(rp->hash);
	rp->hash = h;
	rp->hcap = hcap;
	return 0;
}

static int add_row(struct report *rp, const char *const *f)
{
	char key[8192];
	size_t klen = 0, j;

	for (int i = 0; i < K_N; i++) {
		size_t n = strlen(f[i]);

		if (klen + n + 1 > sizeof key)
			n = sizeof key - klen - 1;	/* cannot happen */
		memcpy(key + klen, f[i], n);
		klen += n;
		key[klen++] = '\0';
	}
	if ((rp->nrows + 1) * 2 > rp->hcap && grow(rp) < 0)
		return -1;
	j = fnv(key, klen) & (rp->hcap - 1);
	for (; rp->hash[j]; j = (j + 1) & (rp->hcap - 1)) {
		struct row *r = &rp->rows[rp->hash[j] - 1];

		if (r->klen == klen && memcmp(r->key, key, klen) == 0) {
			r->count++;
			return 0;
		}
	}
	if (rp->nrows == (size_t)ROWS_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (rp->nrows == rp->cap) {
		size_t cap = rp->cap ? rp->cap * 2 : 256;
		struct row *rows = realloc(rp->rows, cap * sizeof *rows);

		if (!rows)
			return -1;
		rp->rows = rows;
		rp->cap = cap;
	}
	struct row *r = &rp->rows[rp->nrows];

	r->key = malloc(klen);
	if (!r->key)
		return -1;
	memcpy(r->key, key, klen);
	r->klen = klen;
	r->count = 1;
	for (size_t i = 0, k = 0; k < K_N; k++) {
		r->f[k] = r->key + i;
		i += strlen(r->key + i) + 1;
	}
	rp->hash[j] = ++rp->nrows;
	return 0;
}

static int domain_matches(const struct report *rp, const char *hfrom)
{
	size_t lh = strlen(hfrom), ld = strlen(rp->domain);

	if (strcasecmp(hfrom, rp->domain) == 0)
		return 1;
	return rp->subdomains && lh > ld && hfrom[lh - ld - 1] == '.' &&
	       strcasecmp(hfrom + lh - ld, rp->domain) == 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static void note_policy(struct report *rp, const struct dmarc_record *r)
{
	if (r->when < rp->pol_when || !word_in(r->policy, dispositions))
		return;
	rp->pol_when = r->when;
	snprintf(rp->p, sizeof rp->p, "%s", pick(r->policy, dispositions, "none"));
	snprintf(rp->sp, sizeof rp->sp, "%s", pick(r->sp, dispositions, rp->p));
	snprintf(rp->adkim, sizeof rp->adkim, "%s", pick(r->adkim, modes, "r"));
	snprintf(rp->aspf, sizeof rp->aspf, "%s", pick(r->aspf, modes, "r"));
	rp->pct = r->pct >= 0 && r->pct <= 100 ? r->pct : 100;
}

static void dump(const struct dmarc_record *r)
{
	char w[32];
	time_t t = (time_t)r->when;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(w, sizeof w, "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* the store's fields may hold any octet: escaped like the XML */
	const char *f[] = { r->source_ip, r->header_from, r->envelope_from,
		r->spf_domain, r->spf_result, r->dkim_domains, r->dkim_results,
		r->dmarc_result, r->policy, r->disposition, r->spf_aligned,
		r->dkim_aligned, r->adkim, r->aspf, r->sp };
	static const char *const names[] = { "ip", "from", "mailfrom",
		"spf.domain", "spf", "dkim.domains", "dkim", "dmarc", "p",
		"disposition", "spf.aligned", "dkim.aligned", "adkim", "aspf",
		"sp" };
	printf("%s", w);
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		static char e[4 * DMARC_LINE_MAX + 1];

		/* the log's escaper, and the space too: it separates fields */
		escape_text(e, sizeof e, f[i], strlen(f[i]), ' ');
		printf(" %s=%s", names[i], e);
	}
	printf(" pct=%d\n", r->pct);
}

static int take(const struct dmarc_record *r, void *arg)
{
	struct report *rp = arg;
	char ip[64], hfrom[DMARC_FIELD_MAX + 1];
	const char *adkim, *aspf;

	if (rp->domain && !domain_matches(rp, r->header_from))
		return 0;
	rp->records++;
	if (rp->dump) {
		dump(r);
		return 0;
	}
	if (source_ip(ip, sizeof ip, r->source_ip) < 0) {
		rp->skipped_ip++;
		return 0;
	}
	note_policy(rp, r);
	adkim = pick(r->adkim, modes, "r");
	aspf = pick(r->aspf, modes, "r");
	snprintf(hfrom, sizeof hfrom, "%s", r->header_from);
	lower(hfrom);
	const char *f[K_N] = {
		[K_IP] = ip,
		[K_DISP] = pick(r->disposition, dispositions, "none"),
		[K_DKIM] = dkim_eval(r, adkim),
		[K_SPF] = spf_eval(r, aspf),
		[K_HFROM] = hfrom,
		[K_EFROM] = r->envelope_from,
		[K_SPFDOM] = r->spf_domain,
		[K_SCOPE] = *r->envelope_from ? "mfrom" : "helo",
		[K_SPFRES] = *r->spf_result ? pick(r->spf_result, spf_words,
						   "permerror") : "none",
		[K_DKIMDOMS] = r->dkim_domains,
		[K_DKIMRES] = r->dkim_results,
	};
	if (add_row(rp, f) < 0) {
		fprintf(stderr, "smtp-dmarc-report: %s\n", errno == EOVERFLOW ?
			"more than 1048576 distinct rows" : strerror(errno));
		return 3;
	}
	return 0;
}

/* ---- the document ---- */

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

static void print_row(const struct row *r)
{
	char d[4096], res[4096];

	printf("  <record>\n    <row>\n");
	put("      ", "source_ip", r->f[K_IP]);
	printf("      <count>%lu</count>\n", r->count);
	printf("      <policy_evaluated>\n");
	put("        ", "disposition", r->f[K_DISP]);
	put("        ", "dkim", r->f[K_DKIM]);
	put("        ", "spf", r->f[K_SPF]);
	printf("      </policy_evaluated>\n    </row>\n    <identifiers>\n");
	put("      ", "envelope_from", r->f[K_EFROM]);
	put("      ", "header_from", r->f[K_HFROM]);
	printf("    </identifiers>\n    <auth_results>\n");
	for (int i = 0; i < entries(r->f[K_DKIMDOMS]); i++) {
		entry(d, sizeof d, r->f[K_DKIMDOMS], i);
		entry(res, sizeof res, r->f[K_DKIMRES], i);
		printf("      <dkim>\n");
		put("        ", "domain", d);
		put("        ", "result", *res ? pick(res, dkim_words,
							 "permerror") : "none");
		printf("      </dkim>\n");
	}
	printf("      <spf>\n");
	put("        ", "domain", r->f[K_SPFDOM]);
	put("        ", "scope", r->f[K_SCOPE]);
	put("        ", "result", r->f[K_SPFRES]);
	printf("      </spf>\n    </auth_results>\n  </record>\n");
}

struct meta {
	const char *org, *email, *id, *extra;
};

static void print_report(struct report *rp, const struct meta *m)
{
	char n[32];

	qsort(rp->rows, rp->nrows, sizeof *rp->rows, row_cmp);
	printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n");
	printf("  <version>1.0</version>\n  <report_metadata>\n");
	put("    ", "org_name", m->org);
	put("    ", "email", m->email);
	if (m->extra)
		put("    ", "extra_contact_info", m->extra);
	put("    ", "report_id", m->id);
	printf("    <date_range>\n      <begin>%lld</begin>\n"
	       "      <end>%lld</end>\n    </date_range>\n",
	       rp->from, rp->to);
	printf("  </report_metadata>\n  <policy_published>\n");
	put("    ", "domain", rp->domain);
	put("    ", "adkim", rp->adkim);
	put("    ", "aspf", rp->aspf);
	put("    ", "p", rp->p);
	put("    ", "sp", rp->sp);
	snprintf(n, sizeof n, "%d", rp->pct);
	put("    ", "pct", n);
	put("    ", "fo", "0");
	printf("  </policy_published>\n");
	for (size_t i = 0; i < rp->nrows; i++)
		print_row(&rp->rows[i]);
	printf("</feedback>\n");
}

/* ---- main ---- */

/* YYYY-MM-DD (UTC) into the unix time of its midnight; -1 if not a
 * date. */
static long long parse_date(const char *s)
{
	struct tm tm = { 0 };
	char *end;
	time_t t;

	if (strlen(s) != 10)
		return -1;
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return -1;
	int mday = tm.tm_mday, mon = tm.tm_mon;

	t = timegm(&tm);
	if (t < 0 || tm.tm_mday != mday || tm.tm_mon != mon)
		return -1;	/* 2026-02-30 */
	return (long long)t;
}

static void host_name(char *out, size_t cap)
{
	const char *h = var("SMTP_HOSTNAME");

	if (*h) {
		snprintf(out, cap, "%s", h);
		return;
	}
	if (gethostname(out, cap) < 0)
		snprintf(out, cap, "localhost");
	out[cap - 1] = '\0';
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "org", required_argument, NULL, 'o' },
		{ "email", required_argument, NULL, 'e' },
		{ "report-id", required_argument, NULL, 'i' },
		{ "extra-contact", required_argument, NULL, 'x' },
		{ "subdomains", no_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'D' },
		{ "dump", no_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct report rp = { .pct = 100, .pol_when = -1, .p = "none",
			     .sp = "none", .adkim = "r", .aspf = "r" };
	struct meta m = { 0 };
	const char *from = NULL, *to = NULL, *dir = NULL;
	char host[256], email[300], id[600];
	struct dmarc_read_stats st;
	long long yesterday = (long long)time(NULL) / 86400 * 86400 - 86400;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': rp.domain = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'o': m.org = optarg; break;
		case 'e': m.email = optarg; break;
		case 'i': m.id = optarg; break;
		case 'x': m.extra = optarg; break;
		case 's': rp.subdomains = 1; break;
		case 'D': dir = optarg; break;
		case 'u': rp.dump = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	rp.from = from ? parse_date(from) : yesterday;
	rp.to = to ? parse_date(to) : yesterday;
	if (optind != argc || (!rp.domain && !rp.dump) || rp.from < 0 ||
	    rp.to < 0 || rp.from > rp.to ||
	    (rp.domain && (!*rp.domain || strlen(rp.domain) > DMARC_FIELD_MAX))) {
		usage(stderr);
		return 2;
	}
	rp.to += 86399;		/* the end of the last day */
	host_name(host, sizeof host);
	if (!m.org)
		m.org = *var("SMTP_DMARC_ORG") ? var("SMTP_DMARC_ORG") : host;
	if (!m.email) {
		snprintf(email, sizeof email, "postmaster@%s", host);
		m.email = *var("SMTP_DMARC_EMAIL") ? var("SMTP_DMARC_EMAIL") : email;
	}
	if (!dir)
		dir = var(DMARC_STORE_DIR_VAR);
	rc = dmarc_store_read(dir, rp.from, rp.to, take, &rp, &st);
	if (rc < 0) {
		fprintf(stderr, "smtp-dmarc-report: %s: %s\n", dir, strerror(errno));
		return 3;
	}
	if (st.bad || rp.skipped_ip)
		fprintf(stderr, "smtp-dmarc-report: skipped %lu damaged line(s) "
			"in %s, %lu record(s) without a source address\n",
			st.bad, dir, rp.skipped_ip);
	if (rc != 0)
		return rc;
	if (!rp.dump && rp.nrows == 0) {
		fprintf(stderr, "smtp-dmarc-report: no record for %s in the period\n",
			rp.domain);
		return 1;
	}
	if (!rp.dump) {
		if (!m.id) {
			snprintf(id, sizeof id, "%s.%lld.%lld@%s", rp.domain,
				 rp.from, rp.to, host);
			m.id = id;
		}
		print_report(&rp, &m);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "smtp-dmarc-report: stdout: %s\n", strerror(errno));
		return 3;
	}
	for (size_t i = 0; i < rp.nrows; i++)
		free(rp.rows[i].key);
	free(rp.rows);
	free(rp.hash);
	return 0;
}
