/*
 * authres-sandbox.h - the checking child's sandbox (authres-sandbox.c).
 */
#ifndef AUTHRES_SANDBOX_H
#define AUTHRES_SANDBOX_H

/* Restricts the calling process for good (no_new_privs, rlimits,
 * Landlock, seccomp: whatever the kernel has); 0 or -1. */
int authres_sandbox(void);

#endif
