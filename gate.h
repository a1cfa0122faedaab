/*
 * gate.h - who may talk to us: country policy, lockout, greet delay (gate.c).
 */
#ifndef GATE_H
#define GATE_H

#include <stdbool.h>
#include "session.h"

enum gate_auth { GATE_AUTH_OK, GATE_AUTH_LOCKED, GATE_AUTH_TEMPFAIL };
/* Before the greeting; false: refused (the reply is sent, end the session). */
bool gate_connect(struct session *s);
/* Before an AUTH exchange: LOCKED has sent 421; TEMPFAIL: answer 454. */
enum gate_auth gate_auth_check(struct session *s);
bool gate_auth_country_ok(const struct session *s);
/* Before a password is verified: charge one attempt to the address's
 * budget (lockout_charge()).  LOCKED has sent 421 (locked, or the budget
 * is spent by verifications in flight); TEMPFAIL: answer 454. */
enum gate_auth gate_auth_charge(struct session *s);
/* After the verdict on a charged attempt; true when this failure locked
 * the address.  A success returns the charge and erases nothing. */
bool gate_auth_settle(struct session *s, bool failed);
/* A refusal that verified no password (malformed message, country):
 * one failure; true when it locked the address. */
bool gate_auth_failed(struct session *s);

#endif
