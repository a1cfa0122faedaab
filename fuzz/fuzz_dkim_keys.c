/*
 * fuzz_dkim_keys.c - smtp-dkimsign's key table parser (dkimsign-keys.c:
 *	dk_lookup) alone.
 *
 * INPUT
 *	The From domain up to the first NUL (inputs whose domain has
 *	octets ah_from_domain() never hands over are skipped), then the
 *	table text.
 *
 * INVARIANTS (abort on violation)
 *	- never crashes, never reads or writes out of bounds (ASan);
 *	- returns -1 (with a bad line number between 1 and the number of
 *	  lines), or 0..DK_MATCH_MAX (bad line 0);
 *	- every match is well formed: domain non-empty, of letters, digits,
 *	  '-' and '.', no empty label, lower case; selector likewise plus
 *	  '_'; the path absolute without white space;
 *	- every match applies to the From domain: it is the From domain,
 *	  or the From domain ends in "." + it (a wildcard rule);
 *	- all matches carry the same domain (one rule wins), and when a
 *	  reference scan finds a line naming the From domain exactly, that
 *	  is the domain (an exact line beats every wildcard);
 *	- the result does not depend on what follows a NUL-free copy: the
 *	  same text parsed twice gives the same matches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../dkimsign-keys.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static int name_ok(const char *s, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || strchr(extra, c)))
			return 0;
	}
	/* a domain has no empty label; a selector may */
	return *extra || strstr(s, "..") == NULL;
}

/* a line whose first field is exactly from (reference: split by hand) */
static int exact_line(const char *t, size_t len, const char *from)
{
	size_t fl = strlen(from), off = 0;

	while (off < len) {
		const char *p = t + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off, i = 0;

		off += n + (nl != NULL);
		while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
			i++;
		if (n - i > fl && strncasecmp(p + i, from, fl) == 0 &&
		    (p[i + fl] == ' ' || p[i + fl] == '\t'))
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nul = memchr(data, '\0', size);
	struct dk_match m[DK_MATCH_MAX], again[DK_MATCH_MAX];
	char from[300];
	size_t fl, tlen, bad, bad2, lines = 1;
	const char *text;
	int n;

	if (!nul || (size_t)((const uint8_t *)nul - data) >= sizeof from)
		return 0;
	fl = (size_t)((const uint8_t *)nul - data);
	memcpy(from, data, fl);
	from[fl] = '\0';
	/* what ah_from_domain() hands over: lower case, letters, digits,
	 * '-' and '.' */
	for (size_t i = 0; i < fl; i++)
		if (!((from[i] >= 'a' && from[i] <= 'z') ||
		      (from[i] >= '0' && from[i] <= '9') || from[i] == '-' ||
		      from[i] == '.'))
			return 0;
	text = nul + 1;
	tlen = size - fl - 1;
	for (size_t i = 0; i < tlen; i++)
		lines += text[i] == '\n';
	n = dk_lookup(text, tlen, from, m, DK_MATCH_MAX, &bad);
	CHECK(n >= -1 && n <= DK_MATCH_MAX);
	CHECK(n == -1 ? bad >= 1 && bad <= lines : bad == 0);
	for (int i = 0; i < n; i++) {
		size_t dl = strlen(m[i].domain);

		CHECK(name_ok(m[i].domain, "") && dl <= DK_DOMAIN_MAX);
		CHECK(name_ok(m[i].selector, "_"));
		CHECK(strlen(m[i].selector) <= DK_SELECTOR_MAX);
		CHECK(m[i].path[0] == '/' && !strpbrk(m[i].path, " \t\r\n"));
		CHECK(strcmp(m[i].domain, from) == 0 ||
		      (fl > dl && from[fl - dl - 1] == '.' &&
		       strcmp(from + fl - dl, m[i].domain) == 0));
		CHECK(strcmp(m[i].domain, m[0].domain) == 0);
	}
	if (n > 0 && exact_line(text, tlen, from))
		CHECK(strcmp(m[0].domain, from) == 0);
	CHECK(dk_lookup(text, tlen, from, again, DK_MATCH_MAX, &bad2) == n);
	CHECK(bad2 == bad);
	for (int i = 0; i < n; i++)
		CHECK(strcmp(m[i].domain, again[i].domain) == 0 &&
		      strcmp(m[i].selector, again[i].selector) == 0 &&
		      strcmp(m[i].path, again[i].path) == 0);
	return 0;
}
