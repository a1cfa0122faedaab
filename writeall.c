/*
 * writeall.c - write(2) until every octet is written.
 *
 * SUMMARY
 *	The one loop over write(2) for a blocking fd: the log line on
 *	stderr (log.c), the spool file (spool.c), the ticket-key file
 *	(tls.c) and smtp-deliver's Maildir copies and diagnostics.  A short
 *	write goes on with the rest; EINTR is retried.  The connection
 *	itself is written by io.c, which must not block and has its own
 *	loop.
 *
 * DIAGNOSTICS
 *	-1 with errno from write(2); a write of 0 octets (nothing written,
 *	no error) gives EIO, so a caller never spins.
 */
#include <errno.h>
#include <unistd.h>

#include "writeall.h"

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
