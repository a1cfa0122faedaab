/*
 * authres-psl.h - the public suffix list lines one message needs
 * (authres-psl.c).
 */
#ifndef AUTHRES_PSL_H
#define AUTHRES_PSL_H

#include <stddef.h>

/* Copies the lines of the list at path that can match one of the nd
 * domains (NULL entries skipped) to fd out; 0 or -1 with errno. */
int psl_filter(const char *path, const char *const *domains, size_t nd,
	       int out);

#endif
