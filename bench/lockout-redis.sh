#!/bin/bash
# bench/lockout-redis.sh - what the Redis lockout store costs a session at
# connect, next to the state file's (issue 17).  Not run by CI.
#
#   1. Wall time of a fresh session (QUIT; fork-exec-wait by rotate.c,
#      the variants in rotation run by run): no lockout, the state file,
#      Redis over TCP loopback, Redis over a unix socket.  Both stores
#      hold ENTRIES addresses (the file by lockout-fill, Redis by
#      redis-cli --pipe), and the client (10.0.0.1) is one of them.
#   2. Instructions per session (callgrind, deterministic): the same
#      variants, and a plain session of a binary that links libhiredis
#      instead of dlopen()ing it (why lockout-redis.c dlopen()s).
#   3. The server's own time per EVALSHA (INFO commandstats).
#
# Usage: bench/lockout-redis.sh (after `make`; TEST_BUILD names another
# build directory).  RUNS (default 300) and ENTRIES (100000) can be set.
# Needs redis-server and redis-tools (make deps), valgrind for part 2
# (skipped with a note when missing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TEST_BUILD:-$top}
SESSION=$build/smtp-session
RUNS=${RUNS:-300}
ENTRIES=${ENTRIES:-100000}
SLOTS=131072

[ -x "$SESSION" ] || { echo "lockout-redis.sh: no $SESSION (run make)" >&2; exit 2; }
command -v redis-server >/dev/null ||
	{ echo "lockout-redis.sh: redis-server missing (make deps)" >&2; exit 2; }
T=$(mktemp -d /tmp/lockout-redis-bench.XXXXXX)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
	[ -f "$T/redis.pid" ] && kill "$(cat "$T/redis.pid")" 2>/dev/null
	sleep 0.2
	rm -rf "$T"
}
trap cleanup EXIT

redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$T" --daemonize yes --pidfile "$T/redis.pid" --logfile "$T/redis.log" \
	--unixsocket "$T/redis.sock" --unixsocketperm 700
for _ in $(seq 50); do
	[ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done

cc -O2 -std=c11 -D_GNU_SOURCE -I"$top" -o "$T/lockout-fill" \
	"$top/bench/lockout-fill.c" "$top/lockout.c" "$top/lockout-redis.c" "$top/dlib.c"
cc -O2 -std=c11 -D_GNU_SOURCE -o "$T/rotate" "$top/bench/rotate.c"

# The stores: ENTRIES addresses 10.x.y.z (lockout-fill's), one failure
# each, in the file and in Redis (the same hash fields the script writes).
fill_line=$("$T/lockout-fill" fill "$T/lockout.db" "$SLOTS" "$ENTRIES")
now=$(date +%s)
awk -v n="$ENTRIES" -v now="$now" 'BEGIN {
	for (i = 0; i < n; i++) {
		k = sprintf("smtp-lockout:00000000000000000000ffff0a%02x%02x%02x",
			    int(i / 65536) % 256, int(i / 256) % 256, i % 256)
		printf "*16\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", length(k), k
		split("f 1 first " now " last " now " lu 0 lv 0 p 0 pt 0", a, " ")
		for (j = 1; j <= 14; j++) printf "$%d\r\n%s\r\n", length(a[j]), a[j]
	}
}' | redis-cli -p "$PORT" --pipe > "$T/pipe.out"
redis_keys=$(redis-cli -p "$PORT" dbsize)

export SMTP_ALLOW_ROOT=1 SMTP_HOSTNAME=mx.test SMTP_DOMAINS=example.test \
	SMTP_SPOOL_DIR=$T/spool SMTP_DELIVER=/bin/false SMTP_LOG=stderr \
	SMTP_LOCKOUT_SLOTS=$SLOTS TCPREMOTEIP=10.0.0.1
unset SMTP_AUTH SMTP_GEOIP_DB SMTP_GREET_DELAY SMTP_TLS SMTP_TLS_CERT \
	SMTP_TLS_KEY LISTEN_FDS LISTEN_PID JOURNAL_STREAM RELAYCLIENT \
	SMTP_LOCKOUT_FILE SMTP_LOCKOUT_REDIS
mkdir -p "$T/spool"
printf 'QUIT\r\n' > "$T/quit"

variants=(-- none SMTP_LOCKOUT_FILE= SMTP_LOCKOUT_REDIS=
	  -- file SMTP_LOCKOUT_FILE="$T/lockout.db" SMTP_LOCKOUT_REDIS=
	  -- redis-tcp SMTP_LOCKOUT_FILE= SMTP_LOCKOUT_REDIS="redis://127.0.0.1:$PORT"
	  -- redis-unix SMTP_LOCKOUT_FILE= SMTP_LOCKOUT_REDIS="unix:$T/redis.sock")

# every variant must really be served (221), and without a lockout error
for v in "file:SMTP_LOCKOUT_FILE=$T/lockout.db" "tcp:SMTP_LOCKOUT_REDIS=redis://127.0.0.1:$PORT" \
	 "unix:SMTP_LOCKOUT_REDIS=unix:$T/redis.sock"; do
	out=$(env "${v#*:}" "$SESSION" < "$T/quit" 2>"$T/err")
	case $out in *"221 "*) ;; *) echo "lockout-redis.sh: ${v%%:*}: no 221" >&2; exit 1 ;; esac
	! grep -q lockout_error "$T/err" || { cat "$T/err" >&2; exit 1; }
done

redis-cli -p "$PORT" config resetstat > /dev/null
"$T/rotate" "$RUNS" "$T/quit" "$SESSION" "${variants[@]}" > "$T/times"
evalsha=$(redis-cli -p "$PORT" info commandstats | tr -d '\r' |
	sed -n 's/^cmdstat_evalsha:calls=\([0-9]*\),usec=[0-9]*,usec_per_call=\([0-9.]*\).*/\1 \2/p')

# stats NAME: "median p99" (microseconds)
stats() {
	awk -v n="$1" '$1 == n { print $2 }' "$T/times" | sort -n | awk '{ v[NR] = $1 } END {
		m = int((NR + 1) / 2); p = int(NR * 0.99 + 0.999)
		printf "%.0f %.0f", v[m], v[p] }'
}

# instructions NAME VAR=VALUE...: one session under callgrind
instructions() {
	local bin=$1
	shift
	env "$@" valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" \
		"$bin" < "$T/quit" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

echo "# Redis lockout store: connect-time cost ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), $(redis-server --version | awk '{ print $3 }'))"
echo "# file: $fill_line; Redis: $redis_keys keys; client 10.0.0.1 is in both"
echo "# $RUNS runs per row, the four variants in rotation run by run"
echo
echo "| fresh session, QUIT, fork-exec-wait        | median µs | p99 µs | median - none |"
echo "|--------------------------------------------|----------:|-------:|--------------:|"
read -r m0 _ <<<"$(stats none)"
for v in none file redis-tcp redis-unix; do
	read -r m p <<<"$(stats "$v")"
	printf '| %-42s | %9s | %6s | %13s |\n' "$v" "$m" "$p" "$((m - m0))"
done
echo
read -r calls per <<<"$evalsha"
echo "Redis server time per EVALSHA (INFO commandstats): ${per} µs over ${calls} calls"
echo "(one per session: the check at connect; no other command)"

if command -v valgrind >/dev/null; then
	# the Makefile's flags (BIND_NOW: every symbol bound at start-up),
	# once with libhiredis linked although nothing calls it directly
	srcs=("$top"/{smtp-session,commands,session,envelope,message,io,config,log,address,data,spool,queue,config-check,child,writeall,escape,mailbox,gate,geoip,lockout,lockout-redis,tls,auth,sasl}.c)
	flags=(-std=c11 -O2 -D_GNU_SOURCE -DDELIVER_DEFAULT='"/bin/false"'
	       $(pkg-config --cflags libssl libcrypto) -D_FORTIFY_SOURCE=2
	       -fstack-protector-strong -fPIE -pie -Wl,-z,relro,-z,now)
	cc "${flags[@]}" -o "$T/smtp-session-linked" "${srcs[@]}" \
		-Wl,--no-as-needed -lhiredis -Wl,--as-needed -lmaxminddb -lcrypt
	cc "${flags[@]}" -o "$T/smtp-session-plain" "${srcs[@]}" \
		-Wl,--as-needed -lmaxminddb -lcrypt
	echo
	echo "| one session under callgrind                | instructions |"
	echo "|--------------------------------------------|-------------:|"
	printf '| %-42s | %12s |\n' "none" "$(instructions "$SESSION")"
	printf '| %-42s | %12s |\n' "file" "$(instructions "$SESSION" SMTP_LOCKOUT_FILE="$T/lockout.db")"
	printf '| %-42s | %12s |\n' "redis-tcp (libhiredis dlopen()ed)" \
		"$(instructions "$SESSION" SMTP_LOCKOUT_REDIS="redis://127.0.0.1:$PORT")"
	printf '| %-42s | %12s |\n' "none, built here, libhiredis not linked" \
		"$(instructions "$T/smtp-session-plain")"
	printf '| %-42s | %12s |\n' "none, built here, libhiredis linked" \
		"$(instructions "$T/smtp-session-linked")"
else
	echo
	echo "(valgrind not installed: no instruction counts)"
fi
