/*
 * lockout-fill.c - bench/lockout.sh's helper: fills a lockout store and
 * times lockout.c's operations in one process.
 *
 *	lockout-fill fill FILE SLOTS N
 *		creates FILE with SLOTS slots and records one failure for
 *		distinct addresses (10.0.0.0 upwards) until the store holds N
 *		entries (a full bucket evicts, so it takes a few more than N
 *		addresses); prints the entries and the addresses used.
 *	lockout-fill bench FILE CALLS
 *		times, call by call, lockout_check (an address in the store,
 *		one not in it), lockout_fail (one address again and again, a
 *		new address each call), a success (charge and settle), and open + check +
 *		close (what a session pays at connect); prints median and p99
 *		in microseconds, one operation a line: "name median p99 calls".
 *		It changes FILE (10 000 more entries): run it after the
 *		session timings.
 *	lockout-fill spawn N INPUT FILE PROGRAM [ARG...]
 *		runs PROGRAM 2N times, stdin from INPUT, stdout and stderr
 *		/dev/null, alternately without and with SMTP_LOCKOUT_FILE=FILE
 *		(so drift in the machine's load hits both alike), and prints
 *		each run's wall time (fork to wait) as "off|on MICROSECONDS":
 *		a fresh process without a shell's noise.  A run that does not
 *		exit 0 is an error.
 *
 * Built by bench/lockout.sh with cc against ../lockout.c; not part of
 * the product and not run by CI.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockout.h"

/* Never reached: the helper records failures without locking anyone. */
static const struct lockout_policy pol = { 1000000, 900, 900, 64 };

static void addr(unsigned i, char *buf, size_t len)
{
	snprintf(buf, len, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
		 i & 255);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report(const char *name, double *t, unsigned n)
{
	qsort(t, n, sizeof *t, cmp_double);
	printf("%s %.2f %.2f %u\n", name, t[n / 2], t[(size_t)n * 99 / 100], n);
}

static void count_entry(const struct lockout_entry *e, void *arg)
{
	(void)e;
	++*(unsigned *)arg;
}

static int open_or_die(struct lockout *lk, const char *file, uint32_t slots)
{
	char err[512];

	if (lockout_open(lk, file, slots, &pol, err, sizeof err) < 0) {
		fprintf(stderr, "lockout-fill: %s\n", err);
		exit(1);
	}
	return 0;
}

static int fill(const char *file, uint32_t slots, unsigned n)
{
	struct lockout lk;
	char a[32];
	time_t until;
	unsigned entries = 0;
	double t0;

	unsigned i = 0;

	open_or_die(&lk, file, slots);
	t0 = now_us();
	while (entries < n && i < 4 * n && i < 0x800000) {
		for (unsigned end = i + (n - entries); i < end; i++) {
			addr(i, a, sizeof a);
			if (lockout_fail(&lk, a, &until) == LOCKOUT_ERROR) {
				fprintf(stderr, "lockout-fill: lockout_fail %s failed\n", a);
				return 1;
			}
		}
		entries = 0;
		lockout_walk(&lk, count_entry, &entries);
	}
	t0 = now_us() - t0;
	printf("entries %u (%u addresses recorded), %u slots, filled in %.0f ms\n",
	       entries, i, lk.nslots, t0 / 1000);
	lockout_close(&lk);
	return 0;
}

static int bench(const char *file, unsigned calls)
{
	struct lockout lk;
	double *t = calloc(calls, sizeof *t);
	char a[32], err[512];
	time_t until;

	if (!t)
		return 1;
	open_or_die(&lk, file, 0);

	for (unsigned i = 0; i < calls; i++) {     /* in the store */
		addr(i * 7 % 50000, a, sizeof a);
		double t0 = now_us();
		lockout_check(&lk, a, &until);
		t[i] = now_us() - t0;
	}
	report("check_hit", t, calls);
	for (unsigned i = 0; i < calls; i++) {     /* not in the store */
		snprintf(a, sizeof a, "192.0.%u.%u", (i >> 8) & 255, i & 255);
		double t0 = now_us();
		lockout_check(&lk, a, &until);
		t[i] = now_us() - t0;
	}
	report("check_miss", t, calls);
	for (unsigned i = 0; i < calls; i++) {     /* the same attacker */
		double t0 = now_us();
		lockout_fail(&lk, "203.0.113.7", &until);
		t[i] = now_us() - t0;
	}
	report("fail_same", t, calls);
	for (unsigned i = 0; i < calls; i++) {     /* a new address each */
		addr(0x800000 + i, a, sizeof a);
		double t0 = now_us();
		lockout_fail(&lk, a, &until);
		t[i] = now_us() - t0;
	}
	report("fail_new", t, calls);
	for (unsigned i = 0; i < calls; i++) {
		addr(0x800000 + i, a, sizeof a);
		double t0 = now_us();
		/* a success: its charge, then the settle */
		lockout_charge(&lk, a, &until);
		lockout_settle(&lk, a, false, &until);
		t[i] = now_us() - t0;
	}
	report("success", t, calls);
	lockout_close(&lk);

	for (unsigned i = 0; i < calls; i++) {     /* per connection */
		struct lockout c;
		double t0 = now_us();
		if (lockout_open(&c, file, 0, &pol, err, sizeof err) < 0) {
			fprintf(stderr, "lockout-fill: %s\n", err);
			return 1;
		}
		lockout_check(&c, "192.0.2.1", &until);
		lockout_close(&c);
		t[i] = now_us() - t0;
	}
	report("open_check_close", t, calls);
	free(t);
	return 0;
}

static int spawn(unsigned n, const char *input, const char *file, char **prog)
{
	for (unsigned i = 0; i < 2 * n; i++) {
		int st;
		double t0;
		pid_t pid;

		if (i % 2 ? setenv("SMTP_LOCKOUT_FILE", file, 1)
			  : unsetenv("SMTP_LOCKOUT_FILE")) {
			perror("lockout-fill: setenv");
			return 1;
		}
		t0 = now_us();
		pid = fork();

		if (pid < 0) {
			perror("lockout-fill: fork");
			return 1;
		}
		if (pid == 0) {
			int in = open(input, O_RDONLY), null = open("/dev/null", O_WRONLY);

			if (in < 0 || null < 0 || dup2(in, 0) < 0 || dup2(null, 1) < 0 ||
			    dup2(null, 2) < 0)
				_exit(127);
			execv(prog[0], prog);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "lockout-fill: %s failed (status %d)\n",
				prog[0], st);
			return 1;
		}
		printf("%s %.1f\n", i % 2 ? "on" : "off", now_us() - t0);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && strcmp(argv[1], "spawn") == 0)
		return spawn((unsigned)strtoul(argv[2], NULL, 10), argv[3],
			     argv[4], argv + 5);
	if (argc == 5 && strcmp(argv[1], "fill") == 0)
		return fill(argv[2], (uint32_t)strtoul(argv[3], NULL, 10),
			    (unsigned)strtoul(argv[4], NULL, 10));
	if (argc == 4 && strcmp(argv[1], "bench") == 0)
		return bench(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
	fprintf(stderr, "usage: lockout-fill fill FILE SLOTS N\n"
			"       lockout-fill bench FILE CALLS\n"
			"       lockout-fill spawn N INPUT FILE PROGRAM [ARG...]\n");
	return 2;
}
