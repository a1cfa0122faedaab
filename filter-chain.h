/*
 * filter-chain.h - the qmail-queue(8) chain interface shared by the
 * programs in it: smtp-deliver (the last one) and the filters in front
 * of it (smtp-authres, smtp-dkimsign).  See filter-chain.c.
 */
#ifndef FILTER_CHAIN_H
#define FILTER_CHAIN_H

#include <stddef.h>
#include <sys/types.h>

/* qmail-queue(8) exit codes: 11-40 permanent, the others temporary. */
enum qq_code {
	QQ_OK       = 0,
	QQ_TOOLONG  = 11,	/* address too long */
	QQ_REFUSED  = 31,	/* permanently refused */
	QQ_NOMEM    = 51,	/* out of memory */
	QQ_WRITE    = 53,	/* write error, disk full */
	QQ_READ     = 54,	/* cannot read message or envelope */
	QQ_CONFIG   = 55,	/* configuration problem */
	QQ_ROOT     = 61,	/* problem with the Maildir directories */
	QQ_TEMP     = 71,	/* temporarily refused */
	QQ_COMM     = 74,	/* communication with the mail server failed */
	QQ_BUG      = 81,	/* internal bug */
	QQ_FORMAT   = 91,	/* envelope format error */
};

/* Envelope bounds: far above RFC 5321's 256-octet path (room for
 * SMTPUTF8), yet they bound the memory an envelope can take. */
#define FILTER_ADDR_MAX  1002
#define FILTER_RCPTS_MAX 10000

/* The envelope as read from fd 1: raw holds "F<sender>\0T<rcpt>\0...\0"
 * exactly as it came (a filter passes it on unchanged); sender and
 * rcpts[] point into raw. */
struct filter_envelope {
	char *raw;
	size_t rawlen, rawcap;
	const char *sender;
	const char **rcpts;
	size_t nrcpts, rcap;
};

/* A byte range of the input message a filter leaves out of its output
 * (a forged header field). */
struct filter_cut {
	off_t off, len;
};

/* The reason of the last failure, one line without the program name. */
const char *filter_error(void);

/* At start: fds 0-2 open (a closed one becomes /dev/null, so no file
 * we open becomes "stderr"), SIGPIPE and SIGXFSZ ignored (a write error
 * is an error return), umask 077.  -1 on failure (exit QQ_BUG). */
int filter_init(void);

/* Reads the whole envelope from fd; QQ_OK or a qq_code (filter_error()
 * says why).  filter_free_envelope() releases it on every path. */
int filter_read_envelope(int fd, struct filter_envelope *env);
void filter_free_envelope(struct filter_envelope *env);

/* An unnamed file (O_TMPFILE, else a name unlinked at once) in the
 * directory dirfd, or with dirfd -1 in $TMPDIR, else /tmp; -1 with errno. */
int filter_unnamed_file(int dirfd);

/* The message on fd 0 as a regular file readable with pread(2): fd 0
 * itself when it is one, else (a pipe) fd 0 copied into an unnamed file
 * in dirfd (-1: the temp directory; dirname names it in diagnostics).
 * QQ_OK and *fd set, or a qq_code. */
int filter_message_fd(int dirfd, const char *dirname, int *fd);

/* Writes head (our header fields), then the message in from offset 0 to
 * its end, without the cut ranges (sorted, not overlapping), to out.
 * QQ_OK or a qq_code. */
int filter_write_message(int out, const char *head, size_t hlen, int in,
			 const struct filter_cut *cuts, size_t ncuts);

/* The hand-off: the envelope into an unnamed file, it and msg (any
 * offset) rewound and put on fds 1 and 0, then execv(argv[0], argv).
 * Returns only on failure, with a qq_code. */
int filter_exec_next(int msg, const struct filter_envelope *env,
		     char *const argv[]);

#endif
