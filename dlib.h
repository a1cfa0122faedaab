/*
 * dlib.h - a shared library loaded when first needed (dlib.c).
 */
#ifndef DLIB_H
#define DLIB_H

#include <stdbool.h>
#include <stddef.h>

struct dlib_sym {
	const char *name;
	void *fp;                 /* where the function pointer goes */
};

bool dlib_load(const char *soname, const struct dlib_sym *syms, size_t n,
	       char *why, size_t whylen);

#endif
