/*
 * message.h - DATA and BDAT: read, spool, hand off, reply (message.c).
 */
#ifndef MESSAGE_H
#define MESSAGE_H

#include "session.h"

void cmd_data(struct session *s, const char *arg,
	      const struct refusal *refused);
void cmd_bdat(struct session *s, const char *arg,
	      const struct refusal *refused);

#endif
