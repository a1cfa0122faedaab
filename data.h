/*
 * data.h - the DATA and BDAT byte decoder (data.c): pure, fuzzed.
 */
#ifndef DATA_H
#define DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum data_state { DS_BOL, DS_DOT, DS_DOT_CR, DS_MID, DS_CR, DS_END };

struct data_decoder {
	enum data_state st;
	bool dot_mode;        /* DATA: dot-unstuffing, end at CRLF.CRLF */
	bool crlf_before;     /* the line before ended in CRLF */
	bool reject_bare_lf;
	bool saw_bare_lf;
	uint64_t size;        /* message size as on the wire (CRLF lines) */
};

void data_init(struct data_decoder *d, bool dot_mode, bool reject_bare_lf);
/* Decodes in[0..n) into out (room for n+1 octets at least).  Returns
 * the octets of in consumed: less than n only when the end of data was
 * seen (then d->st == DS_END).  *outlen gets the octets produced. */
size_t data_decode(struct data_decoder *d, const char *in, size_t n,
		   char *out, size_t *outlen);
/* For BDAT LAST: flushes a pending CR. */
void data_finish(struct data_decoder *d, char *out, size_t *outlen);

#endif
