/*
 * mailbox.c - can smtp-deliver file this recipient? (a pure function)
 *
 * SUMMARY
 *	smtp-deliver(8) files a recipient under $MAILDIR_ROOT/<domain>/
 *	<local>/, the address split at its LAST '@' (a quoted local part
 *	may hold '@', a domain never does).  Each part becomes exactly one
 *	directory name, so it must not be able to name anything else.
 *	mailbox_check() refuses a part that is empty; starts with '.'
 *	(this covers "." and "..", and keeps Maildir++ dot-folders out of
 *	reach); holds '/', '\' or a control octet (below 0x20, and 0x7f).
 *	Octets above 0x7f (RFC 6531 SMTPUTF8) are allowed.
 *
 *	smtp-deliver refuses such a recipient with exit 31 (11 when a part
 *	is too long); smtp-session's RCPT (envelope.c) refuses it with
 *	553 5.1.3, so one bad recipient cannot fail a whole message.  Many
 *	of these are valid RFC 5321 4.1.2 local parts: '/' is atext, and a
 *	Quoted-string may hold '\', a leading dot, anything printable.
 *	The local part is checked before the domain; within a part, the
 *	first rule broken in the order above is reported.
 *
 * LIMITS
 *	addr is a NUL-terminated string: a NUL ends it (in smtp-deliver's
 *	envelope it ends the address).  Each part is at most
 *	MAILBOX_PART_MAX (255, NAME_MAX) octets.  No allocation, no state.
 *
 * DIAGNOSTICS
 *	enum mailbox_error; out->in_domain tells which part a refusal is
 *	about, out->local_len where the last '@' is (also on MAILBOX_OK).
 *	mailbox_error_text() gives a short phrase for logs, e.g.
 *	"local part contains '/'"; the caller chooses the reply or exit.
 */
#include <string.h>

#include "mailbox.h"

/* mailbox_error_text() spells the limit out. */
_Static_assert(MAILBOX_PART_MAX == 255, "update mailbox_error_text()");

static enum mailbox_error check_part(const char *p, size_t n)
{
	if (n == 0)
		return MAILBOX_EMPTY;
	if (n > MAILBOX_PART_MAX)
		return MAILBOX_TOOLONG;
	if (p[0] == '.')
		return MAILBOX_DOT;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '/')
			return MAILBOX_SLASH;
		if (c == '\\')
			return MAILBOX_BACKSLASH;
		if (c < 0x20 || c == 0x7f)
			return MAILBOX_CONTROL;
	}
	return MAILBOX_OK;
}

enum mailbox_error mailbox_check(const char *addr, struct mailbox_split *out)
{
	const char *at = strrchr(addr, '@');
	enum mailbox_error e;

	out->local_len = 0;
	out->in_domain = false;
	if (at == NULL)
		return MAILBOX_NO_AT;
	out->local_len = (size_t)(at - addr);
	e = check_part(addr, out->local_len);
	if (e != MAILBOX_OK)
		return e;
	e = check_part(at + 1, strlen(at + 1));
	out->in_domain = e != MAILBOX_OK;
	return e;
}

const char *mailbox_error_text(enum mailbox_error e, bool in_domain)
{
	static const char *const text[][2] = {
		[MAILBOX_OK]        = { "ok", "ok" },
		[MAILBOX_NO_AT]     = { "address has no '@'",
					"address has no '@'" },
		[MAILBOX_EMPTY]     = { "empty local part", "empty domain part" },
		[MAILBOX_TOOLONG]   = { "local part longer than 255 octets",
					"domain part longer than 255 octets" },
		[MAILBOX_DOT]       = { "local part starts with a dot",
					"domain part starts with a dot" },
		[MAILBOX_SLASH]     = { "local part contains '/'",
					"domain part contains '/'" },
		[MAILBOX_BACKSLASH] = { "local part contains a backslash",
					"domain part contains a backslash" },
		[MAILBOX_CONTROL]   = { "local part contains a control character",
					"domain part contains a control character" },
	};

	if ((unsigned)e >= sizeof text / sizeof text[0])
		return "unknown error";
	return text[e][in_domain ? 1 : 0];
}
