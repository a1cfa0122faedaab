/*
 * fuzz_auth.c - the whole cmd_auth() exchange (auth.c) up to the
 *	credential check, over the SASL decoding of sasl.c (which
 *	fuzz_sasl.c checks alone, with no stubs).
 *
 * HOW
 *	auth.c is #included (its static functions become callable without
 *	exporting anything) with a zero SMTP_AUTH_FAIL_DELAY.  The session around
 *	it is stubbed below: reply(), log_event() and the gate_*() hooks
 *	record what auth.c did; io_getline() hands out the 334 responses
 *	from memory; gate_auth_country_ok() says no, so every well-formed
 *	credential ends in auth_failed(user, "country not allowed") before
 *	any password file or crypt_rn() is touched, and the user name that
 *	reaches the check can be compared with the reference.
 *
 * INPUT
 *	Byte 0 picks the case: 0 sasl_b64_decode() alone on the rest as text;
 *	1 "AUTH PLAIN <rest as text>"; 2 "AUTH PLAIN <base64 of rest>";
 *	3 LOGIN, the rest split at its first NUL into user and password,
 *	sent base64-encoded (byte 0 bit 2: user as initial response, else
 *	after the 334 prompt).
 *
 * INVARIANTS (abort on violation)
 *	- sasl_b64_decode() agrees with an independent strict RFC 4648 reference
 *	  decoder (accept/refuse and octets); a decoded length is <= 3/4 of
 *	  the input; every octet string encoded by a reference encoder
 *	  decodes back to itself;
 *	- PLAIN: the outcome is exactly what the reference split of the
 *	  decoded message into authzid NUL authcid NUL passwd predicts:
 *	  "*" → 501 5.7.0, bad base64 or over DECODED_MAX → 501 5.5.2,
 *	  a space in the argument → 501 5.5.4, not exactly two NULs →
 *	  535 "malformed PLAIN message" with user "", authzid non-empty and
 *	  unlike authcid → 535 with user authcid, else the check is reached
 *	  with user = authcid (cut at 255 octets, as logged);
 *	- LOGIN: the check is reached with the decoded user name;
 *	- never a 235 (nothing can authenticate here);
 *	- afterwards auth.c's secret buffers (line, decoded, login_user) and
 *	  the initial response in the command line are all zero.
 */
#include "../auth.c"
#include "b64_ref.h"

#include <stdarg.h>
#include <stdint.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

/* ---- what auth.c did -------------------------------------------------- */

static int last_code;
static char last_enh[16];
static int n235;
static char ev_user[1024], ev_reason[128], ev_result[32];
static int n_auth_events;

/* responses for io_getline() */
static const char *resp[2];
static size_t resp_len[2], nresp, next_resp;

void reply(struct session *s, int code, const char *enh, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	(void)s;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (code == 235)
		n235++;
	if (code == 334)     /* a prompt: the last outcome stays */
		return;
	last_code = code;
	snprintf(last_enh, sizeof last_enh, "%s", enh ? enh : "");
}

void reply_line(struct session *s, int code, bool last, const char *text)
{
	(void)s; (void)code; (void)last; (void)text;
}

void session_end(struct session *s, const char *why)
{
	(void)why;
	s->ended = true;
}

void log_event(const char *event, ...)
{
	va_list ap;
	const char *k, *v;

	if (strcmp(event, "auth") != 0)
		return;
	n_auth_events++;
	ev_user[0] = ev_reason[0] = ev_result[0] = '\0';
	va_start(ap, event);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (strcmp(k, "user") == 0)
			snprintf(ev_user, sizeof ev_user, "%s", v);
		else if (strcmp(k, "reason") == 0)
			snprintf(ev_reason, sizeof ev_reason, "%s", v);
		else if (strcmp(k, "result") == 0)
			snprintf(ev_result, sizeof ev_result, "%s", v);
	}
	va_end(ap);
}

void log_msg(const char *fmt, ...)
{
	(void)fmt;
}

int io_flush(struct io *io)
{
	(void)io;
	return 0;
}

enum io_status io_getline(struct io *io, char *buf, size_t cap, size_t *len,
			  bool *crlf)
{
	(void)io;
	if (next_resp == nresp)
		return IO_EOF;
	size_t n = resp_len[next_resp];
	if (n + 1 > cap - 1) {
		next_resp++;
		*len = 0;
		return IO_TOOLONG;
	}
	memcpy(buf, resp[next_resp], n);
	buf[n] = '\0';
	*len = n;
	*crlf = true;
	next_resp++;
	return IO_OK;
}

enum gate_auth gate_auth_check(struct session *s) { (void)s; return GATE_AUTH_OK; }
bool gate_auth_country_ok(const struct session *s) { (void)s; return false; }
bool gate_auth_failed(struct session *s) { (void)s; return false; }
/* the country check refuses first: nothing is ever charged or settled */
enum gate_auth gate_auth_charge(struct session *s) { (void)s; abort(); }
bool gate_auth_settle(struct session *s, bool failed) { (void)s; (void)failed; abort(); }
long long mono_ms(void) { return 0; }
/* checkpassword is never run: no child is started */
int child_spawn(struct child *c, void (*run)(void *arg), void *arg,
		int fail_status)
{
	(void)c; (void)run; (void)arg; (void)fail_status;
	abort();
}
bool child_wait(const struct child *c, long long deadline)
{
	(void)c; (void)deadline;
	abort();
}
int child_end(struct child *c, int *status)
{
	(void)c; (void)status;
	abort();
}

/* ---- references -------------------------------------------------------- */


/* ---- the session ---------------------------------------------------- */

static struct config cfg;
static struct session sess;

static void reset(void)
{
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.hostname, sizeof cfg.hostname, "mx.test");
	cfg.auth = AUTH_OPTIONAL;
	cfg.auth_plaintext = true;
	memset(&sess, 0, sizeof sess);
	sess.cfg = &cfg;
	sess.state = ST_HELO;
	sess.esmtp = true;
	last_code = 0;
	last_enh[0] = '\0';
	n235 = 0;
	n_auth_events = 0;
	ev_user[0] = ev_reason[0] = ev_result[0] = '\0';
	nresp = next_resp = 0;
}

/* memcmp against zeros: a byte loop here would be instrumented and
 * 36 KiB of compares per input would dominate the run time */
static bool all_zero(const char *p, size_t n)
{
	static const char zeros[AUTH_LINE_MAX + 3];

	for (size_t off = 0; off < n; off += sizeof zeros) {
		size_t k = n - off < sizeof zeros ? n - off : sizeof zeros;
		if (memcmp(p + off, zeros, k) != 0)
			return false;
	}
	return true;
}

static void run_auth(char *arg)
{
	size_t mlen = strcspn(arg, " ");
	char *initial = arg + mlen;

	while (*initial == ' ')
		initial++;
	cmd_auth(&sess, arg, NULL);
	CHECK(n235 == 0);
	CHECK(all_zero(line, sizeof line));
	CHECK(all_zero(decoded, sizeof decoded));
	CHECK(all_zero(login_user, sizeof login_user));
	if (!strchr(initial, ' '))        /* else 501 before any decoding */
		CHECK(all_zero(initial, strlen(initial)));
}

/* cut: the user as finish() logs it (AUTH_USER_MAX), else as passed */
static void expect_failed(const char *user, size_t ulen, const char *reason,
			  bool cut)
{
	char shown[sizeof ev_user];
	size_t max = cut ? AUTH_USER_MAX : sizeof ev_user - 1;

	snprintf(shown, sizeof shown, "%.*s", (int)(ulen < max ? ulen : max),
		 user);
	if (last_code != 535 || strcmp(last_enh, "5.7.8") != 0 ||
	    strcmp(ev_result, "failed") != 0 || strcmp(ev_reason, reason) != 0 ||
	    strcmp(ev_user, shown) != 0) {
		fprintf(stderr, "expected 535 user '%s' reason '%s', got %d %s "
			"user '%s' result '%s' reason '%s'\n", shown, reason,
			last_code, last_enh, ev_user, ev_result, ev_reason);
		abort();
	}
}

/* What PLAIN must do with the decoded message m[0..n). */
static void expect_plain(const uint8_t *m, size_t n)
{
	const uint8_t *a = memchr(m, 0, n), *b;

	b = a ? memchr(a + 1, 0, n - (size_t)(a - m) - 1) : NULL;
	if (!a || !b || memchr(b + 1, 0, n - (size_t)(b - m) - 1)) {
		expect_failed("", 0, "malformed PLAIN message", true);
		return;
	}
	const char *authzid = (const char *)m, *authcid = (const char *)a + 1;
	if (a > m && strcmp(authzid, authcid) != 0) {
		/* logged as is: auth.c passes authcid, log_event escapes */
		expect_failed(authcid, strlen(authcid),
			      "authorization identity differs", false);
		return;
	}
	expect_failed(authcid, strlen(authcid), "country not allowed", true);
}

static void expect_code(int code, const char *enh)
{
	if (last_code != code || strcmp(last_enh, enh) != 0) {
		fprintf(stderr, "expected %d %s, got %d %s\n", code, enh,
			last_code, last_enh);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	char *text, *arg, *enc;
	uint8_t *ref;
	long got, want;

	if (size < 1)
		return 0;
	reset();
	text = malloc(n + 1);                  /* the rest as a C string */
	memcpy(text, in, n);
	text[n] = '\0';
	n = strlen(text);
	enc = malloc(4 * (size / 3 + 2) + 16);
	ref = malloc(size + 4);
	arg = malloc(4 * (size / 3 + 2) + 32);

	switch (data[0] % 4) {
	case 0: {                             /* the decoder alone */
		size_t cap = n / 4 * 3;
		char *out = malloc(cap + 1);
		got = sasl_b64_decode(text, n, out, cap);
		want = ref_decode(text, n, ref);
		CHECK(got == want);
		if (got >= 0) {
			CHECK((size_t)got * 4 <= n * 3);
			CHECK(memcmp(out, ref, (size_t)got) == 0);
		}
		/* round trip of the raw input through the reference encoder */
		size_t el = ref_encode(in, size - 1, enc);
		char *back = malloc(el / 4 * 3 + 1);
		got = sasl_b64_decode(enc, el, back, el / 4 * 3);
		CHECK(got == (long)(size - 1));
		CHECK(memcmp(back, in, size - 1) == 0);
		free(back);
		free(out);
		break;
	}
	case 1:                               /* PLAIN <text> */
		snprintf(arg, 4 * (size / 3 + 2) + 32, "PLAIN %s", text);
		run_auth(arg);
		{
			const char *init = text;
			while (*init == ' ')
				init++;
			if (strchr(init, ' '))
				expect_code(501, "5.5.4");
			else if (strcmp(init, "*") == 0)
				expect_code(501, "5.7.0");
			else if (strcmp(init, "=") == 0)
				expect_plain((const uint8_t *)"", 0);
			else if (*init == '\0')   /* 334, then EOF */
				CHECK(sess.ended);
			else if ((want = ref_decode(init, strlen(init), ref)) < 0 ||
				 strlen(init) / 4 * 3 > DECODED_MAX - 1)
				expect_code(501, "5.5.2");
			else
				expect_plain(ref, (size_t)want);
		}
		break;
	case 2: {                             /* PLAIN <base64 of the rest> */
		size_t el = ref_encode(in, size - 1, enc);
		snprintf(arg, 4 * (size / 3 + 2) + 32, "PLAIN %s",
			 el ? enc : "=");
		run_auth(arg);
		if (el / 4 * 3 > DECODED_MAX - 1)
			expect_code(501, "5.5.2");
		else
			expect_plain(in, size - 1);
		break;
	}
	case 3: {                             /* LOGIN user NUL password */
		const uint8_t *nul = memchr(in, 0, size - 1);
		size_t ul = nul ? (size_t)(nul - in) : size - 1;
		const uint8_t *pw = nul ? nul + 1 : in + size - 1;
		size_t pl = (size_t)(in + size - 1 - pw);
		char *uenc = malloc(4 * (ul / 3 + 2));
		size_t uel = ref_encode(in, ul, uenc);
		size_t pel = ref_encode(pw, pl, enc);

		if (data[0] & 4) {
			snprintf(arg, 4 * (size / 3 + 2) + 32, "LOGIN %s",
				 uel ? uenc : "=");
			resp[0] = enc; resp_len[0] = pel;
			nresp = 1;
		} else {
			snprintf(arg, 16, "LOGIN");
			resp[0] = uenc; resp_len[0] = uel;
			resp[1] = enc; resp_len[1] = pel;
			nresp = 2;
		}
		run_auth(arg);
		CHECK(next_resp == nresp);
		if (uel / 4 * 3 > DECODED_MAX - 1 || pel / 4 * 3 > DECODED_MAX - 1)
			CHECK(last_code == 501 || last_code == 500);
		else
			expect_failed((const char *)in, ul, "country not allowed", true);
		free(uenc);
		break;
	}
	}
	free(text);
	free(enc);
	free(ref);
	free(arg);
	return 0;
}
