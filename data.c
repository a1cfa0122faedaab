/*
 * data.c - decodes DATA and BDAT octets into qmail's line format.
 *
 * SUMMARY
 *	A byte-level state machine, fed block by block, so nothing depends
 *	on where the network split the input.  Output lines end in LF; a CR
 *	that is not followed by LF (a bare CR) is kept as data.
 *
 *	DATA (dot_mode): RFC 5321 4.5.2 dot-unstuffing on lines that begin
 *	with "." and have more on them; the end of data is a line holding
 *	only "." that ends in CRLF *and* follows a line that ended in CRLF.
 *	Nothing else ends the data: not <LF>.<LF>, <LF>.<CR><LF>,
 *	<CR><LF>.<LF>, <CR>.<CR>, nor any other mix (SMTP smuggling,
 *	CVE-2023-51764 and relatives).  A lone "." line that does not qualify
 *	is kept as data.
 *
 *	A bare LF ends a line in the output ("normalize", as Postfix 3.9)
 *	but never counts as the CRLF before a terminating dot.  With
 *	reject_bare_lf it is latched in saw_bare_lf; the caller reads on to
 *	the end and refuses the message.
 *
 *	BDAT: no dot handling and no end marker (the octet count ends a
 *	chunk); CRLF still becomes LF, across chunk boundaries.
 *
 * LIMITS
 *	Output never exceeds input plus one octet (a CR held back from an
 *	earlier block).  size counts the message as the client sent it with
 *	CRLF line ends, after unstuffing: output octets plus one per LF.
 */
#include <string.h>

#include "data.h"

void data_init(struct data_decoder *d, bool dot_mode, bool reject_bare_lf)
{
	d->st = DS_BOL;
	d->dot_mode = dot_mode;
	d->crlf_before = true;        /* the CRLF after DATA's own line */
	d->reject_bare_lf = reject_bare_lf;
	d->saw_bare_lf = false;
	d->size = 0;
}

static inline void put(struct data_decoder *d, char *out, size_t *o, char c)
{
	out[(*o)++] = c;
	d->size += c == '\n' ? 2 : 1;
}

static inline void line_end(struct data_decoder *d, char *out, size_t *o,
			    bool crlf)
{
	put(d, out, o, '\n');
	d->crlf_before = crlf;
	if (!crlf)
		d->saw_bare_lf = true;
	d->st = DS_BOL;
}

/* One octet in the middle of a line. */
static inline void mid(struct data_decoder *d, char *out, size_t *o, char c)
{
	if (c == '\r')
		d->st = DS_CR;
	else if (c == '\n')
		line_end(d, out, o, false);
	else {
		put(d, out, o, c);
		d->st = DS_MID;
	}
}

size_t data_decode(struct data_decoder *d, const char *in, size_t n,
		   char *out, size_t *outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n && d->st != DS_END; i++) {
		char c = in[i];

		switch (d->st) {
		case DS_BOL:
			if (c == '.' && d->dot_mode)
				d->st = DS_DOT;
			else
				mid(d, out, &o, c);
			break;
		case DS_DOT:          /* "." at the start of a line */
			if (c == '\r')
				d->st = DS_DOT_CR;
			else if (c == '\n') {      /* ".<LF>": data */
				put(d, out, &o, '.');
				line_end(d, out, &o, false);
			} else
				mid(d, out, &o, c);  /* unstuff: drop the dot */
			break;
		case DS_DOT_CR:       /* ".<CR>" at the start of a line */
			if (c == '\n' && d->crlf_before) {
				d->st = DS_END;
			} else if (c == '\n') {    /* lone "." after a bare LF */
				put(d, out, &o, '.');
				line_end(d, out, &o, true);
			} else {                   /* unstuffed; CR is data */
				put(d, out, &o, '\r');
				mid(d, out, &o, c);
			}
			break;
		case DS_CR:
			if (c == '\n')
				line_end(d, out, &o, true);
			else {
				put(d, out, &o, '\r');     /* bare CR: data */
				mid(d, out, &o, c);
			}
			break;
		case DS_MID: {
			/* the bulk of a message: copy the run up to the next
			 * CR or LF at once (memchr is vectorised) */
			const char *lf = memchr(in + i, '\n', n - i);
			size_t end = lf ? (size_t)(lf - in) : n;
			const char *cr = memchr(in + i, '\r', end - i);

			if (cr)
				end = (size_t)(cr - in);
			if (end == i) {
				mid(d, out, &o, c);
				break;
			}
			memcpy(out + o, in + i, end - i);
			o += end - i;
			d->size += end - i;
			i = end - 1;          /* the loop's i++ lands on the CR/LF */
			break;
		}
		case DS_END:
			break;
		}
	}
	*outlen = o;
	return i;
}

void data_finish(struct data_decoder *d, char *out, size_t *outlen)
{
	size_t o = 0;

	if (d->st == DS_CR || d->st == DS_DOT_CR)
		put(d, out, &o, '\r');
	d->st = DS_BOL;
	*outlen = o;
}
