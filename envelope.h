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

#endif
