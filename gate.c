/*
 * gate.c - who may talk to us: country policy, login lockout, greet delay.
 *
 * SUMMARY
 *	gate_connect() runs before the greeting: the client's country
 *	(geoip.c) goes into every log line; SMTP_COUNTRY_DENY refuses it
 *	(554 5.7.1); a locked-out address is refused (421 4.7.0); then
 *	SMTP_GREET_DELAY seconds pass, and a client that talks before the
 *	greeting is refused (554 5.5.1; RFC 5321 4.3.1 says the client waits).
 *	For AUTH (auth.c): gate_auth_check() before an exchange refuses a
 *	locked address early; gate_auth_charge() before a password is
 *	verified and gate_auth_settle() after the verdict keep the exact
 *	per-address budget of lockout.c (at most SMTP_LOCKOUT_THRESHOLD
 *	verifications per window, however many sessions run at once);
 *	gate_auth_failed() counts a refusal that verified nothing.  A client
 *	whose address is not known is counted as "unknown".
 *
 * DIAGNOSTICS
 *	A lockout store that cannot be opened or is corrupt is logged once;
 *	plain mail goes on (fail open for the MX), AUTH answers 454 4.7.0
 *	(fail closed for logins).  A GeoIP database that cannot be opened is
 *	logged; without it there is no country ("--") and no country policy.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gate.h"
#include "geoip.h"
#include "io.h"
#include "lockout.h"
#include "log.h"
#include "session.h"

static void open_store(struct session *s)
{
	const struct config *cfg = s->cfg;
	struct lockout_policy pol = {
		cfg->lockout_threshold, cfg->lockout_window,
		cfg->lockout_duration, cfg->lockout_v6_prefix,
	};
	char err[512];

	s->lockout.fd = -1;
	s->lockout_ok = false;
	if (!cfg->lockout_file)
		return;
	s->lockout_ok = lockout_open(&s->lockout, cfg->lockout_file,
				     cfg->lockout_slots, &pol, err,
				     sizeof err) == 0;
	if (!s->lockout_ok)
		log_event("lockout_error", "error", err, NULL);
}

static void time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The address the lockout counts: the client's, or LOCKOUT_UNKNOWN for
 * a client whose address is not known (a pipe without TCPREMOTEIP), so
 * that such clients are counted too, all under one key. */
static const char *lockout_addr(const struct session *s)
{
	unsigned char key[16];

	return lockout_key(s->client_ip, s->cfg->lockout_v6_prefix, key)
	       ? s->client_ip : LOCKOUT_UNKNOWN;
}

/* 421 and the end of the session, for a locked address (until set) or
 * one whose budget is spent by verifications in flight (until 0). */
static void refuse_locked(struct session *s, const char *when, time_t until)
{
	char t[32];

	if (until) {
		time_text(until, t, sizeof t);
		log_event("locked_out", "when", when, "until", t, NULL);
	} else {
		log_event("locked_out", "when", when, "reason",
			  "budget in flight", NULL);
	}
	reply(s, 421, "4.7.0", "%s Too many failed logins, try again later",
	      s->cfg->hostname);
	session_end(s, "locked_out");
}

/* Is the client locked out?  Replies 421 and returns LOCKOUT_LOCKED if
 * so; LOCKOUT_ERROR when the store cannot be read (logged). */
static enum lockout_result locked_out(struct session *s, const char *when)
{
	time_t until = 0;
	enum lockout_result r;

	if (!s->lockout_ok)
		return LOCKOUT_OK;
	r = lockout_check(&s->lockout, lockout_addr(s), &until);
	if (r == LOCKOUT_ERROR)
		log_event("lockout_error", "error", "cannot read the state file",
			  "when", when, NULL);
	if (r == LOCKOUT_LOCKED)
		refuse_locked(s, when, until);
	return r;
}

/* Is the ISO code cc in a space/comma separated list? */
static bool country_listed(const char *list, const char *cc)
{
	size_t n = strlen(list);

	for (size_t i = 0; i + 2 <= n; i++)
		if ((i == 0 || strchr(" ,", list[i - 1])) &&
		    (i + 2 == n || strchr(" ,", list[i + 2])) &&
		    list[i] == cc[0] && list[i + 1] == cc[1])
			return true;
	return false;
}

/* RFC 5321 4.3.1: the client waits for the greeting.  Returns false if
 * it talked first. */
static bool greet_delay(struct session *s)
{
	struct pollfd p = { .fd = s->io.in, .events = POLLIN };
	long long end = mono_ms() + (long long)s->cfg->greet_delay * 1000;

	if (s->cfg->greet_delay == 0)
		return true;
	if (!io_input_buffered(&s->io)) {
		int r = poll_until(&p, 1, end);

		if (r <= 0)
			return r == 0;     /* quiet until the end; or an error */
	}
	log_event("pregreet", NULL);
	reply(s, 554, "5.5.1", "%s Error: you talked before the greeting",
	      s->cfg->hostname);
	return false;
}

bool gate_connect(struct session *s)
{
	const struct config *cfg = s->cfg;
	char err[512];

	strcpy(s->country, "--");
	if (cfg->geoip_db) {
		if (geoip_open(cfg->geoip_db, err, sizeof err) < 0)
			log_event("geoip_error", "error", err, NULL);
		else
			geoip_country(s->client_ip, s->country);
	}
	log_context(NULL, NULL, s->country);
	if (cfg->geoip_db && *cfg->country_deny &&
	    country_listed(cfg->country_deny, s->country)) {
		log_event("refused", "reason", "country", NULL);
		reply(s, 554, "5.7.1", "%s Service not available to your network",
		      cfg->hostname);
		return false;
	}
	open_store(s);
	if (locked_out(s, "connect") == LOCKOUT_LOCKED)
		return false;         /* an unreadable store: mail goes on */
	return greet_delay(s);
}

enum gate_auth gate_auth_check(struct session *s)
{
	if (s->cfg->lockout_file && !s->lockout_ok)
		return GATE_AUTH_TEMPFAIL;
	switch (locked_out(s, "auth")) {
	case LOCKOUT_LOCKED:
		return GATE_AUTH_LOCKED;
	case LOCKOUT_ERROR:           /* fail closed for logins */
		return GATE_AUTH_TEMPFAIL;
	default:
		return GATE_AUTH_OK;
	}
}

bool gate_auth_country_ok(const struct session *s)
{
	if (!s->cfg->geoip_db || !*s->cfg->auth_countries)
		return true;
	return country_listed(s->cfg->auth_countries, s->country);
}

enum gate_auth gate_auth_charge(struct session *s)
{
	time_t until = 0;

	if (!s->cfg->lockout_file)
		return GATE_AUTH_OK;
	if (!s->lockout_ok)
		return GATE_AUTH_TEMPFAIL;
	switch (lockout_charge(&s->lockout, lockout_addr(s), &until)) {
	case LOCKOUT_OK:
		return GATE_AUTH_OK;
	case LOCKOUT_LOCKED:
		refuse_locked(s, "verify", until);
		return GATE_AUTH_LOCKED;
	case LOCKOUT_SPENT:
		/* not locked yet, but every guess left is being verified by
		 * another session: this one is not */
		refuse_locked(s, "verify", 0);
		return GATE_AUTH_LOCKED;
	default:
		log_event("lockout_error", "error", "cannot charge an attempt", NULL);
		return GATE_AUTH_TEMPFAIL;
	}
}

/* Logs what a lockout update returned; true when it locked. */
static bool locked_by(enum lockout_result r, time_t until, const char *what)
{
	char t[32];

	if (r == LOCKOUT_LOCKED) {
		time_text(until, t, sizeof t);
		log_event("lockout", "until", t, NULL);
		return true;
	}
	if (r != LOCKOUT_OK)
		log_event("lockout_error", "error", what, NULL);
	return false;
}

bool gate_auth_settle(struct session *s, bool failed)
{
	time_t until = 0;
	enum lockout_result r;

	if (!s->lockout_ok)
		return false;
	r = lockout_settle(&s->lockout, lockout_addr(s), failed, &until);
	return locked_by(r, until, "cannot settle an attempt");
}

bool gate_auth_failed(struct session *s)
{
	time_t until = 0;
	enum lockout_result r;

	if (!s->lockout_ok)
		return false;
	r = lockout_fail(&s->lockout, lockout_addr(s), &until);
	return locked_by(r, until, "cannot record a failure");
}
