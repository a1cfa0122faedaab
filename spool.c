/*
 * spool.c - the message file handed to the deliver program.
 *
 * SUMMARY
 *	spool_open() makes an unnamed file in SMTP_SPOOL_DIR (O_TMPFILE,
 *	mode 0600): it has no name, so it disappears on every path out of
 *	the process, including SIGKILL, and no stray file is ever left for
 *	an admin to wonder about.  On file systems without O_TMPFILE it
 *	falls back to a random name made with O_EXCL and unlinks it at once.
 *	Writes are collected in a 64 KiB buffer.  The deliver program owns
 *	durability (fsync); the spool file only has to outlive this process's
 *	hand-off, so it is not fsynced.
 *
 * DIAGNOSTICS
 *	spool_open() returns -1 with errno; a failed write latches
 *	sp->failed (the session reads on to the end of the message and
 *	answers 451 4.3.0).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"
#include "writeall.h"

static int open_named(const char *dir)
{
	unsigned char r[12];
	char path[4096];
	int fd;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		return -1;
	snprintf(path, sizeof path, "%s/msg.%02x%02x%02x%02x%02x%02x%02x%02x"
		 "%02x%02x%02x%02x", dir, r[0], r[1], r[2], r[3], r[4], r[5],
		 r[6], r[7], r[8], r[9], r[10], r[11]);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && unlink(path) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int spool_open(struct spool *sp, const char *dir)
{
	sp->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR))
		sp->fd = open_named(dir);
	sp->failed = sp->fd < 0;
	sp->blen = 0;
	return sp->fd < 0 ? -1 : 0;
}

static void drain(struct spool *sp)
{
	if (!sp->failed && write_all(sp->fd, sp->buf, sp->blen) < 0)
		sp->failed = true;
	sp->blen = 0;
}

void spool_write(struct spool *sp, const char *p, size_t n)
{
	if (sp->failed)
		return;
	while (n > 0) {
		size_t room = sizeof sp->buf - sp->blen;
		size_t k = n < room ? n : room;

		memcpy(sp->buf + sp->blen, p, k);
		sp->blen += k;
		p += k;
		n -= k;
		if (sp->blen == sizeof sp->buf)
			drain(sp);
	}
}

int spool_finish(struct spool *sp)
{
	if (sp->fd >= 0)
		drain(sp);
	if (!sp->failed && lseek(sp->fd, 0, SEEK_SET) < 0)
		sp->failed = true;
	return sp->failed ? -1 : 0;
}

void spool_close(struct spool *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
	sp->blen = 0;
}
