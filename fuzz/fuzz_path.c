/*
 * fuzz_path.c - parse_path() and next_param() (address.c), and what
 *	mailbox_check() (mailbox.c) makes of the paths RCPT accepts.
 *
 * INPUT
 *	Byte 0: bit 0 prefix ("FROM:" / "TO:"), bit 1 utf8, bit 2 allow_null.
 *	The rest, cut at the first NUL, is the argument of MAIL/RCPT.
 *
 * INVARIANTS (abort on violation)
 *	- never crashes, never reads or writes out of bounds (ASan/UBSan);
 *	- on PATH_OK: "<" addr ">" fits RFC 5321's 256-octet path, i.e.
 *	  strlen(addr) <= PATH_MAX_LEN - 2; addr holds no control character
 *	  (quoted-pair and qtext are %d32-126 only); the null path gives
 *	  "" and only with allow_null; without utf8 every octet is ASCII
 *	  (with utf8 the callers, envelope.c, run utf8_valid() on addr
 *	  themselves, so no UTF-8 validity is promised here); a non-empty
 *	  addr without '@' is "postmaster" (RCPT only); with exactly one
 *	  '@' the domain after it is non-empty, without '>' or space (a
 *	  quoted local part may legitimately hold '<', '>', '@', ' ', '"'
 *	  and '\', so those are not refused in the local part);
 *	- with an '@' in addr, mailbox_check() (mailbox.c, the rule RCPT
 *	  applies next) refuses nothing in the domain and nothing but a
 *	  leading dot, '/' or '\' in the local part;
 *	- *params points into arg, at its end or at a non-space octet;
 *	- round trip: when addr has exactly one '@', re-quoting its local
 *	  part and parsing "<local@domain>" again gives PATH_OK and the same
 *	  addr (parse_path is idempotent on its own output);
 *	- next_param() over the parameters: every PATH_OK has a key of 1..31
 *	  alnum/'-' octets (not starting with '-'), a value of <= 256 octets
 *	  of %d33-60 / %d62-126, has_value iff a value is present, and the
 *	  cursor moves forward (the loop terminates).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../mailbox.h"
#include "../address.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static int is_atext_ascii(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

/* The local part as it must be written: dot-string when it is one,
 * else a quoted-string with '"' and '\' escaped. */
static void requote(const char *local, size_t n, bool utf8, char *out)
{
	bool dot = n > 0 && local[0] != '.' && local[n - 1] != '.';
	size_t o = 0;

	for (size_t i = 0; dot && i < n; i++) {
		unsigned char c = (unsigned char)local[i];
		if (c == '.' ? local[i + 1] == '.' :
		    !(is_atext_ascii(c) || (c >= 0x80 && utf8)))
			dot = false;
	}
	if (dot) {
		memcpy(out, local, n);
		out[n] = '\0';
		return;
	}
	out[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (local[i] == '"' || local[i] == '\\')
			out[o++] = '\\';
		out[o++] = local[i];
	}
	out[o++] = '"';
	out[o] = '\0';
}

static void check_params(const char *params)
{
	const char *p = params;
	struct esmtp_param prm;

	for (int guard = 0; *p; guard++) {
		const char *before = p;
		enum path_error e = next_param(&p, &prm);

		CHECK(guard < 4096);
		if (e != PATH_OK)
			return;
		CHECK(p > before);
		size_t k = strlen(prm.key), v = strlen(prm.value);
		CHECK(k >= 1 && k < sizeof prm.key);
		CHECK(prm.key[0] != '-');
		for (size_t i = 0; i < k; i++) {
			unsigned char c = (unsigned char)prm.key[i];
			CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-');
		}
		CHECK(v <= PATH_MAX_LEN);
		CHECK(prm.has_value == (v > 0));
		for (size_t i = 0; i < v; i++) {
			unsigned char c = (unsigned char)prm.value[i];
			CHECK(c >= 33 && c <= 126 && c != '=');
		}
		CHECK(*p != ' ');
	}
}

/* What parse_path() accepts, the shared rule (mailbox.c) may refuse
 * only for the local part ('/' is atext; a Quoted-string may hold '\'
 * or start with '.'): the domain syntax already keeps out everything
 * smtp-deliver cannot file. */
static void check_mailbox(const char *addr)
{
	struct mailbox_split split;
	enum mailbox_error e = mailbox_check(addr, &split);

	CHECK(!split.in_domain);
	CHECK(e == MAILBOX_OK || e == MAILBOX_DOT || e == MAILBOX_SLASH ||
	      e == MAILBOX_BACKSLASH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char addr[PATH_MAX_LEN + 1], again[PATH_MAX_LEN + 1];
	char *arg;
	const char *params = NULL, *prefix;
	bool utf8, allow_null;
	enum path_error e;

	if (size < 1)
		return 0;
	prefix = data[0] & 1 ? "TO:" : "FROM:";
	utf8 = data[0] & 2;
	allow_null = data[0] & 4;
	arg = malloc(size);               /* exact size: ASan sees overreads */
	memcpy(arg, data + 1, size - 1);
	arg[size - 1] = '\0';

	memset(addr, 0x55, sizeof addr);
	e = parse_path(arg, prefix, utf8, allow_null, addr, &params);
	CHECK(e >= PATH_OK && e <= PATH_UTF8);
	if (e == PATH_OK) {
		size_t n = strnlen(addr, sizeof addr);
		const char *at = strchr(addr, '@');

		CHECK(n < sizeof addr);
		CHECK(n + 2 <= PATH_MAX_LEN);
		CHECK(params >= arg && params <= arg + strlen(arg));
		CHECK(*params != ' ');
		CHECK(n > 0 || allow_null);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)addr[i];
			CHECK(c >= 32 && c != 127);
			CHECK(c < 0x80 || utf8);
		}
		if (n > 0 && !at)
			CHECK(!allow_null && strcasecmp(addr, "postmaster") == 0);
		if (at)
			check_mailbox(addr);
		if (at && !strchr(at + 1, '@')) {
			const char *dom = at + 1;

			/* the domain: after the one '@' */
			CHECK(*dom != '\0');
			CHECK(!strchr(dom, '>') && !strchr(dom, ' '));
			/* round trip */
			char local[PATH_MAX_LEN * 2 + 3];
			char path[PATH_MAX_LEN * 3 + 16];
			const char *p2;

			requote(addr, (size_t)(at - addr), utf8, local);
			snprintf(path, sizeof path, "%s<%s@%s>", prefix, local,
				 dom);
			if (strlen(path) - strlen(prefix) <= PATH_MAX_LEN) {
				e = parse_path(path, prefix, utf8, allow_null,
					       again, &p2);
				if (e != PATH_OK || strcmp(again, addr) != 0) {
					fprintf(stderr, "round trip: '%s' -> "
						"'%s' gave %d '%s'\n", arg, path,
						e, e == PATH_OK ? again : "");
					abort();
				}
			}
		}
		check_params(params);
	}
	/* next_param on arbitrary text too, not only after a good path */
	check_params(arg);
	free(arg);
	return 0;
}
