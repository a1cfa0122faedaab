/*
 * authres-dkim.c - DKIM verification (RFC 6376) with libopendkim: every
 * signature of the message, each with its own result, header.d,
 * header.s and header.b (RFC 6008: the shortest unique prefix of b=,
 * at least 8 characters).
 *
 * LIMITS
 *	At most AR_DKIM_MAX (8) signatures are verified (one key lookup
 *	each); the prescreen callback marks the rest ignored and they are
 *	reported as "policy".  Each key lookup is bounded by libopendkim's
 *	DKIM_OPTS_TIMEOUT and the resolver options (RES_OPTIONS).  The
 *	body is fed in 64 KiB blocks; libopendkim keeps the header fields
 *	(bounded by smtp-authres's header limit) and hashes the body as it
 *	comes.  The spool has LF line ends: DKIM_LIBFLAGS_FIXCRLF makes
 *	the library canonicalize them as CRLF, as they were on the wire.
 *
 * DIAGNOSTICS
 *	Per signature: pass; fail (bad signature, body hash mismatch,
 *	expired); temperror (key lookup failed or timed out); permerror
 *	(no key, a bad key record); neutral (a signature that could not
 *	be processed: syntax); policy (not verified: too many).  The
 *	reason (libopendkim's error text) goes to smtp-authres's log
 *	line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define _FILE_OFFSET_BITS 64

#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <opendkim/dkim.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "authres.h"

#define BLOCK (64 * 1024)

/* ---- key lookups ------------------------------------------------------
 * Debian 12's libopendkim (2.11.0~beta2) turns a key that does not
 * exist (NXDOMAIN) into "query failed", a temporary error, so a
 * signature without a key would be temperror for ever instead of
 * permerror (RFC 6376 6.1.2).  These callbacks send the query with
 * res_nsend(3), which returns the NXDOMAIN answer itself; libopendkim
 * then reads its rcode and says "no key".  One try, our timeout. */

static int dns_timeout = 3;
static size_t answer_len;

static int q_start(void *srv, int type, unsigned char *name,
		   unsigned char *buf, size_t buflen, void **qh)
{
	struct __res_state rs;
	unsigned char q[HFIXEDSZ + NS_MAXDNAME + QFIXEDSZ];
	int n, r = -1;

	(void)srv;
	memset(&rs, 0, sizeof rs);
	if (res_ninit(&rs) != 0)
		return DKIM_DNS_ERROR;
	rs.retrans = dns_timeout;
	rs.retry = 1;
	n = res_nmkquery(&rs, ns_o_query, (const char *)name, ns_c_in, type,
			 NULL, 0, NULL, q, sizeof q);
	if (n > 0)
		r = res_nsend(&rs, q, n, buf, (int)buflen);
	res_nclose(&rs);
	if (r < 0)
		return DKIM_DNS_ERROR;	/* timeout, SERVFAIL, REFUSED */
	answer_len = (size_t)r;
	*qh = &answer_len;
	return DKIM_DNS_SUCCESS;
}

/* res_nsend() is synchronous: the reply is there already. */
static int q_wait(void *srv, void *qh, struct timeval *to, size_t *bytes,
		  int *error, int *dnssec)
{
	(void)srv;
	(void)to;
	if (bytes != NULL)
		*bytes = *(size_t *)qh;
	if (error != NULL)
		*error = 0;
	if (dnssec != NULL)
		*dnssec = DKIM_DNSSEC_UNKNOWN;
	return DKIM_DNS_SUCCESS;
}

static int q_cancel(void *srv, void *qh)
{
	(void)srv;
	(void)qh;
	return 0;
}

/* Only the first AR_DKIM_MAX signatures cost a key lookup. */
static DKIM_CBSTAT prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	(void)dkim;
	for (int i = AR_DKIM_MAX; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

static const char *sig_word(DKIM_SIGINFO *sig)
{
	unsigned flags = dkim_sig_getflags(sig);

	if (flags & DKIM_SIGFLAG_IGNORE)
		return "policy";
	if ((flags & DKIM_SIGFLAG_PASSED) &&
	    dkim_sig_getbh(sig) == DKIM_SIGBH_MATCH)
		return "pass";
	switch (dkim_sig_geterror(sig)) {
	case DKIM_SIGERROR_KEYFAIL:
		return "temperror";
	case DKIM_SIGERROR_NOKEY:
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_MULTIREPLY:
	case DKIM_SIGERROR_KEYREVOKED:
	case DKIM_SIGERROR_KEYTOOSMALL:
		return "permerror";
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_EXPIRED:
	case DKIM_SIGERROR_FUTURE:
		return "fail";
	default:
		return (flags & DKIM_SIGFLAG_PROCESSED) &&
		       dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ? "fail"
								   : "neutral";
	}
}

static void copy(char *out, size_t cap, const unsigned char *s)
{
	snprintf(out, cap, "%s", s != NULL ? (const char *)s : "");
}

static size_t results(DKIM *dkim, struct ar_dkim out[AR_DKIM_MAX])
{
	DKIM_SIGINFO **sigs;
	int nsigs = 0;
	size_t n = 0;

	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		return 0;
	for (int i = 0; i < nsigs && n < AR_DKIM_MAX; i++) {
		struct ar_dkim *r = &out[n++];
		size_t blen = sizeof r->b - 1;
		int err = dkim_sig_geterror(sigs[i]);

		snprintf(r->result, AR_WORD, "%s", sig_word(sigs[i]));
		copy(r->d, sizeof r->d, dkim_sig_getdomain(sigs[i]));
		copy(r->s, sizeof r->s, dkim_sig_getselector(sigs[i]));
		if (dkim_get_sigsubstring(dkim, sigs[i], r->b, &blen) !=
		    DKIM_STAT_OK)
			blen = 0;
		r->b[blen] = '\0';
		if (dkim_sig_getbh(sigs[i]) == DKIM_SIGBH_MISMATCH &&
		    strcmp(r->result, "fail") == 0)
			snprintf(r->reason, sizeof r->reason, "body hash did "
				 "not verify");
		else if (err != DKIM_SIGERROR_OK)
			copy(r->reason, sizeof r->reason, (const unsigned char *)
			     dkim_sig_geterrorstr(err));
	}
	return n;
}

/* The body, from offset body to the end of msg, in blocks. */
static DKIM_STAT feed_body(DKIM *dkim, int msg, off_t body)
{
	static unsigned char buf[BLOCK];

	for (;;) {
		ssize_t n = pread(msg, buf, sizeof buf, body);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return DKIM_STAT_INTERNAL;
		if (n == 0)
			return DKIM_STAT_OK;
		if (dkim_body(dkim, buf, (size_t)n) != DKIM_STAT_OK)
			return DKIM_STAT_INTERNAL;
		body += n;
	}
}

size_t authres_dkim(int msg, const char *head, const struct ah_field *f,
		    size_t nf, off_t body, int timeout,
		    struct ar_dkim out[AR_DKIM_MAX])
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM *dkim = NULL;
	DKIM_STAT st;
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
	unsigned int to = (unsigned int)timeout;
	size_t n = 0;

	if (lib == NULL)
		return 0;
	dns_timeout = timeout;
	dkim_dns_set_query_start(lib, q_start);
	dkim_dns_set_query_waitreply(lib, q_wait);
	dkim_dns_set_query_cancel(lib, q_cancel);
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
			 sizeof flags) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &to,
			 sizeof to) != DKIM_STAT_OK ||
	    dkim_set_prescreen(lib, prescreen) != DKIM_STAT_OK)
		goto out;
	dkim = dkim_verify(lib, (const unsigned char *)"smtp-authres", NULL,
			   &st);
	if (dkim == NULL)
		goto out;
	for (size_t i = 0; i < nf; i++) {
		size_t len = f[i].len;
		const char *p = head + f[i].off;

		/* the field without its final line end */
		if (len > 0 && p[len - 1] == '\n')
			len--;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		if (f[i].name_len == 0)
			continue;	/* not a field: libopendkim refuses it */
		(void)dkim_header(dkim, (unsigned char *)p, len);
	}
	st = dkim_eoh(dkim);
	if (st == DKIM_STAT_NOSIG)
		goto out;
	if (feed_body(dkim, msg, body) == DKIM_STAT_OK)
		(void)dkim_eom(dkim, NULL);
	n = results(dkim, out);
out:
	if (dkim != NULL)
		dkim_free(dkim);
	dkim_close(lib);
	return n;
}
