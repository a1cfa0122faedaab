/*
 * escape.h - a value made safe for a log line (escape.c).
 */
#ifndef ESCAPE_H
#define ESCAPE_H

#include <stddef.h>

/* Copies len octets of src into dst (cap bytes; always NUL-terminated
 * when cap > 0).  Octets below 0x20, from 0x7f up, the backslash and
 * the octet also (0: none) become \xHH (lower-case hex).  Stops before an
 * octet whose text would not fit.  Returns how many octets of src were
 * copied (len when all fit). */
size_t escape_text(char *dst, size_t cap, const char *src, size_t len,
		   char also);

#endif
