/*
 * writeall.h - write(2) until done (writeall.c).
 */
#ifndef WRITEALL_H
#define WRITEALL_H

#include <stddef.h>

/* Writes all len octets of buf to fd: a short write goes on, EINTR is
 * retried.  0, or -1 with errno (EIO when write(2) wrote nothing). */
int write_all(int fd, const void *buf, size_t len);

#endif
