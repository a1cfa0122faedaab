/*
 * authres.h - the checks of smtp-authres, one file each: iprev
 * (authres-iprev.c, libresolv), SPF (authres-spf.c, libspf2), DKIM
 * (authres-dkim.c, libopendkim), DMARC (authres-dmarc.c,
 * libopendmarc).  Each gives RFC 8601 result words; none fails the
 * message: a DNS or library failure is temperror or permerror.
 */
#ifndef AUTHRES_H
#define AUTHRES_H

#include <stddef.h>
#include <sys/types.h>

#include "authres-header.h"

#define AR_DOMAIN_MAX 256
/* Every result is a NUL-terminated array, no pointer: the checks run in
 * a sandboxed child (smtp-authres.c) that sends the structs back over
 * a pipe, and the parent must not follow anything the child says. */
#define AR_WORD 12

/* iprev (RFC 8601 3): forward-confirmed reverse DNS of ip: "pass",
 * "fail", "temperror" or "permerror" into result; name is the confirmed
 * name on pass (else the first PTR name, or ""). */
void authres_iprev(const char *ip, int timeout, char result[AR_WORD],
		   char name[AR_DOMAIN_MAX]);

struct ar_spf {
	char result[AR_WORD];		/* RFC 8601 2.7.2 word */
	char identity[AR_WORD];		/* "mailfrom" or "helo" */
	char domain[AR_DOMAIN_MAX];	/* the domain checked */
	char reason[200];		/* libspf2's comment, for stderr */
};

/* SPF (RFC 7208) of ip for sender (MAIL FROM; "" = <>: the HELO
 * identity, 2.4) and helo. */
void authres_spf(const char *ip, const char *helo, const char *sender,
		 struct ar_spf *out);

#define AR_DKIM_MAX 8	/* signatures verified; more are "policy" */

struct ar_dkim {
	char result[AR_WORD];		/* pass fail neutral policy temperror permerror */
	char d[AR_DOMAIN_MAX], s[64], b[16];
	char reason[80];
};

/* DKIM (RFC 6376) of the message on fd msg: every signature, at most
 * AR_DKIM_MAX; fields are the header split (ah_split) of head, which
 * holds the header block; body is where the body starts in msg.
 * Returns the count of out[] entries (0: no signature). */
size_t authres_dkim(int msg, const char *head, const struct ah_field *f,
		    size_t nf, off_t body, int timeout,
		    struct ar_dkim out[AR_DKIM_MAX]);

struct ar_dmarc {
	char result[AR_WORD];		/* pass fail none temperror permerror */
	char policy[AR_WORD];		/* the one applied (p= or sp=): none quarantine reject or "" */
	char used[AR_WORD];		/* "p" or "sp" (subdomain policy) or "" */
	char p[AR_WORD], sp[AR_WORD];	/* as published; "" unknown */
	char adkim[2], aspf[2];		/* "r" or "s"; "" unknown */
	char spf_aligned[AR_WORD], dkim_aligned[AR_WORD];  /* pass fail or "" */
	int pct;			/* 0..100, -1 unknown */
	char from[AR_DOMAIN_MAX];
};

/* libopendmarc with the public suffix list at psl (read now: call it
 * before the sandbox, which may not let the path be opened); 0 or -1. */
int authres_dmarc_init(const char *psl);

/* DMARC (RFC 7489) for the From domain from (""/NULL: none found, -1
 * from ah_from_domain: permerror), from the SPF and DKIM results;
 * permerror when authres_dmarc_init() failed. */
void authres_dmarc(const char *ip, const char *from, int from_state,
		   const struct ar_spf *spf, const struct ar_dkim *dkim,
		   size_t ndkim, struct ar_dmarc *out);

/* All verdicts of one message, as the child sends them. */
struct ar_results {
	char iprev[AR_WORD], iprev_name[AR_DOMAIN_MAX];
	struct ar_spf spf;
	struct ar_dkim dkim[AR_DKIM_MAX];
	unsigned ndkim;
	struct ar_dmarc dmarc;
};

/* authres-format.c: the Authentication-Results field (RFC 8601) for
 * authserv-id id, ending in LF; with auth_user (not NULL, not "") an
 * auth= method too.  Returns its length, 0 when it does not fit cap. */
size_t authres_format(char *out, size_t cap, const char *id, const char *ip,
		      const char *auth_user, const struct ar_results *r);

/* Makes every string of r NUL-terminated and every result word one of
 * RFC 8601's (else "permerror"): r came from the sandboxed child. */
void authres_sanitize(struct ar_results *r);

#endif
