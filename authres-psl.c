/*
 * authres-psl.c - the part of the public suffix list one message needs.
 *
 * SUMMARY
 *	libopendmarc reads its whole suffix list into a hash table when it
 *	starts: about 10000 lines, 5 ms of CPU per message (bench/authres.sh),
 *	more than all the DNS work.  It only ever looks up suffixes of the
 *	domains of the message: the From domain's organizational domain
 *	(RFC 7489 3.2; libopendmarc's relaxed alignment then checks that
 *	the SPF and DKIM domains end in it), and we add the SPF and DKIM
 *	d= domains to be safe.  psl_filter() copies the lines that can
 *	match one of those domains to a file (a memfd) that libopendmarc
 *	reads instead; every lookup it makes for them gives the same.
 *
 *	Kept: a rule ("example.com", "*.example.com", "!www.example.com")
 *	whose name without "*." or "!" is one of the domains or a suffix of
 *	one at a label boundary, ASCII case ignored; and, when one of the
 *	domains has a punycode label, every comment line holding "xn-"
 *	(libopendmarc also reads IDN names out of comments).
 *
 * LIMITS
 *	The list is read in 64 KiB blocks; a line longer than 1023 octets
 *	is dropped (the list has none; libopendmarc reads lines of BUFSIZ).
 *
 * DIAGNOSTICS
 *	0, or -1 with errno (the caller then gives libopendmarc the whole
 *	list).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "authres-psl.h"
#include "writeall.h"

#define LINE_MAX_ 1024

/* Is name (n octets) d itself or a label suffix of it? */
static bool suffix_of(const char *name, size_t n, const char *d)
{
	size_t dl = strlen(d);

	if (n == 0 || n > dl || strncasecmp(d + dl - n, name, n) != 0)
		return false;
	return n == dl || d[dl - n - 1] == '.';
}

static bool keep(const char *line, size_t n, const char *const *domains,
		 size_t nd, bool idn)
{
	if (n >= 2 && line[0] == '/' && line[1] == '/')
		return idn && memmem(line, n, "xn-", 3) != NULL;
	if (n >= 2 && line[0] == '*' && line[1] == '.') {
		line += 2;
		n -= 2;
	} else if (n >= 1 && line[0] == '!') {
		line++;
		n--;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			 line[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < nd; i++)
		if (domains[i] != NULL && suffix_of(line, n, domains[i]))
			return true;
	return false;
}

int psl_filter(const char *path, const char *const *domains, size_t nd,
	       int out)
{
	static char buf[64 * 1024 + LINE_MAX_];
	size_t have = 0;
	bool idn = false;
	int in = open(path, O_RDONLY | O_CLOEXEC), err;

	if (in == -1)
		return -1;
	/* comments only matter to a domain with an IDN (punycode) label */
	for (size_t i = 0; i < nd; i++)
		if (domains[i] != NULL && strstr(domains[i], "xn-") != NULL)
			idn = true;
	for (;;) {
		ssize_t r = read(in, buf + have, sizeof buf - have);
		size_t start = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		have += (size_t)r;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);
			size_t n;

			if (nl == NULL)
				break;
			n = (size_t)(nl - (buf + start));
			if (keep(buf + start, n, domains, nd, idn) &&
			    write_all(out, buf + start, n + 1) == -1)
				goto fail;
			start += n + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (r == 0)
			break;
		if (have >= LINE_MAX_)
			have = 0;	/* an overlong line: dropped */
	}
	(void)close(in);
	return 0;
fail:
	err = errno;
	(void)close(in);
	errno = err;
	return -1;
}
