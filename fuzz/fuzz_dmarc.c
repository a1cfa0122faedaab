/*
 * fuzz_dmarc.c - the DMARC store's line format (dmarc-store.c:
 *	dmarc_store_format, dmarc_store_parse) and smtp-dmarc-report's XML
 *	text escaper (xml_escape).
 *
 * HOW
 *	smtp-dmarc-report.c is #included with -Dmain=dmarc_report_main
 *	(Makefile), so its static functions are callable unchanged.
 *
 * INPUT
 *	Byte 0 even: the input after it is a store line, parsed as the
 *	reader parses it.  Odd: the rest is a record, its 15 strings
 *	separated by NUL (missing ones empty), formatted then parsed.
 *
 * INVARIANTS (abort on violation)
 *	- never crashes, never reads or writes out of bounds (ASan);
 *	- a formatted line is at most DMARC_LINE_MAX octets, ends in its
 *	  only newline, holds exactly one '!' (its first octet), and
 *	  parses back to the same strings (the dkim lists to a prefix cut
 *	  at an entry boundary, both lists after the same entry);
 *	- a line that parses re-formats to exactly the octets it was
 *	  parsed from (one spelling per record: nothing else in a line can
 *	  pass the checksum and the escaping rules), and a torn prefix is
 *	  reported as skipped octets;
 *	- every string xml_escape() writes is valid UTF-8 with no control
 *	  octet and no '<', '>', '"' or '&' outside a reference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../smtp-dmarc-report.c"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static void check_xml(const char *s)
{
	static char out[6 * 4096 + 1];
	int n = xml_escape(out, sizeof out, s);
	const unsigned char *p = (const unsigned char *)out;

	if (n < 0)
		return;
	CHECK((size_t)n == strlen(out));
	for (size_t i = 0; i < (size_t)n;) {
		size_t k = utf8_len(p + i, (size_t)n - i);

		CHECK(k > 0);
		CHECK(p[i] >= 0x20 && p[i] != 0x7f);
		CHECK(p[i] != '<' && p[i] != '>' && p[i] != '"');
		if (p[i] == '&')
			CHECK(!strncmp(out + i, "&amp;", 5) || !strncmp(out + i, "&lt;", 4) ||
			      !strncmp(out + i, "&gt;", 4) || !strncmp(out + i, "&quot;", 6));
		i += k;
	}
}

static void check_fields(const struct dmarc_record *r)
{
	const char *f[] = { r->source_ip, r->header_from, r->envelope_from,
		r->spf_domain, r->spf_result, r->dkim_domains, r->dkim_results,
		r->dmarc_result, r->policy, r->disposition, r->spf_aligned,
		r->dkim_aligned, r->adkim, r->aspf, r->sp };

	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		check_xml(f[i]);
}

/* a is b cut after an entry boundary (or all of b) */
static int list_prefix(const char *a, const char *b)
{
	size_t n = strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == ',' || n == 0);
}

static int entries_of(const char *s)
{
	int n = *s ? 1 : 0;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

static int empty_entry(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && (s[0] == ',' || s[n - 1] == ',' || strstr(s, ",,"));
}

static void parse_line(const uint8_t *d, size_t n)
{
	static char buf[2 * DMARC_LINE_MAX + 2], again[DMARC_LINE_MAX + 1];
	struct dmarc_parsed p;
	size_t skipped;
	int len;

	if (n >= sizeof buf || memchr(d, '\n', n))
		return;
	memcpy(buf, d, n);
	if (dmarc_store_parse(buf, n, &p, &skipped) < 0)
		return;
	CHECK(skipped < n && d[skipped] == '!');
	len = dmarc_store_format(again, sizeof again, &p.r);
	CHECK(len > 0);
	CHECK((size_t)len == n - skipped + 1);
	CHECK(memcmp(again, d + skipped, n - skipped) == 0);
	check_fields(&p.r);
}

static void round_trip(const uint8_t *d, size_t n)
{
	static char copy[8192], line[DMARC_LINE_MAX + 1];
	const char *f[15] = { "" };
	struct dmarc_record r;
	struct dmarc_parsed p;
	size_t k = 0, skipped;
	int len;

	if (n >= sizeof copy)
		return;
	memcpy(copy, d, n);
	copy[n] = '\0';
	for (size_t i = 0; i < 15; i++)
		f[i] = "";
	for (size_t i = 0; i <= n && k < 15; k++) {
		f[k] = copy + i;
		i += strlen(copy + i) + 1;
	}
	r = (struct dmarc_record){ .when = n * 1000003LL, .source_ip = f[0],
		.header_from = f[1], .envelope_from = f[2], .spf_domain = f[3],
		.spf_result = f[4], .dkim_domains = f[5], .dkim_results = f[6],
		.dmarc_result = f[7], .policy = f[8], .disposition = f[9],
		.spf_aligned = f[10], .dkim_aligned = f[11], .adkim = f[12],
		.aspf = f[13], .sp = f[14], .pct = (int)(n % 102) - 1 };
	check_fields(&r);
	len = dmarc_store_format(line, sizeof line, &r);
	if (len < 0)
		return;		/* a field over its limit */
	CHECK(len <= DMARC_LINE_MAX && line[len - 1] == '\n');
	CHECK(memchr(line, '\n', (size_t)len - 1) == NULL);
	CHECK(line[0] == '!' && memchr(line + 1, '!', (size_t)len - 1) == NULL);
	CHECK(dmarc_store_parse(line, (size_t)len - 1, &p, &skipped) == 0);
	CHECK(skipped == 0 && p.r.when == r.when && p.r.pct == r.pct);
	const char *in[] = { r.source_ip, r.header_from, r.envelope_from,
		r.spf_domain, r.spf_result, r.dkim_domains, r.dkim_results,
		r.dmarc_result, r.policy, r.disposition, r.spf_aligned,
		r.dkim_aligned, r.adkim, r.aspf, r.sp };
	for (int i = 0; i < 15; i++) {
		if (i == 5 || i == 6)
			CHECK(list_prefix(p.fields[i], in[i]));
		else
			CHECK(strcmp(p.fields[i], in[i]) == 0);
	}
	/* both lists cut at the same entry k: kept = min(k, entries); for
	 * lists without empty entries (",," or a trailing ',') */
	if (!empty_entry(in[5]) && !empty_entry(in[6])) {
		int a = entries_of(p.fields[5]), b = entries_of(p.fields[6]);
		int A = entries_of(in[5]), B = entries_of(in[6]);

		if (a < A)
			CHECK(b == (a < B ? a : B));
		if (b < B)
			CHECK(a == (b < A ? b : A));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0)
		parse_line(data + 1, size - 1);
	else
		round_trip(data + 1, size - 1);
	return 0;
}
