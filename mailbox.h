/*
 * mailbox.h - which recipient addresses smtp-deliver can file (mailbox.c).
 *
 * One rule, linked into both smtp-session (RCPT, envelope.c) and
 * smtp-deliver: a recipient the session accepts is one the deliver
 * program can turn into $MAILDIR_ROOT/<domain>/<local>/.
 */
#ifndef MAILBOX_H
#define MAILBOX_H

#include <stdbool.h>
#include <stddef.h>

/* A part becomes one directory name: NAME_MAX. */
#define MAILBOX_PART_MAX 255

enum mailbox_error {
	MAILBOX_OK,
	MAILBOX_NO_AT,		/* no '@' at all */
	MAILBOX_EMPTY,		/* a part is empty */
	MAILBOX_TOOLONG,	/* a part is over MAILBOX_PART_MAX octets */
	MAILBOX_DOT,		/* a part starts with '.' */
	MAILBOX_SLASH,		/* a part holds '/' */
	MAILBOX_BACKSLASH,	/* a part holds '\' */
	MAILBOX_CONTROL,	/* a part holds an octet < 0x20 or 0x7f */
};

struct mailbox_split {
	size_t local_len;	/* the local part: addr[0 .. local_len) */
	bool in_domain;		/* the refusal is about the domain part */
};

enum mailbox_error mailbox_check(const char *addr, struct mailbox_split *out);
const char *mailbox_error_text(enum mailbox_error e, bool in_domain);

#endif
