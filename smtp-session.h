/*
 * smtp-session.h - the shared types of the smtp-session process.
 *
 * SUMMARY
 *	One process serves one SMTP connection.  `struct config` is read once
 *	from the environment (config.c); `struct session` lives for the whole
 *	connection; `struct tx` lives from MAIL to the end of the message.
 *	Each module has its small section below.
 *
 * LIMITS
 *	Every buffer is fixed-size; the sizes are named here.
 */
#ifndef SMTP_SESSION_H
#define SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define SMTP_SESSION_VERSION "0.1.0"

/* RFC 5321 4.5.3.1.4 allows 512 octets; we take 2048 like Postfix. */
#define CMD_LINE_MAX     2048
/* RFC 4954 4: an AUTH line (command or response) may be 12288 octets. */
#define AUTH_LINE_MAX    12288
/* RFC 5321 4.5.3.1.3: a path is at most 256 octets; the mailbox fits in it. */
#define PATH_MAX_LEN     256
#define HELO_MAX         255
#define HOSTNAME_MAX     255
#define DELIVER_ARGV_MAX 32
#define DOMAINS_MAX      256

/* ---- config.c ------------------------------------------------------- */

enum bare_lf_mode { BARE_LF_NORMALIZE, BARE_LF_REJECT };
enum tls_mode     { TLS_OFF, TLS_OPTIONAL, TLS_REQUIRED };
enum auth_mode    { AUTH_OFF, AUTH_OPTIONAL, AUTH_REQUIRED };

struct config {
	char hostname[HOSTNAME_MAX + 1];
	char *domains[DOMAINS_MAX];       /* lower-case, as listed */
	size_t ndomains;
	bool relayclient;                 /* RELAYCLIENT is set */
	const char *recipients;           /* SMTP_RECIPIENTS file or NULL */
	uint64_t max_size;
	unsigned max_rcpts;
	unsigned max_errors;
	enum bare_lf_mode bare_lf;
	unsigned timeout;                 /* seconds per read */
	unsigned session_timeout;         /* seconds per session */
	const char *spool_dir;
	char *deliver_argv[DELIVER_ARGV_MAX + 1];
	unsigned deliver_timeout;
	bool allow_root;
	/* TLS and AUTH (their own modules fill the behaviour in). */
	const char *tls_cert, *tls_key, *tls_ticket_keys;
	enum tls_mode tls;
	bool tls_implicit;
	enum auth_mode auth;
	bool auth_plaintext;
	const char *passwd, *checkpassword;
	unsigned auth_fail_delay;         /* ms from the check to a 535 */
	char *checkpassword_argv[DELIVER_ARGV_MAX + 1];  /* NULL[0]: unset */
	const char *log_mode;
	/* lockout, GeoIP, greet delay (gate.c) */
	const char *lockout_file;
	unsigned lockout_threshold, lockout_window, lockout_duration;
	unsigned lockout_v6_prefix;
	uint32_t lockout_slots;
	const char *geoip_db;
	const char *country_deny;         /* "" or "CN RU --" */
	const char *auth_countries;       /* "" = all */
	unsigned greet_delay;
};

struct config_var {
	const char *name;
	const char *def;                  /* shown by --help */
	const char *help;
};
extern const struct config_var config_vars[];

/* Fills cfg from the environment.  Returns the number of problems, each
 * reported through report(); 0 means the configuration is usable. */
int config_load(struct config *cfg, void (*report)(const char *problem));
/* Extra checks that touch the file system, for --check-config. */
int config_check_files(const struct config *cfg,
		       void (*report)(const char *problem));
void config_usage(int fd);

/* ---- log.c ---------------------------------------------------------- */

void log_init(const char *progname, const char *log_mode);
void log_context(const char *id, const char *client, const char *country);
/* event, then key/value string pairs, NULL-terminated.  Values are
 * escaped: anything outside printable ASCII, '\\' and '"' become \xHH;
 * a value with a space is written in double quotes. */
void log_event(const char *event, ...);
/* A free-text line (configuration problems, internal errors). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copies src into dst (cap bytes) with control characters, non-ASCII,
 * backslash and double quote escaped as \xHH; always NUL-terminates. */
void log_escape(char *dst, size_t cap, const char *src, size_t len);

/* ---- io.c ----------------------------------------------------------- */

#define IO_RBUF (64 * 1024)
#define IO_WBUF (16 * 1024)

enum io_status {
	IO_OK = 0,
	IO_EOF,       /* peer closed */
	IO_TIMEOUT,   /* read or session timeout */
	IO_ERROR,     /* read/write error */
	IO_TOOLONG,   /* line longer than the buffer: discarded */
};

/* A transport below the buffers: plain fds by default, TLS from tls.c. */
struct io_transport {
	/* >0 bytes, 0 EOF, -1 error; -2 would block (poll and retry). */
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	/* bytes already decrypted and waiting (SSL_pending) */
	size_t (*pending)(void *ctx);
	/* which poll events the transport waits for after a -2 */
	short (*wants)(void *ctx);
	void *ctx;
};

struct io {
	int in, out;
	const struct io_transport *tp;  /* NULL: plain read/write */
	unsigned timeout;               /* seconds per wait */
	long long session_end;          /* mono_ms() deadline */
	size_t rpos, rlen;
	size_t wlen;
	bool werror;
	bool out_notsock;               /* out is a pipe or file: plain write() */
	bool wtimeout;                  /* werror came from a write timeout */
	char rbuf[IO_RBUF];
	char wbuf[IO_WBUF];
};

void io_init(struct io *io, int in, int out, unsigned timeout,
	     unsigned session_timeout);
/* Reads one line up to cap-1 octets, without its LF and a CR before it.
 * *crlf tells whether the line ended in CRLF (not a bare LF). */
enum io_status io_getline(struct io *io, char *buf, size_t cap, size_t *len,
			  bool *crlf);
/* Up to len raw octets: the buffered ones first, else one blocking read. */
enum io_status io_read(struct io *io, char *buf, size_t len, size_t *got);
/* Discards whatever input is buffered (STARTTLS injection defence). */
void io_discard_input(struct io *io);
bool io_input_buffered(const struct io *io);
void io_write(struct io *io, const char *buf, size_t len);
int io_flush(struct io *io);
/* Waits for the fd to become readable within the per-read timeout, for
 * transports doing their own reads (the TLS handshake). */
enum io_status io_wait(struct io *io, short events);
/* CLOCK_MONOTONIC in milliseconds, for deadlines and durations. */
long long mono_ms(void);

/* ---- address.c ------------------------------------------------------ */

enum path_error {
	PATH_OK = 0,
	PATH_SYNTAX,      /* 501: the command's shape is wrong */
	PATH_BAD,         /* 553: the address itself is bad */
	PATH_TOOLONG,     /* 553 */
	PATH_UTF8,        /* 553 5.6.7: non-ASCII without SMTPUTF8 */
};

/* "FROM:<path> params" or "TO:<path> params".  prefix is "FROM:" or
 * "TO:".  The mailbox (unquoted, source route dropped) goes to addr;
 * *params points at the parameters in arg (or at "").  utf8 allows
 * non-ASCII (RFC 6531); allow_null allows "<>". */
enum path_error parse_path(const char *arg, const char *prefix, bool utf8,
			   bool allow_null, char addr[PATH_MAX_LEN + 1],
			   const char **params);
/* Next "KEY[=VALUE]" from *p; returns false at the end.  Lengths bounded. */
struct esmtp_param { char key[32]; char value[PATH_MAX_LEN + 1]; bool has_value; };
enum path_error next_param(const char **p, struct esmtp_param *out);
/* Domain part of an address ("" if none), not copied. */
const char *addr_domain(const char *addr);
bool domain_is_local(const struct config *cfg, const char *domain);
/* 1 known, 0 unknown, -1 file unreadable. */
int recipient_known(const char *file, const char *addr);
bool utf8_valid(const unsigned char *s, size_t len);
bool is_postmaster(const char *addr);

/* ---- data.c: DATA and BDAT decoding (pure, fuzzed) ------------------ */

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

/* ---- spool.c -------------------------------------------------------- */

struct spool {
	int fd;
	bool failed;         /* a write failed: 451 at the end */
	size_t blen;
	char buf[64 * 1024];
};

int spool_open(struct spool *sp, const char *dir);  /* -1, errno set */
void spool_write(struct spool *sp, const char *p, size_t n);
int spool_finish(struct spool *sp);   /* flush; -1 if any write failed */
void spool_close(struct spool *sp);

/* ---- queue.c: the qmail-queue hand-off ------------------------------ */

struct envelope_env {
	const char *remote_ip, *session_id, *helo, *auth_user, *tls, *country;
};

struct queue_result {
	int code;              /* SMTP reply code */
	const char *enh;       /* enhanced status code */
	const char *text;
	int status;            /* exit status, or -signal, or -1000 timeout */
};

/* Runs the deliver program with fd 0 = msgfd and the envelope on fd 1. */
void queue_message(const struct config *cfg, int msgfd, const char *sender,
		   char *const rcpts[], size_t nrcpts,
		   const struct envelope_env *env, struct queue_result *res);
/* The reply for one exit status (exposed for tests and the man page). */
void queue_map_status(int status, struct queue_result *res);

/* ---- the session (smtp-session.c, envelope.c, message.c) ------------- */

enum state {
	ST_GREETED,   /* no HELO/EHLO yet (again, after STARTTLS) */
	ST_HELO,      /* ready for MAIL */
	ST_MAIL,      /* MAIL given: a transaction is open */
};

struct tx {
	char sender[PATH_MAX_LEN + 1];
	char **rcpts;              /* cfg->max_rcpts slots */
	size_t nrcpts;
	bool utf8;                 /* MAIL ... SMTPUTF8 */
	bool bdat;                 /* a BDAT chunk has been received */
	bool spooling;             /* spool is open */
	struct data_decoder dec;
	struct spool spool;
};

struct session {
	const struct config *cfg;
	struct io io;
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
	unsigned errors;           /* 5xx replies to commands */
	bool count_errors;
	bool quit;
	bool ended;                /* session_end() has run */
	unsigned messages, accepted;
	struct tx tx;
};

/* 530 5.7.0 before STARTTLS under SMTP_TLS=required (RFC 3207 4). */
#define TLS_FIRST_TEXT "Must issue a STARTTLS command first"

/* One reply; enh may be NULL (greeting, HELO/EHLO, 354).  A 421 ends the
 * session after it is sent; a 5xx counts as a client error. */
void reply(struct session *s, int code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* A line of a multi-line reply (RFC 5321 4.2.1): "250-..." unless last. */
void reply_line(struct session *s, int code, bool last, const char *text);
void session_end(struct session *s, const char *why);

/* envelope.c */
void tx_reset(struct session *s);
void cmd_mail(struct session *s, const char *arg);
void cmd_rcpt(struct session *s, const char *arg);

/* message.c */
void cmd_data(struct session *s, const char *arg);
void cmd_bdat(struct session *s, const char *arg);

/* ---- auth.c: SMTP AUTH (RFC 4954) ------------------------------------ */

/* EHLO lists AUTH PLAIN LOGIN and MAIL takes AUTH=: SMTP_AUTH is not off
 * and TLS is active or SMTP_AUTH_PLAINTEXT=1. */
bool auth_offered(const struct session *s);
void cmd_auth(struct session *s, const char *arg);
/* RFC 3207 4.2: forget this session's AUTH failure count (STARTTLS). */
void auth_session_reset(void);
/* Every refused credential (535) goes through here: log, count (lockout),
 * fixed delay, 535, and 421 after the session's third failure. */
void auth_failed(struct session *s, const char *user, const char *why);
/* --check-config: each distinct hash setting in SMTP_PASSWD must verify
 * within half of SMTP_AUTH_FAIL_DELAY; reports and counts those that do
 * not. */
int auth_check_costs(const struct config *cfg, void (*report)(const char *));

/* ---- tls.c: every OpenSSL call lives there -------------------------- */

/* Cert and key set and SMTP_TLS not off: STARTTLS offered.  No OpenSSL. */
bool tls_configured(const struct config *cfg);
void cmd_starttls(struct session *s, const char *arg);
/* SMTP_TLS_IMPLICIT: the handshake before the greeting; false (logged)
 * when it failed and the session must end without a reply. */
bool tls_implicit_start(struct session *s);
/* Sends close_notify if TLS is up (session end). */
void tls_close(struct session *s);
/* --check-config: problems counted, warnings only reported. */
int tls_check_files(const struct config *cfg,
		    void (*report)(const char *problem));
/* --new-ticket-key FILE: makes or rotates the key file; exit status. */
int tls_new_ticket_key(const char *path);

/* geoip.c */
int geoip_open(const char *path, char *err, size_t errlen);
void geoip_country(const char *ip, char cc[3]);
void geoip_close(void);

/* gate.c: connect-time policy and the AUTH side of the lockout */
enum gate_auth { GATE_AUTH_OK, GATE_AUTH_LOCKED, GATE_AUTH_TEMPFAIL };
/* Before the greeting; false: refused (the reply is sent, end the session). */
bool gate_connect(struct session *s);
/* Before an AUTH exchange: LOCKED has sent 421; TEMPFAIL: answer 454. */
enum gate_auth gate_auth_check(struct session *s);
bool gate_auth_country_ok(const struct session *s);
/* Before a password is verified: charge one attempt to the address's
 * budget (lockout_charge()).  LOCKED has sent 421 (locked, or the budget
 * is spent by verifications in flight); TEMPFAIL: answer 454. */
enum gate_auth gate_auth_charge(struct session *s);
/* After the verdict on a charged attempt; true when this failure locked
 * the address.  A success returns the charge and erases nothing. */
bool gate_auth_settle(struct session *s, bool failed);
/* A refusal that verified no password (malformed message, country):
 * one failure; true when it locked the address. */
bool gate_auth_failed(struct session *s);

#endif
