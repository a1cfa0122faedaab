/*
 * fuzz_deliver_path.c - the shared recipient rule (mailbox.c:
 *	mailbox_check, mailbox_error_text), smtp-deliver's use of it and its
 *	address to Maildir path mapping (smtp-deliver.c: check_rcpt,
 *	rel_path, file_name, esc).
 *
 * HOW
 *	smtp-deliver.c is a program of its own; it is #included here and
 *	compiled with mailbox.c and -Dmain=smtp_deliver_main (Makefile), so
 *	its static functions are callable and nothing in it changes.
 *	smtp-session's RCPT (envelope.c) calls the same mailbox_check().
 *
 * INPUT
 *	The recipient address as it comes in the envelope: the input up to
 *	its first NUL, at most ADDR_MAX octets (read_addr() refuses longer).
 *
 * INVARIANTS (abort on violation)
 *	- never crashes (ASan/UBSan), also in the error texts (esc());
 *	- mailbox_check() agrees with an independent reference: an '@'
 *	  exists, and split at the LAST '@' both parts are 1..255 octets,
 *	  do not start with '.', and hold no '/', '\' or control octet;
 *	  on a refusal the error is the first rule broken (local part
 *	  before domain; empty, too long, dot, then the first bad octet),
 *	  in_domain names the part, local_len is where the last '@' is,
 *	  and mailbox_error_text() names that part;
 *	- smtp-deliver's check_rcpt() accepts exactly what mailbox_check()
 *	  accepts, when the domain is a local one (SMTP_DOMAINS: the harness
 *	  lists the address's own domain, in upper case, so the case-blind
 *	  match is exercised too); a refusal is exit 11 (too long) or 31 with a non-empty
 *	  reason;
 *	- an accepted address maps to "<domain>/<local>/new/<file>" under
 *	  MAILDIR_ROOT: exactly four components, none empty, none "." or
 *	  ".." or starting with '.', no '/' inside a component, no
 *	  control octet, no backslash but in the file name (maildir(5)
 *	  writes a '/' in the host name as \057); <domain> and <local>
 *	  are the parts lower-cased (ASCII only), so the path never
 *	  leaves MAILDIR_ROOT/<domain>/<local>; the same holds for tmp/.
 */
#include "../smtp-deliver.c"

#include <stdint.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

/* The reference: the first rule a part breaks, written out anew. */
static enum mailbox_error part_ref(const char *p, size_t n)
{
	if (n == 0)
		return MAILBOX_EMPTY;
	if (n > 255)
		return MAILBOX_TOOLONG;
	if (p[0] == '.')
		return MAILBOX_DOT;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '/')
			return MAILBOX_SLASH;
		if (c == '\\')
			return MAILBOX_BACKSLASH;
		if (c < 0x20 || c == 0x7f)
			return MAILBOX_CONTROL;
	}
	return MAILBOX_OK;
}

/* mailbox_check() against the reference; returns its verdict. */
static enum mailbox_error check_shared(const char *addr, const char *at)
{
	struct mailbox_split split;
	enum mailbox_error want = MAILBOX_NO_AT, got;
	bool dom = false;

	if (at != NULL) {
		want = part_ref(addr, (size_t)(at - addr));
		if (want == MAILBOX_OK) {
			want = part_ref(at + 1, strlen(at + 1));
			dom = want != MAILBOX_OK;
		}
	}
	got = mailbox_check(addr, &split);
	CHECK(got == want);
	CHECK(split.in_domain == dom);
	CHECK(split.local_len == (at != NULL ? (size_t)(at - addr) : 0));
	if (got != MAILBOX_OK && got != MAILBOX_NO_AT)
		CHECK(strstr(mailbox_error_text(got, dom),
			     dom ? "domain part" : "local part") != NULL);
	return got;
}

/* One path component as smtp-deliver opens it under the root.  The
 * file name may hold '\' (maildir(5) writes '/' in the host as \057). */
static void check_component(const char *c, bool file)
{
	CHECK(c[0] != '\0' && c[0] != '.');
	for (const char *q = c; *q; q++)
		CHECK((unsigned char)*q >= 0x20 && *q != 0x7f && *q != '/' &&
		      (file || *q != '\\'));
}

static void lower_eq(const char *got, const char *src, size_t n)
{
	CHECK(strlen(got) == n);
	for (size_t i = 0; i < n; i++) {
		char c = src[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		CHECK(got[i] == c);
	}
}

/* "<domain>/<local>/<sub>/<file>": four components, none empty. */
static void check_path(struct rcpt *r, const char *sub)
{
	char path[REL_PATH_MAX], name[NAME_BUF];
	int comps = 0;

	CHECK(rel_path(path, r, sub) == QQ_OK);
	CHECK(path[0] != '/' && !strstr(path, "//"));
	CHECK(path[strlen(path) - 1] != '/');
	for (char *save = NULL, *c = strtok_r(path, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		comps++;
		check_component(c, comps == 4);
		if (comps == 3)
			CHECK(strcmp(c, sub) == 0);
	}
	CHECK(comps == 4);
	CHECK(file_name(name, r) == QQ_OK);
	check_component(name, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcpt r;
	char *addr;
	const char *at;
	size_t n;
	enum mailbox_error shared;
	int code;

	if (host[0] == '\0')
		init_host();
	n = strnlen((const char *)data, size);
	if (n > ADDR_MAX)
		return 0;
	addr = malloc(n + 1);
	memcpy(addr, data, n);
	addr[n] = '\0';

	at = strrchr(addr, '@');
	shared = check_shared(addr, at);
	{	/* the address's domain is local (see INVARIANTS) */
		static char dom[ADDR_MAX + 1];
		size_t i = 0;

		for (const char *d = at ? at + 1 : ""; *d; d++)
			dom[i++] = (*d >= 'a' && *d <= 'z') ? (char)(*d - 32) : *d;
		dom[i] = '\0';
		cfg.domains[0] = dom;
		cfg.ndomains = 1;
	}

	memset(&r, 0, sizeof r);
	r.addr = addr;
	errline[0] = '\0';
	code = check_rcpt(&r);
	if (code != QQ_OK) {
		CHECK(shared != MAILBOX_OK);
		CHECK(code == (shared == MAILBOX_TOOLONG ? QQ_TOOLONG
							 : QQ_REFUSED));
		CHECK(errline[0] != '\0');
		CHECK(r.lower == NULL);
		free(addr);
		return 0;
	}
	CHECK(shared == MAILBOX_OK);
	lower_eq(r.domain, at + 1, strlen(at + 1));
	lower_eq(r.local, addr, (size_t)(at - addr));
	check_component(r.domain, false);
	check_component(r.local, false);

	snprintf(r.uniq, sizeof r.uniq, "1700000000.M123456P4242Q1");
	check_path(&r, "new");
	check_path(&r, "tmp");
	errline[0] = '\0';
	free(r.lower);
	free(addr);
	return 0;
}
