/*
 * session.h - the session layer (session.c): the state of one SMTP
 *	connection, and the replies.  Every command handler sits above it;
 *	it calls no handler.
 */
#ifndef SESSION_H
#define SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "address.h"
#include "config.h"
#include "data.h"
#include "io.h"
#include "lockout.h"
#include "msgid.h"
#include "sha256.h"
#include "spool.h"

/* RFC 5321 4.5.3.1.4 allows 512 octets; we take 2048 like Postfix. */
#define CMD_LINE_MAX     2048
/* RFC 4954 4: an AUTH line (command or response) may be 12288 octets. */
#define AUTH_LINE_MAX    12288
#define HELO_MAX         255

/* 530 5.7.0 before STARTTLS under SMTP_TLS=required (RFC 3207 4). */
#define TLS_FIRST_TEXT "Must issue a STARTTLS command first"

enum state {
	ST_GREETED,   /* no HELO/EHLO yet (again, after STARTTLS) */
	ST_HELO,      /* ready for MAIL */
	ST_MAIL,      /* MAIL given: a transaction is open */
};

struct tx {
	char sender[PATH_MAX_LEN + 1];
	char **rcpts;              /* cfg->max_rcpts slots */
	bool *relayed;             /* per recipient: for SMTP_RELAY_DELIVER */
	size_t nrcpts;
	long long mail_ms;         /* mono_ms() at MAIL: the log's delay */
	struct msgid_scan msgid;   /* the Message-ID header, for the log */
	bool hashing;              /* split delivery: digest the message */
	struct sha256 digest;      /* ... of the octets the client sent */
	bool utf8;                 /* MAIL ... SMTPUTF8 */
	bool bdat;                 /* a BDAT chunk has been received */
	bool spooling;             /* spool is open */
	struct data_decoder dec;
	struct spool spool;
};

struct ssl_st;                 /* OpenSSL's SSL, opaque outside tls.c */

/* tls.c: the TLS connection; tp goes below s->io after the handshake. */
struct tls_conn {
	struct ssl_st *ssl;
	bool failed;               /* fatal error: no close_notify */
	short wants;               /* poll events after a -2 */
	struct io_transport tp;
};

struct session {
	const struct config *cfg;
	struct io io;
	struct tls_conn tls;
	char id[32];
	char client_ip[64], client_port[8];
	char remote_host[HOSTNAME_MAX + 1];   /* TCPREMOTEHOST or "unknown" */
	char helo[HELO_MAX + 1];
	bool esmtp;
	enum state state;
	bool tls_active;
	char tls_info[128];        /* "TLS1.3 TLS_AES_256_GCM_SHA384" */
	char country[3];           /* ISO 3166 code or "--" */
	bool authenticated;
	char auth_user[256];
	unsigned auth_failures;    /* 535s in this session (AUTH_MAX_FAILURES) */
	const char *auth_mechanism;    /* auth.c: of the exchange under way */
	struct timespec auth_started;  /* auth.c: the check began (failure delay) */
	struct lockout lockout;    /* gate.c: the shared failed-login file */
	bool lockout_ok;           /* gate.c: opened and usable */
	unsigned errors;           /* 5xx replies to commands */
	struct {                   /* the last reply, for the log */
		int code;
		char enh[16];
		char text[200];
	} last;
	const char *refusal_reason;    /* envelope.c: why RCPT was refused */
	bool count_errors;
	bool quit;
	bool ended;                /* session_end() has run */
	unsigned messages, accepted;
	struct tx tx;
};


/* A reply that refuses a command: what the command table's rules give
 * (smtp-session.c), e.g. { 503, "5.5.1", "Error: need MAIL command" }. */
struct refusal { int code; const char *enh, *text; };

/* One reply; enh may be NULL (greeting, HELO/EHLO, 354).  A 421 ends the
 * session after it is sent; a 5xx counts as a client error. */
void reply(struct session *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A line of a multi-line reply (RFC 5321 4.2.1): "250-..." unless last. */
void reply_line(struct session *s, int code, bool last, const char *text);
/* Ends the session once: flushes, closes the transport (TLS sends its
 * close_notify), logs the disconnect, drops the transaction.  The
 * command loop stops; nobody calls exit(). */
void session_end(struct session *s, const char *why);
/* RFC 3207 4.2: forgets what the client told us before TLS. */
void session_restart(struct session *s);
/* Drops the transaction: sender, recipients, spool file. */
void tx_reset(struct session *s);

#endif
