/*
 * lockout.h - the shared failed-login state (lockout.c).
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

/* One slot as the admin tool shows it. */
struct lockout_entry {
	unsigned char key[16];   /* IPv6, IPv4 as ::ffff:a.b.c.d */
	uint32_t first, last;    /* first and last failure in the window */
	uint32_t locked_until;
	uint16_t failures;
	uint8_t level;           /* locks so far (for doubling) */
};

struct lockout {
	int fd;
	unsigned char *map;
	size_t size;
	uint32_t nslots;
	struct lockout_policy pol;
};

enum lockout_result { LOCKOUT_OK, LOCKOUT_LOCKED, LOCKOUT_ERROR };

/* Opens (creating with nslots when missing; nslots 0: never creates) the
 * state file.  On error
 * returns -1 and writes the reason into err. */
int lockout_open(struct lockout *lk, const char *path, uint32_t nslots,
		 const struct lockout_policy *pol, char *err, size_t errlen);
void lockout_close(struct lockout *lk);
/* Address text -> 16-byte key (v4 mapped, v6 masked); false if not an IP. */
bool lockout_key(const char *ip, unsigned v6_prefix, unsigned char key[16]);
/* Is ip locked now?  *until gets the end of the lock. */
enum lockout_result lockout_check(struct lockout *lk, const char *ip,
				  time_t *until);
/* Records one failure; LOCKOUT_LOCKED when this one locked the address. */
enum lockout_result lockout_fail(struct lockout *lk, const char *ip,
				 time_t *until);
/* A successful login: forget the failures (an active lock stays). */
enum lockout_result lockout_success(struct lockout *lk, const char *ip);
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
