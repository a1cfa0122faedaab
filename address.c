/*
 * address.c - RFC 5321 paths and ESMTP parameters (pure functions).
 *
 * SUMMARY
 *	parse_path() takes the argument of MAIL or RCPT ("FROM:<a@b> SIZE=1")
 *	and returns the mailbox with quoting removed (qmail's envelope form)
 *	and where the parameters start.  It follows RFC 5321 4.1.2:
 *	Path = "<" [ A-d-l ":" ] Mailbox ">", with the source route (A-d-l)
 *	dropped (RFC 5321 C), Local-part = Dot-string / Quoted-string, Domain
 *	or address literal; RFC 6531 adds UTF-8 when SMTPUTF8 was given.
 *	Also: local-domain matching and the SMTP_RECIPIENTS lookup.
 *
 * LIMITS
 *	The whole path is at most 256 octets (RFC 5321 4.5.3.1.3), the local
 *	part 64 and the domain 255 (4.5.3.1.1, 4.5.3.1.2).  A parameter key is
 *	at most 31 octets, a value at most 256.
 *
 * DIAGNOSTICS
 *	enum path_error; the caller chooses the reply.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address.h"

#define LOCAL_MAX  64
#define DOMAIN_MAX 255

bool utf8_valid(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) { i++; continue; }
		if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
		else return false;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong, surrogate, beyond U+10FFFF (RFC 3629 3) */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

/* RFC 5322 3.2.3 atext, plus UTF-8 octets under RFC 6531. */
static bool is_atext(unsigned char c, bool utf8)
{
	if (c >= 0x80)
		return utf8;
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Local-part at s; copies it unquoted into out.  Returns the octets of
 * s consumed, 0 on error. */
static size_t parse_local(const char *s, bool utf8, char *out, size_t *olen,
			  enum path_error *err)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0;

	*err = PATH_BAD;
	if (p[0] == '"') {            /* Quoted-string, RFC 5321 4.1.2 */
		for (i = 1; p[i] && p[i] != '"'; i++) {
			unsigned char c = p[i];
			if (c == '\\') {
				c = p[++i];
				if (c < 32 || c > 126)
					return 0;
			} else if (c < 32 || c == 127 || (c >= 0x80 && !utf8)) {
				if (c >= 0x80)
					*err = PATH_UTF8;
				return 0;
			}
			if (o == LOCAL_MAX) {
				*err = PATH_TOOLONG;
				return 0;
			}
			out[o++] = (char)c;
		}
		if (p[i] != '"' || o == 0)
			return 0;
		i++;
	} else {                      /* Dot-string */
		for (; p[i] && p[i] != '@' && p[i] != '>'; i++) {
			unsigned char c = p[i];
			if (c == '.') {
				if (i == 0 || p[i - 1] == '.' || p[i + 1] == '@' ||
				    p[i + 1] == '>')
					return 0;
			} else if (!is_atext(c, utf8)) {
				if (c >= 0x80)
					*err = PATH_UTF8;
				return 0;
			}
			if (o == LOCAL_MAX) {
				*err = PATH_TOOLONG;
				return 0;
			}
			out[o++] = (char)c;
		}
		if (o == 0)
			return 0;
	}
	*olen = o;
	return i;
}

static bool ldh(unsigned char c, bool utf8)
{
	return isalnum(c) || c == '-' || (c >= 0x80 && utf8);
}

/* Domain or address literal, up to (not including) '>'.  Length n. */
static enum path_error check_domain(const char *d, size_t n, bool utf8)
{
	const unsigned char *p = (const unsigned char *)d;
	size_t label = 0;

	if (n == 0)
		return PATH_BAD;
	if (n > DOMAIN_MAX)
		return PATH_TOOLONG;
	if (p[0] == '[') {            /* address literal, RFC 5321 4.1.3 */
		char lit[DOMAIN_MAX + 1];
		unsigned char bin[16];

		if (p[n - 1] != ']' || n < 3)
			return PATH_BAD;
		memcpy(lit, d + 1, n - 2);
		lit[n - 2] = '\0';
		/* IPv4 or "IPv6:" only; a General-address-literal (a tag
		 * registered with IANA) has no use here and may hold '@' */
		if (inet_pton(AF_INET, lit, bin) == 1 ||
		    (strncasecmp(lit, "IPv6:", 5) == 0 &&
		     inet_pton(AF_INET6, lit + 5, bin) == 1))
			return PATH_OK;
		return PATH_BAD;
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (label == 0 || p[i - 1] == '-')
				return PATH_BAD;
			label = 0;
		} else if (ldh(p[i], utf8)) {
			if (label == 0 && p[i] == '-')
				return PATH_BAD;
			label++;
		} else {
			return p[i] >= 0x80 ? PATH_UTF8 : PATH_BAD;
		}
	}
	if (label == 0 || p[n - 1] == '-')
		return PATH_BAD;
	return PATH_OK;
}

/* Skips "@a,@b:" (RFC 5321 4.1.2 A-d-l); returns the octets skipped or
 * (size_t)-1 when a route is malformed. */
static size_t skip_route(const char *s)
{
	const char *colon;

	if (s[0] != '@')
		return 0;
	colon = strchr(s, ':');
	if (!colon || colon == s + 1)
		return (size_t)-1;
	for (const char *c = s; c < colon; c++)
		if (*c == '>' || *c == '"' || *c == ' ')
			return (size_t)-1;
	return (size_t)(colon + 1 - s);
}

enum path_error parse_path(const char *arg, const char *prefix, bool utf8,
			   bool allow_null, char addr[PATH_MAX_LEN + 1],
			   const char **params)
{
	size_t plen = strlen(prefix), llen = 0, dlen = 0, used, route;
	const char *p = arg, *lt, *close, *dom = "";
	enum path_error err;
	char local[LOCAL_MAX + 1];

	addr[0] = '\0';
	if (strncasecmp(p, prefix, plen) != 0)
		return PATH_SYNTAX;
	p += plen;
	while (*p == ' ')             /* "MAIL FROM: <a>" is common */
		p++;
	if (*p != '<')
		return PATH_SYNTAX;
	lt = p++;
	if (*p == '>') {              /* the null path */
		if (!allow_null)
			return PATH_BAD;
		close = p;
		goto params;
	}
	route = skip_route(p);
	if (route == (size_t)-1)
		return PATH_BAD;
	p += route;
	used = parse_local(p, utf8, local, &llen, &err);
	if (used == 0)
		return err;
	if (p[used] == '>') {
		/* RFC 5321 4.5.1: <postmaster> alone is a valid recipient */
		if (allow_null || llen != 10 || strncasecmp(local, "postmaster", 10))
			return PATH_BAD;
		close = p + used;
	} else if (p[used] == '@') {
		dom = p + used + 1;
		close = strchr(dom, '>');
		if (!close)
			return PATH_SYNTAX;
		dlen = (size_t)(close - dom);
		err = check_domain(dom, dlen, utf8);
		if (err != PATH_OK)
			return err;
	} else {
		return PATH_BAD;
	}
	/* RFC 5321 4.5.3.1.3: 256 octets including the punctuation */
	if ((size_t)(close - lt) + 1 > PATH_MAX_LEN)
		return PATH_TOOLONG;
	memcpy(addr, local, llen);
	if (dlen > 0) {
		addr[llen++] = '@';
		memcpy(addr + llen, dom, dlen);
	}
	addr[llen + dlen] = '\0';
params:
	p = close + 1;
	if (*p && *p != ' ')
		return PATH_SYNTAX;
	while (*p == ' ')
		p++;
	*params = p;
	return PATH_OK;
}

enum path_error next_param(const char **pp, struct esmtp_param *out)
{
	const char *p = *pp, *eq, *end;
	size_t klen, vlen;

	while (*p == ' ')
		p++;
	if (!*p)
		return PATH_BAD;      /* the caller tests for the end first */
	end = p + strcspn(p, " ");
	eq = memchr(p, '=', (size_t)(end - p));
	klen = (size_t)((eq ? eq : end) - p);
	if (klen == 0 || klen >= sizeof out->key)
		return PATH_SYNTAX;
	for (size_t i = 0; i < klen; i++)     /* RFC 5321 4.1.2 esmtp-keyword */
		if (!isalnum((unsigned char)p[i]) && !(i > 0 && p[i] == '-'))
			return PATH_SYNTAX;
	memcpy(out->key, p, klen);
	out->key[klen] = '\0';
	out->has_value = eq != NULL;
	vlen = eq ? (size_t)(end - eq - 1) : 0;
	if (vlen > PATH_MAX_LEN)
		return PATH_TOOLONG;
	for (size_t i = 0; i < vlen; i++)     /* esmtp-value: %d33-60 / %d62-126 */
		if ((unsigned char)eq[1 + i] < 33 || eq[1 + i] == '=' ||
		    (unsigned char)eq[1 + i] > 126)
			return PATH_SYNTAX;
	if (eq && vlen == 0)
		return PATH_SYNTAX;
	memcpy(out->value, eq ? eq + 1 : "", vlen);
	out->value[vlen] = '\0';
	while (*end == ' ')
		end++;
	*pp = end;
	return PATH_OK;
}

const char *addr_domain(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at ? at + 1 : "";
}

/* RFC 5321 4.5.1: "postmaster" without a domain is always accepted. */
bool is_postmaster(const char *addr)
{
	return strncasecmp(addr, "postmaster", 10) == 0 &&
	       (addr[10] == '\0' || addr[10] == '@' || addr[10] == '>');
}

bool domain_listed(char *const domains[], size_t ndomains, const char *domain)
{
	size_t dlen = strlen(domain);

	for (size_t i = 0; i < ndomains; i++) {
		const char *d = domains[i];
		size_t n;

		if (d[0] == '.') {    /* .example.org: itself and below */
			d++;
			n = strlen(d);
			if (dlen > n && domain[dlen - n - 1] == '.' &&
			    strncasecmp(domain + dlen - n, d, n) == 0)
				return true;
		}
		n = strlen(d);
		if (dlen == n && strncasecmp(domain, d, n) == 0)
			return true;
	}
	return false;
}
