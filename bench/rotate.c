/*
 * rotate.c - bench helper: fresh processes under several environments,
 * in rotation, each run timed from fork to wait.
 *
 *	rotate N INPUT PROGRAM -- NAME VAR=VALUE... -- NAME VAR=VALUE... ...
 *
 * Runs PROGRAM N rounds; each round runs it once per variant (NAME and
 * its VAR=VALUE settings put into the environment; a VAR= with an empty
 * value unsets VAR), stdin from INPUT, stdout and stderr /dev/null, and
 * prints "NAME MICROSECONDS" per run.  Rotating run by run lets drift in
 * the machine's load hit every variant alike.  A run that does not exit
 * 0 is an error (exit 1).  Used by bench/lockout-redis.sh; not part of
 * the product and not run by CI.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VARIANTS_MAX 8

struct variant { const char *name; char **set; int nset; };

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int run(const struct variant *v, const char *input, const char *prog)
{
	double t0 = now_us();
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int in = open(input, O_RDONLY), null = open("/dev/null", O_WRONLY);

		for (int i = 0; i < v->nset; i++) {
			char *eq = strchr(v->set[i], '=');
			*eq = '\0';
			if (eq[1] ? setenv(v->set[i], eq + 1, 1) : unsetenv(v->set[i]))
				_exit(127);
		}
		if (in < 0 || null < 0 || dup2(in, 0) < 0 || dup2(null, 1) < 0 ||
		    dup2(null, 2) < 0)
			_exit(127);
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "rotate: %s (%s) failed (status %d)\n", prog,
			v->name, st);
		return -1;
	}
	printf("%s %.1f\n", v->name, now_us() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct variant v[VARIANTS_MAX];
	int nv = 0, n;

	if (argc < 6 || strcmp(argv[4], "--") != 0) {
		fprintf(stderr, "usage: rotate N INPUT PROGRAM -- NAME VAR=VALUE... [-- ...]\n");
		return 2;
	}
	n = atoi(argv[1]);
	for (int i = 5; i < argc; i++) {
		if (nv == VARIANTS_MAX)
			return 2;
		v[nv].name = argv[i++];
		v[nv].set = argv + i;
		v[nv].nset = 0;
		while (i < argc && strcmp(argv[i], "--") != 0 && strchr(argv[i], '=')) {
			v[nv].nset++;
			i++;
		}
		nv++;
	}
	for (int r = 0; r < n; r++)
		for (int k = 0; k < nv; k++)
			if (run(&v[k], argv[2], argv[3]) < 0)
				return 1;
	return 0;
}
