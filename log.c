/*
 * log.c - one line per event, on stderr or as journal fields.
 *
 * SUMMARY
 *	log_event("accept", "sender", s, "rcpts", "2", NULL) writes
 *	   smtp-session[pid]: accept id=... client=... country=-- sender=s rcpts=2
 *	to stderr, or, when stderr is the journal (JOURNAL_STREAM matches
 *	fd 2, systemd.exec(5)), sends the same as structured fields
 *	SMTP_EVENT=accept SMTP_ID=... SMTP_CLIENT=... SMTP_SENDER=s ...
 *	with MESSAGE= the readable line.  The journal's native protocol is
 *	one datagram of "FIELD=value\n" lines to JOURNAL_SOCKET
 *	(systemd-journald.service(8), "Native Protocol"); we speak it
 *	directly instead of linking libsystemd, whose six dependent libraries
 *	(libgcrypt, libzstd, liblzma, ...) every connection would pay to load.
 *	Our values never hold a newline (they are escaped), so the simple
 *	form of the protocol suffices.
 *
 * LIMITS
 *	A line is at most LOG_LINE_MAX octets; a longer value is cut.  Every
 *	value is escaped (escape_text(), escape.c, and the double quote), so
 *	nothing the client sent can forge a line or a field.
 *
 * DIAGNOSTICS
 *	None: logging never fails the session.  Without journald the
 *	datagram is refused and the line goes to stderr instead; a short
 *	stderr write is ignored.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "escape.h"
#include "log.h"
#include "writeall.h"

#define LOG_LINE_MAX  2048
#define LOG_VALUE_MAX 512
#define LOG_FIELDS    24

#ifndef JOURNAL_SOCKET
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#endif

static struct {
	const char *prog;
	bool journal;
	char id[40], client[80], country[8];
} lg = { "smtp-session", false, "-", "unknown", "--" };

/* systemd.exec(5): compare device and inode, not just presence. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, const char *mode)
{
	const char *slash = progname ? strrchr(progname, '/') : NULL;

	if (progname)
		lg.prog = slash ? slash + 1 : progname;
	if (mode && strcmp(mode, "journal") == 0)
		lg.journal = true;
	else if (mode && strcmp(mode, "stderr") == 0)
		lg.journal = false;
	else
		lg.journal = stderr_is_journal();
}

/* A value as logged: escape.c's rule, and the double quote, which
 * delimits a value with a space. */
static void value(char *dst, size_t cap, const char *src)
{
	(void)escape_text(dst, cap, src, strlen(src), '"');
}

void log_context(const char *id, const char *client, const char *country)
{
	if (id)
		value(lg.id, sizeof lg.id, id);
	if (client)
		value(lg.client, sizeof lg.client, client);
	if (country)
		value(lg.country, sizeof lg.country, country);
}

static void append(char *line, size_t *len, const char *s)
{
	size_t n = strlen(s);

	if (*len + n >= LOG_LINE_MAX - 1)
		n = LOG_LINE_MAX - 2 - *len;
	memcpy(line + *len, s, n);
	*len += n;
	line[*len] = '\0';
}

static void emit_stderr(const char *text, size_t textlen)
{
	char line[LOG_LINE_MAX + 64];
	int n = snprintf(line, sizeof line, "%s[%ld]: %.*s\n", lg.prog,
			 (long)getpid(), (int)textlen, text);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;

	(void)write_all(2, line, len);
}

/* "sender" -> "SMTP_SENDER=" */
static void field_name(char *dst, size_t cap, const char *key)
{
	size_t o = (size_t)snprintf(dst, cap, "SMTP_");

	for (; *key && o + 2 < cap; key++)
		dst[o++] = (char)toupper((unsigned char)*key);
	dst[o++] = '=';
	dst[o] = '\0';
}

static void add_field(char *buf, size_t *len, size_t cap, const char *name,
		      const char *value)
{
	int n = snprintf(buf + *len, cap - *len, "%s%s\n", name, value);

	if (n > 0 && (size_t)n < cap - *len)
		*len += (size_t)n;
}

/* syslog(3) priority of an event: warnings for refusals and failures,
 * so `journalctl -p warning` shows what an admin should look at. */
static int priority(const char *event, const char *keys[],
		    char vals[][LOG_VALUE_MAX], size_t n)
{
	static const char *const warnings[] = {
		"auth_limit", "config_error", "deliver_failed", "geoip_error",
		"locked_out", "lockout", "lockout_error", "not_delivered", "pregreet",
		"record_error", "refused",
		"spool_error", "tls_error", NULL,
	};

	for (size_t i = 0; warnings[i]; i++)
		if (strcmp(event, warnings[i]) == 0)
			return LOG_WARNING;
	for (size_t i = 0; i < n; i++)     /* a failed AUTH */
		if (strcmp(keys[i], "result") == 0 && strcmp(vals[i], "failed") == 0)
			return LOG_WARNING;
	return LOG_INFO;
}

/* Returns false when journald did not take the datagram. */
static bool emit_journal(const char *event, const char *msg,
			 const char *keys[], char vals[][LOG_VALUE_MAX], size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[LOG_LINE_MAX * 3];
	size_t len = 0;
	char prio[4];
	bool sent;
	int fd;

	snprintf(prio, sizeof prio, "%d", priority(event, keys, vals, n));
	add_field(buf, &len, sizeof buf, "MESSAGE=", msg);
	add_field(buf, &len, sizeof buf, "PRIORITY=", prio);
	/* syslog(3)'s LOG_MAIL: rsyslog's mail.* files it in mail.log */
	add_field(buf, &len, sizeof buf, "SYSLOG_FACILITY=", "2");
	add_field(buf, &len, sizeof buf, "SYSLOG_IDENTIFIER=", lg.prog);
	add_field(buf, &len, sizeof buf, "SMTP_EVENT=", event);
	add_field(buf, &len, sizeof buf, "SMTP_ID=", lg.id);
	add_field(buf, &len, sizeof buf, "SMTP_CLIENT=", lg.client);
	add_field(buf, &len, sizeof buf, "SMTP_COUNTRY=", lg.country);
	for (size_t i = 0; i < n; i++) {
		char name[48];
		field_name(name, sizeof name, keys[i]);
		add_field(buf, &len, sizeof buf, name, vals[i]);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", JOURNAL_SOCKET);
	/* never wait for a stuck journald: the line goes to stderr instead */
	sent = sendto(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT,
		      (struct sockaddr *)&sa,
		      sizeof sa) == (ssize_t)len;
	close(fd);
	return sent;
}

void log_event(const char *event, ...)
{
	const char *keys[LOG_FIELDS];
	char vals[LOG_FIELDS][LOG_VALUE_MAX];
	char line[LOG_LINE_MAX];
	size_t n = 0, len = 0;
	va_list ap;

	line[0] = '\0';
	append(line, &len, event);
	append(line, &len, " id=");
	append(line, &len, lg.id);
	append(line, &len, " client=");
	append(line, &len, lg.client);
	append(line, &len, " country=");
	append(line, &len, lg.country);

	va_start(ap, event);
	for (const char *k; (k = va_arg(ap, const char *)) != NULL;) {
		const char *v = va_arg(ap, const char *);
		if (n == LOG_FIELDS)
			continue;
		if (!v)
			v = "";
		keys[n] = k;
		value(vals[n], sizeof vals[n], v);
		append(line, &len, " ");
		append(line, &len, k);
		append(line, &len, strchr(vals[n], ' ') ? "=\"" : "=");
		append(line, &len, vals[n]);
		if (strchr(vals[n], ' '))
			append(line, &len, "\"");
		n++;
	}
	va_end(ap);

	if (!lg.journal || !emit_journal(event, line, keys, vals, n))
		emit_stderr(line, len);
}

void log_msg(const char *fmt, ...)
{
	char text[LOG_LINE_MAX / 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	log_event("notice", "text", text, NULL);
}
