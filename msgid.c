/*
 * msgid.c - the Message-ID header of a message, found while it streams
 *	into the spool, for the log (RFC 5322 3.6.4).
 *
 * SUMMARY
 *	A small state machine over the header section (up to the first
 *	empty line): a field whose name is "Message-ID" in any case has its
 *	value captured, continuation lines (RFC 5322 2.2.3) included as one
 *	space.  The first such field counts.  The value is not parsed: it is
 *	logged, escaped, as the client sent it.
 *
 * LIMITS
 *	MSGID_MAX octets of the value; field names longer than 15 octets are
 *	not Message-ID.  Pure: no allocation, no I/O.  fuzz_msgid compares
 *	it with a whole-buffer reference.
 */
#include <strings.h>
#include <string.h>

#include "msgid.h"

enum { LINE_START, IN_NAME, IN_VALUE, IN_OTHER };

void msgid_init(struct msgid_scan *m)
{
	memset(m, 0, sizeof *m);
	m->st = LINE_START;
}

static void add_value(struct msgid_scan *m, char c)
{
	if (c == '\t' || c == '\r')
		c = ' ';
	if (c == ' ' && (m->vlen == 0 || m->value[m->vlen - 1] == ' '))
		return;                /* leading or repeated blank */
	if (m->vlen < MSGID_MAX)
		m->value[m->vlen++] = c;
}

/* A line that does not continue the field ends its value. */
static void line_start(struct msgid_scan *m, char c)
{
	if (c == ' ' || c == '\t') {
		if (m->capturing) {
			m->st = IN_VALUE;
			add_value(m, ' ');
		} else {
			m->st = IN_OTHER;
		}
		return;
	}
	if (m->capturing || c == '\n') {   /* the value ended, or the body began */
		m->done = true;
		return;
	}
	m->st = IN_NAME;
	m->nlen = 0;
	m->name[m->nlen++] = c;
}

static void in_name(struct msgid_scan *m, char c)
{
	if (c == '\n') {
		m->st = LINE_START;
	} else if (c == ':') {
		m->capturing = m->nlen == 10 && strncasecmp(m->name, "Message-ID", 10) == 0;
		m->st = m->capturing ? IN_VALUE : IN_OTHER;
	} else if (m->nlen < sizeof m->name) {
		m->name[m->nlen++] = c;
	} else {
		m->st = IN_OTHER;      /* too long to be Message-ID */
	}
}

void msgid_feed(struct msgid_scan *m, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !m->done; i++) {
		char c = p[i];

		switch (m->st) {
		case LINE_START:
			line_start(m, c);
			break;
		case IN_NAME:
			in_name(m, c);
			break;
		case IN_VALUE:
			if (c == '\n')
				m->st = LINE_START;
			else
				add_value(m, c);
			break;
		default:
			if (c == '\n')
				m->st = LINE_START;
			break;
		}
	}
}

const char *msgid_value(struct msgid_scan *m)
{
	if (!m->capturing)
		return "";
	while (m->vlen > 0 && m->value[m->vlen - 1] == ' ')
		m->vlen--;
	m->value[m->vlen] = '\0';
	return m->value;
}
