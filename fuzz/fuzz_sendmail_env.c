/*
 * fuzz_sendmail_env.c - smtp-sendmail's envelope parser and the
 *	sendmail command line it builds (smtp-sendmail.c: parse_envelope,
 *	take_addr, build_argv, with_reply).
 *
 * HOW
 *	smtp-sendmail.c is #included and compiled with -Dmain=
 *	smtp_sendmail_main (Makefile), so its static functions are callable
 *	and nothing in it changes.  The input is the envelope as read from
 *	fd 1 (read_envelope() stops at ENV_MAX octets; so does this).
 *
 * INVARIANTS (abort on violation)
 *	- never crashes (ASan/UBSan);
 *	- accepted: the input starts with "F" sender NUL, then for each
 *	  recipient "T" rcpt NUL, then a NUL, rebuilt exactly from what was
 *	  parsed; 1..RCPTS_MAX recipients, none empty; no address longer
 *	  than ADDR_MAX or holding a control octet; the command line is
 *	  PROGRAM -i -f SENDER-or-<> -- RCPT..., NULL-terminated, with the
 *	  recipients after "--" in envelope order;
 *	- refused: the exit code is 11, 31, 54 or 91 with a reason; a reply
 *	  line, when there is one, is "554 5.x.y text" (the refusals are
 *	  permanent), printable ASCII, shorter than REPLY_MAX.
 */
#include "../smtp-sendmail.c"

#include <stdint.h>

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "invariant failed: %s " \
	"(%s:%d)\n", #c, __FILE__, __LINE__); abort(); } } while (0)

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static bool no_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The envelope rebuilt from the parse is a prefix of the input. */
static void check_accepted(const struct envelope *env, const uint8_t *d,
			   size_t n)
{
	size_t o = 0, len;

	CHECK(env->nrcpts >= 1 && env->nrcpts <= RCPTS_MAX);
	CHECK(n >= 1 && d[o++] == 'F');
	len = strlen(env->sender);
	CHECK(len <= ADDR_MAX && no_control(env->sender));
	CHECK(o + len < n && memcmp(d + o, env->sender, len) == 0 &&
	      d[o + len] == 0);
	o += len + 1;
	for (size_t i = 0; i < env->nrcpts; i++) {
		const char *r = env->rcpts[i];

		len = strlen(r);
		CHECK(len >= 1 && len <= ADDR_MAX && no_control(r));
		CHECK(o + 1 + len < n && d[o] == 'T' &&
		      memcmp(d + o + 1, r, len) == 0 && d[o + 1 + len] == 0);
		o += len + 2;
	}
	CHECK(o < n && d[o] == 0);
}

static void check_argv(const struct envelope *env)
{
	static char prog[] = "/usr/sbin/sendmail";
	struct plan p = { .program = prog };
	char **av = build_argv(&p, env);
	size_t i;

	CHECK(av != NULL);
	CHECK(strcmp(av[0], prog) == 0 && strcmp(av[1], "-i") == 0 &&
	      strcmp(av[2], "-f") == 0 && strcmp(av[4], "--") == 0);
	CHECK(strcmp(av[3], env->sender[0] != '\0' ? env->sender : "<>") == 0);
	for (i = 0; i < env->nrcpts; i++)
		CHECK(av[5 + i] == env->rcpts[i]);
	CHECK(av[5 + i] == NULL);
	free(av);
}

static void check_refused(int code)
{
	CHECK(code == QQ_TOOLONG || code == QQ_REFUSED || code == QQ_READ ||
	      code == QQ_FORMAT);
	CHECK(errline[0] != '\0');
	if (reply[0] == '\0')
		return;
	CHECK(strlen(reply) < REPLY_MAX && printable(reply));
	CHECK(strncmp(reply, "554 5.", 6) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct envelope env;
	int code;

	if (size > ENV_MAX)
		size = ENV_MAX;
	memset(&env, 0, sizeof env);
	errline[0] = reply[0] = '\0';
	env.buf = malloc(size + (size == 0));	/* no NUL after: ASan sees over-reads */
	CHECK(env.buf != NULL);
	memcpy(env.buf, data, size);
	env.len = size;
	code = parse_envelope(&env);
	if (code == QQ_OK) {
		check_accepted(&env, data, size);
		check_argv(&env);
	} else {
		check_refused(code);
	}
	free(env.buf);
	return 0;
}
