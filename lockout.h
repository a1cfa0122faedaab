/*
 * lockout.h - the shared failed-login state (lockout.c): a state file
 * shared by the processes of one host, or a Redis server shared by a
 * fleet (lockout-redis.c); the same operations and guarantees on both.
 */
#ifndef LOCKOUT_H
#define LOCKOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct lockout_policy {
	unsigned threshold;   /* failures within window that lock */
	unsigned window;      /* seconds */
	unsigned duration;    /* first lock, seconds; doubles per level */
	unsigned v6_prefix;   /* IPv6 addresses counted per prefix */
};

#define LOCKOUT_MAX_DURATION 86400   /* the doubling stops here */
#define LOCKOUT_LEVEL_DECAY  86400   /* a day without failures: level 0 */
/* A charge not settled within this many seconds belongs to a process that
 * died mid-verification; it then counts as a failure.  Well above the
 * longest verification (a checkpassword program, at most 30 s). */
#define LOCKOUT_PENDING_TTL  300
/* The address text of a client whose address is not known. */
#define LOCKOUT_UNKNOWN      "unknown"

/* One slot as the admin tool shows it. */
struct lockout_entry {
	unsigned char key[16];   /* IPv6, IPv4 as ::ffff:a.b.c.d */
	uint32_t first, last;    /* first and last failure in the window */
	uint32_t locked_until;
	uint16_t failures;
	uint8_t level;           /* locks so far (for doubling) */
	uint8_t pending;         /* verifications in flight */
};

struct lockout_redis;             /* lockout-redis.c */

struct lockout {
	int fd;
	unsigned char *map;
	size_t size;
	uint32_t nslots;
	struct lockout_policy pol;
	struct lockout_redis *redis;  /* set: the Redis store, not the file */
	char err[192];                /* why the last operation failed */
};

/* SMTP_LOCKOUT_REDIS and its companions. */
struct lockout_redis_conf {
	const char *url;              /* redis://IP[:PORT][/DB], unix:/PATH[?db=N] */
	const char *password_file;    /* NULL: no AUTH */
	unsigned timeout_ms;          /* the connect, and each reply */
};

/* LOCKED: locked now (*until says till when).  SPENT: not locked, but
 * the rest of the address's budget is charged to verifications still in
 * flight.  BADADDR: not an address lockout_key() takes. */
enum lockout_result { LOCKOUT_OK, LOCKOUT_LOCKED, LOCKOUT_SPENT,
		      LOCKOUT_BADADDR, LOCKOUT_ERROR };

/* Opens (creating with nslots when missing; nslots 0: never creates) the
 * state file.  On error
 * returns -1 and writes the reason into err. */
int lockout_open(struct lockout *lk, const char *path, uint32_t nslots,
		 const struct lockout_policy *pol, char *err, size_t errlen);
/* The same for the Redis store (lockout-redis.c): connects, nothing
 * else (the first operation's round trip carries AUTH and SELECT). */
int lockout_open_redis(struct lockout *lk, const struct lockout_redis_conf *rc,
		       const struct lockout_policy *pol, char *err, size_t errlen);
void lockout_close(struct lockout *lk);
/* Why the last operation returned LOCKOUT_ERROR ("" if not said). */
const char *lockout_error(const struct lockout *lk);
/* Address text -> 16-byte key; false if it names no key.  Takes an IPv4
 * or IPv6 address, "unknown" (one key for all clients without a known
 * address), and the forms lockout_key_text() prints: A.B.C.D/32 and an
 * IPv6 prefix at least as long as v6_prefix ("2001:db8::/64"). */
bool lockout_key(const char *text, unsigned v6_prefix, unsigned char key[16]);
/* Is ip locked now?  *until gets the end of the lock. */
enum lockout_result lockout_check(struct lockout *lk, const char *ip,
				  time_t *until);
/*
 * The exact budget: a session charges one attempt before it verifies a
 * password, and settles it after the verdict, each in one short critical
 * section (the flock is never held across crypt()).  A charge is refused
 * (LOCKED or SPENT) when failures in the window plus charges in flight
 * reach the threshold, so no more than threshold passwords are ever
 * verified per address per window, however many sessions run at once.
 */
enum lockout_result lockout_charge(struct lockout *lk, const char *ip,
				   time_t *until);
/* Settles one charge: a failure counts (LOCKED when it locked the
 * address), a success only returns the charge -- it never erases the
 * failures that other guesses ran up; they expire with the window. */
enum lockout_result lockout_settle(struct lockout *lk, const char *ip,
				   bool failed, time_t *until);
/* Records one failure without a charge (a refusal that verified
 * nothing, or another service's report); LOCKED when it locked. */
enum lockout_result lockout_fail(struct lockout *lk, const char *ip,
				 time_t *until);
/* Admin: remove the address's entry entirely (lock, failures, level). */
enum lockout_result lockout_unlock(struct lockout *lk, const char *ip,
				   bool *found);
int lockout_clear(struct lockout *lk);
/* Calls fn for every valid, non-empty slot (under a shared lock). */
int lockout_walk(struct lockout *lk,
		 void (*fn)(const struct lockout_entry *, void *), void *arg);
/* Key -> printable address ("192.0.2.1", "2001:db8::/64"). */
void lockout_key_text(const unsigned char key[16], unsigned v6_prefix,
		      char *buf, size_t len);

#endif
