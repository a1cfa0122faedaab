/*
 * escape.c - the one escaper: a value made safe for a log line; a pure
 *	function, linked into smtp-session (log.c: every logged value) and
 *	smtp-deliver (addresses and paths in its stderr line).
 *
 * SUMMARY
 *	Control octets, DEL and everything above 0x7f, the backslash, and
 *	whatever the caller adds (log.c: the double quote, which delimits a
 *	value with a space) are written as \xHH.  So nothing the client sent
 *	can start a new log line, forge a field, or reach a terminal as a
 *	control sequence, and the text stays reversible.
 *
 * LIMITS
 *	The output never exceeds cap; an octet is written whole (never half
 *	of an \xHH) or not at all, and the caller learns where it stopped.
 */
#include "escape.h"

size_t escape_text(char *dst, size_t cap, const char *src, size_t len,
		   char also)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (cap == 0)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' &&
		    (also == 0 || c != (unsigned char)also)) {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return i;
}
