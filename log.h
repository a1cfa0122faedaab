/*
 * log.h - one line per event on stderr, or journal fields (log.c).
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>

void log_init(const char *progname, const char *log_mode);
void log_context(const char *id, const char *client, const char *country);
/* event, then key/value string pairs, NULL-terminated.  Values are
 * escaped: anything outside printable ASCII, '\\' and '"' become \xHH;
 * a value with a space is written in double quotes. */
void log_event(const char *event, ...);
/* A free-text line (configuration problems, internal errors). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
