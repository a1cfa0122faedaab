/*
 * tests/tools/dmarc-append.c - appends records to a DMARC store with
 * dmarc_store_append(), as smtp-authres does (tests/dmarc.bats).
 *
 *	dmarc-append DIR [REPEAT]
 *
 * Each stdin line is one record: 17 TAB-separated fields, when, the 15
 * strings of struct dmarc_record in the store's order (source_ip,
 * header_from, envelope_from, spf_domain, spf_result, dkim_domains,
 * dkim_results, dmarc_result, policy, disposition, spf_aligned,
 * dkim_aligned, adkim, aspf, sp) and pct ("" for -1); \xHH in a field
 * is that octet.  Each record is appended REPEAT times (default 1).
 * Exit 0, or 1 with "dmarc-append: line N: <errno text>" on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dmarc-store.h"

static void unhex(char *s)
{
	char *w = s;

	for (; *s; s++) {
		unsigned v;

		if (s[0] == '\\' && s[1] == 'x' && sscanf(s + 2, "%2x", &v) == 1) {
			*w++ = (char)v;
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

int main(int argc, char **argv)
{
	char line[16384];
	long repeat = argc > 2 ? atol(argv[2]) : 1;
	unsigned long n = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: dmarc-append DIR [REPEAT]\n");
		return 2;
	}
	while (fgets(line, sizeof line, stdin)) {
		char *f[17], *p = line;
		struct dmarc_record r;
		int k = 0;

		n++;
		line[strcspn(line, "\n")] = '\0';
		for (; k < 17 && p; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
			unhex(f[k]);
		}
		if (k != 17) {
			fprintf(stderr, "dmarc-append: line %lu: %d fields\n", n, k);
			return 1;
		}
		r = (struct dmarc_record){
			.when = atoll(f[0]), .source_ip = f[1],
			.header_from = f[2], .envelope_from = f[3],
			.spf_domain = f[4], .spf_result = f[5],
			.dkim_domains = f[6], .dkim_results = f[7],
			.dmarc_result = f[8], .policy = f[9],
			.disposition = f[10], .spf_aligned = f[11],
			.dkim_aligned = f[12], .adkim = f[13], .aspf = f[14],
			.sp = f[15], .pct = *f[16] ? atoi(f[16]) : -1,
		};
		for (long i = 0; i < repeat; i++) {
			if (dmarc_store_append(argv[1], &r) < 0) {
				fprintf(stderr, "dmarc-append: line %lu: %s\n", n,
					strerror(errno));
				return 1;
			}
		}
	}
	return 0;
}
