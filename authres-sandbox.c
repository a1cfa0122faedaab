/*
 * authres-sandbox.c - what the checking child of smtp-authres may do:
 * read the message it already has open, read system files (libraries,
 * resolv.conf, the public suffix list), talk DNS over UDP and TCP, and
 * write its verdicts to the pipe it was given.  Nothing else.
 *
 * SUMMARY
 *	authres_sandbox() applies, in this order, each layer the running
 *	kernel offers (a layer it lacks is skipped, the others still
 *	apply):
 *	  - no_new_privs (also what unprivileged Landlock and seccomp
 *	    need), not dumpable (no ptrace of it by its own user);
 *	  - RLIMIT_FSIZE 0 and RLIMIT_NPROC 0: no file grows, no process
 *	    is made (the pipe is not a file); skipped where a system call
 *	    filter above us refuses setrlimit(2) (the shipped units deny
 *	    @resources);
 *	  - Landlock (ABI 1+): read-only beneath /etc, /usr, /lib, /lib64
 *	    and /run (resolv.conf may be a link into /run), no write,
 *	    make, remove or execute anywhere; ABI 4+: TCP connect only to
 *	    port 53, no TCP bind; ABI 6+: no signal to and no abstract
 *	    socket of a process outside the sandbox;
 *	  - seccomp (x86_64, aarch64): socket() only for AF_INET and
 *	    AF_INET6 (EAFNOSUPPORT otherwise: no AF_UNIX path to the
 *	    journal, D-Bus or nscd), no execve/execveat, no fork, vfork,
 *	    clone or clone3, no ptrace or process_vm_* (EPERM).
 *	The parent, which writes the message and execs the next program,
 *	stays unrestricted: the next program (smtp-deliver) must write
 *	the Maildir, and Landlock and seccomp are inherited across
 *	execve(2).
 *
 * DIAGNOSTICS
 *	0 when every layer the kernel has was applied; -1 when one the
 *	kernel has failed (the child then does no check at all: its
 *	verdicts stay temperror).  Landlock that the kernel or a filter
 *	above us refuses to create (ENOSYS, EOPNOTSUPP, EPERM) is a layer
 *	the kernel does not have.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "authres-sandbox.h"

/* Landlock ABI 4 (network) and 6 (scopes) postdate Debian 12's headers:
 * the attribute is ours, sized by the ABI the kernel reports. */
struct ruleset_attr {
	uint64_t fs, net, scoped;
};

struct net_port_attr {
	uint64_t allowed_access, port;
} __attribute__((packed));

#define NET_BIND_TCP	(1ULL << 0)
#define NET_CONNECT_TCP	(1ULL << 1)
#define RULE_NET_PORT	2
#define SCOPE_ABSTRACT	(1ULL << 0)
#define SCOPE_SIGNAL	(1ULL << 1)

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* ABI 1's rights; ABI 2 adds REFER (bit 13), ABI 3 TRUNCATE (bit 14),
 * ABI 5 IOCTL_DEV (bit 15). */
#define FS_ABI1 ((1ULL << 13) - 1)

static long ll_create(const struct ruleset_attr *a, size_t size,
		      uint32_t flags)
{
	return syscall(__NR_landlock_create_ruleset, a, size, flags);
}

static int ll_read_beneath(int ruleset, const char *path)
{
	struct landlock_path_beneath_attr pb = { .allowed_access = FS_READ };
	int fd = open(path, O_PATH | O_CLOEXEC);
	long rc;

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;	/* no /lib64: fine */
	pb.parent_fd = fd;
	rc = syscall(__NR_landlock_add_rule, ruleset,
		     LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	(void)close(fd);
	return rc == 0 ? 0 : -1;
}

static int landlock(void)
{
	static const char *const ro[] = { "/etc", "/usr", "/lib", "/lib64",
					  "/run" };
	struct ruleset_attr attr = { 0, 0, 0 };
	struct net_port_attr dns = { NET_CONNECT_TCP, 53 };
	long abi = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	size_t size = sizeof attr.fs;
	int ruleset, rc = -1;

	if (abi < 1)
		return 0;		/* no Landlock in this kernel */
	attr.fs = FS_ABI1;
	if (abi >= 2)
		attr.fs |= 1ULL << 13;
	if (abi >= 3)
		attr.fs |= 1ULL << 14;
	if (abi >= 5)
		attr.fs |= 1ULL << 15;
	if (abi >= 4) {
		attr.net = NET_BIND_TCP | NET_CONNECT_TCP;
		size = offsetof(struct ruleset_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = SCOPE_ABSTRACT | SCOPE_SIGNAL;
		size = sizeof attr;
	}
	ruleset = (int)ll_create(&attr, size, 0);
	if (ruleset < 0)
		return -1;
	for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++)
		if (ll_read_beneath(ruleset, ro[i]) == -1)
			goto out;
	if (abi >= 4 && syscall(__NR_landlock_add_rule, ruleset,
				RULE_NET_PORT, &dns, 0) != 0)
		goto out;
	rc = (int)syscall(__NR_landlock_restrict_self, ruleset, 0);
out:
	(void)close(ruleset);
	return rc == 0 ? 0 : -1;
}

#if defined(__x86_64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_AARCH64
#endif

#ifdef AUDIT_ARCH_HERE
#define LD_NR   BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
			 offsetof(struct seccomp_data, nr))
#define DENY(nr, err) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))

static int seccomp(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_HERE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		LD_NR,
		/* socket(): AF_INET and AF_INET6 only */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		DENY(__NR_execve, EPERM),
		DENY(__NR_execveat, EPERM),
		DENY(__NR_clone, EPERM),
		DENY(__NR_clone3, ENOSYS),
#ifdef __NR_fork
		DENY(__NR_fork, EPERM),
		DENY(__NR_vfork, EPERM),
#endif
		DENY(__NR_ptrace, EPERM),
		DENY(__NR_process_vm_readv, EPERM),
		DENY(__NR_process_vm_writev, EPERM),
		DENY(__NR_socketpair, EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };

	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == 0 ||
	       errno == EINVAL ? 0 : -1;
}
#else
static int seccomp(void)
{
	return 0;
}
#endif

/* A call the service's own system call filter refuses (the shipped
 * units deny @resources, so setrlimit(2) is EPERM there) is a layer
 * someone else already holds: skipped, not a failure. */
static int layer(int rc)
{
	return rc == 0 || errno == EPERM || errno == ENOSYS ? 0 : -1;
}

int authres_sandbox(void)
{
	struct rlimit zero = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    layer(setrlimit(RLIMIT_FSIZE, &zero)) == -1 ||
	    layer(setrlimit(RLIMIT_NPROC, &zero)) == -1)
		return -1;
	if (landlock() == -1)
		return -1;
	return seccomp();
}
