/*
 * child.h - one supervised child process: own process group, pidfd,
 *	deadline, the whole group killed, always reaped (child.c).
 */
#ifndef CHILD_H
#define CHILD_H

#include <stdbool.h>
#include <sys/types.h>

struct child {
	pid_t pid;
	int pidfd;             /* readable once the child exited; -1: none */
};

/* Forks; the child, in its own process group with an empty signal mask
 * and SIGPIPE at SIG_DFL, calls run(arg), which sets up its fds and
 * execs (or does its work and _exits).  If run returns, or the signal
 * state cannot be set, the child exits with fail_status.  0, or -1 with
 * errno when fork failed. */
int child_spawn(struct child *c, void (*run)(void *arg), void *arg,
		int fail_status);
/* Waits until the child exits or deadline (mono_ms()); true when it
 * exited in time.  Without a pidfd: false (treat it as hung). */
bool child_wait(const struct child *c, long long deadline);
/* Kills the child's process group and the child, reaps it into *status
 * (waitpid(2)) and closes the pidfd.  0, or -1 when waitpid failed. */
int child_end(struct child *c, int *status);

#endif
