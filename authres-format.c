/*
 * authres-format.c - the Authentication-Results header field (RFC 8601)
 * from the verdicts, and the check that the verdicts the sandboxed
 * child sent back are well-formed.
 *
 * SUMMARY
 *	One field, one method a line:
 *	  Authentication-Results: mx.example.org;
 *		auth=pass smtp.auth=user;                (authenticated only)
 *		iprev=pass policy.iprev=192.0.2.1 (mail.example.com);
 *		spf=pass smtp.mailfrom=example.com;
 *		dkim=pass header.d=example.com header.s=sel header.b=AbCdEfGh;
 *		dmarc=pass (p=reject) header.from=example.com
 *	Every value is written as an RFC 2045 token when it is one, else
 *	as a quoted-string (RFC 8601 2.2) with '"' and '\' escaped; an
 *	octet that is neither printable ASCII nor WSP becomes '?', so a
 *	domain, selector or HELO name from the client cannot end the field
 *	or forge another one.  A name in a comment is written only when
 *	it is letters, digits, '-', '_' and '.'.
 *
 * LIMITS
 *	The field is built in the caller's buffer; authres_format()
 *	returns 0 when it does not fit (the caller's buffer is sized for
 *	the largest verdicts).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "authres.h"

struct out {
	char *p;
	size_t len, cap;
	bool over;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->over = true;
	else
		o->len += (size_t)n;
}

static bool token_char(char c)
{
	unsigned char u = (unsigned char)c;

	return u > 0x20 && u < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!token_char(*s))
			return false;
	return true;
}

/* v as a token or a quoted-string. */
static void scalar(struct out *o, const char *v)
{
	if (is_token(v)) {
		put(o, "%s", v);
		return;
	}
	put(o, "\"");
	for (; *v != '\0'; v++) {
		unsigned char u = (unsigned char)*v;

		if (*v == '"' || *v == '\\')
			put(o, "\\%c", *v);
		else if ((u >= 0x20 && u < 0x7f) || *v == '\t')
			put(o, "%c", *v);
		else
			put(o, "?");
	}
	put(o, "\"");
}

/* " key=value" */
static void value(struct out *o, const char *key, const char *v)
{
	put(o, " %s=", key);
	scalar(o, v);
}

static bool plain_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

static void dkim_lines(struct out *o, const struct ar_results *r)
{
	if (r->ndkim == 0) {
		put(o, ";\n\tdkim=none");
		return;
	}
	for (unsigned i = 0; i < r->ndkim; i++) {
		const struct ar_dkim *d = &r->dkim[i];

		put(o, ";\n\tdkim=%s", d->result);
		if (d->reason[0] != '\0' && strcmp(d->result, "pass") != 0) {
			/* a comment of words: letters, digits, spaces only */
			put(o, " (");
			for (const char *c = d->reason; *c != '\0'; c++)
				put(o, "%c", (*c >= 'a' && *c <= 'z') ||
				    (*c >= 'A' && *c <= 'Z') ||
				    (*c >= '0' && *c <= '9') ? *c : ' ');
			put(o, ")");
		}
		value(o, "header.d", d->d);
		value(o, "header.s", d->s);
		if (d->b[0] != '\0')
			value(o, "header.b", d->b);
	}
}

size_t authres_format(char *buf, size_t cap, const char *id, const char *ip,
		      const char *auth_user, const struct ar_results *r)
{
	struct out o = { buf, 0, cap, cap == 0 };

	put(&o, "Authentication-Results: ");
	scalar(&o, id);
	if (auth_user != NULL && auth_user[0] != '\0') {
		put(&o, ";\n\tauth=pass");
		value(&o, "smtp.auth", auth_user);
	}
	put(&o, ";\n\tiprev=%s", r->iprev);
	value(&o, "policy.iprev", ip);
	if (plain_name(r->iprev_name))
		put(&o, " (%s)", r->iprev_name);
	put(&o, ";\n\tspf=%s", r->spf.result);
	value(&o, strcmp(r->spf.identity, "helo") == 0 ? "smtp.helo"
						       : "smtp.mailfrom",
	      r->spf.domain);
	dkim_lines(&o, r);
	put(&o, ";\n\tdmarc=%s", r->dmarc.result);
	if (r->dmarc.policy[0] != '\0')
		put(&o, " (%s=%s)", r->dmarc.used, r->dmarc.policy);
	if (r->dmarc.from[0] != '\0')
		value(&o, "header.from", r->dmarc.from);
	put(&o, "\n");
	return o.over ? 0 : o.len;
}

/* ---- the child's verdicts ------------------------------------------- */

#define TERM(a) ((a)[sizeof (a) - 1] = '\0')

static void word(char w[AR_WORD], const char *const *allowed)
{
	w[AR_WORD - 1] = '\0';
	for (; *allowed != NULL; allowed++)
		if (strcmp(w, *allowed) == 0)
			return;
	snprintf(w, AR_WORD, "permerror");
}

void authres_sanitize(struct ar_results *r)
{
	static const char *const iprev[] = { "pass", "fail", "temperror",
		"permerror", NULL };
	static const char *const spf[] = { "pass", "fail", "softfail",
		"neutral", "none", "temperror", "permerror", NULL };
	static const char *const dkim[] = { "pass", "fail", "neutral",
		"policy", "none", "temperror", "permerror", NULL };
	static const char *const dmarc[] = { "pass", "fail", "none",
		"temperror", "permerror", NULL };
	static const char *const pol[] = { "", "none", "quarantine",
		"reject", NULL };
	static const char *const used[] = { "", "p", "sp", NULL };
	static const char *const ident[] = { "mailfrom", "helo", NULL };
	static const char *const align[] = { "", "pass", "fail", NULL };

	word(r->iprev, iprev);
	TERM(r->iprev_name);
	word(r->spf.result, spf);
	word(r->spf.identity, ident);
	if (strcmp(r->spf.identity, "permerror") == 0)
		snprintf(r->spf.identity, AR_WORD, "mailfrom");
	TERM(r->spf.domain);
	TERM(r->spf.reason);
	if (r->ndkim > AR_DKIM_MAX)
		r->ndkim = AR_DKIM_MAX;
	for (unsigned i = 0; i < r->ndkim; i++) {
		word(r->dkim[i].result, dkim);
		TERM(r->dkim[i].d);
		TERM(r->dkim[i].s);
		TERM(r->dkim[i].b);
		TERM(r->dkim[i].reason);
	}
	word(r->dmarc.result, dmarc);
	word(r->dmarc.policy, pol);
	word(r->dmarc.used, used);
	word(r->dmarc.p, pol);
	word(r->dmarc.sp, pol);
	word(r->dmarc.spf_aligned, align);
	word(r->dmarc.dkim_aligned, align);
	TERM(r->dmarc.adkim);
	TERM(r->dmarc.aspf);
	if (strcmp(r->dmarc.adkim, "r") != 0 && strcmp(r->dmarc.adkim, "s") != 0)
		r->dmarc.adkim[0] = '\0';
	if (strcmp(r->dmarc.aspf, "r") != 0 && strcmp(r->dmarc.aspf, "s") != 0)
		r->dmarc.aspf[0] = '\0';
	if (r->dmarc.pct < -1 || r->dmarc.pct > 100)
		r->dmarc.pct = -1;
	TERM(r->dmarc.from);
}
