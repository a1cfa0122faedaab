#!/bin/bash
# bench/lockout.sh - what the failed-login lockout costs (issue 6's
# closing note).  Not run by CI.
#
#   1. A state file of SMTP_LOCKOUT_SLOTS=131072 slots holding 100 000
#      entries, filled by bench/lockout-fill.c (lockout.c in one process;
#      100 000 `smtp-lockout fail` processes would take minutes).
#   2. The connect-time check, fresh process: RUNS sessions with
#      SMTP_LOCKOUT_FILE set vs unset, alternating in blocks; the median
#      and p99 of each, and their difference; a client address that is
#      not in the store (192.0.2.1) and one that is (10.0.0.1).  Timed by
#      lockout-fill's spawner (the session reads QUIT; fork to wait, no
#      shell; off and on alternate run by run) and by hyperfine -N (when
#      installed, blocks of runs; else a date +%s%N loop).
#   3. In-process (lockout-fill bench): median and p99 of lockout_check,
#      lockout_fail, lockout_success and open+check+close over CALLS calls.
#
# Usage: bench/lockout.sh (after `make`; TEST_BUILD names another build
# directory).  RUNS (default 300), CALLS (10000), ENTRIES (100000) and
# SLOTS (131072) can be set in the environment.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TEST_BUILD:-$top}
SESSION=$build/smtp-session
RUNS=${RUNS:-300}
CALLS=${CALLS:-10000}
ENTRIES=${ENTRIES:-100000}
SLOTS=${SLOTS:-131072}
BLOCKS=3                              # alternating blocks per variant

[ -x "$SESSION" ] || { echo "lockout.sh: no $SESSION (run make)" >&2; exit 2; }
T=$(mktemp -d /tmp/lockout-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

cc -O2 -std=c11 -D_GNU_SOURCE -I"$top" -o "$T/lockout-fill" \
	"$top/bench/lockout-fill.c" "$top/lockout.c" "$top/lockout-redis.c" "$top/dlib.c"

DB=$T/lockout.db
fill_line=$("$T/lockout-fill" fill "$DB" "$SLOTS" "$ENTRIES")

# The session's environment: no AUTH, no deliver run, logs discarded.
export SMTP_ALLOW_ROOT=1 SMTP_HOSTNAME=mx.test SMTP_DOMAINS=example.test \
	SMTP_SPOOL_DIR=$T/spool SMTP_DELIVER=/bin/false SMTP_LOG=stderr \
	SMTP_LOCKOUT_SLOTS=$SLOTS
unset SMTP_AUTH SMTP_GEOIP_DB SMTP_GREET_DELAY SMTP_TLS SMTP_TLS_CERT \
	SMTP_TLS_KEY LISTEN_FDS LISTEN_PID JOURNAL_STREAM RELAYCLIENT
mkdir -p "$T/spool"
printf 'QUIT\r\n' > "$T/quit"
# every session must really have been served (not refused)
SMTP_LOCKOUT_FILE=$DB TCPREMOTEIP=10.0.0.1 "$SESSION" < "$T/quit" 2>/dev/null |
	grep -q '^221 ' || { echo "lockout.sh: the session does not QUIT cleanly" >&2; exit 1; }

# times TOOL IP VARIANT N: N session runs, one duration in microseconds
# a line appended to $T/TOOL.IP.VARIANT (VARIANT "on": SMTP_LOCKOUT_FILE
# set).  TOOL spawn: lockout-fill spawn, the session reads QUIT from a
# file (fork to wait, no shell).  TOOL hyperfine: hyperfine -N (no shell;
# 1.15 gives the command /dev/null as stdin and has no --input, so the
# session greets and reads EOF: the same connect path).  TOOL date: a
# shell loop timed with date +%s%N (when hyperfine is missing).
times() {
	local tool=$1 ip=$2 v=$3 n=$4 f=$T/$1.$2.$3 i t0 t1 envset=()
	[ "$v" = on ] && envset=(SMTP_LOCKOUT_FILE="$DB")
	case $tool in
	spawn)                  # both variants, run by run
		[ "$v" = on ] && return 0
		TCPREMOTEIP="$ip" "$T/lockout-fill" spawn "$n" "$T/quit" "$DB" \
			"$SESSION" > "$T/spawn.out"
		awk '$1 == "off" { print $2 }' "$T/spawn.out" >> "$f"
		awk '$1 == "on" { print $2 }' "$T/spawn.out" >> "$T/$1.$2.on" ;;
	hyperfine)
		env "${envset[@]}" TCPREMOTEIP="$ip" hyperfine -N -i --style none \
			--warmup 5 --runs "$n" --export-json "$T/h.json" \
			"$SESSION" >/dev/null 2>&1
		python3 -c 'import json,sys
for t in json.load(open(sys.argv[1]))["results"][0]["times"]:
    print(round(t * 1e6, 1))' "$T/h.json" >> "$f" ;;
	date)
		for ((i = 0; i < n; i++)); do
			t0=$(date +%s%N)
			env "${envset[@]}" TCPREMOTEIP="$ip" "$SESSION" \
				< "$T/quit" > /dev/null 2>&1
			t1=$(date +%s%N)
			echo $(((t1 - t0) / 1000)) >> "$f"
		done ;;
	esac
}

# stats FILE: "median p99" (microseconds)
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = int((NR + 1) / 2); p = int(NR * 0.99 + 0.999)
		printf "%.0f %.0f", v[m], v[p] }'
}

tools="spawn hyperfine"
command -v hyperfine >/dev/null || tools="spawn date"
per=$(((RUNS + BLOCKS - 1) / BLOCKS))
for tool in $tools; do
	for ip in 192.0.2.1 10.0.0.1; do
		for ((b = 0; b < BLOCKS; b++)); do
			times "$tool" "$ip" off "$per"
			times "$tool" "$ip" on "$per"
		done
	done
done

"$T/lockout-fill" bench "$DB" "$CALLS" > "$T/inproc"

echo "# lockout cost ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
echo "# store: $fill_line; $(stat -c %s "$DB") octets"
echo "# sessions: $((per * BLOCKS)) runs per row, in $BLOCKS blocks alternating off/on (spawner: alternating run by run)"
echo
echo "| fresh session                                              | median µs | p99 µs |"
echo "|------------------------------------------------------------|----------:|-------:|"
for tool in $tools; do
	case $tool in
	spawn) how="QUIT, fork-exec-wait" ;;
	hyperfine) how="EOF, hyperfine -N" ;;
	date) how="QUIT, date loop" ;;
	esac
	for ip in 192.0.2.1 10.0.0.1; do
		read -r m0 p0 <<<"$(stats "$T/$tool.$ip.off")"
		read -r m1 p1 <<<"$(stats "$T/$tool.$ip.on")"
		where=$([ "$ip" = 10.0.0.1 ] && echo "in store" || echo "not in store")
		printf '| %-58s | %9s | %6s |\n' "$how, $ip ($where), no lockout" "$m0" "$p0"
		printf '| %-58s | %9s | %6s |\n' "$how, $ip ($where), lockout" "$m1" "$p1"
		printf '| %-58s | %9s | %6s |\n' "  difference" "$((m1 - m0))" "$((p1 - p0))"
	done
done
echo
echo "| in-process, lockout.c, $CALLS calls each                   | median µs | p99 µs |"
echo "|------------------------------------------------------------|----------:|-------:|"
while read -r name m p _; do
	case $name in
	check_hit) label="lockout_check, address in the store" ;;
	check_miss) label="lockout_check, address not in it" ;;
	fail_same) label="lockout_fail, the same address" ;;
	fail_new) label="lockout_fail, a new address each" ;;
	success) label="a success: lockout_charge + lockout_settle" ;;
	open_check_close) label="open + check + close (per connection)" ;;
	*) label=$name ;;
	esac
	printf '| %-58s | %9s | %6s |\n' "$label" "$m" "$p"
done < "$T/inproc"
