/*
 * dmarc-store.h - the DMARC evaluation store (dmarc-store.c): one record
 * per message, appended by the verifier (smtp-authres), read by
 * smtp-dmarc-report for RFC 7489 aggregate reports.
 *
 * The store is a directory of one file per UTC day, one line per record;
 * see dmarc-store.c for the format and why it survives concurrent
 * appenders and a crash at any point.
 */
#ifndef DMARC_STORE_H
#define DMARC_STORE_H

#include <stddef.h>

/* The directory: $SMTP_DMARC_DIR, else the state directory's dmarc/. */
#define DMARC_STORE_DIR_VAR	"SMTP_DMARC_DIR"
#define DMARC_STORE_DIR_DEFAULT	"/var/lib/smtp-session/dmarc"

/* $SMTP_DMARC_DIR when set and not empty, else the default. */
const char *dmarc_store_dir(void);

/* Every string is NUL-terminated and may hold any octet but NUL (the
 * store escapes it); NULL is taken as "".  The domains may hold at most
 * DMARC_FIELD_MAX octets each, source_ip DMARC_IP_MAX, the result
 * words DMARC_WORD_MAX.  The two dkim_ lists are cut after the last entry (of
 * both alike) that still fits the line: a message with dozens of
 * signatures keeps the first ones. */
struct dmarc_record {
	long long when;            /* unix seconds */
	const char *source_ip;     /* TCPREMOTEIP */
	const char *header_from;   /* RFC5322.From domain */
	const char *envelope_from; /* RFC5321.MailFrom domain, "" for <> */
	const char *spf_domain, *spf_result;      /* result words of RFC 8601 */
	const char *dkim_domains, *dkim_results;  /* comma-separated, same order */
	const char *dmarc_result;  /* pass, fail, none, temperror, permerror */
	const char *policy;        /* p= found: none, quarantine, reject, or "" */
	const char *disposition;   /* none, quarantine, reject: what we did */
	/* Added for the report's policy_evaluated and policy_published
	 * (RFC 7489 appendix C), which need them; "" (or NULL) when
	 * unknown, and the report then derives what it can. */
	const char *spf_aligned, *dkim_aligned; /* pass or fail (DMARC-aligned) */
	const char *adkim, *aspf;  /* the record's alignment modes: r or s */
	const char *sp;            /* the record's sp= (policy when absent) */
	int pct;                   /* the record's pct=, 0..100; -1 unknown */
};

#define DMARC_FIELD_MAX	255
#define DMARC_WORD_MAX	32
#define DMARC_IP_MAX	46
/* One line, escapes and checksum included, is never longer than this
 * (< PIPE_BUF, and one write(2)). */
#define DMARC_LINE_MAX	4000

/* Appends one record under dir (created if missing); 0 ok, -1 errno set
 * (EINVAL: a field too long, a pct above 100, or a when before 1970 or
 * after 9999). */
int dmarc_store_append(const char *dir, const struct dmarc_record *r);

/* ---- reading (smtp-dmarc-report, tests, fuzz) ---- */

/* Formats r as one line with its newline into buf (cap octets, at least
 * DMARC_LINE_MAX + 1); returns its length, or -1 with errno EINVAL. */
int dmarc_store_format(char *buf, size_t cap, const struct dmarc_record *r);

/* A parsed line: the strings point into the caller's buffer (unescaped
 * in place), valid while it is. */
struct dmarc_parsed {
	struct dmarc_record r;
	char *fields[15];
};

/* Parses one line (len octets, no newline; buf is modified).  Returns
 * 0 for a good record; -1 for a line that is not one (bad checksum,
 * torn, malformed).  A line that holds the torn start of one record
 * followed by a whole record (a crash mid-write, then an append) gives
 * the whole record; *skipped is set to the octets that were not. */
int dmarc_store_parse(char *buf, size_t len, struct dmarc_parsed *p,
		      size_t *skipped);

/* What a read found. */
struct dmarc_read_stats {
	unsigned long records;	/* good records handed to the callback */
	unsigned long bad;	/* lines or parts of lines skipped */
	unsigned long files;	/* day files read */
};

/* Called per good record; a non-zero return stops the read and is
 * returned by it. */
typedef int (*dmarc_record_fn)(const struct dmarc_record *r, void *arg);

/* Reads every record whose when is in [from, to] (unix seconds,
 * inclusive) from the day files of dir that can hold one.  Returns 0,
 * the callback's non-zero value, or -1 with errno (a missing day file is
 * not an error).  st may be NULL. */
int dmarc_store_read(const char *dir, long long from, long long to,
		     dmarc_record_fn fn, void *arg,
		     struct dmarc_read_stats *st);

#endif
