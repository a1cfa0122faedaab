/*
 * floor-deliver.c - the floor's deliver program (qmail-queue shape).
 *
 *	fd 0: the message; fd 1: "F<from>\0T<rcpt>\0...\0".  Writes one
 *	file (for the first recipient only: the bench sends one),
 *	"Return-Path: <from>\nDelivered-To: <rcpt>\n" + message, into
 *	$FLOOR_MAILDIR/tmp/, fsyncs it, renames it into new/ and fsyncs
 *	new/: one file fsync and one directory fsync per message, the
 *	durable minimum for one recipient (smtp-deliver also fsyncs tmp/
 *	after unlinking there).  Exit 0 or 75.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[65536], env[65536];

int main(void)
{
	const char *md = getenv("FLOOR_MAILDIR");
	size_t el = 0;
	ssize_t r;
	if (!md) return 75;
	while (el < sizeof env - 1 && (r = read(1, env + el, sizeof env - 1 - el)) > 0)
		el += (size_t)r;
	env[el] = 0;
	const char *from = env[0] == 'F' ? env + 1 : "";
	const char *to = from + strlen(from) + 1;
	to = (to < env + el && *to == 'T') ? to + 1 : "";

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char name[64], tmp[4096], new[4096];
	snprintf(name, sizeof name, "%lld.%09ldP%d.floor", (long long)ts.tv_sec, ts.tv_nsec, (int)getpid());
	snprintf(tmp, sizeof tmp, "%s/tmp/%s", md, name);
	snprintf(new, sizeof new, "%s/new/%s", md, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) return 75;
	int n = snprintf(buf, sizeof buf, "Return-Path: <%s>\nDelivered-To: %s\n", from, to);
	if (n < 0 || (size_t)n >= sizeof buf) goto fail;
	size_t bl = (size_t)n;
	for (;;) {
		r = read(0, buf + bl, sizeof buf - bl);
		if (r < 0) goto fail;
		bl += (size_t)r;
		if (bl == sizeof buf || r == 0) {
			if (bl && write(fd, buf, bl) != (ssize_t)bl) goto fail;
			bl = 0;
		}
		if (r == 0) break;
	}
	if (fsync(fd) < 0 || close(fd) < 0) { fd = -1; goto fail; }
	if (rename(tmp, new) < 0) { fd = -1; goto fail; }
	snprintf(tmp, sizeof tmp, "%s/new", md);
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) return 75;
	return 0;
fail:
	if (fd >= 0) close(fd);
	unlink(tmp);
	return 75;
}
