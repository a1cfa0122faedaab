/*
 * envelope.h - MAIL and RCPT (envelope.c).
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include "session.h"

void cmd_mail(struct session *s, const char *arg,
	      const struct refusal *refused);
void cmd_rcpt(struct session *s, const char *arg,
	      const struct refusal *refused);
/* The log line of a refused RCPT, after its reply (s->last). */
void rcpt_log_refusal(struct session *s, const char *arg);

#endif
