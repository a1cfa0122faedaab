/*
 * child.c - runs a helper (the deliver program, a checkpassword program,
 *	a hash-cost probe) in a child process that cannot outlive its
 *	supervision.
 *
 * SUMMARY
 *	child_spawn() forks.  The child makes itself a process group leader
 *	and gets the signal state a program expects (exec keeps the mask
 *	and SIG_IGN): no signal blocked, SIGPIPE back to SIG_DFL (the
 *	session ignores it; every other disposition is SIG_DFL already,
 *	main()'s signals_reset()).  The mask is emptied here, so this does
 *	not depend on the caller.  Then it calls the caller's run function,
 *	which arranges its fds and execs, or does its work and _exits.  The
 *	parent sets the process group too (both sides: no race with kill())
 *	and opens a pidfd; a caller polls it with its own fds (queue.c) or
 *	waits with child_wait() (auth.c).  child_end() kills the process
 *	group and the child and reaps it: a child that has exited stays a
 *	zombie until then, so its pid and group cannot be reused in
 *	between, and nothing it started lingers.  Every child is reaped.
 *
 *	This file knows nothing of sessions: what the child runs comes in
 *	as a function pointer.
 *
 * DIAGNOSTICS
 *	child_spawn(): -1 and errno when fork() fails.  A pidfd that cannot
 *	be opened leaves pidfd at -1 and child_wait() says "not in time":
 *	the caller treats the child as hung and kills it.  child_end(): -1
 *	when waitpid() fails (other than EINTR).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "io.h"

static bool child_signals(void)
{
	sigset_t none;

	return sigemptyset(&none) == 0 &&
	       sigprocmask(SIG_SETMASK, &none, NULL) == 0 &&
	       signal(SIGPIPE, SIG_DFL) != SIG_ERR;
}

int child_spawn(struct child *c, void (*run)(void *arg), void *arg,
		int fail_status)
{
	c->pidfd = -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		setpgid(0, 0);
		if (child_signals())
			run(arg);
		_exit(fail_status);
	}
	setpgid(c->pid, c->pid);      /* both sides: no race with kill() */
	c->pidfd = (int)pidfd_open(c->pid, 0);
	return 0;
}

bool child_wait(const struct child *c, long long deadline)
{
	struct pollfd p = { .fd = c->pidfd, .events = POLLIN };

	return c->pidfd >= 0 && poll_until(&p, 1, deadline) > 0;
}

int child_end(struct child *c, int *status)
{
	int r = 0;

	kill(-c->pid, SIGKILL);       /* the program and whatever it started */
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, status, 0) < 0)
		if (errno != EINTR) {
			r = -1;
			break;
		}
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
	return r;
}
