/*
 * dmarc-store.c - the DMARC evaluation store: one line per message in
 * one file per UTC day, appended by many processes, read by
 * smtp-dmarc-report.
 *
 * SUMMARY
 *	dir/YYYY-MM-DD (the UTC day of the record's time) holds lines
 *
 *	  !1 WHEN IP HFROM EFROM SPFDOM SPFRES DKIMDOMS DKIMRES DMARC POLICY
 *	     DISP SPFALIGNED DKIMALIGNED ADKIM ASPF SP PCT CRC
 *
 *	on one line, separated by one space (PCT is empty when unknown).  Each field is escaped: octets other than
 *	A-Z a-z 0-9 . - _ : @ + , = / become %XX, so a field never holds
 *	a space, a newline, a '%' of its own or a '!', and a hostile domain
 *	cannot forge a field, a record or a checksum.  CRC is the CRC-32
 *	(IEEE 802.3) of the line from '!' up to the space before it, in
 *	eight lower-case hex digits.
 *
 * WHY IT IS SAFE
 *	Concurrent appenders: the whole line (< DMARC_LINE_MAX octets,
 *	below PIPE_BUF) is one write(2) to a file opened O_APPEND.  Linux
 *	file systems take the inode lock for the whole of such a write and
 *	place it at the end of file under it, so two lines never
 *	interleave (the test appends 20 x 200 records concurrently).  No
 *	lock file, no rename, nothing to clean up.  This holds for local
 *	file systems (ext4, xfs, btrfs, tmpfs), not for NFS, whose O_APPEND
 *	is emulated by the client: keep the store on a local disk.
 *	A crash at any point: before the write, nothing; during it (a
 *	full disk, a power loss), a torn line with no valid checksum.  The
 *	next append may then land on the torn line's end; the reader parses
 *	from the last '!' of a line (a field never holds one), so that
 *	record is kept and only the torn part is skipped and counted.
 *	Lines are not fsync()ed: a record lost to a power failure only
 *	lowers a report's counts.
 *
 * LIMITS
 *	See dmarc-store.h: domains 255 octets, the address 46, the other
 *	fields 32, the dkim lists cut to fit.  A reader line buffer holds two lines (a torn
 *	one and a whole one); a longer line keeps only its end.  A report
 *	period is at most DAYS_MAX days.
 *
 * DIAGNOSTICS
 *	-1 with errno: EINVAL (a field too long, a time out of range),
 *	and those of mkdir(2), open(2), write(2), read(2); a short write
 *	gives ENOSPC (the torn line is skipped by every reader).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dmarc-store.h"

#define NFIELDS	15		/* the strings after WHEN */
#define NTOKENS	(NFIELDS + 4)	/* MAGIC WHEN strings PCT CRC */
#define MAGIC	"!1 "
#define WHEN_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */
#define DAYS_MAX 3660

_Static_assert(DMARC_LINE_MAX < PIPE_BUF, "one line is one atomic write");

const char *dmarc_store_dir(void)
{
	const char *d = getenv(DMARC_STORE_DIR_VAR);

	return d && *d ? d : DMARC_STORE_DIR_DEFAULT;
}

/* ---- CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) ---- */

static uint32_t crc32_of(const char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c = 0xffffffffu;

	if (table[1] == 0) {	/* filled once; each process its own */
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
	}
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ (unsigned char)p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* ---- writing ---- */

static int plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr(".-_:@+,=/", c));
}

/* The escaped length of n octets of s. */
static size_t esc_len(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += plain((unsigned char)s[i]) ? 1 : 3;
	return k;
}

/* Appends the escaped n octets of s at buf[*len] (room checked by the
 * caller with esc_len()). */
static void esc_put(char *buf, size_t *len, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (plain(c)) {
			buf[(*len)++] = (char)c;
		} else {
			buf[(*len)++] = '%';
			buf[(*len)++] = hex[c >> 4];
			buf[(*len)++] = hex[c & 15];
		}
	}
}

static const char *str(const char *s)
{
	return s ? s : "";
}

/* The length of the first comma-separated entry of s. */
static size_t entry_len(const char *s)
{
	return strcspn(s, ",");
}

/* Appends the two dkim lists, entry by entry of both alike, as long as
 * the line keeps room for the rest (tail octets). */
static void put_dkim(char *buf, size_t *len, size_t cap, const char *doms,
		     const char *res, size_t tail)
{
	size_t dl = 0, rl = 0, dn = 0, rn = 0;	/* escaped, raw lengths */

	for (;;) {
		const char *d = doms + dn, *r = res + rn;
		size_t de = entry_len(d), re = entry_len(r);
		size_t dc = dn ? 1 : 0, rc = rn ? 1 : 0;	/* commas */

		if (!*d && !*r)
			break;
		if (*len + dl + dc + esc_len(d, de) + 1 + rl + rc +
		    esc_len(r, re) + tail > cap)
			break;
		dl += dc + esc_len(d, de);
		rl += rc + esc_len(r, re);
		dn += de + (d[de] == ',');
		rn += re + (r[re] == ',');
	}
	/* Now write them: dn and rn raw octets of each list (the commas
	 * are plain octets, so escaping the whole prefix is the same). */
	if (dn > 0 && doms[dn - 1] == ',')
		dn--;
	if (rn > 0 && res[rn - 1] == ',')
		rn--;
	esc_put(buf, len, doms, dn);
	buf[(*len)++] = ' ';
	esc_put(buf, len, res, rn);
	buf[(*len)++] = ' ';
}

/* The record's strings in line order, and their limits. */
static void record_fields(const struct dmarc_record *r, const char **f)
{
	const char *v[NFIELDS] = {
		r->source_ip, r->header_from, r->envelope_from, r->spf_domain,
		r->spf_result, r->dkim_domains, r->dkim_results,
		r->dmarc_result, r->policy, r->disposition, r->spf_aligned,
		r->dkim_aligned, r->adkim, r->aspf, r->sp,
	};

	for (int i = 0; i < NFIELDS; i++)
		f[i] = str(v[i]);
}

static const size_t field_max[NFIELDS] = {
	DMARC_IP_MAX, DMARC_FIELD_MAX, DMARC_FIELD_MAX, DMARC_FIELD_MAX,
	DMARC_WORD_MAX, SIZE_MAX, SIZE_MAX, DMARC_WORD_MAX, DMARC_WORD_MAX,
	DMARC_WORD_MAX, DMARC_WORD_MAX, DMARC_WORD_MAX, DMARC_WORD_MAX,
	DMARC_WORD_MAX, DMARC_WORD_MAX,
};
#define DKIM_DOMS 5	/* the two lists: fields 5 and 6 */

int dmarc_store_format(char *buf, size_t cap, const struct dmarc_record *r)
{
	const char *f[NFIELDS];
	char pct[8] = "";
	size_t len, tail;
	int n;

	record_fields(r, f);
	if (cap < DMARC_LINE_MAX + 1 || r->when < 0 || r->when > WHEN_MAX ||
	    r->pct > 100)
		goto inval;
	if (r->pct >= 0)
		snprintf(pct, sizeof pct, "%d", r->pct);
	/* after the lists: the other fields, PCT, " CRC\n" */
	tail = strlen(pct) + 1 + 9;
	for (int i = 0; i < NFIELDS; i++) {
		if (strlen(f[i]) > field_max[i])
			goto inval;
		if (i > DKIM_DOMS + 1)
			tail += esc_len(f[i], strlen(f[i])) + 1;
	}
	cap = DMARC_LINE_MAX;
	n = snprintf(buf, cap, MAGIC "%lld ", r->when);
	len = (size_t)n;
	for (int i = 0; i < DKIM_DOMS; i++) {
		esc_put(buf, &len, f[i], strlen(f[i]));
		buf[len++] = ' ';
	}
	put_dkim(buf, &len, cap, f[DKIM_DOMS], f[DKIM_DOMS + 1], tail);
	for (int i = DKIM_DOMS + 2; i < NFIELDS; i++) {
		esc_put(buf, &len, f[i], strlen(f[i]));
		buf[len++] = ' ';
	}
	memcpy(buf + len, pct, strlen(pct));
	len += strlen(pct);
	buf[len++] = ' ';
	n = snprintf(buf + len, 10, "%08x\n", (unsigned)crc32_of(buf, len - 1));
	return (int)len + n;
inval:
	errno = EINVAL;
	return -1;
}

/* dir/YYYY-MM-DD of the UTC day of when. */
static int day_path(char *path, size_t cap, const char *dir, long long when)
{
	time_t t = (time_t)when;
	struct tm tm;
	int n;

	if (!gmtime_r(&t, &tm))
		return -1;
	n = snprintf(path, cap, "%s/%04d-%02d-%02d", dir, tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int open_day(const char *path, const char *dir)
{
	int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
	int fd = open(path, flags, 0640);

	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0750) < 0 && errno != EEXIST)
			return -1;
		fd = open(path, flags, 0640);
	}
	return fd;
}

int dmarc_store_append(const char *dir, const struct dmarc_record *r)
{
	char line[DMARC_LINE_MAX + 1], path[PATH_MAX];
	int len = dmarc_store_format(line, sizeof line, r);
	ssize_t w;
	int fd, e;

	if (len < 0 || day_path(path, sizeof path, dir, r->when) < 0)
		return -1;
	fd = open_day(path, dir);
	if (fd < 0)
		return -1;
	/* One write: EINTR before anything is written is the only retry
	 * (a regular file is not interrupted mid-write). */
	do
		w = write(fd, line, (size_t)len);
	while (w < 0 && errno == EINTR);
	e = w < 0 ? errno : ENOSPC;
	if (close(fd) < 0 && w == len) {
		w = -1;
		e = errno;
	}
	if (w == len)
		return 0;
	errno = e;
	return -1;
}

/* ---- reading ---- */

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescapes the NUL-terminated s in place; -1 when it is not what
 * esc_put() writes (a plain octet escaped, a lower-case or bad %XX, a
 * NUL), so each record has one spelling. */
static int unescape(char *s)
{
	char *w = s;

	for (char *p = s; *p; p++) {
		if (*p != '%') {
			if (!plain((unsigned char)*p))
				return -1;
			*w++ = *p;
			continue;
		}
		int hi = unhex(p[1]), lo = hi < 0 ? -1 : unhex(p[2]);

		if (lo < 0 || (hi == 0 && lo == 0) ||
		    plain((unsigned char)(hi << 4 | lo)))
			return -1;
		*w++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*w = '\0';
	return 0;
}

/* A decimal without a leading zero, at most max. */
static int parse_num(const char *s, long long max, long long *v)
{
	long long n = 0;

	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 12)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
	}
	if (n > max)
		return -1;
	*v = n;
	return 0;
}

static void point_record(struct dmarc_parsed *p)
{
	struct dmarc_record *r = &p->r;
	const char **v[NFIELDS] = {
		&r->source_ip, &r->header_from, &r->envelope_from,
		&r->spf_domain, &r->spf_result, &r->dkim_domains,
		&r->dkim_results, &r->dmarc_result, &r->policy,
		&r->disposition, &r->spf_aligned, &r->dkim_aligned,
		&r->adkim, &r->aspf, &r->sp,
	};

	for (int i = 0; i < NFIELDS; i++)
		*v[i] = p->fields[i];
}

/* Parses the record that starts at s (MAGIC) and ends at s + n. */
static int parse_record(char *s, size_t n, struct dmarc_parsed *p)
{
	char *tok[NTOKENS];
	size_t nt = 0;
	char *q = s, *end = s + n;
	char crc[9];
	long long pct;

	if (n < 3 + 9 || memcmp(s, MAGIC, 3) != 0)
		return -1;
	/* the checksum: eight hex digits after the last space */
	if (end[-9] != ' ')
		return -1;
	snprintf(crc, sizeof crc, "%08x", (unsigned)crc32_of(s, n - 9));
	if (memcmp(crc, end - 8, 8) != 0)
		return -1;
	while (nt < NTOKENS) {
		char *sp = memchr(q, ' ', (size_t)(end - q));

		tok[nt++] = q;
		if (!sp)
			break;
		*sp = '\0';
		q = sp + 1;
	}
	/* exactly the fields, and the checksum as the last token */
	if (nt != NTOKENS || tok[NTOKENS - 1] != end - 8)
		return -1;
	if (parse_num(tok[1], WHEN_MAX, &p->r.when) < 0)
		return -1;
	for (int i = 0; i < NFIELDS; i++) {
		if (unescape(tok[i + 2]) < 0)
			return -1;
		p->fields[i] = tok[i + 2];
	}
	p->r.pct = -1;
	if (*tok[NTOKENS - 2]) {
		if (parse_num(tok[NTOKENS - 2], 100, &pct) < 0)
			return -1;
		p->r.pct = (int)pct;
	}
	point_record(p);
	return 0;
}

int dmarc_store_parse(char *buf, size_t len, struct dmarc_parsed *p,
		      size_t *skipped)
{
	char *m = NULL;

	/* the last '!': only a record's start holds one (see SUMMARY) */
	for (size_t i = len; i > 0; i--) {
		if (buf[i - 1] == '!') {
			m = buf + i - 1;
			break;
		}
	}
	if (!m || parse_record(m, len - (size_t)(m - buf), p) < 0) {
		*skipped = len;
		return -1;
	}
	*skipped = (size_t)(m - buf);
	return 0;
}

struct reader {
	char buf[2 * DMARC_LINE_MAX + 2];
	size_t len;
	int overflow;		/* the line's start was dropped */
	long long from, to;
	dmarc_record_fn fn;
	void *arg;
	struct dmarc_read_stats *st;
};

/* One whole line (no newline) in rd->buf[0..len). */
static int line(struct reader *rd, size_t len)
{
	struct dmarc_parsed p;
	size_t skipped;

	if (len == 0 && !rd->overflow)
		return 0;
	if (dmarc_store_parse(rd->buf, len, &p, &skipped) < 0) {
		rd->st->bad++;
		return 0;
	}
	if (skipped > 0 || rd->overflow)
		rd->st->bad++;
	if (p.r.when < rd->from || p.r.when > rd->to)
		return 0;
	rd->st->records++;
	return rd->fn(&p.r, rd->arg);
}

static int read_fd(struct reader *rd, int fd)
{
	char in[65536];
	ssize_t n;
	int rc;

	rd->len = 0;
	rd->overflow = 0;
	while ((n = read(fd, in, sizeof in)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == '\n') {
				if ((rc = line(rd, rd->len)) != 0)
					return rc;
				rd->len = 0;
				rd->overflow = 0;
				continue;
			}
			if (rd->len == sizeof rd->buf) {
				/* keep the second half: a record ends a line */
				memmove(rd->buf, rd->buf + sizeof rd->buf / 2,
					sizeof rd->buf / 2);
				rd->len = sizeof rd->buf / 2;
				rd->overflow = 1;
			}
			rd->buf[rd->len++] = in[i];
		}
	}
	/* no newline at the end: a torn last line (a writer may still be
	 * writing it; it is counted, not read) */
	if (rd->len > 0)
		rd->st->bad++;
	return 0;
}

int dmarc_store_read(const char *dir, long long from, long long to,
		     dmarc_record_fn fn, void *arg,
		     struct dmarc_read_stats *st)
{
	struct dmarc_read_stats dummy;
	struct reader *rd;
	char path[PATH_MAX];
	int rc = 0;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof *st);
	if (from < 0 || to > WHEN_MAX || from > to ||
	    to / 86400 - from / 86400 >= DAYS_MAX) {
		errno = EINVAL;
		return -1;
	}
	rd = calloc(1, sizeof *rd);
	if (!rd)
		return -1;
	*rd = (struct reader){ .from = from, .to = to, .fn = fn, .arg = arg,
			       .st = st };
	for (long long day = from / 86400; day <= to / 86400 && rc == 0; day++) {
		int fd;

		if (day_path(path, sizeof path, dir, day * 86400) < 0) {
			rc = -1;
			break;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0) {
			rc = -1;
			break;
		}
		st->files++;
		rc = read_fd(rd, fd);
		int e = errno;
		close(fd);
		errno = e;
	}
	free(rd);
	return rc;
}
