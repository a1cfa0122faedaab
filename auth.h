/*
 * auth.h - SMTP AUTH, RFC 4954 (auth.c).
 */
#ifndef AUTH_H
#define AUTH_H

#include <stdbool.h>
#include "config.h"
#include "session.h"

/* EHLO lists AUTH PLAIN LOGIN and MAIL takes AUTH=: SMTP_AUTH is not off
 * and TLS is active or SMTP_AUTH_PLAINTEXT=1. */
bool auth_offered(const struct session *s);
void cmd_auth(struct session *s, const char *arg,
	      const struct refusal *refused);
/* --check-config: each distinct hash setting in SMTP_PASSWD must verify
 * within half of SMTP_AUTH_FAIL_DELAY; reports and counts those that do
 * not. */
int auth_check_costs(const struct config *cfg, void (*report)(const char *));

#endif
