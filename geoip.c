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
 * DIAGNOSTICS
 *	geoip_open() returns -1 with MMDB_strerror() text.  Lookup errors are
 *	not fatal: a corrupt search tree makes every lookup fail, which is
 *	"--", never a reason to drop the session.
 */
#include <maxminddb.h>
#include <stdio.h>
#include <string.h>

#include "geoip.h"

static MMDB_s db;
static bool opened;

int geoip_open(const char *path, char *err, size_t errlen)
{
	int st = MMDB_open(path, MMDB_MODE_MMAP, &db);

	if (st != MMDB_SUCCESS) {
		snprintf(err, errlen, "%s: %s", path, MMDB_strerror(st));
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
	r = MMDB_lookup_string(&db, ip, &gai, &mmerr);
	/* utf8_string is not NUL-terminated: use data_size */
	if (gai == 0 && mmerr == MMDB_SUCCESS && r.found_entry &&
	    MMDB_get_value(&r.entry, &d, "country", "iso_code", NULL) ==
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
		MMDB_close(&db);
	opened = false;
}
