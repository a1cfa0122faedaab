/*
 * lockout.c - failed logins per client address, shared by all processes.
 *
 * SUMMARY
 *	A fixed-size file, mmap'd MAP_SHARED, holding a hash table of
 *	LOCKOUT_BUCKET-slot buckets (measured against LMDB in the project's
 *	research notes: 3x cheaper per process, no reader table that killed
 *	sessions can fill, never full).  Every update runs under flock(LOCK_EX)
 *	on the whole file, every read under LOCK_SH; the critical sections
 *	are a few microseconds.  flock belongs to the open file description,
 *	so the kernel drops it when a process dies, and no process can leave
 *	the file locked.
 *
 *	Header (64 octets): "SMTPLCK1", nslots, bucket size, a 128-bit random
 *	key for SipHash-2-4 (so a client cannot aim many addresses at one
 *	bucket), a checksum.  Slot (48 octets): key, first and last failure,
 *	locked-until, level time, failures, level, charges in flight and the
 *	time of the latest, checksum (FNV-1a, never 0).  The charge fields
 *	took octets that were reserved (zero) before, so older files read
 *	as files without charges.
 *	A slot whose checksum does not match was torn by a process killed
 *	mid-write: it counts as empty, so that one address starts afresh.
 *
 *	Keys: IPv4 as ::ffff:a.b.c.d (so IPv4-mapped IPv6 is the same
 *	address), IPv6 masked to SMTP_LOCKOUT_V6_PREFIX bits (a host has a
 *	whole /64), and all ones for "unknown" (no client address).
 *
 * POLICY
 *	The threshold-th failure within the window locks the address for
 *	duration << level seconds (capped at LOCKOUT_MAX_DURATION) and
 *	raises the level; a day without failures drops the level to 0.
 *	The budget is exact (lockout_charge/lockout_settle): a verification
 *	is charged before it runs and refused when failures in the window
 *	plus charges in flight reach the threshold; a success only returns
 *	its charge and erases nothing (failures expire with the window); a
 *	charge older than LOCKOUT_PENDING_TTL (its process died) becomes a
 *	failure.
 *	Eviction, when a bucket is full: an empty, torn or expired slot first;
 *	else the least recently failed slot that is neither locked nor
 *	charged; else the least recently failed of those.
 *
 * THE REDIS STORE
 *	lockout_open_redis() opens the other store, lockout-redis.c (a
 *	Redis server shared by a fleet of hosts): every public function
 *	below takes the address's key here and hands the rest to it when
 *	lk->redis is set, so gate.c and smtp-lockout do not know which
 *	store runs.  Same keys, same policy, same results.
 *
 * DIAGNOSTICS
 *	Functions return LOCKOUT_ERROR (lockout_open writes why;
 *	lockout_error() says why an operation failed, when it knows); the
 *	caller fails closed for AUTH and open for plain mail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockout.h"
#include "lockout-redis.h"

#define MAGIC          "SMTPLCK1"
#define LOCKOUT_BUCKET 8
#define HEADER_SIZE    64

struct header {
	char magic[8];
	uint32_t nslots;
	uint32_t bucket;
	unsigned char salt[16];
	uint32_t sum;
	unsigned char reserved[28];
};

struct slot {
	unsigned char key[16];
	uint32_t first, last, locked_until, level_time;
	uint16_t failures;
	uint8_t level;
	uint8_t pending;              /* verifications charged, not settled */
	uint32_t pending_time;        /* the latest charge */
	uint32_t reserved;
	uint32_t sum;
};

_Static_assert(sizeof(struct header) == HEADER_SIZE, "header layout");
_Static_assert(sizeof(struct slot) == 48, "slot layout");

/* ---- hashing ---------------------------------------------------------- */

static uint32_t fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *b++) * 16777619u;
	return h | 1;                 /* 0 marks an empty slot */
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND do { \
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
} while (0)

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* SipHash-2-4 of a 16-octet message (the key) under a 16-octet salt. */
static uint64_t siphash16(const unsigned char salt[16], const unsigned char m[16])
{
	uint64_t k0 = le64(salt), k1 = le64(salt + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)16 << 56;

	for (int i = 0; i < 2; i++) {
		uint64_t w = le64(m + 8 * i);
		v3 ^= w;
		SIPROUND;
		SIPROUND;
		v0 ^= w;
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- keys ------------------------------------------------------------- */

/* The key of a client whose address is not known (a pipe without
 * TCPREMOTEIP): all ones, a multicast address, which no TCP client can
 * have, so all such clients share one count. */
static const unsigned char unknown_key[16] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* "ADDR/N": the prefix length, or -1 if absent; -2 if malformed.  The
 * address part is copied into buf. */
static int split_prefix(const char *text, char *buf, size_t len)
{
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	int bits = 0;

	if (n >= len)
		return -2;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (!slash)
		return -1;
	if (!slash[1] || strlen(slash + 1) > 3)
		return -2;
	for (const char *d = slash + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return -2;
		bits = bits * 10 + (*d - '0');
	}
	return bits;
}

bool lockout_key(const char *text, unsigned v6_prefix, unsigned char key[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						  0xff, 0xff };
	char ip[INET6_ADDRSTRLEN];
	struct in_addr a4;
	int bits = split_prefix(text, ip, sizeof ip);

	if (bits == -2)
		return false;
	if (bits == -1 && strcmp(ip, LOCKOUT_UNKNOWN) == 0) {
		memcpy(key, unknown_key, 16);
		return true;
	}
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		/* an IPv4 address counts alone: only /32 names it */
		if (bits != -1 && bits != 32)
			return false;
		memcpy(key, mapped, 12);
		memcpy(key + 12, &a4, 4);
		return true;
	}
	if (inet_pton(AF_INET6, ip, key) != 1)
		return false;
	if (memcmp(key, mapped, 12) == 0)
		return bits == -1 || bits == 128;  /* IPv4-mapped: the IPv4 address */
	/* a prefix names one key only if it lies inside one counted prefix */
	if (bits != -1 && (bits < (int)v6_prefix || bits > 128))
		return false;
	if (key[0] == 0xff)
		return false;         /* multicast (RFC 4291 2.7): never a client */
	for (unsigned bit = v6_prefix; bit < 128; bit++)
		key[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
	return true;
}

void lockout_key_text(const unsigned char key[16], unsigned v6_prefix,
		      char *buf, size_t len)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						  0xff, 0xff };
	char a[INET6_ADDRSTRLEN];

	if (memcmp(key, unknown_key, 16) == 0) {
		snprintf(buf, len, "%s", LOCKOUT_UNKNOWN);
		return;
	}
	if (memcmp(key, mapped, 12) == 0) {
		inet_ntop(AF_INET, key + 12, buf, (socklen_t)len);
		return;
	}
	inet_ntop(AF_INET6, key, a, sizeof a);
	snprintf(buf, len, "%s/%u", a, v6_prefix);
}

/* ---- the file --------------------------------------------------------- */

static struct header *hdr(struct lockout *lk)
{
	return (struct header *)lk->map;
}

static struct slot *slot_at(struct lockout *lk, uint32_t i)
{
	return (struct slot *)(lk->map + HEADER_SIZE) + i;
}

static void seal(struct slot *s)
{
	s->sum = fnv1a(s, offsetof(struct slot, sum));
}

static bool slot_valid(const struct slot *s)
{
	return s->sum != 0 && s->sum == fnv1a(s, offsetof(struct slot, sum));
}

static bool lock_file(struct lockout *lk, int how);

static int init_file(int fd, uint32_t nslots, char *err, size_t errlen)
{
	struct header h;
	size_t size = HEADER_SIZE + (size_t)nslots * sizeof(struct slot);

	memset(&h, 0, sizeof h);
	memcpy(h.magic, MAGIC, 8);
	h.nslots = nslots;
	h.bucket = LOCKOUT_BUCKET;
	if (getrandom(h.salt, sizeof h.salt, 0) == (ssize_t)sizeof h.salt)
		h.sum = fnv1a(&h, offsetof(struct header, sum));
	/* Allocated, not sparse: a page of a MAP_SHARED file that the file
	 * system cannot back raises SIGBUS on the first store, so a full
	 * disk must fail here, cleanly, not later in some session. */
	if (h.sum == 0 || (errno = posix_fallocate(fd, 0, (off_t)size)) != 0 ||
	    pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
		snprintf(err, errlen, "cannot initialise: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int check_header(const struct header *h, size_t size, char *err,
			size_t errlen)
{
	if (size < HEADER_SIZE || memcmp(h->magic, MAGIC, 8) != 0 ||
	    h->sum != fnv1a(h, offsetof(struct header, sum)) ||
	    h->bucket != LOCKOUT_BUCKET || h->nslots < LOCKOUT_BUCKET ||
	    size != HEADER_SIZE + (size_t)h->nslots * sizeof(struct slot)) {
		snprintf(err, errlen, "not a valid lockout state file (corrupt or truncated)");
		return -1;
	}
	return 0;
}

int lockout_open(struct lockout *lk, const char *path, uint32_t nslots,
		 const struct lockout_policy *pol, char *err, size_t errlen)
{
	struct stat st;

	lk->map = NULL;
	lk->redis = NULL;
	lk->err[0] = '\0';
	lk->pol = *pol;
	lk->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW |
		      (nslots ? O_CREAT : 0), 0600);
	if (lk->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(lk->fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto bad;
	if (st.st_size == 0) {        /* new: one process initialises it */
		if (flock(lk->fd, LOCK_EX) < 0 || fstat(lk->fd, &st) < 0)
			goto bad;
		if (st.st_size == 0 && init_file(lk->fd, nslots, err, errlen) < 0) {
			flock(lk->fd, LOCK_UN);
			goto fail;
		}
		flock(lk->fd, LOCK_UN);
		if (fstat(lk->fd, &st) < 0)
			goto bad;
	}
	lk->size = (size_t)st.st_size;
	if (lk->size < HEADER_SIZE) {
		snprintf(err, errlen, "%s: not a valid lockout state file (truncated)", path);
		goto fail;
	}
	lk->map = mmap(NULL, lk->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       lk->fd, 0);
	if (lk->map == MAP_FAILED) {
		lk->map = NULL;
		goto bad;
	}
	/* Under LOCK_SH: a creator holds LOCK_EX from fallocate to the
	 * header write, so we never judge a half-made header. */
	if (!lock_file(lk, LOCK_SH))
		goto bad;
	if (check_header(hdr(lk), lk->size, err, errlen) < 0) {
		flock(lk->fd, LOCK_UN);
		goto fail;
	}
	flock(lk->fd, LOCK_UN);
	lk->nslots = hdr(lk)->nslots;
	return 0;
bad:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
fail:
	lockout_close(lk);
	return -1;
}

int lockout_open_redis(struct lockout *lk, const struct lockout_redis_conf *rc,
		       const struct lockout_policy *pol, char *err, size_t errlen)
{
	lk->fd = -1;
	lk->map = NULL;
	lk->err[0] = '\0';
	lk->pol = *pol;
	lk->redis = lockout_redis_open(rc, err, errlen);
	return lk->redis ? 0 : -1;
}

const char *lockout_error(const struct lockout *lk)
{
	return lk->err;
}

/* An operation on the Redis store: the key, then one script run. */
static enum lockout_result redis_op(struct lockout *lk, enum lockout_redis_op op,
				    const char *ip, time_t *until)
{
	unsigned char key[16];

	if (!lockout_key(ip, lk->pol.v6_prefix, key))
		return LOCKOUT_BADADDR;
	return lockout_redis_op(lk->redis, op, key, &lk->pol, until, lk->err,
				sizeof lk->err);
}

void lockout_close(struct lockout *lk)
{
	if (lk->redis)
		lockout_redis_close(lk->redis);
	lk->redis = NULL;
	if (lk->map)
		munmap(lk->map, lk->size);
	if (lk->fd >= 0)
		close(lk->fd);
	lk->map = NULL;
	lk->fd = -1;
}

/* ---- the table -------------------------------------------------------- */

static uint32_t bucket_start(struct lockout *lk, const unsigned char key[16])
{
	return (uint32_t)(siphash16(hdr(lk)->salt, key) % lk->nslots);
}

static struct slot *find(struct lockout *lk, const unsigned char key[16])
{
	uint32_t start = bucket_start(lk, key);

	for (uint32_t i = 0; i < LOCKOUT_BUCKET; i++) {
		struct slot *s = slot_at(lk, (start + i) % lk->nslots);
		if (slot_valid(s) && memcmp(s->key, key, 16) == 0)
			return s;
	}
	return NULL;
}

/* Seconds from t to now; 0 if t is later (another process's clock
 * reading, taken a moment after ours, or a clock step back). */
static uint32_t since(uint32_t now, uint32_t t)
{
	return now > t ? now - t : 0;
}

/* Nothing left worth keeping: no lock, no verification in flight, no
 * failures in the window, and the level has decayed. */
static bool expired(const struct lockout *lk, const struct slot *s, uint32_t now)
{
	uint32_t keep = lk->pol.window > LOCKOUT_LEVEL_DECAY ? lk->pol.window
							     : LOCKOUT_LEVEL_DECAY;
	return s->locked_until <= now && s->pending == 0 &&
	       since(now, s->last) > keep;
}

/* A slot in use right now: locked, or a verification charged to it. */
static bool busy(const struct slot *s, uint32_t now)
{
	return s->locked_until > now || s->pending > 0;
}

static struct slot *take_slot(struct lockout *lk, const unsigned char key[16],
			      uint32_t now)
{
	uint32_t start = bucket_start(lk, key);
	struct slot *victim = NULL, *busy_victim = NULL;

	for (uint32_t i = 0; i < LOCKOUT_BUCKET; i++) {
		struct slot *s = slot_at(lk, (start + i) % lk->nslots);
		if (!slot_valid(s) || expired(lk, s, now)) {
			victim = s;
			break;
		}
		if (busy(s, now)) {
			if (!busy_victim || s->last < busy_victim->last)
				busy_victim = s;
		} else if (!victim || s->last < victim->last) {
			victim = s;
		}
	}
	if (!victim)
		victim = busy_victim;
	memset(victim, 0, sizeof *victim);
	memcpy(victim->key, key, 16);
	return victim;
}

static struct slot *find_or_take(struct lockout *lk, const unsigned char key[16],
				 uint32_t now)
{
	struct slot *s = find(lk, key);

	return s ? s : take_slot(lk, key, now);
}

static bool lock_file(struct lockout *lk, int how)
{
	while (flock(lk->fd, how) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

/* Takes the exclusive lock and reads the clock under it (so times in
 * the file are monotone).  The caller unlocks with unlock_file(). */
static bool lock_now(struct lockout *lk, uint32_t *now)
{
	if (!lock_file(lk, LOCK_EX))
		return false;
	*now = (uint32_t)time(NULL);
	return true;
}

static void unlock_file(struct lockout *lk)
{
	flock(lk->fd, LOCK_UN);
}

enum lockout_result lockout_check(struct lockout *lk, const char *ip,
				  time_t *until)
{
	unsigned char key[16];
	const struct slot *s;
	enum lockout_result r = LOCKOUT_OK;
	uint32_t now = (uint32_t)time(NULL);

	if (lk->redis)
		return redis_op(lk, LR_CHECK, ip, until);
	if (!lockout_key(ip, lk->pol.v6_prefix, key))
		return LOCKOUT_BADADDR;
	if (!lock_file(lk, LOCK_SH))
		return LOCKOUT_ERROR;
	s = find(lk, key);
	if (s && s->locked_until > now) {
		r = LOCKOUT_LOCKED;
		*until = s->locked_until;
	}
	unlock_file(lk);
	return r;
}

static uint32_t lock_seconds(const struct lockout_policy *pol, unsigned level)
{
	uint64_t d = pol->duration;

	while (level-- > 0 && d < LOCKOUT_MAX_DURATION)
		d *= 2;
	return d > LOCKOUT_MAX_DURATION ? LOCKOUT_MAX_DURATION : (uint32_t)d;
}

/* One failure; true when it locked the address. */
static bool add_failure(struct lockout *lk, struct slot *s, uint32_t now)
{
	if (s->level > 0 && since(now, s->last) > LOCKOUT_LEVEL_DECAY)
		s->level = 0;
	if (s->failures == 0 || since(now, s->first) > lk->pol.window) {
		s->failures = 0;
		s->first = now;
	}
	if (s->failures < UINT16_MAX)
		s->failures++;
	s->last = now;
	if (s->failures < lk->pol.threshold)
		return false;
	s->locked_until = now + lock_seconds(&lk->pol, s->level);
	if (s->level < 31)
		s->level++;
	s->level_time = now;
	s->failures = 0;
	return true;
}

/* Brings a slot up to now: failures older than the window are gone, and
 * charges never settled within LOCKOUT_PENDING_TTL (their process died
 * mid-verification) count as failures: a killed session earns no
 * guess back. */
static void refresh(struct lockout *lk, struct slot *s, uint32_t now)
{
	if (s->failures > 0 && since(now, s->first) > lk->pol.window)
		s->failures = 0;
	if (s->pending > 0 && since(now, s->pending_time) > LOCKOUT_PENDING_TTL) {
		unsigned n = s->pending;

		s->pending = 0;
		while (n-- > 0)
			add_failure(lk, s, now);
	}
}

/* The slot holds nothing any more: free it, so that `list` shows only
 * addresses with a record. */
static bool empty(const struct slot *s, uint32_t now)
{
	return s->failures == 0 && s->pending == 0 && s->level == 0 &&
	       s->locked_until <= now;
}

/* The start of every update: the address's key, the exclusive lock and
 * the clock read under it, the slot (taken if missing and create is
 * set; else *s may be NULL) brought up to now.  On LOCKOUT_OK the caller
 * holds the lock and ends with unlock_file(). */
static enum lockout_result begin_update(struct lockout *lk, const char *ip,
					bool create, struct slot **s,
					uint32_t *now)
{
	unsigned char key[16];

	if (!lockout_key(ip, lk->pol.v6_prefix, key))
		return LOCKOUT_BADADDR;
	if (!lock_now(lk, now))
		return LOCKOUT_ERROR;
	*s = create ? find_or_take(lk, key, *now) : find(lk, key);
	if (*s)
		refresh(lk, *s, *now);
	return LOCKOUT_OK;
}

enum lockout_result lockout_charge(struct lockout *lk, const char *ip,
				   time_t *until)
{
	uint32_t now;
	struct slot *s;
	enum lockout_result r;

	if (lk->redis)
		return redis_op(lk, LR_CHARGE, ip, until);
	if ((r = begin_update(lk, ip, true, &s, &now)) != LOCKOUT_OK)
		return r;
	if (s->locked_until > now) {
		*until = s->locked_until;
		r = LOCKOUT_LOCKED;
	} else if ((unsigned)s->failures + s->pending >= lk->pol.threshold ||
		   s->pending == UINT8_MAX) {
		r = LOCKOUT_SPENT;    /* the rest of the budget is in flight */
	} else {
		s->pending++;
		s->pending_time = now;
	}
	seal(s);
	unlock_file(lk);
	return r;
}

enum lockout_result lockout_settle(struct lockout *lk, const char *ip,
				   bool failed, time_t *until)
{
	uint32_t now;
	struct slot *s;
	enum lockout_result r;

	if (lk->redis)
		return redis_op(lk, failed ? LR_SETTLE_FAILED : LR_SETTLE_OK,
				ip, until);
	/* evicted since the charge (a full bucket): a failure starts anew */
	if ((r = begin_update(lk, ip, failed, &s, &now)) != LOCKOUT_OK)
		return r;
	if (s) {
		if (s->pending > 0)
			s->pending--;
		if (failed && add_failure(lk, s, now)) {
			*until = s->locked_until;
			r = LOCKOUT_LOCKED;
		}
		if (empty(s, now))
			memset(s, 0, sizeof *s);
		else
			seal(s);
	}
	unlock_file(lk);
	return r;
}

enum lockout_result lockout_fail(struct lockout *lk, const char *ip,
				 time_t *until)
{
	uint32_t now;
	struct slot *s;
	enum lockout_result r;

	if (lk->redis)
		return redis_op(lk, LR_FAIL, ip, until);
	if ((r = begin_update(lk, ip, true, &s, &now)) != LOCKOUT_OK)
		return r;
	if (add_failure(lk, s, now)) {
		*until = s->locked_until;
		r = LOCKOUT_LOCKED;
	}
	seal(s);
	unlock_file(lk);
	return r;
}

enum lockout_result lockout_unlock(struct lockout *lk, const char *ip,
				   bool *found)
{
	unsigned char key[16];
	struct slot *s;

	*found = false;
	if (!lockout_key(ip, lk->pol.v6_prefix, key))
		return LOCKOUT_BADADDR;
	if (lk->redis)
		return lockout_redis_unlock(lk->redis, key, found, lk->err,
					    sizeof lk->err);
	if (!lock_file(lk, LOCK_EX))
		return LOCKOUT_ERROR;
	s = find(lk, key);
	if (s) {
		memset(s, 0, sizeof *s);
		*found = true;
	}
	flock(lk->fd, LOCK_UN);
	return LOCKOUT_OK;
}

int lockout_clear(struct lockout *lk)
{
	if (lk->redis)
		return lockout_redis_clear(lk->redis, lk->err, sizeof lk->err);
	if (!lock_file(lk, LOCK_EX))
		return -1;
	memset(lk->map + HEADER_SIZE, 0, (size_t)lk->nslots * sizeof(struct slot));
	flock(lk->fd, LOCK_UN);
	return 0;
}

int lockout_walk(struct lockout *lk,
		 void (*fn)(const struct lockout_entry *, void *), void *arg)
{
	if (lk->redis)
		return lockout_redis_walk(lk->redis, fn, arg, lk->err,
					  sizeof lk->err);
	if (!lock_file(lk, LOCK_SH))
		return -1;
	for (uint32_t i = 0; i < lk->nslots; i++) {
		const struct slot *s = slot_at(lk, i);
		struct lockout_entry e;

		if (!slot_valid(s))
			continue;
		memcpy(e.key, s->key, 16);
		e.first = s->first;
		e.last = s->last;
		e.locked_until = s->locked_until;
		e.failures = s->failures;
		e.level = s->level;
		e.pending = s->pending;
		fn(&e, arg);
	}
	flock(lk->fd, LOCK_UN);
	return 0;
}
