/*
 * authres-dmarc.c - DMARC (RFC 7489) with libopendmarc: the record of
 * the From domain (or of its organizational domain, found with the
 * public suffix list, RFC 7489 3.2 and 6.6.3), identifier alignment
 * from smtp-authres's SPF and DKIM results, the policy (p=, or sp= for
 * a subdomain) the domain asks for.
 *
 * LIMITS
 *	At most two record lookups (the From domain, its organizational
 *	domain), each bounded by the resolver options (RES_OPTIONS, read
 *	by libopendmarc's res_ninit()).  pct= is not applied: a failing
 *	message gets the policy as if pct=100 (RFC 7489 6.6.4 lets a
 *	receiver sample; we do not).
 *
 * DIAGNOSTICS
 *	Result words: pass, fail, none (no From domain, no record),
 *	temperror (the lookup failed), permerror (several From
 *	addresses, a bad record, the library failed).
 */
#include <opendmarc/dmarc.h>
#include <stdio.h>
#include <string.h>

#include "authres.h"

static int spf_outcome(const char *r)
{
	if (strcmp(r, "pass") == 0)
		return DMARC_POLICY_SPF_OUTCOME_PASS;
	if (strcmp(r, "fail") == 0 || strcmp(r, "softfail") == 0)
		return DMARC_POLICY_SPF_OUTCOME_FAIL;
	if (strcmp(r, "temperror") == 0)
		return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	return DMARC_POLICY_SPF_OUTCOME_NONE;
}

static int dkim_outcome(const char *r)
{
	if (strcmp(r, "pass") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_PASS;
	if (strcmp(r, "temperror") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_TMPFAIL;
	if (strcmp(r, "fail") == 0)
		return DMARC_POLICY_DKIM_OUTCOME_FAIL;
	return DMARC_POLICY_DKIM_OUTCOME_NONE;
}

static const char *policy_word(int p)
{
	switch (p) {
	case DMARC_RECORD_P_NONE:       return "none";
	case DMARC_RECORD_P_QUARANTINE: return "quarantine";
	case DMARC_RECORD_P_REJECT:     return "reject";
	default:                        return "";
	}
}

/* The results we have, in libopendmarc's terms. */
static void store_results(DMARC_POLICY_T *pctx, const struct ar_spf *spf,
			  const struct ar_dkim *dkim, size_t ndkim)
{
	if (spf->domain[0] != '\0')
		(void)opendmarc_policy_store_spf(pctx,
			(u_char *)spf->domain, spf_outcome(spf->result),
			strcmp(spf->identity, "helo") == 0
				? DMARC_POLICY_SPF_ORIGIN_HELO
				: DMARC_POLICY_SPF_ORIGIN_MAILFROM, NULL);
	for (size_t i = 0; i < ndkim; i++)
		if (dkim[i].d[0] != '\0')
			(void)opendmarc_policy_store_dkim(pctx,
				(u_char *)dkim[i].d, (u_char *)dkim[i].s,
				dkim_outcome(dkim[i].result), NULL);
}

#define SET(field, value) snprintf(field, sizeof field, "%s", value)

static const char *align_word(int a, int pass)
{
	return a == pass ? "pass" : "fail";
}

/* What the record published, and which of p= and sp= applies to this
 * From domain (RFC 7489 6.6.3: sp= for a subdomain of the
 * organizational domain whose record was used). */
static void fetch_record(DMARC_POLICY_T *pctx, struct ar_dmarc *out)
{
	int p = 0, sp = 0, a = 0, pct = -1, da = 0, sa = 0;

	(void)opendmarc_policy_fetch_p(pctx, &p);
	(void)opendmarc_policy_fetch_sp(pctx, &sp);
	SET(out->p, policy_word(p));
	SET(out->sp, policy_word(sp));
	if (opendmarc_get_policy_token_used(pctx) == DMARC_USED_POLICY_IS_SP &&
	    sp != DMARC_RECORD_P_UNSPECIFIED) {
		SET(out->policy, policy_word(sp));
		SET(out->used, "sp");
	} else {
		SET(out->policy, policy_word(p));
		SET(out->used, "p");
	}
	if (opendmarc_policy_fetch_adkim(pctx, &a) == DMARC_PARSE_OKAY &&
	    (a == DMARC_RECORD_A_STRICT || a == DMARC_RECORD_A_RELAXED))
		SET(out->adkim, a == DMARC_RECORD_A_STRICT ? "s" : "r");
	if (opendmarc_policy_fetch_aspf(pctx, &a) == DMARC_PARSE_OKAY &&
	    (a == DMARC_RECORD_A_STRICT || a == DMARC_RECORD_A_RELAXED))
		SET(out->aspf, a == DMARC_RECORD_A_STRICT ? "s" : "r");
	if (opendmarc_policy_fetch_pct(pctx, &pct) == DMARC_PARSE_OKAY &&
	    pct >= 0 && pct <= 100)
		out->pct = pct;
	if (opendmarc_policy_fetch_alignment(pctx, &da, &sa) ==
	    DMARC_PARSE_OKAY) {
		SET(out->dkim_aligned,
		    align_word(da, DMARC_POLICY_DKIM_ALIGNMENT_PASS));
		SET(out->spf_aligned,
		    align_word(sa, DMARC_POLICY_SPF_ALIGNMENT_PASS));
	}
}

static void evaluate(DMARC_POLICY_T *pctx, struct ar_dmarc *out)
{
	int st = opendmarc_policy_query_dmarc(pctx, (u_char *)out->from);

	switch (st) {
	case DMARC_PARSE_OKAY:
		break;
	case DMARC_DNS_ERROR_NO_RECORD:
	case DMARC_DNS_ERROR_NXDOMAIN:
	case DMARC_POLICY_ABSENT:
		SET(out->result, "none");
		return;
	case DMARC_DNS_ERROR_TMPERR:
		SET(out->result, "temperror");
		return;
	default:
		SET(out->result, "permerror");
		return;
	}
	switch (opendmarc_get_policy_to_enforce(pctx)) {
	case DMARC_POLICY_PASS:
		SET(out->result, "pass");
		break;
	case DMARC_POLICY_REJECT:
	case DMARC_POLICY_QUARANTINE:
	case DMARC_POLICY_NONE:
		SET(out->result, "fail");
		break;
	case DMARC_POLICY_ABSENT:
		SET(out->result, "none");
		return;
	default:
		SET(out->result, "permerror");
		return;
	}
	fetch_record(pctx, out);
}

static OPENDMARC_LIB_T lib;
static int lib_state = -1;	/* 0 once initialized */

int authres_dmarc_init(const char *psl)
{
	memset(&lib, 0, sizeof lib);
	lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)lib.tld_source_file, sizeof lib.tld_source_file, "%s",
		 psl);
	lib_state = opendmarc_policy_library_init(&lib) == DMARC_PARSE_OKAY
		    ? 0 : -1;
	return lib_state;
}

void authres_dmarc(const char *ip, const char *from, int from_state,
		   const struct ar_spf *spf, const struct ar_dkim *dkim,
		   size_t ndkim, struct ar_dmarc *out)
{
	DMARC_POLICY_T *pctx;

	memset(out, 0, sizeof *out);
	out->pct = -1;
	snprintf(out->from, sizeof out->from, "%s", from != NULL ? from : "");
	if (from_state < 0) {		/* RFC 7489 6.6.1: several authors */
		SET(out->result, "permerror");
		return;
	}
	SET(out->result, "none");
	if (from_state == 0 || out->from[0] == '\0')
		return;
	SET(out->result, "permerror");
	if (lib_state != 0)
		return;
	pctx = opendmarc_policy_connect_init((u_char *)ip,
		strchr(ip, ':') != NULL ? DMARC_POLICY_IP_TYPE_IPV6
					: DMARC_POLICY_IP_TYPE_IPV4);
	if (pctx != NULL) {
		if (opendmarc_policy_store_from_domain(pctx,
				(u_char *)out->from) == DMARC_PARSE_OKAY) {
			store_results(pctx, spf, dkim, ndkim);
			evaluate(pctx, out);
		}
		(void)opendmarc_policy_connect_shutdown(pctx);
	}
}
