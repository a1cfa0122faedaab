/*
 * fuzz_deliver_path.c - smtp-deliver's recipient address to Maildir path
 *	mapping and its refusal rules (smtp-deliver.c: check_rcpt,
 *	check_part, rel_path, esc).
 *
 * HOW
 *	smtp-deliver.c is a program of its own; it is #included here and
 *	compiled with -Dmain=smtp_deliver_main (Makefile), so its static
 *	functions are callable and nothing in it changes.
 *
 * INPUT
 *	The recipient address as it comes in the envelope: the input up to
 *	its first NUL, at most ADDR_MAX octets (read_addr() refuses longer).
 *
 * INVARIANTS (abort on violation)
 *	- never crashes (ASan/UBSan), also in the error texts (esc());
 *	- accepted exactly when an independent predicate says so: an '@'
 *	  exists, and split at the LAST '@' both parts are 1..255 octets,
 *	  do not start with '.', and hold no '/', '\' or control octet;
 *	  a refusal is exit 11 (too long) or 31 with a non-empty reason;
 *	- an accepted address maps to "<domain>/<local>/new/<file>" under
 *	  MAILDIR_ROOT: exactly four components, none empty, none "." or
 *	  ".." or starting with '.', no '/' inside a component, no control
 *	  octet; <domain> and <local> are the parts lower-cased (ASCII
 *	  only), so the path never leaves MAILDIR_ROOT/<domain>/<local>.
 */
#include "../smtp-deliver.c"

#include <stdint.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static bool part_ok(const char *p, size_t n)
{
	if (n == 0 || n > PART_MAX || p[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcpt r;
	char path[REL_PATH_MAX], *addr;
	const char *at;
	size_t n;
	bool want;
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
	want = at && part_ok(addr, (size_t)(at - addr)) &&
	       part_ok(at + 1, strlen(at + 1));

	memset(&r, 0, sizeof r);
	r.addr = addr;
	errline[0] = '\0';
	code = check_rcpt(&r);
	if (code != QQ_OK) {
		CHECK(!want);
		CHECK(code == QQ_REFUSED || code == QQ_TOOLONG);
		CHECK(errline[0] != '\0');
		CHECK(r.lower == NULL);
		free(addr);
		return 0;
	}
	CHECK(want);
	lower_eq(r.domain, at + 1, strlen(at + 1));
	lower_eq(r.local, addr, (size_t)(at - addr));

	snprintf(r.uniq, sizeof r.uniq, "1700000000.M123456P4242Q1");
	CHECK(rel_path(path, &r, "new", true) == QQ_OK);

	int comps = 0;
	for (char *save = NULL, *c = strtok_r(path, "/", &save); c;
	     c = strtok_r(NULL, "/", &save)) {
		comps++;
		CHECK(c[0] != '.');
		for (const char *q = c; *q; q++)
			CHECK((unsigned char)*q >= 0x20 && *q != 0x7f);
		if (comps == 3)
			CHECK(strcmp(c, "new") == 0);
	}
	CHECK(comps == 4);
	/* strtok_r skips empty components: none may exist */
	CHECK(rel_path(path, &r, "new", true) == QQ_OK);
	CHECK(path[0] != '/' && !strstr(path, "//"));
	errline[0] = '\0';
	free(r.lower);
	free(addr);
	return 0;
}
