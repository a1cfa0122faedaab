/*
 * geoip.c - the client's country from a MaxMind database (libmaxminddb).
 *
 * SUMMARY
 *	geoip_open() maps the database once per process (MMDB_MODE_MMAP:
 *	only the metadata is parsed, ~55 us here); geoip_country() looks one
 *	address up and yields its ISO 3166 code, or "--" when the address is
 *	not in the database, the database has no country for it, or a lookup
 *	error occurs.  Works with Country and City databases (both carry
 *	country/iso_code).
 *
 *	libmaxminddb is not linked: geoip_open() loads libmaxminddb.so.0
 *	(dlib.c) and the five functions below, so a process without
 *	SMTP_GEOIP_DB never maps it.  Only this file uses the library.
 *
 * DIAGNOSTICS
 *	geoip_open() returns -1 with MMDB_strerror() text, or with
 *	"libmaxminddb.so.0 not available: <dlerror>" when the library (or
 *	one of its functions) is missing; gate.c then logs geoip_error and
 *	the country is "--", as for a database that cannot be opened.
 *	Lookup errors are not fatal: a corrupt search tree makes every
 *	lookup fail, which is "--", never a reason to drop the session.
 */
#include <maxminddb.h>
#include <stdio.h>
#include <string.h>

#include "dlib.h"
#include "geoip.h"

#define MMDB_SONAME "libmaxminddb.so.0"

/* M.f has the type of &f (maxminddb.h), valid once mmdb_load() is true. */
#define MMDB_FUNCS(X) X(MMDB_open) X(MMDB_strerror) X(MMDB_lookup_string) \
	X(MMDB_get_value) X(MMDB_close)

static struct {
#define X(f) __typeof__(&f) f;
	MMDB_FUNCS(X)
#undef X
} M;

static MMDB_s db;
static bool opened;

/* Loads the library once; false with why. */
static bool mmdb_load(char *why, size_t whylen)
{
	static const struct dlib_sym syms[] = {
#define X(f) { #f, &M.f },
		MMDB_FUNCS(X)
#undef X
	};
	static int state;                 /* 0 not tried, 1 ok, -1 failed */
	static char err[256];

	if (state == 0)
		state = dlib_load(MMDB_SONAME, syms, sizeof syms / sizeof syms[0],
				  err, sizeof err) ? 1 : -1;
	if (state < 0)
		snprintf(why, whylen, "%s", err);
	return state > 0;
}

int geoip_open(const char *path, char *err, size_t errlen)
{
	int st;

	if (!mmdb_load(err, errlen))
		return -1;
	st = M.MMDB_open(path, MMDB_MODE_MMAP, &db);
	if (st != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: %s", path, M.MMDB_strerror(st));
		return -1;
	}
	opened = true;
	return 0;
}

void geoip_country(const char *ip, char cc[3])
{
	int gai = 0, mmerr = 0;
	MMDB_lookup_result_s r;
	MMDB_entry_data_s d;

	strcpy(cc, "--");
	if (!opened)
		return;
	r = M.MMDB_lookup_string(&db, ip, &gai, &mmerr);
	/* utf8_string is not NUL-terminated: use data_size */
	if (gai == 0 && mmerr == MMDB_SUCCESS && r.found_entry &&
	    M.MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) ==
		    MMDB_SUCCESS &&
	    d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING &&
	    d.data_size == 2) {
		cc[0] = d.utf8_string[0];
		cc[1] = d.utf8_string[1];
	}
}

void geoip_close(void)
{
	if (opened)
		M.MMDB_close(&db);
	opened = false;
}
