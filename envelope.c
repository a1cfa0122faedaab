/*
 * envelope.c - MAIL and RCPT: the sender, the recipients, relay control.
 *
 * SUMMARY
 *	cmd_mail() opens a transaction: path syntax (address.c), then the
 *	parameters SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531).
 *	cmd_rcpt() adds a recipient if policy allows: postmaster always
 *	(RFC 5321 4.5.1); a local domain (SMTP_DOMAINS), checked against
 *	SMTP_RECIPIENTS when that is set; any other domain only for a
 *	relay client (RELAYCLIENT) or an authenticated one, and only when
 *	SMTP_RELAY_DELIVER names the program that sends it on (else 550
 *	5.7.1: relayed mail must never end in a local Maildir).  Never an
 *	open relay: with no domains and no RELAYCLIENT every RCPT gets 554
 *	5.7.1.  Last, a local recipient smtp-deliver could not file
 *	(mailbox.c: a local or domain part that is empty, starts with '.',
 *	or holds '/', '\' or a control octet) gets 553 5.1.3: the rule
 *	smtp-deliver applies.
 *
 * LIMITS
 *	SMTP_MAX_RCPTS recipients (452 4.5.3 beyond); each address at most
 *	PATH_MAX_LEN octets.
 *
 * DIAGNOSTICS
 *	Replies as in smtp-session(8).  Every refused RCPT, whoever refused
 *	it (the command table or this file), is logged once by
 *	rcpt_log_refusal(), with the reply the client got.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "auth.h"
#include "envelope.h"
#include "log.h"
#include "mailbox.h"
#include "session.h"

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* Replies; the reason goes to the log line (rcpt_log_refusal()). */
static bool refuse(struct session *s, const char *why, int code,
		   const char *enh, const char *text)
{
	s->refusal_reason = why;
	reply(s, code, enh, "%s", text);
	return false;
}

/* Replies for a path that did not parse; sender chooses X.1.7 vs X.1.3
 * (RFC 3463 3.2). */
static void path_refused(struct session *s, enum path_error e, bool sender)
{
	const char *bad = sender ? "5.1.7" : "5.1.3";

	s->refusal_reason = "syntax";
	switch (e) {
	case PATH_SYNTAX:
		reply(s, 501, "5.5.4", sender ? "Syntax: MAIL FROM:<address>"
				   : "Syntax: RCPT TO:<address>");
		break;
	case PATH_TOOLONG:
		reply(s, 553, bad, "Address too long");
		break;
	case PATH_UTF8:       /* RFC 6531 3.7.4.1 */
		reply(s, 553, "5.6.7", "Non-ASCII address needs SMTPUTF8");
		break;
	default:
		reply(s, 553, bad, "Bad address syntax");
		break;
	}
}

/* RFC 1870: SIZE=1*20DIGIT. */
static bool parse_size(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!*v || strlen(v) > 20)
		return false;
	for (; *v; v++) {
		if (!isdigit((unsigned char)*v) || n > (UINT64_MAX - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return true;
}

/* RFC 3461 4: xtext = *( xchar / "+" 2HEXCHAR ), xchar = 33-126 but "+"
 * and "=" (next_param() has already refused "=" and the rest). */
static bool xtext_valid(const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *v; v++) {
		if (*v != '+')
			continue;
		if (!v[1] || !v[2] || !strchr(hex, v[1]) || !strchr(hex, v[2]))
			return false;
		v += 2;
	}
	return true;
}

/* Checks MAIL's parameters; replies and returns false on a bad one. */
static bool mail_params(struct session *s, const char *p, bool *utf8)
{
	unsigned seen_size = 0, seen_body = 0, seen_auth = 0;
	struct esmtp_param prm;

	*utf8 = false;
	if (*p && !s->esmtp) {   /* RFC 5321 4.1.1.11: EHLO extensions only */
		reply(s, 555, "5.5.4", "Parameters need EHLO");
		return false;
	}
	while (*p) {
		uint64_t size;

		if (next_param(&p, &prm) != PATH_OK) {
			reply(s, 501, "5.5.4", "Syntax error in parameters");
			return false;
		}
		if (strcasecmp(prm.key, "SIZE") == 0) {
			if (seen_size++) {
				reply(s, 501, "5.5.4", "Duplicate SIZE parameter");
				return false;
			}
			if (!prm.has_value || !parse_size(prm.value, &size)) {
				reply(s, 501, "5.5.4", "Syntax: SIZE=<octets>");
				return false;
			}
			if (size > s->cfg->max_size) {     /* RFC 1870 6.1 */
				reply(s, 552, "5.3.4", "Message size exceeds fixed maximum message size");
				return false;
			}
		} else if (strcasecmp(prm.key, "BODY") == 0) {
			if (seen_body++) {
				reply(s, 501, "5.5.4", "Duplicate BODY parameter");
				return false;
			}
			if (!prm.has_value || (strcasecmp(prm.value, "7BIT") &&
					       strcasecmp(prm.value, "8BITMIME"))) {
				reply(s, 501, "5.5.4", "Syntax: BODY=7BIT|8BITMIME");
				return false;
			}
		} else if (strcasecmp(prm.key, "SMTPUTF8") == 0) {
			/* a flag: saying it twice (Python's smtplib does) is harmless */
			if (prm.has_value) {
				reply(s, 501, "5.5.4", "Syntax: SMTPUTF8 takes no value");
				return false;
			}
			*utf8 = true;
		} else if (strcasecmp(prm.key, "AUTH") == 0 && auth_offered(s)) {
			/* RFC 4954 5: AUTH=<xtext mailbox> or AUTH=<>; noted,
			 * not trusted (we relay on our own AUTH only) */
			if (seen_auth++) {
				reply(s, 501, "5.5.4", "Duplicate AUTH parameter");
				return false;
			}
			if (!prm.has_value || (strcmp(prm.value, "<>") &&
					       !xtext_valid(prm.value))) {
				reply(s, 501, "5.5.4", "Syntax: AUTH=<mailbox>|<>");
				return false;
			}
		} else {
			reply(s, 555, "5.5.4", "Unsupported parameter %.40s",
			      prm.key);
			return false;
		}
	}
	return true;
}

/* Sequence rules (HELO first, no nested MAIL, AUTH first under
 * SMTP_AUTH=required) are the command table's (smtp-session.c). */
void cmd_mail(struct session *s, const char *arg,
	      const struct refusal *refused)
{
	char addr[PATH_MAX_LEN + 1];
	const char *params;
	enum path_error e;
	bool utf8;

	(void)refused;
	e = parse_path(arg, "FROM:", true, true, addr, &params);
	if (e != PATH_OK) {
		path_refused(s, e, true);
		return;
	}
	if (!mail_params(s, params, &utf8))
		return;
	if (!utf8_valid((const unsigned char *)addr, strlen(addr))) {
		path_refused(s, PATH_BAD, true);
		return;
	}
	if (!utf8 && !ascii(addr)) {
		path_refused(s, PATH_UTF8, true);
		return;
	}
	tx_reset(s);
	memcpy(s->tx.sender, addr, sizeof addr);
	s->tx.utf8 = utf8;
	s->tx.mail_ms = mono_ms();
	s->state = ST_MAIL;
	log_event("mail", "sender", addr, NULL);
	reply(s, 250, "2.1.0", "Ok");
}

/* 1: addr is in the SMTP_RECIPIENTS file (or its domain as @domain),
 * 0: not, -1: the file cannot be read. */
static int recipient_known(const char *file, const char *addr)
{
	const char *dom = addr_domain(addr);
	char line[PATH_MAX_LEN + 64];
	FILE *f = fopen(file, "re");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof line, f)) {
		size_t n = strcspn(line, "\r\n");
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '@')
			found = strcasecmp(line + 1, dom) == 0;
		else
			found = strcasecmp(line, addr) == 0;
	}
	if (ferror(f))
		found = -1;
	fclose(f);
	return found;
}

static bool domain_is_local(const struct config *cfg, const char *domain)
{
	return domain_listed(cfg->domains, cfg->ndomains, domain);
}

/* Relay policy; replies and returns false when the recipient is refused.
 * *relayed: it goes to SMTP_RELAY_DELIVER, not to SMTP_DELIVER. */
static bool rcpt_allowed(struct session *s, const char *addr, bool *relayed)
{
	const char *dom = addr_domain(addr);
	int known;

	*relayed = false;
	if (is_postmaster(addr) && (!*dom || domain_is_local(s->cfg, dom)))
		return true;
	if (!domain_is_local(s->cfg, dom)) {
		if (!s->cfg->relayclient && !s->authenticated)
			return refuse(s, "relay", 554, "5.7.1", "Relay access denied");
		if (!s->cfg->relay_argv[0])
			return refuse(s, "relay not configured", 550, "5.7.1",
				      "Relaying is not configured on this server");
		*relayed = true;
		return true;
	}
	if (!s->cfg->recipients)
		return true;
	known = recipient_known(s->cfg->recipients, addr);
	if (known == 1)
		return true;
	if (known < 0)
		return refuse(s, "recipients file unreadable", 451, "4.3.0",
			      "Temporary recipient lookup failure");
	return refuse(s, "unknown", 550, "5.1.1",
		      "Recipient address rejected: User unknown");
}

/* smtp-deliver files a recipient in $MAILDIR_ROOT/<domain>/<local>/ and
 * refuses (exit 31) the whole message for one it cannot file there.
 * mailbox_check() (mailbox.c) is its rule; applying it here refuses the
 * one recipient instead.  Many such local parts are valid RFC 5321
 * 4.1.2 syntax ('/' is atext, a Quoted-string may hold '\' or start
 * with '.'), hence X.1.3 "bad destination mailbox address syntax" for
 * this system (RFC 3463 3.2), not 501.  Replies and returns false when
 * refused. */
static bool deliverable(struct session *s, const char *addr)
{
	struct mailbox_split split;
	enum mailbox_error e = mailbox_check(addr, &split);

	if (e == MAILBOX_OK)
		return true;
	return refuse(s, mailbox_error_text(e, split.in_domain), 553, "5.1.3",
		      "Recipient address not deliverable here");
}

/* The deliver program files mail case-insensitively (smtp-deliver
 * lower-cases the path), so a recipient given twice in any case is one. */
static bool already_listed(const struct tx *t, const char *addr)
{
	for (size_t i = 0; i < t->nrcpts; i++)
		if (strcasecmp(t->rcpts[i], addr) == 0)
			return true;
	return false;
}

/* Sequence rules (MAIL first, none after BDAT): the command table's. */
void cmd_rcpt(struct session *s, const char *arg,
	      const struct refusal *refused)
{
	char addr[PATH_MAX_LEN + 1];
	const char *params;
	enum path_error e;
	bool relayed;

	(void)refused;
	e = parse_path(arg, "TO:", s->tx.utf8, false, addr, &params);
	if (e == PATH_OK && !utf8_valid((const unsigned char *)addr, strlen(addr)))
		e = PATH_BAD;
	if (e != PATH_OK) {
		path_refused(s, e, false);
		return;
	}
	if (*params) {        /* no DSN (RFC 3461): RCPT takes no parameter */
		refuse(s, "parameter", 555, "5.5.4", "Unsupported parameter");
		return;
	}
	if (s->tx.nrcpts >= s->cfg->max_rcpts) {
		refuse(s, "too many recipients", 452, "4.5.3",
		       "Error: too many recipients");
		return;
	}
	if (!rcpt_allowed(s, addr, &relayed))
		return;
	if (!strchr(addr, '@')) {          /* bare <postmaster> */
		size_t a = strlen(addr), h = strlen(s->cfg->hostname);
		if (a + 1 + h > PATH_MAX_LEN) {
			path_refused(s, PATH_TOOLONG, false);
			return;
		}
		addr[a] = '@';
		memcpy(addr + a + 1, s->cfg->hostname, h + 1);
	}
	if (!relayed && !deliverable(s, addr))
		return;
	if (already_listed(&s->tx, addr)) {  /* one copy per mailbox */
		reply(s, 250, "2.1.5", "Ok");
		return;
	}
	s->tx.rcpts[s->tx.nrcpts] = strdup(addr);
	if (!s->tx.rcpts[s->tx.nrcpts]) {
		refuse(s, "out of memory", 451, "4.3.0", "Out of memory");
		return;
	}
	s->tx.relayed[s->tx.nrcpts] = relayed;
	s->tx.nrcpts++;
	reply(s, 250, "2.1.5", "Ok");
}

/* One line per refused RCPT (commands.c calls it for every RCPT whose
 * reply is 4xx or 5xx): the address as given when it does not parse. */
void rcpt_log_refusal(struct session *s, const char *arg)
{
	char addr[PATH_MAX_LEN + 3], from[PATH_MAX_LEN + 3], code[8];
	const char *params;

	if (parse_path(arg, "TO:", true, false, addr + 1, &params) == PATH_OK) {
		addr[0] = '<';
		strcat(addr, ">");
	} else {
		snprintf(addr, sizeof addr, "%s", arg);
	}
	snprintf(from, sizeof from, "<%s>", s->tx.sender);
	snprintf(code, sizeof code, "%d", s->last.code);
	log_event("rcpt_refused", "client_name", s->remote_host,
		  "helo", s->helo, "from", from, "to", addr,
		  "code", code, "dsn", s->last.enh, "reply", s->last.text,
		  "reason", s->refusal_reason ? s->refusal_reason : "sequence",
		  NULL);
}
