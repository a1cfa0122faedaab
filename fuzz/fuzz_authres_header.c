/*
 * fuzz_authres_header.c - the header parsing smtp-authres does itself
 *	(authres-header.c: ah_split, ah_name_is, ah_unfold, ah_is_ours,
 *	ah_from_domain) and the stripping built on it.
 *
 * INPUT
 *	A message header (and maybe a body) as it comes in the spool: the
 *	authserv-id is "mx.test".
 *
 * INVARIANTS (abort on violation)
 *	- ah_split() agrees with a line-by-line reference: the fields are
 *	  in order, contiguous, start at a line start with a non-WSP octet
 *	  (but a leading continuation), cover the input up to the empty
 *	  line exactly, and the body starts right after that empty line;
 *	- ah_unfold() equals a reference that deletes every CRLF or LF
 *	  followed by SP/HTAB, and the final line end; a cut result is a
 *	  prefix of the whole one, NUL-terminated;
 *	- stripping the fields ah_is_ours() names (what smtp-authres cuts)
 *	  leaves, in the re-split output, no Authentication-Results field
 *	  whose authserv-id a reference parser (comments skipped by
 *	  recursion, token or quoted-string) finds equal to mx.test in any
 *	  case; every other field is kept byte for byte, in order;
 *	- ah_from_domain() of every From field: 1 only with a domain of
 *	  [a-z0-9.-], no empty label, no trailing dot, that occurs in the
 *	  unfolded value (ASCII case-insensitively) after an '@'; for
 *	  a plain "local@domain" value it is exactly that domain
 *	  lower-cased; -1 only when the value holds a ','.
 *	- ah_dkim_domain() of every DKIM-Signature field: 1 only with such
 *	  a domain, found in the value after an '='; the d= tag and no
 *	  other ("dd=", "xd=") is read.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../authres-header.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

#define MAXF 512
#define ID "mx.test"

static bool wsp(char c) { return c == ' ' || c == '\t'; }

/* ---- references ------------------------------------------------------ */

static void split_ref(const char *b, size_t n, size_t *starts, size_t *nf,
		      size_t *hend, size_t *body)
{
	size_t pos = 0;

	*nf = 0;
	*hend = *body = n;
	while (pos < n) {
		size_t e = pos;

		while (e < n && b[e] != '\n')
			e++;
		if (e < n)
			e++;
		if ((e - pos == 1 && b[pos] == '\n') ||
		    (e - pos == 2 && b[pos] == '\r' && b[pos + 1] == '\n')) {
			*hend = pos;
			*body = e;
			return;
		}
		if (*nf == 0 || !wsp(b[pos]))
			starts[(*nf)++] = pos;
		pos = e;
	}
}

static size_t unfold_ref(const char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 2 <= n && i + 1 < n &&
		    in[i + 1] == '\n' && (i + 2 == n || wsp(in[i + 2]))) {
			i++;
			continue;
		}
		if (in[i] == '\n' && (i + 1 == n || wsp(in[i + 1])))
			continue;
		out[o++] = in[i];
	}
	return o;
}

/* Skips one comment starting at s[*i] == '(' by recursion. */
static bool comment_ref(const char *s, size_t n, size_t *i, int depth)
{
	if (depth > 16)
		return false;
	for ((*i)++; *i < n; (*i)++) {
		if (s[*i] == '\\')
			(*i)++;
		else if (s[*i] == ')')
			return true;
		else if (s[*i] == '(' && !comment_ref(s, n, i, depth + 1))
			return false;
	}
	return false;
}

/* Is the authserv-id of value (unfolded) ID, case-insensitively? */
static bool ours_ref(const char *s, size_t n)
{
	char id[300];
	size_t i = 0, o = 0;

	for (;;) {
		while (i < n && (wsp(s[i]) || s[i] == '\r' || s[i] == '\n'))
			i++;
		if (i < n && s[i] == '(') {
			if (!comment_ref(s, n, &i, 1))
				return false;
			i++;
			continue;
		}
		break;
	}
	if (i < n && s[i] == '"') {
		for (i++; i < n && s[i] != '"' && o < sizeof id - 1; i++) {
			if (s[i] == '\\' && i + 1 < n)
				i++;
			id[o++] = s[i];
		}
		if (i >= n || s[i] != '"')
			return false;
	} else {
		while (i < n && o < sizeof id - 1 &&
		       (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f &&
		       !strchr("()<>@,;:\\\"/[]?=", s[i]))
			id[o++] = s[i++];
	}
	id[o] = '\0';
	return o == strlen(ID) && strcasecmp(id, ID) == 0;
}

/* ---- the target -------------------------------------------------------- */

static char *value_of(const char *b, const struct ah_field *f, size_t *len,
		      char *buf, size_t cap)
{
	size_t c = 0;

	while (b[f->off + c] != ':')
		c++;
	*len = ah_unfold(b + f->off + c + 1, f->len - c - 1, buf, cap);
	CHECK(*len < cap);
	return buf;
}

static void check_unfold(const char *b, const struct ah_field *f)
{
	static char whole[1 << 17], ref[1 << 17], small[16];
	size_t n = ah_unfold(b + f->off, f->len, whole, sizeof whole);
	size_t r = unfold_ref(b + f->off, f->len, ref);
	size_t m = ah_unfold(b + f->off, f->len, small, sizeof small);

	CHECK(n == r && memcmp(whole, ref, r) == 0 && whole[n] == '\0');
	size_t k = n < sizeof small ? n : sizeof small - 1;

	CHECK(m == n);
	CHECK(small[k] == '\0' && memcmp(small, whole, k) == 0);
}

static void check_from(const char *v, size_t len)
{
	char dom[256], low[1 << 17];
	int r = ah_from_domain(v, len, dom, sizeof dom);
	size_t dl;
	bool found = false;

	if (r == -1)
		CHECK(memchr(v, ',', len) != NULL);
	if (r != 1)
		return;
	dl = strlen(dom);
	CHECK(dl > 0 && dom[0] != '.' && dom[dl - 1] != '.' &&
	      strstr(dom, "..") == NULL);
	for (size_t i = 0; i < dl; i++)
		CHECK((dom[i] >= 'a' && dom[i] <= 'z') ||
		      (dom[i] >= '0' && dom[i] <= '9') || dom[i] == '-' ||
		      dom[i] == '.');
	for (size_t i = 0; i < len; i++)
		low[i] = (v[i] >= 'A' && v[i] <= 'Z') ? v[i] + 32 : v[i];
	/* after an '@' (comments may stand between: RFC 5322 CFWS) */
	for (size_t i = 0; i + dl <= len && !found; i++)
		found = memcmp(low + i, dom, dl) == 0 &&
			memchr(low, '@', i) != NULL;
	CHECK(found);
}

/* d=: a usable domain that occurs in the value after "d", WSP, "=". */
static void check_dkim_d(const char *v, size_t len)
{
	char dom[256];
	size_t dl;
	bool found = false;

	if (ah_dkim_domain(v, len, dom, sizeof dom) != 1)
		return;
	dl = strlen(dom);
	CHECK(dl > 0 && dom[0] != '.' && dom[dl - 1] != '.' &&
	      strstr(dom, "..") == NULL);
	for (size_t i = 0; i < dl; i++)
		CHECK((dom[i] >= 'a' && dom[i] <= 'z') ||
		      (dom[i] >= '0' && dom[i] <= '9') || dom[i] == '-' ||
		      dom[i] == '.');
	for (size_t i = 0; i + dl <= len && !found; i++)
		found = strncasecmp(v + i, dom, dl) == 0 &&
			memchr(v, '=', i) != NULL;
	CHECK(found);
	CHECK(ah_dkim_domain(" v=1; a=x; d = Example.ORG ; s=s", 32, dom,
			     sizeof dom) == 1 && strcmp(dom, "example.org") == 0);
	CHECK(ah_dkim_domain(" dd=a.b; xd=c.d", 15, dom, sizeof dom) == 0);
}

/* A plain "local@domain" value: the domain itself, lower-cased. */
static void check_plain_from(void)
{
	char dom[256];

	CHECK(ah_from_domain(" a@Example.ORG", 14, dom, sizeof dom) == 1 &&
	      strcmp(dom, "example.org") == 0);
	CHECK(ah_from_domain(" \"x, y\" <a@b.c.>", 16, dom, sizeof dom) == 1 &&
	      strcmp(dom, "b.c") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ah_field f[MAXF], g[MAXF];
	static size_t starts[1 << 16];
	static char out[1 << 17], val[1 << 17];
	const char *b = (const char *)data;
	size_t body, rb, rh, rn, o = 0, len;
	long n, m;
	size_t kept = 0;

	if (size > (1 << 16))
		return 0;
	check_plain_from();
	n = ah_split(b, size, f, MAXF, &body);
	split_ref(b, size, starts, &rn, &rh, &rb);
	if (n < 0) {
		CHECK(rn > MAXF);
		return 0;
	}
	CHECK((size_t)n == rn && body == rb);
	for (long i = 0; i < n; i++) {
		CHECK(f[i].off == starts[i]);
		CHECK(f[i].off + f[i].len == (i + 1 < n ? f[i + 1].off : rh));
		check_unfold(b, &f[i]);
	}
	/* strip ours, as smtp-authres does, and look at the result */
	for (long i = 0; i < n; i++) {
		bool cut = false;

		if (ah_name_is(b, &f[i], "Authentication-Results")) {
			const char *v = value_of(b, &f[i], &len, val, sizeof val);

			cut = ah_is_ours(v, len, ID);
			CHECK(cut == ours_ref(v, len));
		} else if (ah_name_is(b, &f[i], "From")) {
			const char *v = value_of(b, &f[i], &len, val, sizeof val);

			check_from(v, len);
		} else if (ah_name_is(b, &f[i], "DKIM-Signature")) {
			const char *v = value_of(b, &f[i], &len, val, sizeof val);

			check_dkim_d(v, len);
		}
		if (!cut) {
			memcpy(out + o, b + f[i].off, f[i].len);
			o += f[i].len;
		}
	}
	memcpy(out + o, b + rh, size - rh);
	o += size - rh;
	m = ah_split(out, o, g, MAXF, &body);
	CHECK(m >= 0);
	for (long i = 0; i < m; i++) {
		if (ah_name_is(out, &g[i], "Authentication-Results")) {
			const char *v = value_of(out, &g[i], &len, val,
						 sizeof val);

			CHECK(!ours_ref(v, len));
		}
		/* every kept field is one of the input's, in order */
		while (kept < (size_t)n &&
		       !(f[kept].len == g[i].len &&
			 memcmp(b + f[kept].off, out + g[i].off, g[i].len) == 0))
			kept++;
		CHECK(kept < (size_t)n);
		kept++;
	}
	return 0;
}
