/*
 * lockout-redis.c - the failed-login lockout in a Redis server, so that a
 * fleet of hosts behind one MX name keeps one count per address.
 *
 * SUMMARY
 *	SMTP_LOCKOUT_REDIS names the server: redis://IP[:PORT][/DB] (port
 *	6379, DB 0 by default; an IPv6 address in brackets) or
 *	unix:/PATH[?db=DB].  Each address is one hash under the key
 *	"smtp-lockout:" and the 32 hex digits of its 16-octet key
 *	(lockout_key(): IPv4 as ::ffff:a.b.c.d, IPv6 masked to
 *	SMTP_LOCKOUT_V6_PREFIX, all ones for "unknown"), with the fields
 *	f (failures in the window), first and last (failure times), lu
 *	(locked until), lv (level), p (charges in flight) and pt (the
 *	latest charge): the file store's slot, field for field.
 *
 *	Every operation on an address is one run of SCRIPT below (EVALSHA;
 *	EVAL when the server answers NOSCRIPT, which also caches it), and
 *	Redis runs a script atomically, so the budget is exact however many
 *	hosts and sessions run at once.  SCRIPT is lockout.c's policy
 *	(refresh, add_failure, charge, settle) transcribed, on the server's
 *	clock (TIME), so hosts whose clocks differ agree.  An entry with
 *	nothing left is deleted; otherwise it expires (EXPIREAT) when
 *	nothing in it matters any more: the lock's end, the last failure
 *	plus max(window, LOCKOUT_LEVEL_DECAY), and while charges are in
 *	flight their time plus LOCKOUT_PENDING_TTL plus the same (so a dead
 *	session's charge still turns into a failure).  No cleanup job.
 *
 *	Cost per session: one connect, and one round trip per operation.
 *	The connect-time check is a single EVALSHA; AUTH (a password file)
 *	and SELECT (a DB other than 0) go in the same write as the first
 *	operation, not in round trips of their own.
 *
 *	libhiredis is not linked: lr_load() loads it by SONAME (dlib.c) the first
 *	time a Redis store is opened, as geoip.c loads libmaxminddb, so the
 *	sessions of a host without Redis neither map nor relocate it.
 *
 * LIMITS
 *	The host is an IP address: no DNS lookup per connection, and the
 *	units' IPAddressAllow= takes addresses.  No TLS: hiredis 0.14
 *	(Debian 12) has none; reach a remote server over a unix socket of a
 *	local TLS tunnel (stunnel).  The password is the first line of its
 *	file, at most 255 octets.  Redis 5 or later (a script that reads
 *	TIME and then writes needs effect replication, the default since 5).
 *	`list` reads with SCAN, entry by entry: a snapshot per entry, not of
 *	the whole store; `clear` is one script (SCAN and DEL inside).
 *
 * DIAGNOSTICS
 *	Each function returns LOCKOUT_ERROR (or -1, or NULL) with the reason
 *	in err: "redis 127.0.0.1:6379: Connection refused", "...: Resource
 *	temporarily unavailable" (the timeout), or the server's error text.
 *	After a failed exchange the connection is dropped and later
 *	operations of the process fail at once (a session does not wait out
 *	the timeout twice).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "dlib.h"
#include "lockout-redis.h"

/* The library of the headers we build with (hiredis.h's HIREDIS_SONAME:
 * 0.14 on Debian 12, in the runtime package libhiredis0.14). */
#define STR_(x)        #x
#define STR(x)         STR_(x)
#define LIBHIREDIS     "libhiredis.so." STR(HIREDIS_SONAME)
#define KEY_PREFIX     "smtp-lockout:"
#define PASSWORD_MAX   255

/*
 * KEYS[1]: the address's hash.  ARGV: op, threshold, window, duration,
 * LOCKOUT_MAX_DURATION, LOCKOUT_LEVEL_DECAY, LOCKOUT_PENDING_TTL.
 * Returns { 0 ok / 1 locked / 2 spent, locked until }.  Keep in step with
 * lockout.c's refresh(), add_failure(), lockout_charge() and
 * lockout_settle(); SCRIPT_SHA1 is its SHA-1 (sha1sum of the text;
 * tests/lockout-redis.bats fails when they differ).
 */
static const char script[] =
	"local k, op = KEYS[1], ARGV[1]\n"
	"local th, win, dur = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local maxd, decay, pttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])\n"
	"local now = tonumber(redis.call('TIME')[1])\n"
	"local names = { 'f', 'first', 'last', 'lu', 'lv', 'p', 'pt' }\n"
	"local v = redis.call('HMGET', k, unpack(names))\n"
	"local s, found = {}, false\n"
	"for i, n in ipairs(names) do\n"
	"  s[n] = tonumber(v[i]) or 0\n"
	"  if v[i] then found = true end\n"
	"end\n"
	"if op == 'check' then\n"
	"  if s.lu > now then return { 1, s.lu } end\n"
	"  return { 0, 0 }\n"
	"end\n"
	"if not found and op == 'settle0' then return { 0, 0 } end\n"
	"local function since(t) if now > t then return now - t end return 0 end\n"
	"local function add_failure()\n"
	"  if s.lv > 0 and since(s.last) > decay then s.lv = 0 end\n"
	"  if s.f == 0 or since(s.first) > win then s.f = 0; s.first = now end\n"
	"  if s.f < 65535 then s.f = s.f + 1 end\n"
	"  s.last = now\n"
	"  if s.f < th then return false end\n"
	"  local d, l = dur, s.lv\n"
	"  while l > 0 and d < maxd do d = d * 2; l = l - 1 end\n"
	"  if d > maxd then d = maxd end\n"
	"  s.lu = now + d\n"
	"  if s.lv < 31 then s.lv = s.lv + 1 end\n"
	"  s.f = 0\n"
	"  return true\n"
	"end\n"
	"if s.f > 0 and since(s.first) > win then s.f = 0 end\n"
	"if s.p > 0 and since(s.pt) > pttl then\n"
	"  local n = s.p\n"
	"  s.p = 0\n"
	"  for _ = 1, n do add_failure() end\n"
	"end\n"
	"local r, u = 0, 0\n"
	"if op == 'charge' then\n"
	"  if s.lu > now then r, u = 1, s.lu\n"
	"  elseif s.f + s.p >= th or s.p >= 255 then r = 2\n"
	"  else s.p = s.p + 1; s.pt = now end\n"
	"elseif op == 'settle0' or op == 'settle1' then\n"
	"  if s.p > 0 then s.p = s.p - 1 end\n"
	"  if op == 'settle1' and add_failure() then r, u = 1, s.lu end\n"
	"elseif op == 'fail' then\n"
	"  if add_failure() then r, u = 1, s.lu end\n"
	"else\n"
	"  return redis.error_reply('smtp-lockout: unknown operation')\n"
	"end\n"
	"local keep = math.max(win, decay)\n"
	"local exp = math.max(s.lu, s.last + keep)\n"
	"if s.p > 0 then exp = math.max(exp, s.pt + pttl + keep) end\n"
	"if (s.f == 0 and s.p == 0 and s.lv == 0 and s.lu <= now) or exp <= now then\n"
	"  redis.call('DEL', k)\n"
	"else\n"
	"  redis.call('HSET', k, 'f', s.f, 'first', s.first, 'last', s.last,\n"
	"             'lu', s.lu, 'lv', s.lv, 'p', s.p, 'pt', s.pt)\n"
	"  redis.call('EXPIREAT', k, exp)\n"
	"end\n"
	"return { r, u }\n";
#define SCRIPT_SHA1 "1725c5396f85d1b783172c84d7b7de09a14d2eb5"

/* `clear`: every entry, in one script (atomic).  ARGV[1]: the pattern. */
static const char clear_script[] =
	"local c, n = '0', 0\n"
	"repeat\n"
	"  local r = redis.call('SCAN', c, 'MATCH', ARGV[1], 'COUNT', 1000)\n"
	"  c = r[1]\n"
	"  for _, k in ipairs(r[2]) do n = n + redis.call('DEL', k) end\n"
	"until c == '0'\n"
	"return n\n";

/* ---- loading hiredis ------------------------------------------------ */

#define HIREDIS_FUNCS(X) \
	X(redisConnectWithTimeout) X(redisConnectUnixWithTimeout) \
	X(redisSetTimeout) X(redisAppendCommandArgv) X(redisGetReply) \
	X(freeReplyObject) X(redisFree)

/* H.f has the type of &f; valid once lr_load() returned true. */
static struct {
#define X(f) __typeof__(&f) f;
	HIREDIS_FUNCS(X)
#undef X
} H;

/* Loads libhiredis and every function, once (dlib.c); false with why. */
static bool lr_load(char *err, size_t errlen)
{
	static const struct dlib_sym syms[] = {
#define X(f) { #f, &H.f },
		HIREDIS_FUNCS(X)
#undef X
	};
	static int state;               /* 0 not tried, 1 ok, -1 failed */
	static char why[192];

	if (state == 0)
		state = dlib_load(LIBHIREDIS, syms, sizeof syms / sizeof syms[0],
				  why, sizeof why) ? 1 : -1;
	if (state < 0)
		snprintf(err, errlen, "%s", why);
	return state > 0;
}

/* ---- the connection ------------------------------------------------- */

struct lockout_redis {
	redisContext *c;              /* NULL: closed (after an error) */
	char where[128];              /* "127.0.0.1:6379", "/run/redis.sock" */
	char password[PASSWORD_MAX + 1];
	char db[12];                  /* "" for 0 */
	bool greeted;                 /* AUTH and SELECT answered */
};

static struct lockout_redis conn;   /* one per process */

/* A decimal 0..max ending at *end ('\0' or one of stops); -1 if not. */
static long number(const char *s, const char **end, long max)
{
	long v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	*end = s;
	return v;
}

/* The DB suffix ("" or "/N" for redis://, "" or "?db=N" for unix:). */
static bool parse_db(const char *s, const char *lead, char db[12])
{
	const char *end;
	long n;

	db[0] = '\0';
	if (!*s)
		return true;
	if (strncmp(s, lead, strlen(lead)) != 0)
		return false;
	n = number(s + strlen(lead), &end, 1000000);
	if (n < 0 || *end)
		return false;
	if (n > 0)
		snprintf(db, 12, "%ld", n);
	return true;
}

/* redis://IP[:PORT][/DB]: host, port and DB; false if malformed. */
static bool parse_tcp(const char *u, char *host, size_t hostlen, int *port,
		      char db[12])
{
	const char *h = u, *end = u;
	size_t n;
	long p = 6379;
	unsigned char buf[16];

	if (*h == '[') {
		end = strchr(++h, ']');
		if (!end)
			return false;
		n = (size_t)(end++ - h);
	} else {
		n = strcspn(h, ":/");
		end = h + n;
	}
	if (n == 0 || n >= hostlen)
		return false;
	memcpy(host, h, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, buf) != 1 &&
	    (*u != '[' || inet_pton(AF_INET6, host, buf) != 1))
		return false;
	if (*end == ':' && ((p = number(end + 1, &end, 65535)) < 1))
		return false;
	*port = (int)p;
	return parse_db(end, "/", db);
}

/* The first line of the password file; false with err. */
static bool read_password(const char *path, char *pw, char *err, size_t errlen)
{
	char buf[PASSWORD_MAX + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);

	if (n < 0) {
		snprintf(err, errlen, "redis password file %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) > PASSWORD_MAX || !*buf) {
		snprintf(err, errlen, "redis password file %s: %s", path,
			 *buf ? "first line longer than 255 octets" : "empty");
		return false;
	}
	memcpy(pw, buf, strlen(buf) + 1);
	explicit_bzero(buf, sizeof buf);
	return true;
}

static struct timeval tv_ms(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000,
				 .tv_usec = (long)(ms % 1000) * 1000 };
}

void lockout_redis_close(struct lockout_redis *r)
{
	if (r && r->c) {
		H.redisFree(r->c);
		r->c = NULL;
	}
	if (r)
		explicit_bzero(r->password, sizeof r->password);
}

struct lockout_redis *lockout_redis_open(const struct lockout_redis_conf *rc,
					 char *err, size_t errlen)
{
	struct lockout_redis *r = &conn;
	struct timeval tv = tv_ms(rc->timeout_ms);
	char host[64];
	int port = 0;

	if (!lr_load(err, errlen))
		return NULL;
	lockout_redis_close(r);
	memset(r, 0, sizeof *r);
	if (strncmp(rc->url, "unix:/", 6) == 0) {
		size_t n = strcspn(rc->url + 5, "?");
		if (n >= sizeof r->where || !parse_db(rc->url + 5 + n, "?db=", r->db))
			goto malformed;
		memcpy(r->where, rc->url + 5, n);
		r->where[n] = '\0';
	} else if (strncmp(rc->url, "redis://", 8) == 0) {
		if (!parse_tcp(rc->url + 8, host, sizeof host, &port, r->db))
			goto malformed;
		snprintf(r->where, sizeof r->where, "%s:%d", host, port);
	} else {
		goto malformed;
	}
	if (rc->password_file &&
	    !read_password(rc->password_file, r->password, err, errlen))
		return NULL;
	r->c = port ? H.redisConnectWithTimeout(host, port, tv)
		    : H.redisConnectUnixWithTimeout(r->where, tv);
	/* hiredis 0.14 makes its socket without SOCK_CLOEXEC: the deliver
	 * program and checkpassword must not inherit the connection */
	if (!r->c || r->c->err || H.redisSetTimeout(r->c, tv) != REDIS_OK ||
	    fcntl(r->c->fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errlen, "redis %s: %s", r->where,
			 r->c ? r->c->errstr : "out of memory");
		lockout_redis_close(r);
		return NULL;
	}
	return r;
malformed:
	snprintf(err, errlen, "'%.64s' is not "
		 "redis://IP[:PORT][/DB] or unix:/PATH[?db=DB]", rc->url);
	return NULL;
}

/* ---- one exchange --------------------------------------------------- */

/* A failed exchange: err says why; the connection is dropped. */
static void broken(struct lockout_redis *r, const char *what, char *err,
		   size_t errlen)
{
	snprintf(err, errlen, "redis %s: %s", r->where,
		 what ? what : r->c && r->c->err ? r->c->errstr : "closed");
	lockout_redis_close(r);
}

static bool append(struct lockout_redis *r, int argc, const char **argv)
{
	size_t len[16];

	if (argc > 16)
		return false;
	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	return H.redisAppendCommandArgv(r->c, argc, argv, len) == REDIS_OK;
}

/* The connection's first write carries AUTH and SELECT (when needed)
 * in front of the operation: one round trip.  Their replies are read
 * by take_greeting(). */
static bool append_greeting(struct lockout_redis *r)
{
	const char *auth[] = { "AUTH", r->password };
	const char *sel[] = { "SELECT", r->db };

	return (!*r->password || append(r, 2, auth)) &&
	       (!*r->db || append(r, 2, sel));
}

static redisReply *get(struct lockout_redis *r)
{
	void *reply = NULL;

	if (H.redisGetReply(r->c, &reply) != REDIS_OK)
		return NULL;
	return reply;
}

/* Reads the replies to AUTH and SELECT; false with err. */
static bool take_greeting(struct lockout_redis *r, char *err, size_t errlen)
{
	int n = (*r->password != 0) + (*r->db != 0);

	if (r->greeted)
		return true;
	while (n-- > 0) {
		redisReply *rep = get(r);
		bool ok = rep && rep->type == REDIS_REPLY_STATUS;

		if (!ok) {
			broken(r, rep && rep->type == REDIS_REPLY_ERROR ? rep->str
			       : NULL, err, errlen);
			if (rep)
				H.freeReplyObject(rep);
			return false;
		}
		H.freeReplyObject(rep);
	}
	r->greeted = true;
	explicit_bzero(r->password, sizeof r->password);
	return true;
}

/* Sends argv (after the greeting, if not sent yet) and returns its
 * reply; NULL with err (the connection is dropped then). */
static redisReply *command(struct lockout_redis *r, int argc, const char **argv,
			   char *err, size_t errlen)
{
	redisReply *rep;

	if (!r->c) {
		snprintf(err, errlen, "redis %s: not connected (an earlier error)",
			 r->where);
		return NULL;
	}
	if ((!r->greeted && !append_greeting(r)) || !append(r, argc, argv) ||
	    !take_greeting(r, err, errlen)) {
		if (r->c)
			broken(r, NULL, err, errlen);
		return NULL;
	}
	rep = get(r);
	if (!rep)
		broken(r, NULL, err, errlen);
	return rep;
}

/* A script run: EVALSHA, or EVAL when the server does not know it
 * (NOSCRIPT: a restart or SCRIPT FLUSH), which caches it again; sha
 * NULL: EVAL at once (a script run once, by the admin tool). */
static redisReply *run_script(struct lockout_redis *r, const char *text,
			      const char *sha, int argc, const char **argv,
			      char *err, size_t errlen)
{
	const char *cmd[12] = { "EVALSHA", sha };
	redisReply *rep = NULL;

	if (argc > 10) {
		snprintf(err, errlen, "redis %s: too many script arguments", r->where);
		return NULL;
	}
	memcpy(cmd + 2, argv, (size_t)argc * sizeof *argv);
	if (sha)
		rep = command(r, argc + 2, cmd, err, errlen);
	if (!sha || (rep && rep->type == REDIS_REPLY_ERROR &&
		     strncmp(rep->str, "NOSCRIPT", 8) == 0)) {
		if (rep)
			H.freeReplyObject(rep);
		cmd[0] = "EVAL";
		cmd[1] = text;
		rep = command(r, argc + 2, cmd, err, errlen);
	}
	if (rep && rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "redis %s: %.120s", r->where, rep->str);
		H.freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

static void key_name(const unsigned char key[16], char *buf)
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf + sizeof KEY_PREFIX - 1;

	memcpy(buf, KEY_PREFIX, sizeof KEY_PREFIX - 1);
	for (int i = 0; i < 16; i++) {
		*p++ = hex[key[i] >> 4];
		*p++ = hex[key[i] & 15];
	}
	*p = '\0';
}

/* The key back from its name; false if the name is not ours. */
static bool key_of(const char *name, size_t len, unsigned char key[16])
{
	const size_t pre = sizeof KEY_PREFIX - 1;

	if (len != pre + 32 || memcmp(name, KEY_PREFIX, pre) != 0)
		return false;
	for (int i = 0; i < 32; i++) {
		char c = name[pre + i];
		int d = c >= '0' && c <= '9' ? c - '0' :
			c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return false;
		key[i / 2] = (unsigned char)(i % 2 ? key[i / 2] | d : d << 4);
	}
	return true;
}

#define KEY_NAME_LEN (sizeof KEY_PREFIX + 32)

enum lockout_result lockout_redis_op(struct lockout_redis *r,
				     enum lockout_redis_op op,
				     const unsigned char key[16],
				     const struct lockout_policy *pol,
				     time_t *until, char *err, size_t errlen)
{
	static const char *const ops[] = { "check", "charge", "settle0",
					   "settle1", "fail" };
	char name[KEY_NAME_LEN], a[6][16];
	unsigned vals[6] = { pol->threshold, pol->window, pol->duration,
			     LOCKOUT_MAX_DURATION, LOCKOUT_LEVEL_DECAY,
			     LOCKOUT_PENDING_TTL };
	const char *argv[10] = { "1", name, ops[op] };
	redisReply *rep;
	enum lockout_result res = LOCKOUT_ERROR;

	key_name(key, name);
	for (int i = 0; i < 6; i++) {
		snprintf(a[i], sizeof a[i], "%u", vals[i]);
		argv[3 + i] = a[i];
	}
	rep = run_script(r, script, SCRIPT_SHA1, 9, argv, err, errlen);
	if (!rep)
		return LOCKOUT_ERROR;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER &&
	    rep->element[1]->type == REDIS_REPLY_INTEGER &&
	    rep->element[0]->integer >= 0 && rep->element[0]->integer <= 2) {
		static const enum lockout_result map[] = {
			LOCKOUT_OK, LOCKOUT_LOCKED, LOCKOUT_SPENT };
		res = map[rep->element[0]->integer];
		if (res == LOCKOUT_LOCKED)
			*until = (time_t)rep->element[1]->integer;
	} else {
		snprintf(err, errlen, "redis %s: unexpected reply to the script",
			 r->where);
	}
	H.freeReplyObject(rep);
	return res;
}

enum lockout_result lockout_redis_unlock(struct lockout_redis *r,
					 const unsigned char key[16],
					 bool *found, char *err, size_t errlen)
{
	char name[KEY_NAME_LEN];
	const char *argv[] = { "DEL", name };
	redisReply *rep;

	key_name(key, name);
	rep = command(r, 2, argv, err, errlen);
	if (!rep)
		return LOCKOUT_ERROR;
	*found = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
	if (rep->type != REDIS_REPLY_INTEGER) {
		snprintf(err, errlen, "redis %s: %.120s", r->where,
			 rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		H.freeReplyObject(rep);
		return LOCKOUT_ERROR;
	}
	H.freeReplyObject(rep);
	return LOCKOUT_OK;
}

int lockout_redis_clear(struct lockout_redis *r, char *err, size_t errlen)
{
	const char *argv[] = { "0", KEY_PREFIX "*" };
	redisReply *rep = run_script(r, clear_script, NULL, 2, argv, err, errlen);

	if (!rep)
		return -1;
	H.freeReplyObject(rep);
	return 0;
}

/* One entry from HMGET's fields f first last lu lv p. */
static bool entry_of(const redisReply *rep, struct lockout_entry *e)
{
	unsigned long long v[6];

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		const redisReply *x = rep->element[i];
		if (x->type == REDIS_REPLY_NIL)
			return false;     /* gone since SCAN saw it */
		if (x->type != REDIS_REPLY_STRING)
			return false;
		v[i] = strtoull(x->str, NULL, 10);
	}
	e->failures = (uint16_t)v[0];
	e->first = (uint32_t)v[1];
	e->last = (uint32_t)v[2];
	e->locked_until = (uint32_t)v[3];
	e->level = (uint8_t)v[4];
	e->pending = (uint8_t)v[5];
	return true;
}

/* The entries of one SCAN batch, their HMGETs pipelined. */
static int walk_batch(struct lockout_redis *r, const redisReply *keys,
		      void (*fn)(const struct lockout_entry *, void *),
		      void *arg, char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < keys->elements; i++) {
		const redisReply *k = keys->element[i];
		const char *argv[] = { "HMGET", k->str, "f", "first", "last",
				       "lu", "lv", "p" };
		size_t len[8];

		if (k->type != REDIS_REPLY_STRING)
			continue;
		for (int j = 0; j < 8; j++)
			len[j] = j == 1 ? k->len : strlen(argv[j]);
		if (H.redisAppendCommandArgv(r->c, 8, argv, len) != REDIS_OK) {
			broken(r, NULL, err, errlen);
			return -1;
		}
		n++;
	}
	for (size_t i = 0, done = 0; done < n; i++) {
		const redisReply *k = keys->element[i];
		struct lockout_entry e;
		redisReply *rep;

		if (k->type != REDIS_REPLY_STRING)
			continue;
		done++;
		if (!(rep = get(r))) {
			broken(r, NULL, err, errlen);
			return -1;
		}
		if (key_of(k->str, k->len, e.key) && entry_of(rep, &e))
			fn(&e, arg);
		H.freeReplyObject(rep);
	}
	return 0;
}

int lockout_redis_walk(struct lockout_redis *r,
		       void (*fn)(const struct lockout_entry *, void *),
		       void *arg, char *err, size_t errlen)
{
	char cursor[32] = "0";

	do {
		const char *argv[] = { "SCAN", cursor, "MATCH", KEY_PREFIX "*",
				       "COUNT", "1000" };
		redisReply *rep = command(r, 6, argv, err, errlen);
		int rc;

		if (!rep)
			return -1;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[0]->len >= sizeof cursor ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			snprintf(err, errlen, "redis %s: unexpected reply to SCAN",
				 r->where);
			H.freeReplyObject(rep);
			return -1;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len + 1);
		rc = walk_batch(r, rep->element[1], fn, arg, err, errlen);
		H.freeReplyObject(rep);
		if (rc < 0)
			return -1;
	} while (strcmp(cursor, "0") != 0);
	return 0;
}
