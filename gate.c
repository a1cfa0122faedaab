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
 *	(fail closed for logins).  A Redis store (SMTP_LOCKOUT_REDIS) that
 *	cannot be reached, answers late or refuses is logged with the
 *	reason (lockout_error ... fallback=none|file); with
 *	SMTP_LOCKOUT_REDIS_FALLBACK=file the session then uses
 *	SMTP_LOCKOUT_FILE from that operation on (retried there).  A GeoIP
 *	database that cannot be opened is logged; without it there is no
 *	country ("--") and no country policy.
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

/* Is there a lockout at all (a state file, or a Redis server)? */
static bool lockout_on(const struct config *cfg)
{
	return cfg->lockout_file || cfg->lockout_redis;
}

static struct lockout_policy policy(const struct config *cfg)
{
	return (struct lockout_policy){ cfg->lockout_threshold,
		cfg->lockout_window, cfg->lockout_duration,
		cfg->lockout_v6_prefix };
}

static void open_file(struct session *s)
{
	const struct config *cfg = s->cfg;
	struct lockout_policy pol = policy(cfg);
	char err[512];

	s->lockout_ok = lockout_open(&s->lockout, cfg->lockout_file,
				     cfg->lockout_slots, &pol, err,
				     sizeof err) == 0;
	if (!s->lockout_ok)
		log_event("lockout_error", "error", err, NULL);
}

/* Does a failed Redis store hand over to the state file? */
static const char *fallback(const struct session *s)
{
	return s->cfg->lockout_redis_fallback == FALLBACK_FILE ? "file" : "none";
}

/* SMTP_LOCKOUT_REDIS: connect (the first operation's round trip is the
 * check below); unreachable: the fallback file, or none (then plain
 * mail goes on and AUTH answers 454). */
static void open_store(struct session *s)
{
	const struct config *cfg = s->cfg;
	struct lockout_policy pol = policy(cfg);
	struct lockout_redis_conf rc = { cfg->lockout_redis,
		cfg->lockout_redis_password_file, cfg->lockout_redis_timeout };
	char err[512];

	s->lockout.fd = -1;
	s->lockout.redis = NULL;
	s->lockout_ok = false;
	if (!cfg->lockout_redis) {
		if (cfg->lockout_file)
			open_file(s);
		return;
	}
	s->lockout_ok = lockout_open_redis(&s->lockout, &rc, &pol, err,
					   sizeof err) == 0;
	if (s->lockout_ok)
		return;
	log_event("lockout_error", "error", err, "when", "connect",
		  "fallback", fallback(s), NULL);
	if (cfg->lockout_redis_fallback == FALLBACK_FILE)
		open_file(s);
}

/* An operation returned LOCKOUT_ERROR: logs why (the store's reason, or
 * what).  A Redis store with the file fallback is replaced by the file
 * for the rest of the session; true then: retry the operation there. */
static bool store_failed(struct session *s, const char *what, const char *when)
{
	const char *why = *lockout_error(&s->lockout) ?
			  lockout_error(&s->lockout) : what;

	if (!s->lockout.redis) {
		log_event("lockout_error", "error", why, "when", when, NULL);
		return false;
	}
	log_event("lockout_error", "error", why, "when", when, "fallback",
		  fallback(s), NULL);
	if (s->cfg->lockout_redis_fallback != FALLBACK_FILE)
		return false;
	lockout_close(&s->lockout);
	open_file(s);
	return s->lockout_ok;
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
	do
		r = lockout_check(&s->lockout, lockout_addr(s), &until);
	while (r == LOCKOUT_ERROR &&
	       store_failed(s, "cannot read the state file", when));
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
	if (lockout_on(s->cfg) && !s->lockout_ok)
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
	enum lockout_result r;

	if (!lockout_on(s->cfg))
		return GATE_AUTH_OK;
	if (!s->lockout_ok)
		return GATE_AUTH_TEMPFAIL;
	do
		r = lockout_charge(&s->lockout, lockout_addr(s), &until);
	while (r == LOCKOUT_ERROR &&
	       store_failed(s, "cannot charge an attempt", "verify"));
	switch (r) {
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
	default:                      /* logged by store_failed() */
		return GATE_AUTH_TEMPFAIL;
	}
}

/* Logs a lock that an update set; true when it locked. */
static bool locked_by(enum lockout_result r, time_t until)
{
	char t[32];

	if (r == LOCKOUT_LOCKED) {
		time_text(until, t, sizeof t);
		log_event("lockout", "until", t, NULL);
		return true;
	}
	return false;
}

bool gate_auth_settle(struct session *s, bool failed)
{
	time_t until = 0;
	enum lockout_result r;

	if (!s->lockout_ok)
		return false;
	do
		r = lockout_settle(&s->lockout, lockout_addr(s), failed, &until);
	while (r == LOCKOUT_ERROR &&
	       store_failed(s, "cannot settle an attempt", "settle"));
	return locked_by(r, until);
}

bool gate_auth_failed(struct session *s)
{
	time_t until = 0;
	enum lockout_result r;

	if (!s->lockout_ok)
		return false;
	do
		r = lockout_fail(&s->lockout, lockout_addr(s), &until);
	while (r == LOCKOUT_ERROR &&
	       store_failed(s, "cannot record a failure", "fail"));
	return locked_by(r, until);
}
