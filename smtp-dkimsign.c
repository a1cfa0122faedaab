/*
 * smtp-dkimsign.c - DKIM-sign mail of authenticated senders, a filter in
 * the qmail-queue chain.
 *
 * SUMMARY
 *	smtp-dkimsign NEXT [ARGS...]
 *
 *	Sits in front of NEXT with qmail-queue(8)'s interface (message on
 *	fd 0, envelope on fd 1; filter-chain.c).  A message is signed when
 *	the session authenticated its sender (SMTP_AUTH_USER set) or, with
 *	SMTP_DKIM_SIGN_RELAYCLIENT=1, when RELAYCLIENT is set (a trusted
 *	network).  Any other message is handed to NEXT untouched: exec, no
 *	read, no copy.
 *
 *	The signing domain comes from the one address of the one From
 *	field (ah_from_domain(), authres-header.c, the parser smtp-authres
 *	uses for DMARC); the key table (SMTP_DKIM_KEYS, dkimsign-keys.c)
 *	gives the selectors and key files for it, one signature per line
 *	(an RSA and an Ed25519 one side by side, RFC 8463).  The key type
 *	picks the algorithm: rsa-sha256 or ed25519-sha256.  Canonicalization
 *	relaxed/relaxed (RFC 6376 3.4.2, 3.4.4).  Signed: the fields of
 *	SIGN_FIELDS present; over-signed (named once more than present, so
 *	adding one breaks the signature, RFC 6376 8.15): OVERSIGN_FIELDS.
 *	libopendkim computes and formats the signature; we only feed it.
 *
 *	The DKIM-Signature fields are prepended and the result handed to
 *	NEXT (filter_write_message(), filter_exec_next()).
 *
 *	Not signed, passed on with one log line: no From or more than one
 *	From field, a From with no usable domain or several addresses, a
 *	header block over HEADER_MAX, and a From domain without a line in
 *	the table (a user's foreign address is not ours to sign).
 *	Refused for now (exit 71, "451 4.3.5"): a table or key that is
 *	there but unusable (unreadable, malformed, group- or
 *	world-readable, a key type other than RSA or Ed25519): the
 *	administrator asked for signatures, and mail that leaves unsigned
 *	would fail DMARC at its destination.
 *
 * LIMITS
 *	Header block HEADER_MAX octets, FIELDS_MAX fields; key table
 *	TABLE_MAX octets; key file KEY_MAX octets; DK_MATCH_MAX signatures.
 *	The body is fed in 64 KiB blocks, never held whole.
 *
 * DIAGNOSTICS
 *	One stderr line per event, "smtp-dkimsign: key=value ...", which
 *	the session logs; a refusal ends with the reply line for the client
 *	(queue.c CUSTOM REPLIES) and exit 71.  Exit codes otherwise those of
 *	filter-chain.c (qmail-queue(8)), 55 when NEXT cannot be executed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <dkim.h>

#include "authres-header.h"
#include "dkimsign-keys.h"
#include "escape.h"
#include "filter-chain.h"

#define HEADER_MAX (256 * 1024)
#define FIELDS_MAX 2000
#define TABLE_MAX  (1024 * 1024)
#define KEY_MAX    (64 * 1024)

/* ---- variables: name, default, meaning (printed by --help) ---- */

static const struct var {
	const char *name, *def, *help;
} vars[] = {
	{ "SMTP_DKIM_KEYS", "/etc/smtp-session/dkim-keys",
	  "the key table: lines \"domain selector /path/key.pem\"" },
	{ "SMTP_DKIM_SIGN_RELAYCLIENT", "0",
	  "1: also sign mail of RELAYCLIENT clients; 0: authenticated only" },
};

static const char *var(const char *name)
{
	const char *v = getenv(name);

	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		if (strcmp(vars[i].name, name) == 0 && (!v || !*v))
			return vars[i].def;
	return v ? v : "";
}

/* RFC 6376 5.4.1's list, and what signers sign today (List-* for RFC
 * 2369/8058 one-click unsubscribe, the MIME fields).  Only fields
 * present are signed, except the over-signed ones. */
static const char *sign_fields[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Content-Disposition", "Content-ID",
	"Content-Description", "Resent-Date", "Resent-From", "Resent-Sender",
	"Resent-To", "Resent-Cc", "Resent-Message-ID", "Sender", "List-*",
	"Autocrypt", "Openpgp", NULL,
};

/* The fields a message has at most once (RFC 5322 3.6) that a replayer
 * would most like to add or a second copy of which misleads a reader. */
static const char *oversign_fields[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID",
	"In-Reply-To", "References", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "List-Unsubscribe",
	"List-Unsubscribe-Post", NULL,
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smtp-dkimsign NEXT [ARGS...]\n"
		"A qmail-queue filter: DKIM-signs mail of authenticated senders\n"
		"(SMTP_AUTH_USER) with the key of its From domain, then execs NEXT.\n"
		"Environment:\n");
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		fprintf(f, "  %-26s default \"%s\"\n      %s\n", vars[i].name,
			vars[i].def, vars[i].help);
}

/* ---- diagnostics ---- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0) {
		/* nothing left to tell it to */
	}
}

/* A value from the message or the environment, safe in a log line. */
static const char *esc(char *buf, size_t cap, const char *s)
{
	escape_text(buf, cap, s, strlen(s), ' ');
	return buf;
}

/* The configuration is broken: the session tells the client to retry. */
static int refuse(void)
{
	say("451 4.3.5 Message signing is misconfigured here, try again later");
	return QQ_TEMP;
}

/* ---- who is signed ---- */

static const char *signed_for;	/* auth or relayclient, for the log */

static int wants_signature(const char **why)
{
	const char *user = getenv("SMTP_AUTH_USER");

	if (user && *user) {
		*why = "auth";
		return 1;
	}
	if (getenv("RELAYCLIENT") &&
	    strcmp(var("SMTP_DKIM_SIGN_RELAYCLIENT"), "1") == 0) {
		*why = "relayclient";
		return 1;
	}
	return 0;
}

/* ---- files ---- */

/* Reads the whole regular file (at most max octets) into a
 * NUL-terminated buffer; NULL with errno (EFBIG: larger).  Mode bits in
 * deny (077 for a key: only its owner may read or write it; 022 for the
 * table: only its owner may change which keys sign) give EPERM; *mode
 * gets the file's mode. */
static char *slurp(const char *path, size_t max, size_t *len, mode_t deny,
		   mode_t *mode)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int e;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	*mode = st.st_mode & 07777;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((st.st_mode & deny) != 0) {
		errno = EPERM;
		goto fail;
	}
	if (st.st_size < 0 || (size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto fail;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			errno = r < 0 ? errno : EIO;
			goto fail;
		}
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	*len = n;
	return buf;
fail:
	e = errno;
	if (buf) {
		memset(buf, 0, n);
		free(buf);
	}
	close(fd);
	errno = e;
	return NULL;
}

/* The algorithm of the PEM private key (RSA or Ed25519), -1 if neither
 * (or not a key). */
static int key_alg(const char *pem, size_t len, int *bits)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	int alg = -1;

	if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
		alg = DKIM_SIGN_RSASHA256;
	else if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519)
		alg = DKIM_SIGN_ED25519SHA256;
	*bits = k ? EVP_PKEY_get_bits(k) : 0;
	EVP_PKEY_free(k);
	BIO_free(b);
	return alg;
}

/* ---- the message ---- */

struct msg {
	int fd;
	char *head;		/* the header block */
	size_t hlen, body;	/* its length; offset of the body */
	struct ah_field f[FIELDS_MAX];
	long nf;
};

/* Reads the header block; 0, 1 when it is too large to sign, or a
 * qq_code. */
static int read_head(struct msg *m)
{
	size_t n = 0;

	m->head = malloc(HEADER_MAX);
	if (!m->head)
		return QQ_NOMEM;
	while (n < HEADER_MAX) {
		ssize_t r = pread(m->fd, m->head + n, HEADER_MAX - n, (off_t)n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return QQ_READ;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	m->nf = ah_split(m->head, n, m->f, FIELDS_MAX, &m->body);
	/* no end of header within HEADER_MAX (and more message after it) */
	if (m->nf < 0 || (m->body == n && n == HEADER_MAX))
		return 1;
	m->hlen = m->body;
	return 0;
}

/* The From domain into dom; 1 found, 0 with *why set. */
static int from_domain(const struct msg *m, char *dom, size_t cap,
		       const char **why)
{
	const struct ah_field *from = NULL;
	char value[2048];
	size_t vl;
	int nfrom = 0, r;

	for (long i = 0; i < m->nf; i++) {
		if (m->f[i].name_len && ah_name_is(m->head, &m->f[i], "From")) {
			from = &m->f[i];
			nfrom++;
		}
	}
	if (nfrom != 1) {
		*why = nfrom ? "several From fields" : "no From field";
		return 0;
	}
	/* the value: after the colon */
	const char *p = m->head + from->off;
	const char *colon = memchr(p, ':', from->len);

	vl = ah_unfold(colon + 1, from->len - (size_t)(colon + 1 - p), value,
		       sizeof value);
	if (vl >= sizeof value) {
		*why = "From field too long";
		return 0;
	}
	r = ah_from_domain(value, vl, dom, cap);
	if (r != 1) {
		*why = r < 0 ? "several From addresses" : "no From domain";
		return 0;
	}
	return 1;
}

/* ---- signing ---- */

/* A field as libopendkim wants it: no final line end, CRLF inside. */
static size_t crlf_field(const char *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n && o + 2 < cap; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = p[i];
	}
	return o;
}

/* Appends "DKIM-Signature: value\n" (LF line ends, as the chain
 * carries them) to *sig. */
static int append_sig(char **sig, size_t *len, const unsigned char *v,
		      size_t vl)
{
	static const char name[] = "DKIM-Signature: ";
	char *s = realloc(*sig, *len + sizeof name + vl + 1);

	if (!s)
		return QQ_NOMEM;
	*sig = s;
	memcpy(s + *len, name, sizeof name - 1);
	*len += sizeof name - 1;
	for (size_t i = 0; i < vl; i++)
		if (v[i] != '\r')
			s[(*len)++] = (char)v[i];
	s[(*len)++] = '\n';
	return QQ_OK;
}

static int feed(DKIM *d, const struct msg *m)
{
	static char field[2 * HEADER_MAX];
	static unsigned char block[65536];
	off_t off = (off_t)m->body;

	for (long i = 0; i < m->nf; i++) {
		size_t n = crlf_field(m->head + m->f[i].off, m->f[i].len,
				      field, sizeof field);

		if (m->f[i].name_len == 0)
			continue;	/* not a field: libopendkim would refuse */
		if (dkim_header(d, (unsigned char *)field, n) != DKIM_STAT_OK)
			return -1;
	}
	if (dkim_eoh(d) != DKIM_STAT_OK)
		return -1;
	for (;;) {
		ssize_t r = pread(m->fd, block, sizeof block, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -2;
		if (r == 0)
			break;
		if (dkim_body(d, block, (size_t)r) != DKIM_STAT_OK)
			return -1;
		off += r;
	}
	return dkim_eom(d, NULL) == DKIM_STAT_OK ? 0 : -1;
}

static DKIM_LIB *library(void)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;

	if (!lib)
		return NULL;
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
			 sizeof flags) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, sign_fields,
			 sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
			 oversign_fields, sizeof(char **)) != DKIM_STAT_OK) {
		dkim_close(lib);
		return NULL;
	}
	return lib;
}

/* One signature with key k (PEM, klen octets) of algorithm alg. */
static int sign_one(DKIM_LIB *lib, const struct msg *m,
		    const struct dk_match *k, const char *key, int alg,
		    char **sig, size_t *siglen)
{
	const char *id = getenv("SMTP_SESSION_ID");
	DKIM_STAT st;
	DKIM *d = dkim_sign(lib, (const unsigned char *)(id && *id ? id : "-"),
			    NULL, (dkim_sigkey_t)key,
			    (const unsigned char *)k->selector,
			    (const unsigned char *)k->domain, DKIM_CANON_RELAXED,
			    DKIM_CANON_RELAXED, (dkim_alg_t)alg, -1, &st);
	unsigned char *v;
	size_t vl;
	int rc;

	if (!d) {
		say("smtp-dkimsign: d=%s s=%s: dkim_sign: %s", k->domain,
		    k->selector, dkim_getresultstr(st));
		return QQ_TEMP;
	}
	rc = feed(d, m);
	if (rc == -2) {
		dkim_free(d);
		return QQ_READ;
	}
	if (rc < 0 || dkim_getsighdr_d(d, strlen("DKIM-Signature: "), &v,
				       &vl) != DKIM_STAT_OK) {
		say("smtp-dkimsign: d=%s s=%s: signing failed: %s", k->domain,
		    k->selector, dkim_geterror(d) ? dkim_geterror(d) : "?");
		dkim_free(d);
		return QQ_TEMP;
	}
	rc = append_sig(sig, siglen, v, vl);
	dkim_free(d);
	return rc;
}

/* Loads and checks the key of k; its PEM text, or NULL after saying
 * why. */
static char *load_key(const struct dk_match *k, int *alg)
{
	size_t len;
	mode_t mode = 0;
	int bits;
	char *pem = slurp(k->path, KEY_MAX, &len, 077, &mode);

	if (!pem && errno == EPERM) {
		say("smtp-dkimsign: key=%s: refused: mode %04o lets others than "
		    "its owner read it (chmod 600)", k->path, (unsigned)mode);
		return NULL;
	}
	if (!pem) {
		say("smtp-dkimsign: key=%s: %s", k->path, strerror(errno));
		return NULL;
	}
	*alg = key_alg(pem, len, &bits);
	if (*alg < 0 || (*alg == DKIM_SIGN_RSASHA256 && bits < 1024)) {
		say("smtp-dkimsign: key=%s: not a PEM RSA (1024 bits or more) "
		    "or Ed25519 private key", k->path);
		memset(pem, 0, len);
		free(pem);
		return NULL;
	}
	return pem;
}

/* Signs m with every key of the table for dom; the DKIM-Signature
 * fields in *sig.  QQ_OK, or a code after saying why. */
static int sign_all(const struct msg *m, const char *dom, char **sig,
		    size_t *siglen, int *nsig)
{
	static struct dk_match k[DK_MATCH_MAX];
	const char *table = var("SMTP_DKIM_KEYS");
	size_t tlen, bad;
	mode_t mode = 0;
	char *text = slurp(table, TABLE_MAX, &tlen, 022, &mode);
	char *pem[DK_MATCH_MAX] = { NULL };
	int alg[DK_MATCH_MAX];
	DKIM_LIB *lib;
	int n, rc = QQ_OK;

	if (!text && errno == EPERM) {
		say("smtp-dkimsign: table=%s: refused: mode %04o lets others than "
		    "its owner change it (chmod 644)", table, (unsigned)mode);
		return refuse();
	}
	if (!text) {
		say("smtp-dkimsign: table=%s: %s", table, strerror(errno));
		return refuse();
	}
	n = dk_lookup(text, tlen, dom, k, DK_MATCH_MAX, &bad);
	free(text);
	if (n < 0) {
		say("smtp-dkimsign: table=%s line %zu: malformed (domain "
		    "selector /key/path), or more than %d lines for one domain",
		    table, bad, DK_MATCH_MAX);
		return refuse();
	}
	*nsig = n;
	if (n == 0)
		return QQ_OK;
	/* every key checked before the first signature, so a broken one
	 * is reported alone */
	for (int i = 0; i < n; i++) {
		pem[i] = load_key(&k[i], &alg[i]);
		if (!pem[i]) {
			rc = refuse();
			goto out;
		}
	}
	lib = library();
	if (!lib) {
		say("smtp-dkimsign: libopendkim: cannot initialise");
		rc = QQ_TEMP;
		goto out;
	}
	for (int i = 0; i < n && rc == QQ_OK; i++) {
		rc = sign_one(lib, m, &k[i], pem[i], alg[i], sig, siglen);
		if (rc == QQ_OK)
			say("smtp-dkimsign: signed d=%s s=%s a=%s for=%s",
			    k[i].domain, k[i].selector,
			    alg[i] == DKIM_SIGN_RSASHA256 ? "rsa-sha256" :
			    "ed25519-sha256", signed_for);
	}
	dkim_close(lib);
out:
	for (int i = 0; i < n; i++) {
		if (pem[i]) {
			memset(pem[i], 0, strlen(pem[i]));	/* key material */
			free(pem[i]);
		}
	}
	return rc;
}

/* ---- main ---- */

static int run(char **next)
{
	static struct msg m;
	struct filter_envelope env = { 0 };
	char dom[DK_DOMAIN_MAX + 2], e[600];
	const char *why;
	char *sig = NULL;
	size_t siglen = 0;
	int rc, nsig = 0, out;

	rc = filter_message_fd(-1, "the temp directory", &m.fd);
	if (rc == QQ_OK)
		rc = filter_read_envelope(1, &env);
	if (rc != QQ_OK) {
		say("smtp-dkimsign: %s", filter_error());
		goto done;
	}
	rc = read_head(&m);
	if (rc > 1)
		goto done;
	if (rc == 1) {
		say("smtp-dkimsign: unsigned: header block over %d octets",
		    HEADER_MAX);
	} else if (!from_domain(&m, dom, sizeof dom, &why)) {
		say("smtp-dkimsign: unsigned: %s", why);
	} else {
		rc = sign_all(&m, dom, &sig, &siglen, &nsig);
		if (rc != QQ_OK)
			goto done;
		if (nsig == 0)
			say("smtp-dkimsign: unsigned: no key for domain=%s",
			    esc(e, sizeof e, dom));
	}
	out = filter_unnamed_file(-1);
	if (out < 0) {
		say("smtp-dkimsign: temp file: %s", strerror(errno));
		rc = QQ_WRITE;
		goto done;
	}
	rc = filter_write_message(out, sig ? sig : "", siglen, m.fd, NULL, 0);
	if (rc == QQ_OK)
		rc = filter_exec_next(out, &env, next);
	say("smtp-dkimsign: %s", filter_error());
done:
	free(sig);
	free(m.head);
	filter_free_envelope(&env);
	return rc ? rc : QQ_BUG;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		usage(stderr);
		return QQ_CONFIG;
	}
	if (filter_init() < 0) {
		say("smtp-dkimsign: %s", filter_error());
		return QQ_BUG;
	}
	if (!wants_signature(&signed_for)) {
		/* not ours to sign: NEXT gets fds 0 and 1 as they are */
		execv(argv[1], argv + 1);
		say("smtp-dkimsign: cannot run %s: %s", argv[1], strerror(errno));
		return QQ_CONFIG;
	}
	return run(argv + 1);
}
