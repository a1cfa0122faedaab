/*
 * dkimsign-keys.c - the key table of smtp-dkimsign.
 *
 * SUMMARY
 *	One rule per line, fields separated by spaces or tabs:
 *
 *	  example.org      mail2026  /etc/smtp-session/dkim/example.org.rsa.pem
 *	  example.org      ed2026    /etc/smtp-session/dkim/example.org.ed25519.pem
 *	  *.example.net    mail      /etc/smtp-session/dkim/example.net.pem
 *
 *	A message whose RFC5322.From domain is example.org is signed once
 *	per example.org line (an RSA and an Ed25519 signature side by side,
 *	RFC 8463 section 4, or an old and a new selector during a key
 *	rollover).  "*.example.net" applies to every domain below
 *	example.net (not to example.net itself: list it too) and signs with
 *	d=example.net, which DMARC's relaxed alignment accepts (RFC 7489
 *	3.1.1).  An exact line wins over a wildcard; a nearer wildcard over
 *	a farther one.  Empty lines and lines starting with '#' are
 *	comments.  Domains are matched ASCII case-insensitively.
 *
 * LIMITS
 *	Domain 253 octets of letters, digits, '-' and '.' (no empty label);
 *	selector 63 octets of letters, digits, '-', '_' and '.'; the key
 *	path absolute, at most 1023 octets, no white space; a line at most
 *	2048 octets; DK_MATCH_MAX signatures per message (more lines for
 *	one domain are an error, so none is silently dropped).
 *
 * DIAGNOSTICS
 *	dk_lookup() returns -1 and the line number of the first malformed
 *	line; smtp-dkimsign turns that into a temporary failure.
 */
#include <stdbool.h>
#include <string.h>

#include "dkimsign-keys.h"

#define LINE_MAX_LEN 2048

struct field {
	const char *p;
	size_t n;
};

static bool wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Splits the line into at most max fields; returns how many, or max + 1
 * when there are more. */
static int split(const char *p, size_t n, struct field *f, int max)
{
	int k = 0;
	size_t i = 0;

	while (i < n) {
		while (i < n && wsp(p[i]))
			i++;
		if (i == n)
			break;
		if (k == max)
			return max + 1;
		f[k].p = p + i;
		while (i < n && !wsp(p[i]))
			i++;
		f[k].n = (size_t)(p + i - f[k].p);
		k++;
	}
	return k;
}

/* letters, digits, '-', '.', no empty label, no leading/trailing dot */
static bool domain_ok(const char *p, size_t n)
{
	if (n == 0 || n > DK_DOMAIN_MAX || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = lower(p[i]);

		if (c == '.' && p[i - 1] == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool selector_ok(const char *p, size_t n)
{
	if (n == 0 || n > DK_SELECTOR_MAX || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = lower(p[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static bool path_ok(const char *p, size_t n)
{
	return n > 1 && n <= DK_PATH_MAX && p[0] == '/' && !memchr(p, '\0', n);
}

static bool same_domain(const char *a, size_t n, const char *b)
{
	if (strlen(b) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

/* How well the rule d (n octets) fits from: 0 not at all; for an exact
 * rule the highest rank; for "*.parent" the more labels parent has,
 * the better. */
static size_t rank(const char *d, size_t n, const char *from)
{
	size_t fl = strlen(from);

	if (n > 2 && d[0] == '*' && d[1] == '.') {
		d += 2;
		n -= 2;
		if (fl > n + 1 && from[fl - n - 1] == '.' &&
		    same_domain(d, n, from + fl - n))
			return n + 1;	/* < DK_DOMAIN_MAX + 2 */
		return 0;
	}
	return same_domain(d, n, from) ? DK_DOMAIN_MAX + 2 : 0;
}

static void copy(char *dst, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = lower(p[i]);
	dst[n] = '\0';
}

int dk_lookup(const char *text, size_t len, const char *from,
	      struct dk_match *out, int max, size_t *bad_line)
{
	size_t best = 0, line = 0, off = 0, overflow = 0;
	int found = 0;

	while (off < len) {
		const char *p = text + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off, r;
		struct field f[3];
		int k;

		off += n + (nl != NULL);
		line++;
		*bad_line = line;
		k = n > LINE_MAX_LEN ? -1 : split(p, n, f, 3);
		if (k == 0 || (k > 0 && f[0].p[0] == '#'))
			continue;
		if (k != 3)
			return -1;
		bool wild = f[0].n > 2 && f[0].p[0] == '*' && f[0].p[1] == '.';

		if (!domain_ok(f[0].p + (wild ? 2 : 0), f[0].n - (wild ? 2 : 0)) ||
		    !selector_ok(f[1].p, f[1].n) || !path_ok(f[2].p, f[2].n))
			return -1;
		r = rank(f[0].p, f[0].n, from);
		if (r == 0 || r < best)
			continue;
		if (r > best) {
			best = r;
			found = 0;
			overflow = 0;
		}
		if (found == max) {	/* more lines than signatures */
			overflow = overflow ? overflow : line;
			continue;
		}
		copy(out[found].domain, f[0].p + (wild ? 2 : 0),
		     f[0].n - (wild ? 2 : 0));
		copy(out[found].selector, f[1].p, f[1].n);
		memcpy(out[found].path, f[2].p, f[2].n);
		out[found].path[f[2].n] = '\0';
		found++;
	}
	*bad_line = overflow;
	return overflow ? -1 : found;
}
