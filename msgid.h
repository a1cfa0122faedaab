/*
 * msgid.h - finds the Message-ID header in a message as it streams by
 *	(msgid.c); a pure function.
 */
#ifndef MSGID_H
#define MSGID_H

#include <stdbool.h>
#include <stddef.h>

#define MSGID_MAX 250              /* longer values are cut (logging only) */

struct msgid_scan {
	int st;                    /* msgid.c's enum */
	char name[16];
	size_t nlen;
	bool capturing;            /* inside Message-ID's value */
	bool done;                 /* found, or past the header section */
	char value[MSGID_MAX + 1]; /* "" until found */
	size_t vlen;
};

void msgid_init(struct msgid_scan *m);
/* Feeds message octets (LF line ends, as data.c decodes them). */
void msgid_feed(struct msgid_scan *m, const char *p, size_t n);
/* The value, folded whitespace as one space, trimmed; "" when none. */
const char *msgid_value(struct msgid_scan *m);

#endif
