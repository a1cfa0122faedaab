/*
 * rusage.c - `rusage FILE prog args...`: runs prog (inheriting fds
 * 0-2), waits for it and appends "utime_us stime_us maxrss_kib minflt\n" to
 * FILE (O_APPEND, one write).  The figures come from wait4(2): they
 * include the children prog waited for (e.g. its deliver program).
 * Used by bench/run as the launcher's command; /usr/bin/time only
 * reports CPU time in 10 ms steps.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) return 2;
	pid_t pid = fork();
	if (pid < 0) return 71;
	if (pid == 0) {
		execv(argv[2], argv + 2);
		_exit(127);
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0) ;
	char line[128];
	int n = snprintf(line, sizeof line, "%lld %lld %ld %ld\n",
			 (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
			 (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss,
			 ru.ru_minflt);
	int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) { (void)!write(fd, line, (size_t)n); close(fd); }
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
