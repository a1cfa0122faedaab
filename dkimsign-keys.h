/*
 * dkimsign-keys.h - smtp-dkimsign's key table (dkimsign-keys.c): which
 * selector and key file sign mail from which RFC5322.From domain.  A pure
 * parser over a caller buffer, fuzzed alone (fuzz_dkim_keys).
 */
#ifndef DKIMSIGN_KEYS_H
#define DKIMSIGN_KEYS_H

#include <stddef.h>

#define DK_DOMAIN_MAX	253
#define DK_SELECTOR_MAX	63
#define DK_PATH_MAX	1023
#define DK_MATCH_MAX	4	/* signatures per message (rsa + ed25519, rollover) */

/* One table line that applies to a message: sign as d=domain s=selector
 * with the key in path. */
struct dk_match {
	char domain[DK_DOMAIN_MAX + 1];
	char selector[DK_SELECTOR_MAX + 1];
	char path[DK_PATH_MAX + 1];
};

/* Parses the whole table (len octets of text; every line is checked,
 * so a typo anywhere is found at once) and finds the lines for the
 * From domain from (lower case): the lines of from itself, else those
 * of the nearest "*.parent" rule (d= is then the parent).  Returns the
 * number of matches (at most max, in table order), 0 for none, or -1
 * for a malformed table with *bad_line set to its line number (from 1). */
int dk_lookup(const char *text, size_t len, const char *from,
	      struct dk_match *out, int max, size_t *bad_line);

#endif
