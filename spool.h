/*
 * spool.h - the unnamed spool file (spool.c).
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stdbool.h>
#include <stddef.h>

struct spool {
	int fd;
	bool failed;         /* a write failed: 451 at the end */
	size_t blen;
	char buf[64 * 1024];
};

int spool_open(struct spool *sp, const char *dir);  /* -1, errno set */
void spool_write(struct spool *sp, const char *p, size_t n);
int spool_finish(struct spool *sp);   /* flush; -1 if any write failed */
void spool_close(struct spool *sp);

#endif
