/*
 * authres-iprev.c - iprev (RFC 8601 3): the client address's PTR
 * names, each looked up forward; "pass" when one of them has the
 * address among its A (AAAA for IPv6) records.
 *
 * LIMITS
 *	At most IPREV_NAMES_MAX PTR names are looked up forward (RFC
 *	7208 4.6.4 uses the same bound of 10 for its ptr mechanism).
 *	Each query takes at most the resolver's timeout once (retrans =
 *	timeout, one try): this file sets its own res_state.
 *
 * DIAGNOSTICS
 *	The result word only: "temperror" when a query timed out or the
 *	server failed (SERVFAIL, TRY_AGAIN), "fail" when the address has
 *	no PTR name (NXDOMAIN, no data) or no name confirms it,
 *	"permerror" for an address that is not one.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "authres.h"

#define IPREV_NAMES_MAX 10
#define ANSWER_MAX      4096

enum q_result { Q_OK, Q_NONE, Q_TEMP };

static enum q_result query(res_state rs, const char *name, int type,
			   unsigned char *ans, int *len)
{
	*len = res_nquery(rs, name, C_IN, type, ans, ANSWER_MAX);
	if (*len >= 0)
		return Q_OK;
	/* HOST_NOT_FOUND: NXDOMAIN; NO_DATA: the name has no such record */
	if (rs->res_h_errno == HOST_NOT_FOUND || rs->res_h_errno == NO_DATA)
		return Q_NONE;
	return Q_TEMP;
}

/* The reverse name of the address (in-addr.arpa / ip6.arpa). */
static void reverse_name(const unsigned char *a, int af, char *out,
			 size_t cap)
{
	size_t o = 0;

	if (af == AF_INET) {
		snprintf(out, cap, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
			 a[1], a[0]);
		return;
	}
	for (int i = 15; i >= 0 && o + 4 < cap; i--) {
		static const char hex[] = "0123456789abcdef";

		out[o++] = hex[a[i] & 0xf];
		out[o++] = '.';
		out[o++] = hex[a[i] >> 4];
		out[o++] = '.';
	}
	snprintf(out + o, cap - o, "ip6.arpa");
}

/* A DNS name has at most 255 octets (RFC 1035 2.3.4); dn_expand's
 * buffer is larger for its escapes, which are cut here. */
static void set_name(char name[AR_DOMAIN_MAX], const char *ptr)
{
	size_t n = strnlen(ptr, AR_DOMAIN_MAX - 1);

	memcpy(name, ptr, n);
	name[n] = '\0';
}

/* Does name have addr among its A/AAAA records? */
static enum q_result confirms(res_state rs, const char *name, int af,
			      const unsigned char *addr, bool *yes)
{
	unsigned char ans[ANSWER_MAX];
	int len, type = af == AF_INET ? ns_t_a : ns_t_aaaa;
	size_t alen = af == AF_INET ? 4 : 16;
	enum q_result r = query(rs, name, type, ans, &len);
	ns_msg msg;
	ns_rr rr;

	*yes = false;
	if (r != Q_OK)
		return r;
	if (ns_initparse(ans, len, &msg) < 0)
		return Q_NONE;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if ((int)ns_rr_type(rr) == type && ns_rr_rdlen(rr) == alen &&
		    memcmp(ns_rr_rdata(rr), addr, alen) == 0)
			*yes = true;
	}
	return Q_OK;
}

static const char *iprev(const char *ip, int timeout,
			 char name[AR_DOMAIN_MAX])
{
	struct __res_state rs;
	unsigned char addr[16], ans[ANSWER_MAX];
	char rev[80], ptr[NS_MAXDNAME];
	int af = strchr(ip, ':') != NULL ? AF_INET6 : AF_INET, len, names = 0;
	const char *result = "fail";
	ns_msg msg;
	ns_rr rr;

	name[0] = '\0';
	if (inet_pton(af, ip, addr) != 1)
		return "permerror";
	memset(&rs, 0, sizeof rs);
	if (res_ninit(&rs) != 0)
		return "temperror";
	rs.retrans = timeout;
	rs.retry = 1;
	reverse_name(addr, af, rev, sizeof rev);
	switch (query(&rs, rev, ns_t_ptr, ans, &len)) {
	case Q_NONE:
		goto out;
	case Q_TEMP:
		result = "temperror";
		goto out;
	case Q_OK:
		break;
	}
	if (ns_initparse(ans, len, &msg) < 0)
		goto out;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an) &&
	     names < IPREV_NAMES_MAX; i++) {
		bool yes;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) != ns_t_ptr ||
		    dn_expand(ns_msg_base(msg), ns_msg_end(msg),
			      ns_rr_rdata(rr), ptr, sizeof ptr) < 0)
			continue;
		names++;
		if (name[0] == '\0')
			set_name(name, ptr);
		switch (confirms(&rs, ptr, af, addr, &yes)) {
		case Q_TEMP:
			result = "temperror";
			break;
		case Q_OK:
			if (yes) {
				set_name(name, ptr);
				result = "pass";
				goto out;
			}
			break;
		case Q_NONE:
			break;
		}
	}
out:
	res_nclose(&rs);
	return result;
}

void authres_iprev(const char *ip, int timeout, char result[AR_WORD],
		   char name[AR_DOMAIN_MAX])
{
	snprintf(result, AR_WORD, "%s", iprev(ip, timeout, name));
}
