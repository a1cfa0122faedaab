/*
 * tls.c - STARTTLS (RFC 3207), implicit TLS (RFC 8314) and session-ticket
 * keys shared across processes, over OpenSSL.
 *
 * SUMMARY
 *	Every OpenSSL call of smtp-session is in this file.  Nothing here
 *	touches OpenSSL until TLS is about to be used: STARTTLS received,
 *	SMTP_TLS_IMPLICIT=1, or --check-config.  Only then are libssl and
 *	libcrypto loaded (dlopen, see "loading OpenSSL" below; the binary
 *	does not link them) and initialised.  A plain session therefore
 *	neither maps the libraries (~1.6 ms per process when linked) nor
 *	initialises them (OpenSSL 3.0 start-up costs ~5 ms;
 *	research/tech-brief.md section 4).  Then: one SSL_CTX per process,
 *	TLS 1.2 and 1.3 only, no compression, no renegotiation, groups
 *	X25519:P-256:P-384, ECDHE+AEAD ciphers for TLS 1.2 (OpenSSL's TLS 1.3
 *	defaults), the full chain from SMTP_TLS_CERT, session cache off,
 *	openssl.cnf not read (ossl_init()).  Certificate and key are read
 *	at STARTTLS but parsed only for a full handshake (cert_cb(), below):
 *	a resumed session never pays for them.
 *	The handshake runs non-blocking and io_wait() bounds it by
 *	SMTP_TIMEOUT as a whole.  Afterwards io.c reads and writes through
 *	the io_transport below (-2 = would block; wants() tells poll what
 *	to wait for; SSL_pending is checked before poll).
 *
 *	STARTTLS: "220 2.0.0 Ready to start TLS" is flushed, then every
 *	octet the client pipelined after STARTTLS is discarded
 *	(io_discard_input; CVE-2011-0411), the handshake runs, and the
 *	session forgets what the client told it before TLS (RFC 3207 4.2,
 *	session_restart(), session.c): HELO/EHLO (state ST_GREETED), the envelope, the
 *	AUTH identity, the error and AUTH failure counts.
 *
 * TICKET KEYS (SMTP_TLS_TICKET_KEYS)
 *	Each connection is a new process, so the usual in-memory session
 *	cache is useless; resumption (TLS 1.3 tickets and TLS 1.2 RFC 5077
 *	tickets) works across processes because every process reads the
 *	same keys from one file.  The file is text, one key a line:
 *
 *	    # comment lines and empty lines are ignored
 *	    <160 hex digits>
 *	    <160 hex digits>
 *
 *	160 hex digits are 80 octets: a 16-octet key name (sent in the
 *	ticket, picks the key), a 32-octet HMAC-SHA256 key and a 32-octet
 *	AES-256-CBC key, in that order.  The first key encrypts new tickets;
 *	the others (at most TICKET_KEYS_MAX in all) only decrypt, and a
 *	ticket they open is replaced by a fresh one under the first key, so
 *	rotating keeps resumption working.  The file must not be accessible
 *	by group or others (mode 0600 or 0400): otherwise it is refused.
 *	`smtp-session --new-ticket-key FILE` makes the file, or puts a new
 *	key in front keeping the newest TICKET_KEYS_KEEP-1 old ones; it
 *	writes a temporary file in the same directory, fsyncs it and renames
 *	it over FILE (atomic: a session reads either the old or the new
 *	file), keeping the old file's owner and group.  Rotate e.g. daily
 *	from a timer; a ticket then resumes for two more rotations (and no
 *	longer than its lifetime, OpenSSL's default 7200 s).  Without the
 *	file, no tickets are issued (SSL_OP_NO_TICKET, num_tickets 0).
 *
 * TLS FACTS
 *	s->tls_info becomes "TLS1.3 TLS_AES_256_GCM_SHA384" (protocol,
 *	OpenSSL cipher name): it goes into the Received header
 *	("with ESMTPS (TLS1.3 ...)", message.c) and SMTP_TLS of the deliver
 *	program (queue.c).  A "tls" log event carries version, cipher, bits
 *	whether the session was resumed, and cert_loads= (how often
 *	cert_cb() ran: 1 for a full handshake, 0 for a resumed one).
 *
 * OPENSSL SURFACE (all in this file, resolved with dlsym into O)
 *	The functions used (CRYPTO_FUNCS, SSL_FUNCS and STRINGS_FUNCS below):
 *	libssl: OPENSSL_init_ssl, TLS_server_method, SSL_CTX_new, SSL_CTX_free,
 *	SSL_CTX_ctrl (behind the macros SSL_CTX_set_min_proto_version,
 *	SSL_CTX_set_mode, SSL_CTX_set1_groups_list,
 *	SSL_CTX_set_session_cache_mode), SSL_CTX_set_options,
 *	SSL_CTX_set_cipher_list, SSL_CTX_set_session_id_context,
 *	SSL_CTX_use_certificate_chain_file, SSL_CTX_use_PrivateKey_file,
 *	SSL_CTX_check_private_key, SSL_CTX_get0_certificate,
 *	SSL_CTX_set_num_tickets, SSL_CTX_set_tlsext_ticket_key_evp_cb,
 *	SSL_new, SSL_set_rfd, SSL_set_wfd, SSL_accept, SSL_get_error,
 *	SSL_read_ex, SSL_write_ex, SSL_pending, SSL_shutdown, SSL_get_version,
 *	SSL_get_current_cipher, SSL_CIPHER_get_name, SSL_CIPHER_get_bits,
 *	SSL_session_reused, SSL_CTX_set_cert_cb, SSL_use_cert_and_key,
 *	ERR_load_SSL_strings.
 *	libcrypto: OPENSSL_init_crypto, ERR_clear_error, ERR_peek_last_error,
 *	ERR_error_string_n (ERR_GET_LIB/ERR_GET_REASON are macros),
 *	RAND_bytes, EVP_aes_256_cbc,
 *	EVP_EncryptInit_ex, EVP_DecryptInit_ex, EVP_MAC_CTX_set_params,
 *	OSSL_PARAM_construct_octet_string, OSSL_PARAM_construct_utf8_string,
 *	OSSL_PARAM_construct_end, X509_get0_notBefore, X509_get0_notAfter,
 *	X509_cmp_time, ASN1_TIME_to_tm, and for cert_cb(): BIO_new_mem_buf,
 *	BIO_free, PEM_read_bio_X509_AUX, PEM_read_bio_X509, X509_free,
 *	X509_get0_pubkey, EVP_PKEY_get0_type_name, EVP_PKEY_free,
 *	OSSL_DECODER_CTX_new_for_pkey, OSSL_DECODER_from_data,
 *	OSSL_DECODER_CTX_free, OPENSSL_sk_new_null, OPENSSL_sk_push,
 *	OPENSSL_sk_pop_free (behind the sk_X509_* macros); the
 *	ERR_load_*_strings of STRINGS_FUNCS.
 *
 * LIMITS
 *	TICKET_KEYS_MAX keys in the file (4096 octets at most); certificate
 *	and key files of PEM_FILE_MAX (64 KiB) each at most; the handshake
 *	within SMTP_TIMEOUT (and what is left of SMTP_SESSION_TIMEOUT).
 *
 * DIAGNOSTICS
 *	libssl.so.3 or libcrypto.so.3 missing, or lacking a function:
 *	"tls_error" stage=setup reason="OpenSSL not available: <dlerror>",
 *	then as for a certificate that cannot be loaded (below).
 *	A failed handshake (including a timeout or garbage instead of a
 *	ClientHello) logs "tls_error" with OpenSSL's reason and ends the
 *	session: nothing can be replied.  A certificate or key file that
 *	cannot be read at STARTTLS: "tls_error" stage=setup file=... and
 *	"454 4.7.0".  One that does not parse, or a key that does not match
 *	the certificate: "tls_error" stage=certificate file=... when a full
 *	handshake needs it, and that handshake fails (an internal_error
 *	alert; --check-config finds both beforehand).  A ticket key
 *	file that cannot be used: "tls_error" and no tickets (sessions go
 *	on).  --check-config reports unreadable files, a key that does not
 *	match the certificate and an unusable ticket key file as problems,
 *	an expired (or soon expiring, or not yet valid) certificate as a
 *	warning.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "io.h"
#include "log.h"
#include "session.h"
#include "tls.h"
#include "writeall.h"

#define TICKET_KEYS_MAX  8       /* read from the file */
#define TICKET_KEYS_KEEP 3       /* written by --new-ticket-key */
#define TICKET_FILE_MAX  4096
#define TICKET_HEX       160

/* TLS 1.2 suites (TLS 1.3 keeps OpenSSL's defaults): forward secrecy
 * and AEAD only, as Mozilla's "intermediate" profile. */
#define TLS12_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_GROUPS "X25519:P-256:P-384"

/* ---- loading OpenSSL ------------------------------------------------- */

/*
 * libssl and libcrypto are not linked: merely linking them makes the
 * dynamic loader map and relocate them in every process, ~1.6 ms here
 * (research/tech-brief.md section 4), and a plain session never uses
 * them.  ossl_load() dlopen()s them when TLS is about to be used
 * (STARTTLS, implicit TLS, --check-config with a certificate) and
 * resolves each function below into O, typed with the prototype from
 * the OpenSSL headers (so a call through O is checked as a direct call
 * would be).  By SONAME, because the unversioned libssl.so symlink
 * comes with libssl-dev, which need not be installed where the server
 * runs; the runtime package (Debian: libssl3) provides these.  A new
 * major version gets a new SONAME and needs a rebuild anyway, as
 * linking would.  The libraries are never closed.  A missing library
 * or function is "TLS not available": tls_error and 454 4.7.0 at
 * STARTTLS, the session ends for implicit TLS, --check-config reports
 * it.
 */
#define LIBCRYPTO_SONAME "libcrypto.so.3"
#define LIBSSL_SONAME    "libssl.so.3"

/*
 * How: Debian builds both libraries with -z now (FLAGS_1 NOW), so every
 * one of their ~4,000 symbol references is bound at dlopen whatever the
 * mode says; RTLD_LAZY changes nothing (callgrind: the same 4.0 M
 * instructions).  What the mode can change is where each lookup starts:
 * RTLD_DEEPBIND searches the library's own dependencies (itself, libc)
 * before the global scope (smtp-session and everything it links), and
 * most of libcrypto's references are to libcrypto itself.  That saves
 * ~1.3 M instructions per TLS session (bench/RESULTS.md).  Nothing here
 * interposes a symbol of theirs, so the binding is the same.
 * AddressSanitizer refuses RTLD_DEEPBIND (its malloc must win): that
 * build (make check-asan) loads without it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define OSSL_DEEPBIND 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OSSL_DEEPBIND 0
#endif
#endif
#ifndef OSSL_DEEPBIND
#define OSSL_DEEPBIND RTLD_DEEPBIND
#endif
#define OSSL_DLOPEN_FLAGS (RTLD_NOW | RTLD_LOCAL | OSSL_DEEPBIND)

#define CRYPTO_FUNCS(X) \
	X(OPENSSL_init_crypto) X(ERR_clear_error) X(ERR_peek_last_error) \
	X(ERR_error_string_n) \
	X(RAND_bytes) X(EVP_aes_256_cbc) X(EVP_EncryptInit_ex) \
	X(EVP_DecryptInit_ex) X(EVP_MAC_CTX_set_params) \
	X(OSSL_PARAM_construct_octet_string) \
	X(OSSL_PARAM_construct_utf8_string) X(OSSL_PARAM_construct_end) \
	X(X509_get0_notBefore) X(X509_get0_notAfter) X(X509_cmp_time) \
	X(ASN1_TIME_to_tm) X(BIO_new_mem_buf) \
	X(BIO_free) X(PEM_read_bio_X509_AUX) X(PEM_read_bio_X509) X(X509_free) \
	X(X509_get0_pubkey) X(EVP_PKEY_get0_type_name) X(EVP_PKEY_free) \
	X(OSSL_DECODER_CTX_new_for_pkey) X(OSSL_DECODER_from_data) \
	X(OSSL_DECODER_CTX_free) X(OPENSSL_sk_new_null) X(OPENSSL_sk_push) \
	X(OPENSSL_sk_pop_free)

#define SSL_FUNCS(X) \
	X(OPENSSL_init_ssl) X(TLS_server_method) X(SSL_CTX_new) \
	X(SSL_CTX_free) X(SSL_CTX_ctrl) X(SSL_CTX_set_options) \
	X(SSL_CTX_set_cipher_list) X(SSL_CTX_set_session_id_context) \
	X(SSL_CTX_use_certificate_chain_file) X(SSL_CTX_use_PrivateKey_file) \
	X(SSL_CTX_check_private_key) X(SSL_CTX_get0_certificate) \
	X(SSL_CTX_set_num_tickets) X(SSL_CTX_set_tlsext_ticket_key_evp_cb) \
	X(SSL_new) X(SSL_set_rfd) X(SSL_set_wfd) X(SSL_accept) \
	X(SSL_get_error) X(SSL_read_ex) X(SSL_write_ex) X(SSL_pending) \
	X(SSL_shutdown) X(SSL_get_version) X(SSL_get_current_cipher) \
	X(SSL_CIPHER_get_name) X(SSL_CIPHER_get_bits) X(SSL_session_reused) \
	X(SSL_CTX_set_cert_cb) X(SSL_use_cert_and_key)

/* Deprecated in 3.0's headers (so not typed from them) but exported, and
 * the only way to load the error strings after OPENSSL_init_ssl() was
 * told not to (see ssl_reason()): those of the libraries whose errors a
 * session can meet (a handshake, a certificate or key that does not
 * parse).  Errors of the others (e.g. 3.0's decoders and providers,
 * which export no such function) read "lib(N)::reason(M)". */
#define STRINGS_FUNCS(X) \
	X(crypto, ERR_load_ERR_strings) X(crypto, ERR_load_CRYPTO_strings) \
	X(crypto, ERR_load_ASN1_strings) X(crypto, ERR_load_BIO_strings) \
	X(crypto, ERR_load_BN_strings) X(crypto, ERR_load_BUF_strings) \
	X(crypto, ERR_load_EC_strings) X(crypto, ERR_load_EVP_strings) \
	X(crypto, ERR_load_OBJ_strings) X(crypto, ERR_load_PEM_strings) \
	X(crypto, ERR_load_RAND_strings) X(crypto, ERR_load_RSA_strings) \
	X(crypto, ERR_load_X509_strings) X(crypto, ERR_load_X509V3_strings) \
	X(ssl, ERR_load_SSL_strings)

/* O.f has the type of &f; valid once ossl_load() returned true. */
static struct {
#define X(f) __typeof__(&f) f;
	CRYPTO_FUNCS(X)
	SSL_FUNCS(X)
#undef X
#define X(lib, f) int (*f)(void);
	STRINGS_FUNCS(X)
#undef X
} O;

/* POSIX (dlsym) makes function and object pointers interconvertible. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *),
	       "function pointers must fit in void *");

static bool ossl_sym(void *lib, const char *name, void *fp, char *why,
		     size_t whylen)
{
	void *p;

	dlerror();
	p = dlsym(lib, name);
	if (!p) {
		const char *e = dlerror();
		snprintf(why, whylen, "OpenSSL not available: %s",
			 e ? e : name);
		return false;
	}
	memcpy(fp, &p, sizeof p);           /* no object-to-function cast */
	return true;
}

/* Loads both libraries and every function, once; false with why. */
static bool ossl_load(char *why, size_t whylen)
{
	static int state;                   /* 0 not tried, 1 ok, -1 failed */
	static char err[256];
	void *crypto, *ssl;
	bool ok;

	if (state == 0) {
		/* libcrypto first: libssl needs it anyway */
		crypto = dlopen(LIBCRYPTO_SONAME, OSSL_DLOPEN_FLAGS);
		ssl = crypto ? dlopen(LIBSSL_SONAME, OSSL_DLOPEN_FLAGS) : NULL;
		ok = ssl != NULL;
		if (!ok) {
			const char *e = dlerror();
			snprintf(err, sizeof err, "OpenSSL not available: %s",
				 e ? e : "dlopen failed");
		}
#define X(f) ok = ok && ossl_sym(crypto, #f, &O.f, err, sizeof err);
		CRYPTO_FUNCS(X)
#undef X
#define X(f) ok = ok && ossl_sym(ssl, #f, &O.f, err, sizeof err);
		SSL_FUNCS(X)
#undef X
#define X(lib, f) ok = ok && ossl_sym(lib, #f, &O.f, err, sizeof err);
		STRINGS_FUNCS(X)
#undef X
		state = ok ? 1 : -1;
	}
	if (state < 0)
		snprintf(why, whylen, "%s", err);
	return state > 0;
}

/* The macros of ssl.h that expand to SSL_CTX_ctrl. */
static long ctx_set_min_proto_version(SSL_CTX *ctx, int version)
{
	return O.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, version, NULL);
}

static long ctx_set1_groups_list(SSL_CTX *ctx, const char *list)
{
	return O.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_GROUPS_LIST, 0, (char *)list);
}

static long ctx_set_mode(SSL_CTX *ctx, long mode)
{
	return O.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, mode, NULL);
}

static long ctx_set_session_cache_mode(SSL_CTX *ctx, long mode)
{
	return O.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, mode, NULL);
}

/* ---- state ------------------------------------------------------------ */

struct ticket_key {
	unsigned char name[16], hmac[32], aes[32];
};

/* Per process: the context and the ticket keys.  The connection itself
 * is the session's (struct tls_conn, session.h). */
static struct {
	SSL_CTX *ctx;
	bool ctx_tried;
	int nkeys;
	struct ticket_key keys[TICKET_KEYS_MAX];
	/* SMTP_TLS_CERT and SMTP_TLS_KEY as read at STARTTLS, parsed only
	 * by cert_cb() (a full handshake); the key is zeroed after use. */
	const char *cert_file, *key_file;
	char *cert_pem, *key_pem;
	size_t cert_len, key_len;
	int cert_loads;                 /* cert_cb() calls: the "tls" event */
} T;

bool tls_configured(const struct config *cfg)
{
	return cfg->tls != TLS_OFF && cfg->tls_cert && cfg->tls_key;
}

/* ---- errors -------------------------------------------------------- */

/* OpenSSL's last queued error as text, or fallback; clears the queue.
 * The error strings are loaded here, at the first error, not at
 * initialisation (OPENSSL_INIT_NO_LOAD_*_STRINGS, ~1 M instructions
 * that a session without an error never needs; STRINGS_FUNCS). */
static void ssl_reason(char *buf, size_t len, const char *fallback)
{
	static bool strings;
	unsigned long e = O.ERR_peek_last_error();

	if (e && !strings) {
#define X(lib, f) (void)O.f();
		STRINGS_FUNCS(X)
#undef X
		strings = true;
	}
	if (e)
		O.ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", fallback);
	O.ERR_clear_error();
}

static void log_tls_error(const char *stage, const char *reason)
{
	log_event("tls_error", "stage", stage, "reason", reason, NULL);
}

/* ---- ticket keys ----------------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses the file's text into out[]; returns the number of keys or -1
 * with why filled in. */
static int keys_parse(const char *text, size_t len, struct ticket_key *out,
		      int max, char *why, size_t whylen)
{
	int n = 0, lineno = 0;
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end;
		size_t l = (size_t)(e - p);
		unsigned char raw[80];

		lineno++;
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == 0 || p[0] == '#') {
			p = nl ? nl + 1 : end;
			continue;
		}
		if (l != TICKET_HEX) {
			snprintf(why, whylen, "line %d: not %d hex digits",
				 lineno, TICKET_HEX);
			return -1;
		}
		for (size_t i = 0; i < sizeof raw; i++) {
			int hi = hexval((unsigned char)p[2 * i]);
			int lo = hexval((unsigned char)p[2 * i + 1]);
			if (hi < 0 || lo < 0) {
				snprintf(why, whylen, "line %d: not hex", lineno);
				return -1;
			}
			raw[i] = (unsigned char)(hi << 4 | lo);
		}
		if (n == max) {
			snprintf(why, whylen, "more than %d keys", max);
			return -1;
		}
		memcpy(out[n].name, raw, 16);
		memcpy(out[n].hmac, raw + 16, 32);
		memcpy(out[n].aes, raw + 48, 32);
		n++;
		p = nl ? nl + 1 : end;
	}
	if (n == 0)
		snprintf(why, whylen, "no key in the file");
	return n > 0 ? n : -1;
}

/* Reads and checks the key file.  private: refuse group/world access.
 * st gets the file's status (for --new-ticket-key's owner). */
static int keys_read(const char *path, struct ticket_key *out, int max,
		     struct stat *st, char *why, size_t whylen)
{
	char buf[TICKET_FILE_MAX + 1];
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int n;

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(why, whylen,
			 "accessible by group or others (mode %04o); must be 0600",
			 (unsigned)(st->st_mode & 07777));
		close(fd);
		return -1;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, sizeof buf - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == sizeof buf) {
			snprintf(why, whylen, "longer than %d octets",
				 TICKET_FILE_MAX);
			close(fd);
			return -1;
		}
	}
	close(fd);
	n = keys_parse(buf, len, out, max, why, whylen);
	explicit_bzero(buf, sizeof buf);
	return n;
}

static int mac_params(EVP_MAC_CTX *hctx, unsigned char *key)
{
	OSSL_PARAM params[3];

	params[0] = O.OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
	params[1] = O.OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[2] = O.OSSL_PARAM_construct_end();
	return O.EVP_MAC_CTX_set_params(hctx, params);
}

/* SSL_CTX_set_tlsext_ticket_key_evp_cb(3ssl): 1 = key set, 2 = key set
 * but renew the ticket, 0 = unknown key (full handshake), -1 = error. */
static int ticket_cb(SSL *ssl, unsigned char name[16],
		     unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX *c,
		     EVP_MAC_CTX *hctx, int enc)
{
	(void)ssl;
	if (enc) {
		struct ticket_key *k = &T.keys[0];

		memcpy(name, k->name, 16);
		if (O.RAND_bytes(iv, 16) <= 0 ||
		    !O.EVP_EncryptInit_ex(c, O.EVP_aes_256_cbc(), NULL, k->aes, iv) ||
		    !mac_params(hctx, k->hmac))
			return -1;
		return 1;
	}
	for (int i = 0; i < T.nkeys; i++) {
		struct ticket_key *k = &T.keys[i];

		if (memcmp(name, k->name, 16) != 0)
			continue;
		if (!mac_params(hctx, k->hmac) ||
		    !O.EVP_DecryptInit_ex(c, O.EVP_aes_256_cbc(), NULL, k->aes, iv))
			return -1;
		return i == 0 ? 1 : 2;
	}
	return 0;
}

/* Tickets with the shared keys, or none at all. */
static void setup_tickets(const struct config *cfg)
{
	char why[160];
	struct stat st;

	if (cfg->tls_ticket_keys) {
		T.nkeys = keys_read(cfg->tls_ticket_keys, T.keys,
				    TICKET_KEYS_MAX, &st, why, sizeof why);
		if (T.nkeys > 0 &&
		    O.SSL_CTX_set_tlsext_ticket_key_evp_cb(T.ctx, ticket_cb) == 1)
			return;
		if (T.nkeys > 0)
			ssl_reason(why, sizeof why, "cannot set the ticket callback");
		T.nkeys = 0;
		log_event("tls_error", "stage", "ticket_keys", "file",
			  cfg->tls_ticket_keys, "reason", why, NULL);
	}
	/* 3.0 would otherwise issue stateful TLS 1.3 tickets, useless
	 * without a cache (tech-brief section 4). */
	O.SSL_CTX_set_options(T.ctx, SSL_OP_NO_TICKET);
	O.SSL_CTX_set_num_tickets(T.ctx, 0);
}

/* ---- the context ---------------------------------------------------- */

static int cert_cb(SSL *ssl, void *arg);

/*
 * OpenSSL's initialisation, only what a session needs:
 * - OPENSSL_INIT_NO_LOAD_CONFIG: openssl.cnf is not read.  The server's
 *   TLS settings are all in this file (protocols, groups, ciphers); a
 *   system-wide openssl.cnf (Debian's sets nothing for TLS servers, but
 *   a local one could raise the security level or load an engine or a
 *   provider) does not apply to smtp-session.  Saves ~1.7 M instructions
 *   per TLS session (bench/RESULTS.md).
 * - OPENSSL_INIT_NO_ADD_ALL_CIPHERS: the legacy cipher name table
 *   (EVP_get_cipherbyname(), ~200 ciphers) is not filled, so 3.0's
 *   name map has nothing to copy from it either.  OPENSSL_init_ssl()
 *   would ask for it; asked first, "not" wins (a run-once).  Nothing
 *   here or in libssl 3.0 looks a cipher up by its legacy name: libssl
 *   fetches from the provider (EVP_CIPHER_fetch) by the names the
 *   provider registers; the ticket callback's EVP_aes_256_cbc() is a
 *   static object that is fetched the same way.  The digest table is
 *   still filled: the security level's check of a chain certificate's
 *   signature finds its digest by NID there (X509_get_signature_info ->
 *   EVP_get_digestbynid), and without it every CA certificate is "ca md
 *   too weak" (tests/tls.bats, a CA-signed chain).
 * - the error strings are loaded at the first error (ssl_reason()),
 *   ~1 M instructions.
 */
static bool ossl_init(void)
{
	const uint64_t opts = OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_LOAD_CONFIG |
			      OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS;

	return O.OPENSSL_init_crypto(opts | OPENSSL_INIT_NO_ADD_ALL_CIPHERS,
				     NULL) == 1 &&
	       O.OPENSSL_init_ssl(opts | OPENSSL_INIT_NO_LOAD_SSL_STRINGS,
				  NULL) == 1;
}

/* Builds the one SSL_CTX; on failure why says why and which variable.
 * with_cert (--check-config): certificate and key are loaded into it
 * and checked; otherwise (a session) cert_cb() installs them into the
 * connection when a full handshake needs them. */
static SSL_CTX *ctx_new(const struct config *cfg, bool with_cert, char *why,
			size_t whylen)
{
	SSL_CTX *ctx;
	char r[256];

	if (!ossl_load(why, whylen))
		return NULL;
	if (!ossl_init() || !(ctx = O.SSL_CTX_new(O.TLS_server_method()))) {
		ssl_reason(r, sizeof r, "cannot initialise OpenSSL");
		snprintf(why, whylen, "%s", r);
		return NULL;
	}
	if (!ctx_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !ctx_set1_groups_list(ctx, TLS_GROUPS) ||
	    !O.SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		ssl_reason(r, sizeof r, "cannot set protocol parameters");
		snprintf(why, whylen, "%s", r);
		goto fail;
	}
	/* our cipher order, not the client's: it puts AEAD + forward secrecy
	 * first (what testssl checks as "cipher order") */
	O.SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			      SSL_OP_CIPHER_SERVER_PREFERENCE);
	ctx_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	ctx_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	O.SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"smtp-session",
				       12);
	if (!with_cert) {
		O.SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
		return ctx;
	}
	if (O.SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
		ssl_reason(r, sizeof r, "cannot load");
		snprintf(why, whylen, "SMTP_TLS_CERT: %s: %s", cfg->tls_cert, r);
		goto fail;
	}
	if (O.SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
		unsigned long e = O.ERR_peek_last_error();

		/* with the certificate loaded, OpenSSL already compares */
		if (ERR_GET_LIB(e) != ERR_LIB_X509 ||
		    ERR_GET_REASON(e) != X509_R_KEY_VALUES_MISMATCH) {
			ssl_reason(r, sizeof r, "cannot load");
			snprintf(why, whylen, "SMTP_TLS_KEY: %s: %s", cfg->tls_key, r);
			goto fail;
		}
	}
	if (O.SSL_CTX_check_private_key(ctx) != 1) {
		O.ERR_clear_error();
		snprintf(why, whylen, "SMTP_TLS_KEY: %s: does not match the certificate in %s",
			 cfg->tls_key, cfg->tls_cert);
		goto fail;
	}
	return ctx;
fail:
	O.SSL_CTX_free(ctx);
	return NULL;
}

static bool ctx_init(const struct config *cfg)
{
	char why[512];

	if (T.ctx_tried)
		return T.ctx != NULL;
	T.ctx_tried = true;
	T.ctx = ctx_new(cfg, false, why, sizeof why);
	if (!T.ctx) {
		log_tls_error("setup", why);
		return false;
	}
	setup_tickets(cfg);
	return true;
}

/* ---- certificate and key, for full handshakes only -------------------- */

/*
 * Parsing the certificate chain and the key is the dearest part of the
 * per-process set-up after SSL_CTX_new (with a PEM key ~4 M instructions
 * of 3.0's decoder search), and a resumed handshake never uses them.  So
 * tls_prepare() only reads both files into memory (an unreadable file is
 * still "454 4.7.0" at STARTTLS, as before), and cert_cb() parses them
 * and installs them into the connection.  OpenSSL calls it from
 * tls_post_process_client_hello() only when the session is not resumed
 * (!s->hit, both TLS 1.2 and 1.3), before it chooses the TLS 1.2 cipher
 * and the signature algorithm, which is when a certificate is first
 * needed.  The "tls" event's cert_loads= counts the calls (tests/tls.bats
 * checks 1 for a full handshake, 0 for a resumed one).
 *
 * The key is decoded with its type named (the certificate's public key
 * algorithm, e.g. "EC"), so 3.0's decoder chain is built for that type
 * only instead of PEM_read_bio_PrivateKey()'s probe of every decoder.
 */
#define PEM_FILE_MAX 65536

/* The whole file into a fresh buffer (+NUL); false with why. */
static bool file_slurp(const char *path, char **out, size_t *outlen,
		       char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;
	char *buf;
	struct stat st;

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return false;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > PEM_FILE_MAX) {
		snprintf(why, whylen, "not a regular file of at most %d octets",
			 PEM_FILE_MAX);
		close(fd);
		return false;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(why, whylen, "out of memory");
		close(fd);
		return false;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "%s", r < 0 ? strerror(errno) :
				 "shorter than its size");
			explicit_bzero(buf, len);
			free(buf);
			close(fd);
			return false;
		}
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return true;
}

/* Reads SMTP_TLS_CERT and SMTP_TLS_KEY, once per process; logged. */
static bool cert_files_read(const struct config *cfg)
{
	char why[256];

	T.cert_file = cfg->tls_cert;
	T.key_file = cfg->tls_key;
	if (!T.cert_pem &&
	    !file_slurp(cfg->tls_cert, &T.cert_pem, &T.cert_len, why, sizeof why)) {
		log_event("tls_error", "stage", "setup", "file", cfg->tls_cert,
			  "reason", why, NULL);
		return false;
	}
	if (!T.key_pem &&
	    !file_slurp(cfg->tls_key, &T.key_pem, &T.key_len, why, sizeof why)) {
		log_event("tls_error", "stage", "setup", "file", cfg->tls_key,
			  "reason", why, NULL);
		return false;
	}
	return true;
}

/* The private key of type (e.g. "EC") from T.key_pem, or NULL. */
static EVP_PKEY *key_decode(const char *type)
{
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = (const unsigned char *)T.key_pem;
	size_t len = T.key_len;
	OSSL_DECODER_CTX *d = O.OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM",
			NULL, type, EVP_PKEY_KEYPAIR, NULL, NULL);

	if (d && O.OSSL_DECODER_from_data(d, &p, &len) != 1) {
		O.EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	O.OSSL_DECODER_CTX_free(d);
	explicit_bzero(T.key_pem, T.key_len);      /* needed once */
	return pkey;
}

static void x509_free(void *x)
{
	O.X509_free(x);
}

/* SSL_CTX_set_cert_cb(3ssl): 1 = go on, 0 = fail the handshake. */
static int cert_cb(SSL *ssl, void *arg)
{
	BIO *b = O.BIO_new_mem_buf(T.cert_pem, (int)T.cert_len);
	X509 *leaf = NULL, *x;
	EVP_PKEY *pkey = NULL;
	OPENSSL_STACK *chain = O.OPENSSL_sk_new_null();
	const char *file = T.cert_file;
	char why[256];
	int ok = 0;

	(void)arg;
	T.cert_loads++;
	if (!b || !chain)
		goto done;
	/* as SSL_CTX_use_certificate_chain_file(): the leaf, then the chain */
	leaf = O.PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
	if (!leaf)
		goto done;
	while ((x = O.PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (O.OPENSSL_sk_push(chain, x) <= 0) {
			O.X509_free(x);
			goto done;
		}
	/* the end of the file is PEM_R_NO_START_LINE; anything else is bad */
	if (ERR_GET_LIB(O.ERR_peek_last_error()) != ERR_LIB_PEM ||
	    ERR_GET_REASON(O.ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		goto done;
	O.ERR_clear_error();
	file = T.key_file;
	pkey = key_decode(O.EVP_PKEY_get0_type_name(O.X509_get0_pubkey(leaf)));
	if (!pkey)
		goto done;
	/* checks that the key belongs to the certificate */
	ok = O.SSL_use_cert_and_key(ssl, leaf, pkey, (STACK_OF(X509) *)chain, 1);
done:
	if (!ok) {
		ssl_reason(why, sizeof why, "cannot load");
		log_event("tls_error", "stage", "certificate", "file", file,
			  "reason", why, NULL);
	} else {
		/* nothing a decoder tried on the way may reach SSL_get_error() */
		O.ERR_clear_error();
	}
	O.BIO_free(b);
	O.X509_free(leaf);
	O.EVP_PKEY_free(pkey);
	O.OPENSSL_sk_pop_free(chain, x509_free);
	return ok;
}

/* ---- the transport -------------------------------------------------- */

/* Maps an SSL_read/SSL_write failure to io.c's convention. */
static ssize_t io_result(struct tls_conn *t, int ret, const char *stage)
{
	char why[256];
	int e = O.SSL_get_error(t->ssl, ret);
	unsigned long last;

	switch (e) {
	case SSL_ERROR_WANT_READ:
		t->wants = POLLIN;
		return -2;
	case SSL_ERROR_WANT_WRITE:
		t->wants = POLLOUT;
		return -2;
	case SSL_ERROR_ZERO_RETURN:           /* close_notify */
		return 0;
	case SSL_ERROR_SYSCALL:
		t->failed = true;
		O.ERR_clear_error();
		if (errno == 0 || errno == ECONNRESET || errno == EPIPE)
			return 0;             /* peer gone */
		return -1;
	default:
		t->failed = true;
		last = O.ERR_peek_last_error();
		if (ERR_GET_LIB(last) == ERR_LIB_SSL &&
		    ERR_GET_REASON(last) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			O.ERR_clear_error();
			return 0;             /* dropped mid-record: as EOF */
		}
		ssl_reason(why, sizeof why, "protocol error");
		log_tls_error(stage, why);
		errno = EPROTO;               /* not EINTR/EAGAIN: io.c stops */
		return -1;
	}
}

static ssize_t tp_read(void *ctx, void *buf, size_t len)
{
	struct tls_conn *t = ctx;
	size_t n;
	int r;

	O.ERR_clear_error();
	errno = 0;
	r = O.SSL_read_ex(t->ssl, buf, len, &n);
	return r == 1 ? (ssize_t)n : io_result(t, r, "read");
}

static ssize_t tp_write(void *ctx, const void *buf, size_t len)
{
	struct tls_conn *t = ctx;
	size_t n;
	int r;

	if (t->failed) {
		errno = EPIPE;
		return -1;
	}
	O.ERR_clear_error();
	errno = 0;
	r = O.SSL_write_ex(t->ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	r = (int)io_result(t, r, "write");
	if (r == 0) {                         /* peer gone: a write error */
		errno = EPIPE;
		return -1;
	}
	if (r == -1)
		errno = EPIPE;
	return r;
}

static size_t tp_pending(void *ctx)
{
	struct tls_conn *t = ctx;
	int n = O.SSL_pending(t->ssl);

	return n > 0 ? (size_t)n : 0;
}

static void tp_close(void *ctx, struct io *io);

static short tp_wants(void *ctx)
{
	const struct tls_conn *t = ctx;

	return t->wants;
}

/* ---- the handshake -------------------------------------------------- */

static bool set_nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

/* Context and SSL object for this connection; logged on failure. */
static bool tls_prepare(struct session *s)
{
	if (!ctx_init(s->cfg) || !cert_files_read(s->cfg))
		return false;
	s->tls.ssl = O.SSL_new(T.ctx);
	if (!s->tls.ssl || !O.SSL_set_rfd(s->tls.ssl, s->io.in) ||
	    !O.SSL_set_wfd(s->tls.ssl, s->io.out)) {
		char why[256];
		ssl_reason(why, sizeof why, "SSL_new failed");
		log_tls_error("setup", why);
		return false;
	}
	if (!set_nonblocking(s->io.in) || !set_nonblocking(s->io.out)) {
		log_tls_error("setup", strerror(errno));
		return false;
	}
	return true;
}

/* SSL_accept within SMTP_TIMEOUT; then the transport and the facts. */
static bool tls_handshake(struct session *s)
{
	struct io *io = &s->io;
	long long saved = io->session_end, limit = mono_ms() + io->timeout * 1000LL;
	char why[256], bits[16], loads[16];
	const SSL_CIPHER *c;
	const char *ver;

	if (limit < saved)            /* the handshake as a whole */
		io->session_end = limit;
	for (;;) {
		int r, e;
		short ev;
		enum io_status st;

		O.ERR_clear_error();
		errno = 0;
		r = O.SSL_accept(s->tls.ssl);
		if (r == 1)
			break;
		e = O.SSL_get_error(s->tls.ssl, r);
		ev = e == SSL_ERROR_WANT_READ ? POLLIN :
		     e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
		if (ev == 0) {
			s->tls.failed = true;
			if (e == SSL_ERROR_SYSCALL && !O.ERR_peek_last_error())
				snprintf(why, sizeof why, "%s",
					 errno ? strerror(errno) :
					 "connection closed by the client");
			else
				ssl_reason(why, sizeof why, "handshake failed");
			log_tls_error("handshake", why);
			return false;
		}
		st = io_wait(io, ev);
		if (st != IO_OK) {
			s->tls.failed = true;
			log_tls_error("handshake", st == IO_TIMEOUT ? "timeout" :
				      "poll failed");
			return false;
		}
	}
	io->session_end = saved;

	s->tls.tp.read = tp_read;
	s->tls.tp.write = tp_write;
	s->tls.tp.pending = tp_pending;
	s->tls.tp.wants = tp_wants;
	s->tls.tp.close = tp_close;
	s->tls.tp.ctx = &s->tls;
	io->tp = &s->tls.tp;
	s->tls_active = true;

	ver = O.SSL_get_version(s->tls.ssl);     /* "TLSv1.3" */
	c = O.SSL_get_current_cipher(s->tls.ssl);
	snprintf(s->tls_info, sizeof s->tls_info, "TLS%s %s",
		 strncmp(ver, "TLSv", 4) == 0 ? ver + 4 : ver,
		 c ? O.SSL_CIPHER_get_name(c) : "unknown");
	snprintf(bits, sizeof bits, "%d", c ? O.SSL_CIPHER_get_bits(c, NULL) : 0);
	snprintf(loads, sizeof loads, "%d", T.cert_loads);
	log_event("tls", "version", ver,
		  "cipher", c ? O.SSL_CIPHER_get_name(c) : "unknown",
		  "bits", bits, "cert_loads", loads,
		  "resumed", O.SSL_session_reused(s->tls.ssl) ? "yes" : "no", NULL);
	return true;
}

bool tls_implicit_start(struct session *s)
{
	return tls_prepare(s) && tls_handshake(s);
}

/* Once, and only when offered: the command table's rules. */
void cmd_starttls(struct session *s, const char *arg,
		  const struct refusal *refused)
{
	(void)arg;                          /* CMD_NOARG: 501 in dispatch */
	(void)refused;
	if (!tls_prepare(s)) {
		reply(s, 454, "4.7.0", "TLS not available due to temporary reason");
		return;
	}
	reply(s, 220, "2.0.0", "Ready to start TLS");
	if (io_flush(&s->io) < 0) {
		s->quit = true;
		return;
	}
	/* RFC 3207 4.2 / CVE-2011-0411: plaintext pipelined after
	 * STARTTLS must never be executed as if it came over TLS. */
	io_discard_input(&s->io);
	if (!tls_handshake(s)) {
		session_end(s, "tls_failed");
		return;
	}
	session_restart(s);               /* RFC 3207 4.2 */
}

/* The transport's close: our close_notify, not waiting for the client's. */
static void tp_close(void *ctx, struct io *io)
{
	struct tls_conn *t = ctx;

	if (!t->ssl || t->failed)
		return;
	/* Our close_notify only; the client's is not waited for. */
	for (int tries = 0; tries < 2; tries++) {
		int r, e;

		O.ERR_clear_error();
		r = O.SSL_shutdown(t->ssl);
		if (r >= 0)
			break;
		e = O.SSL_get_error(t->ssl, r);
		if (e != SSL_ERROR_WANT_WRITE || io_wait(io, POLLOUT) != IO_OK)
			break;
	}
	O.ERR_clear_error();
	t->failed = true;                    /* once */
}

/* ---- --check-config ---------------------------------------------------- */

static void tls_report(void (*report)(const char *), const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void tls_report(void (*report)(const char *), const char *fmt, ...)
{
	char line[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (report)
		report(line);
}

static void asn1_date(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm tm;

	if (!O.ASN1_TIME_to_tm(t, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "(unknown date)");
}

/* Warnings about the certificate's validity period (not problems). */
static void check_dates(SSL_CTX *ctx, const struct config *cfg,
			void (*report)(const char *))
{
	X509 *x = O.SSL_CTX_get0_certificate(ctx);
	time_t soon = time(NULL) + 14 * 86400;
	char date[64];

	if (!x)
		return;
	asn1_date(O.X509_get0_notAfter(x), date, sizeof date);
	if (O.X509_cmp_time(O.X509_get0_notAfter(x), NULL) <= 0)
		tls_report(report, "warning: SMTP_TLS_CERT: %s: expired on %s",
			   cfg->tls_cert, date);
	else if (O.X509_cmp_time(O.X509_get0_notAfter(x), &soon) <= 0)
		tls_report(report, "warning: SMTP_TLS_CERT: %s: expires on %s",
			   cfg->tls_cert, date);
	if (O.X509_cmp_time(O.X509_get0_notBefore(x), NULL) >= 0) {
		asn1_date(O.X509_get0_notBefore(x), date, sizeof date);
		tls_report(report, "warning: SMTP_TLS_CERT: %s: not valid before %s",
			   cfg->tls_cert, date);
	}
}

int tls_check_files(const struct config *cfg, void (*report)(const char *))
{
	int problems = 0;
	bool readable = true;

	if (cfg->tls_cert && access(cfg->tls_cert, R_OK) < 0) {
		tls_report(report, "SMTP_TLS_CERT: %s: %s", cfg->tls_cert,
			   strerror(errno));
		problems++, readable = false;
	}
	if (cfg->tls_key && access(cfg->tls_key, R_OK) < 0) {
		tls_report(report, "SMTP_TLS_KEY: %s: %s", cfg->tls_key,
			   strerror(errno));
		problems++, readable = false;
	}
	if (readable && cfg->tls_cert && cfg->tls_key) {
		char why[512];
		SSL_CTX *ctx = ctx_new(cfg, true, why, sizeof why);

		if (!ctx) {
			tls_report(report, "%s", why);
			problems++;
		} else {
			check_dates(ctx, cfg, report);
			O.SSL_CTX_free(ctx);
		}
	}
	if (cfg->tls_ticket_keys) {
		struct ticket_key k[TICKET_KEYS_MAX];
		struct stat st;
		char why[160];

		if (keys_read(cfg->tls_ticket_keys, k, TICKET_KEYS_MAX, &st, why,
			      sizeof why) < 0) {
			tls_report(report, "SMTP_TLS_TICKET_KEYS: %s: %s",
				   cfg->tls_ticket_keys, why);
			problems++;
		}
		explicit_bzero(k, sizeof k);
	}
	return problems;
}

/* ---- --new-ticket-key ------------------------------------------------- */

static void key_hex(const struct ticket_key *k, char out[TICKET_HEX + 2])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[80];

	memcpy(raw, k->name, 16);
	memcpy(raw + 16, k->hmac, 32);
	memcpy(raw + 48, k->aes, 32);
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[TICKET_HEX] = '\n';
	out[TICKET_HEX + 1] = '\0';
	explicit_bzero(raw, sizeof raw);
}

static const char key_header[] =
	"# smtp-session TLS ticket keys (smtp-session --new-ticket-key FILE).\n"
	"# One key a line: 16-octet name, 32-octet HMAC key, 32-octet AES key,\n"
	"# in hex.  The first key encrypts; the others only decrypt.  Private!\n";

int tls_new_ticket_key(const char *path)
{
	struct ticket_key k[TICKET_KEYS_MAX + 1];
	struct stat st;
	char why[160], tmp[4096], dirbuf[4096], line[TICKET_HEX + 2];
	const char *dir;
	int n = 0, fd, dfd;
	bool ok;

	if (strlen(path) + 16 > sizeof tmp) {
		dprintf(2, "smtp-session: %s: name too long\n", path);
		return 1;
	}
	/* Keep the newest old keys; an unusable file is never overwritten. */
	if (access(path, F_OK) == 0) {
		n = keys_read(path, k + 1, TICKET_KEYS_MAX, &st, why, sizeof why);
		if (n < 0) {
			dprintf(2, "smtp-session: %s: %s; not replaced\n", path, why);
			return 1;
		}
		if (n > TICKET_KEYS_KEEP - 1)
			n = TICKET_KEYS_KEEP - 1;
	} else if (errno != ENOENT) {
		dprintf(2, "smtp-session: %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* A fresh name, distinct from the kept ones. */
	for (;;) {
		bool dup = false;
		if (getrandom(&k[0], sizeof k[0], 0) != (ssize_t)sizeof k[0]) {
			dprintf(2, "smtp-session: getrandom: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 1; i <= n; i++)
			dup |= memcmp(k[0].name, k[i].name, 16) == 0;
		if (!dup)
			break;
	}
	snprintf(dirbuf, sizeof dirbuf, "%s", path);
	dir = dirname(dirbuf);
	snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
	fd = mkstemp(tmp);                /* mode 0600 */
	if (fd < 0) {
		dprintf(2, "smtp-session: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	ok = fchmod(fd, 0600) == 0;
	if (ok && n > 0 && (st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) < 0)
		ok = false;
	ok = ok && write_all(fd, key_header, strlen(key_header)) == 0;
	for (int i = 0; ok && i <= n; i++) {
		key_hex(&k[i], line);
		ok = write_all(fd, line, TICKET_HEX + 1) == 0;
	}
	explicit_bzero(line, sizeof line);
	explicit_bzero(k, sizeof k);
	ok = ok && fsync(fd) == 0;
	if (close(fd) < 0)
		ok = false;
	if (!ok || rename(tmp, path) < 0) {
		dprintf(2, "smtp-session: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		return 1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	printf("smtp-session: %s: new ticket key, %d older kept\n", path, n);
	return 0;
}
