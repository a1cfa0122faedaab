/*
 * fuzz_msgid.c - msgid.c (the Message-ID header as the message streams
 *	into the spool) against a whole-buffer reference.
 *
 * INPUT
 *	The first octet picks how the rest is cut into pieces for
 *	msgid_feed(); the rest is the message as data.c decodes it (LF line
 *	ends, any octets).
 *
 * INVARIANTS (abort on violation)
 *	- the value equals the reference's: in the header section (up to the
 *	  first empty line), the first field named Message-ID (any case, the
 *	  name exactly, before its ':') has its value and its continuation
 *	  lines joined, TAB and CR as space, leading and repeated blanks
 *	  dropped, cut at MSGID_MAX octets, trailing blanks trimmed; "" when
 *	  there is none;
 *	- the result never exceeds MSGID_MAX octets; never crashes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../msgid.h"

/* The reference: the whole message at once, written out anew. */
static void reference(const char *m, size_t n, char *out)
{
	size_t i = 0, o = 0;
	int found = 0;

	out[0] = '\0';
	while (i < n && m[i] != '\n') {          /* a line, not the empty one */
		size_t end = i;
		while (end < n && m[end] != '\n')
			end++;
		if (m[i] != ' ' && m[i] != '\t') {
			const char *colon = memchr(m + i, ':', end - i);
			if (found)
				break;           /* the field ended */
			if (colon && colon - (m + i) == 10 &&
			    strncasecmp(m + i, "Message-ID", 10) == 0) {
				found = 1;
				i = (size_t)(colon - m) + 1;
			}
		} else if (found) {
			if (o < MSGID_MAX && o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
		}
		for (; found && i < end; i++) {
			char c = (m[i] == '\t' || m[i] == '\r') ? ' ' : m[i];
			if (c == ' ' && (o == 0 || out[o - 1] == ' '))
				continue;
			if (o < MSGID_MAX)
				out[o++] = c;
		}
		i = end + 1;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct msgid_scan m;
	char ref[MSGID_MAX + 1];
	const char *got;
	size_t step, off = 0;

	if (size == 0)
		return 0;
	step = (size_t)data[0] % 61 + 1;
	data++, size--;
	msgid_init(&m);
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		msgid_feed(&m, (const char *)data + off, n);
		off += n;
		step = step * 5 % 67 + 1;
	}
	got = msgid_value(&m);
	reference((const char *)data, size, ref);
	if (strlen(got) > MSGID_MAX || strcmp(got, ref) != 0) {
		fprintf(stderr, "got [%s]\nref [%s]\n", got, ref);
		abort();
	}
	return 0;
}
