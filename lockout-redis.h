/*
 * lockout-redis.h - the lockout store in a Redis server (lockout-redis.c),
 * called only by lockout.c, which picks the store.
 */
#ifndef LOCKOUT_REDIS_H
#define LOCKOUT_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lockout.h"

/* The one operation on one address's entry, each one Lua script run. */
enum lockout_redis_op { LR_CHECK, LR_CHARGE, LR_SETTLE_OK, LR_SETTLE_FAILED,
			LR_FAIL };

/* Connects (SMTP_LOCKOUT_REDIS: redis://IP[:PORT][/DB] or
 * unix:/PATH[?db=DB]); reads the password file, if any.  NULL with err
 * on failure.  One connection per process: a second open closes the
 * first. */
struct lockout_redis *lockout_redis_open(const struct lockout_redis_conf *rc,
					 char *err, size_t errlen);
void lockout_redis_close(struct lockout_redis *r);
/* One script run for the 16-octet key (lockout_key()); LOCKOUT_ERROR
 * with err when the server cannot be reached, is slow, or refuses. */
enum lockout_result lockout_redis_op(struct lockout_redis *r,
				     enum lockout_redis_op op,
				     const unsigned char key[16],
				     const struct lockout_policy *pol,
				     time_t *until, char *err, size_t errlen);
enum lockout_result lockout_redis_unlock(struct lockout_redis *r,
					 const unsigned char key[16],
					 bool *found, char *err, size_t errlen);
int lockout_redis_clear(struct lockout_redis *r, char *err, size_t errlen);
int lockout_redis_walk(struct lockout_redis *r,
		       void (*fn)(const struct lockout_entry *, void *),
		       void *arg, char *err, size_t errlen);

#endif
