/*
 * authres-spf.c - SPF (RFC 7208) with libspf2: the MAIL FROM identity,
 * or the HELO identity when the sender is <> (RFC 7208 2.4).
 *
 * LIMITS
 *	RFC 7208 4.6.4: at most 10 mechanisms and modifiers that look up
 *	DNS, 10 MX and 10 PTR names (libspf2's max_dns_mech, max_dns_mx,
 *	max_dns_ptr, set here explicitly); more is permerror.  Each
 *	query is bounded by the resolver options smtp-authres sets
 *	(RES_OPTIONS, read by libspf2's res_ninit()).  libspf2 1.2.10
 *	does not count void lookups (RFC 7208 4.6.4's limit of 2).
 *
 * DIAGNOSTICS
 *	libspf2's warnings and notes go nowhere (its default handlers
 *	print on stderr, which the session reads as our reply); the
 *	result's comment is kept in reason for smtp-authres's log line.
 *	A library failure (no memory, a bad address) is temperror or
 *	permerror.  libspf2 reports a DNS timeout or server failure as
 *	its "invalid" result with a DNS error message: temperror (RFC
 *	7208 2.6.6); "invalid" for a record it cannot parse: permerror.
 */
#include <netinet/in.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <spf2/spf.h>
#include <stdio.h>
#include <string.h>

#include "authres.h"

static void quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

/* libspf2 1.2.10 answers both a lookup that timed out or failed and a
 * record it cannot parse with "invalid" (its comment: "we should never
 * return this"); its messages tell the two apart. */
static const char *invalid_word(SPF_response_t *resp)
{
	for (int i = 0; i < SPF_response_messages(resp); i++)
		if (SPF_error_code(SPF_response_message(resp, i)) ==
		    SPF_E_DNS_ERROR)
			return "temperror";
	return "permerror";
}

static const char *word(SPF_response_t *resp)
{
	SPF_result_t r = SPF_response_result(resp);

	switch (r) {
	case SPF_RESULT_PASS:      return "pass";
	case SPF_RESULT_FAIL:      return "fail";
	case SPF_RESULT_SOFTFAIL:  return "softfail";
	case SPF_RESULT_NEUTRAL:   return "neutral";
	case SPF_RESULT_NONE:      return "none";
	case SPF_RESULT_TEMPERROR: return "temperror";
	case SPF_RESULT_PERMERROR: return "permerror";
	case SPF_RESULT_INVALID:   return invalid_word(resp);
	default:                   return "permerror";
	}
}

/* The domain of the identity: after the sender's last '@', or HELO. */
static void identity(const char *helo, const char *sender,
		     struct ar_spf *out)
{
	const char *at = strrchr(sender, '@');

	if (sender[0] != '\0') {
		snprintf(out->identity, AR_WORD, "mailfrom");
		snprintf(out->domain, sizeof out->domain, "%s",
			 at != NULL ? at + 1 : sender);
	} else {
		snprintf(out->identity, AR_WORD, "helo");
		snprintf(out->domain, sizeof out->domain, "%s", helo);
	}
}

void authres_spf(const char *ip, const char *helo, const char *sender,
		 struct ar_spf *out)
{
	SPF_server_t *srv;
	SPF_request_t *req = NULL;
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;
	const char *c;

	SPF_warning_handler = quiet;
	SPF_info_handler = quiet;
	SPF_debug_handler = quiet;
	identity(helo, sender, out);
	snprintf(out->result, AR_WORD, "temperror");
	out->reason[0] = '\0';
	if (out->domain[0] == '\0') {	/* no identity to check */
		snprintf(out->result, AR_WORD, "none");
		return;
	}
	srv = SPF_server_new(SPF_DNS_CACHE, 0);
	if (srv == NULL)
		return;
	(void)SPF_server_set_max_dns_mech(srv, 10);
	(void)SPF_server_set_max_dns_mx(srv, 10);
	(void)SPF_server_set_max_dns_ptr(srv, 10);
	req = SPF_request_new(srv);
	if (req == NULL)
		goto out;
	err = strchr(ip, ':') != NULL ? SPF_request_set_ipv6_str(req, ip)
				      : SPF_request_set_ipv4_str(req, ip);
	if (err != SPF_E_SUCCESS) {
		snprintf(out->result, AR_WORD, "permerror");
		goto out;
	}
	/* libspf2 checks postmaster@<helo> when env_from is unset (2.4) */
	if (helo[0] != '\0')
		(void)SPF_request_set_helo_dom(req, helo);
	if (sender[0] != '\0' && SPF_request_set_env_from(req, sender) != 0) {
		snprintf(out->result, AR_WORD, "permerror");
		goto out;
	}
	(void)SPF_request_query_mailfrom(req, &resp);
	if (resp == NULL)
		goto out;
	snprintf(out->result, AR_WORD, "%s", word(resp));
	c = SPF_response_get_header_comment(resp);
	if (c != NULL)
		snprintf(out->reason, sizeof out->reason, "%s", c);
out:
	if (resp != NULL)
		SPF_response_free(resp);
	if (req != NULL)
		SPF_request_free(req);
	SPF_server_free(srv);
}
