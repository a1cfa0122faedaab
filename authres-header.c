/*
 * authres-header.c - the header parsing smtp-authres does itself: the
 * split into fields, unfolding, the authserv-id of an
 * Authentication-Results field, the From domain.  The libraries parse
 * everything else (DKIM-Signature: libopendkim; SPF and DMARC records:
 * libspf2, libopendmarc).
 *
 * LIMITS
 *	Pure functions over caller buffers: nothing is allocated, every
 *	output is bounded by its cap.  ah_split() stops at max fields.
 *	Comments nest at most COMMENT_DEPTH_MAX deep (deeper: no match).
 *
 * DIAGNOSTICS
 *	None: each function says by its return value what it found.
 */
#include <stddef.h>
#include <string.h>

#include "authres-header.h"

#define COMMENT_DEPTH_MAX 16

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the line at p (up to and with its LF, or to end). */
static size_t line_len(const char *p, size_t left)
{
	const char *nl = memchr(p, '\n', left);

	return nl != NULL ? (size_t)(nl - p) + 1 : left;
}

static bool empty_line(const char *p, size_t n)
{
	return (n == 1 && p[0] == '\n') ||
	       (n == 2 && p[0] == '\r' && p[1] == '\n');
}

/* Octets of field name on the first line: up to the colon, white space
 * before it dropped; 0 when the line has no colon or starts with WSP. */
static size_t name_len(const char *p, size_t n)
{
	size_t i = 0, end;

	if (n == 0 || wsp(p[0]))
		return 0;
	while (i < n && p[i] != ':' && p[i] != '\n' && p[i] != '\r')
		i++;
	if (i == n || p[i] != ':')
		return 0;
	end = i;
	while (end > 0 && wsp(p[end - 1]))
		end--;
	return end;
}

long ah_split(const char *buf, size_t len, struct ah_field *f, size_t max,
	      size_t *body)
{
	size_t pos = 0, n = 0;

	*body = len;
	while (pos < len) {
		size_t l = line_len(buf + pos, len - pos);

		if (empty_line(buf + pos, l)) {
			*body = pos + l;
			break;
		}
		if (n > 0 && wsp(buf[pos])) {	/* a continuation line */
			f[n - 1].len += l;
		} else {
			if (n == max)
				return -1;
			f[n].off = pos;
			f[n].len = l;
			f[n].name_len = name_len(buf + pos, l);
			n++;
		}
		pos += l;
	}
	return (long)n;
}

bool ah_name_is(const char *buf, const struct ah_field *f, const char *name)
{
	size_t n = strlen(name);

	if (f->name_len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(buf[f->off + i]) != lower(name[i]))
			return false;
	return true;
}

size_t ah_unfold(const char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		size_t eol = 0;

		if (in[i] == '\n')
			eol = 1;
		else if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
			eol = 2;
		if (eol > 0 && (i + eol == len || wsp(in[i + eol]))) {
			i += eol - 1;	/* the line end goes, the WSP stays */
			continue;
		}
		if (o + 1 < cap)
			out[o] = in[i];
		o++;
	}
	if (cap > 0)
		out[o < cap ? o : cap - 1] = '\0';
	return o;
}

/* Skips white space and comments (nested, with quoted-pairs) from *i;
 * false on an unterminated or too deeply nested comment. */
static bool skip_cfws(const char *s, size_t len, size_t *i)
{
	size_t depth = 0;

	for (; *i < len; (*i)++) {
		char c = s[*i];

		if (depth > 0 && c == '\\') {
			(*i)++;
			continue;
		}
		if (c == '(') {
			if (++depth > COMMENT_DEPTH_MAX)
				return false;
		} else if (c == ')' && depth > 0) {
			depth--;
		} else if (depth == 0 && !wsp(c) && c != '\r' && c != '\n') {
			return true;
		}
	}
	return depth == 0;
}

/* RFC 2045 tspecials, SP and CTLs end a token. */
static bool token_char(char c)
{
	unsigned char u = (unsigned char)c;

	return u > 0x20 && u < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

long ah_authserv_id(const char *value, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (cap == 0 || !skip_cfws(value, len, &i) || i == len)
		return -1;
	if (value[i] == '"') {
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\\' && i + 1 < len)
				i++;
			if (o + 1 >= cap)
				return -1;
			out[o++] = value[i];
		}
		if (i == len)
			return -1;	/* unterminated */
	} else {
		for (; i < len && token_char(value[i]); i++) {
			if (o + 1 >= cap)
				return -1;
			out[o++] = value[i];
		}
	}
	out[o] = '\0';
	return o > 0 ? (long)o : -1;
}

bool ah_is_ours(const char *value, size_t len, const char *id)
{
	char got[256];
	long n = ah_authserv_id(value, len, got, sizeof got);

	if (n < 0 || (size_t)n != strlen(id))
		return false;
	for (long i = 0; i < n; i++)
		if (lower(got[i]) != lower(id[i]))
			return false;
	return true;
}

/* ---- From ----------------------------------------------------------- */

/* The mailbox list with comments dropped and the content of quoted
 * strings (quoted-pairs too) made 'x', so that '<', '>', ',', '@', ':'
 * and ';' left in it are structure:
 * into out (cap octets); false when it does not fit or is malformed. */
static bool strip_comments(const char *v, size_t len, char *out, size_t cap,
			   size_t *olen)
{
	size_t o = 0, depth = 0;
	bool quoted = false;

	for (size_t i = 0; i < len; i++) {
		char c = v[i];

		if ((quoted || depth > 0) && c == '\\') {
			i++;		/* a quoted-pair: never structure */
			if (quoted && o + 1 >= cap)
				return false;
			if (quoted)
				out[o++] = 'x';
			continue;
		}
		if (depth > 0) {
			if (c == '(' && ++depth > COMMENT_DEPTH_MAX)
				return false;
			if (c == ')')
				depth--;
			continue;
		}
		if (quoted) {
			if (o + 1 >= cap)
				return false;
			if (c == '"')
				quoted = false;
			/* content, not structure; the quotes stay, so that
			 * a quoted-string is never part of a domain */
			out[o++] = c == '"' ? '"' : 'x';
			continue;
		}
		if (c == '"') {
			if (o + 1 >= cap)
				return false;
			out[o++] = '"';
			quoted = true;
			continue;
		}
		if (c == '(') {
			depth = 1;
			c = ' ';
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	if (quoted || depth > 0)
		return false;
	out[o] = '\0';
	*olen = o;
	return true;
}

/* A domain of letters, digits, '-' and '.' (no empty label), lower-
 * cased, a trailing dot dropped; SP and HTAB around it allowed (the
 * value is unfolded: a CR or LF left in it is not white space). */
static int copy_domain(const char *d, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	while (n > 0 && wsp(d[0])) {
		d++;
		n--;
	}
	while (n > 0 && wsp(d[n - 1]))
		n--;
	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = lower(d[i]);

		/* an empty label: first, doubled, or last ("a.." less one) */
		if (c == '.' && (i == 0 || d[i - 1] == '.' || i == n - 1))
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return 0;
		out[o++] = c;
	}
	out[o] = '\0';
	return 1;
}

int ah_from_domain(const char *value, size_t len, char *out, size_t cap)
{
	char s[1024];
	size_t n, start, end, at;
	const char *lt, *gt;

	if (!strip_comments(value, len, s, sizeof s, &n))
		return 0;
	/* one mailbox only: a top-level ',' means several (RFC 7489 6.6.1),
	 * a ':' or ';' a group */
	if (memchr(s, ',', n) != NULL)
		return -1;
	if (memchr(s, ':', n) != NULL || memchr(s, ';', n) != NULL)
		return 0;
	lt = memchr(s, '<', n);
	gt = memchr(s, '>', n);
	if (lt != NULL || gt != NULL) {
		if (lt == NULL || gt == NULL || gt < lt ||
		    memchr(lt + 1, '<', (size_t)(gt - lt - 1)) != NULL ||
		    memchr(gt + 1, '<', n - (size_t)(gt - s) - 1) != NULL ||
		    memchr(gt + 1, '>', n - (size_t)(gt - s) - 1) != NULL)
			return 0;
		start = (size_t)(lt - s) + 1;
		end = (size_t)(gt - s);
	} else {
		start = 0;
		end = n;
	}
	at = end;
	while (at > start && s[at - 1] != '@')
		at--;
	if (at == start)
		return 0;		/* no '@' */
	return copy_domain(s + at, end - at, out, cap);
}

/* ---- DKIM-Signature d= ---------------------------------------------- */

int ah_dkim_domain(const char *value, size_t len, char *out, size_t cap)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;

		while (end < len && value[end] != ';')
			end++;
		eq = i;
		while (eq < end && value[eq] != '=')
			eq++;
		if (eq < end) {
			size_t ns = i, ne = eq;

			while (ns < ne && wsp(value[ns]))
				ns++;
			while (ne > ns && wsp(value[ne - 1]))
				ne--;
			if (ne - ns == 1 && value[ns] == 'd')
				return copy_domain(value + eq + 1, end - eq - 1,
						   out, cap);
		}
		i = end + 1;
	}
	return 0;
}
