/*
 * dlib.c - a shared library loaded when first needed: dlopen() by SONAME
 * and dlsym() of each function it is asked for.
 *
 * SUMMARY
 *	A library that smtp-session links is mapped and relocated by the
 *	dynamic loader at the start of every process, whether the session
 *	uses it or not (bench/RESULTS.md: libmaxminddb and libcrypt cost a
 *	plain session ~25 % of its instructions and ~100 KiB of RSS).  The
 *	files that need one (geoip.c: libmaxminddb when SMTP_GEOIP_DB is set,
 *	auth.c: libcrypt at the first password check) call dlib_load() at
 *	that moment, each with the list of functions it uses, typed by the
 *	library's header in its own file.  By SONAME (e.g. libcrypt.so.1),
 *	which the runtime package provides (the unversioned .so comes with
 *	the -dev package).  RTLD_NOW: a missing function is found here, not
 *	at its first call.  A library is never closed.  tls.c does the same
 *	for OpenSSL with its own loader (two libraries, its own flags);
 *	lockout-redis.c uses this one for libhiredis.
 *
 * DIAGNOSTICS
 *	dlib_load() returns false with why = "<soname> not available:
 *	<dlerror()>"; the caller decides what that means for the session
 *	(geoip.c: no country; auth.c: 454 4.7.0).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dlib.h"

/* POSIX (dlsym) makes function and object pointers interconvertible. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *),
	       "function pointers must fit in void *");

bool dlib_load(const char *soname, const struct dlib_sym *syms, size_t n,
	       char *why, size_t whylen)
{
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (!lib) {
		e = dlerror();
		snprintf(why, whylen, "%s not available: %s", soname,
			 e ? e : "dlopen failed");
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		void *p;

		dlerror();
		p = dlsym(lib, syms[i].name);
		if (!p) {
			e = dlerror();
			snprintf(why, whylen, "%s not available: %s", soname,
				 e ? e : syms[i].name);
			return false;
		}
		memcpy(syms[i].fp, &p, sizeof p);   /* no object-to-function cast */
	}
	return true;
}
