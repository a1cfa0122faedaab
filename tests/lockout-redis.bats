# The lockout in Redis (SMTP_LOCKOUT_REDIS, lockout-redis.c): a real
# redis-server on loopback, and two "hosts" -- session processes with
# their own spool, Maildir and state file -- sharing it.  Failures from
# both add up, a lock set through one is seen by the other, smtp-lockout
# on one frees both; the budget is exact with many processes on both
# hosts; the policy (threshold, doubling, expiry, window, IPv6 prefix,
# pending charges) is the file store's; Redis stopped, stopped mid-run,
# slow and restarted; password, DB and unix socket; hydra against two
# ports.
load helper

LOCKOUT=$TEST_BUILD/smtp-lockout
RACE=$BATS_TEST_DIRNAME/clients/auth_race.py

PW_BOB=Rd4-Secret-Bob
PW_WRONG=Rd5-Wrong-Guess

AUTH_OK='235 2.7.0 Authentication successful'
AUTH_BAD='535 5.7.8 Authentication credentials invalid'
AUTH_TEMP='454 4.7.0 Temporary authentication failure'
LOCKED='421 4.7.0 mx.test Too many failed logins, try again later'

# ---- the server: one per test, on a free loopback port -----------------

redis_cli() {
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning "$@"
}

# Starts redis-server (no persistence: a restart loses the state) and
# waits until it answers PING; its pid goes into $REDIS_DIR/pid.
redis_start() {
	command -v redis-server >/dev/null ||
		fail "redis-server is not installed (make deps)"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$REDIS_DIR" --daemonize yes \
		--pidfile "$REDIS_DIR/pid" --logfile "$REDIS_DIR/log" \
		--unixsocket "$REDIS_DIR/redis.sock" --unixsocketperm 700 ||
		fail "redis-server did not start"
	local i
	for i in $(seq 50); do
		if [ "$(redis_cli ping 2>/dev/null)" = PONG ]; then
			# ours, not another test's that took the port meanwhile
			[ "$(redis_cli config get dir | tail -1)" = "$(realpath "$REDIS_DIR")" ] ||
				fail "port $REDIS_PORT: another redis-server answers"
			return 0
		fi
		sleep 0.1
	done
	fail "redis-server does not answer on port $REDIS_PORT"
}

redis_stop() {
	local pid i
	pid=$(cat "$REDIS_DIR/pid" 2>/dev/null) || return 0
	kill -CONT "$pid" 2>/dev/null || true
	kill "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$REDIS_DIR/pid"
}

setup_file() {
	printf 'bob:%s\n' "$(printf '%s\n' "$PW_BOB" | mkpasswd -s -m sha512crypt)" \
		> "$BATS_FILE_TMPDIR/passwd"
}

setup() {
	common_setup
	unset SMTP_CHECKPASSWORD SMTP_TLS_CERT SMTP_TLS_KEY SMTP_TLS \
		SMTP_TLS_IMPLICIT SMTP_TLS_TICKET_KEYS SMTP_GEOIP_DB \
		SMTP_COUNTRY_DENY SMTP_AUTH_COUNTRIES SMTP_GREET_DELAY \
		SMTP_LOCKOUT_WINDOW SMTP_LOCKOUT_DURATION SMTP_LOCKOUT_V6_PREFIX \
		SMTP_LOCKOUT_SLOTS SMTP_LOCKOUT_REDIS_PASSWORD_FILE \
		SMTP_LOCKOUT_REDIS_FALLBACK \
		SMTP_LOCKOUT_FILE
	# each test its own server (bats runs the tests of a file in
	# parallel): a short directory, for the unix socket's path
	REDIS_DIR=$(mktemp -d /tmp/smtp-redis.XXXXXX)
	REDIS_PORT=$(free_port)
	redis_start
	# SMTP_AUTH_FAIL_DELAY stays 1000: a shorter one refuses a hash that
	# is slow under load (ASan, the parallel suite) unverified
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	unset SMTP_AUTH_FAIL_DELAY
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	install -m 600 "$BATS_FILE_TMPDIR/passwd" "$SMTP_PASSWD"
	export SMTP_LOCKOUT_REDIS=redis://127.0.0.1:$REDIS_PORT/0
	export SMTP_LOCKOUT_THRESHOLD=3
	# not the 50 ms default: the suite runs many tests at once (and under
	# ASan), and a late reply would drop a count; the timeout has its test
	export SMTP_LOCKOUT_REDIS_TIMEOUT=3000
	mkdir -p "$BATS_TEST_TMPDIR"/{A,B}/spool
	: > "$LOG"
	LISTENERS=()
	SESSION_PID=
}

teardown() {
	local p
	for p in "${LISTENERS[@]}"; do
		SERVER_PID=$p
		stop_server
	done
	if [ -n "$SESSION_PID" ]; then
		kill "$SESSION_PID" 2>/dev/null || true
		wait "$SESSION_PID" 2>/dev/null || true
	fi
	redis_stop
	rm -rf "$REDIS_DIR"
}

# on A|B CMD...: CMD as a process of host A or B: its own spool, Maildir
# and local state file (used only as the fallback), the shared Redis.
on() {
	local h=$1
	shift
	SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/$h/spool \
	MAILDIR_ROOT=$BATS_TEST_TMPDIR/$h/maildir \
	SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/$h/lockout.db "$@"
}

plain() {
	printf '\0bob\0%s' "$1" | base64 -w0
}

auth_once() {
	smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "$1")
QUIT
IN
}

# EHLO, AUTH with the right password, then a message to bob.
auth_then_mail() {
	smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "$PW_BOB")
MAIL FROM:<a@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: t
hello
.
QUIT
IN
}

FAILED_REPLIES="$GREETING
$EHLO_AUTH
$AUTH_BAD
$BYE"
LOCKING_REPLIES="$GREETING
$EHLO_AUTH
$AUTH_BAD
$LOCKED"
OK_REPLIES="$GREETING
$EHLO_AUTH
$AUTH_OK
$BYE"

# `smtp-lockout list` line of one address: "failures locked level"
entry() {
	"$LOCKOUT" list | awk -v a="$1" '$1 == a { print $2, ($3 == "-" ? "no" : "yes"), $4 }'
}

# The script calls of the server since the last `config resetstat`:
# "evalsha=N eval=N"
script_calls() {
	redis_cli info commandstats | tr -d '\r' | awk -F'[:,=]' '
		$1 == "cmdstat_evalsha" { s = $3 } $1 == "cmdstat_eval" { e = $3 }
		END { printf "evalsha=%d eval=%d\n", s, e }'
}

# A listener of host $1 on a free port: sets PORT, adds to LISTENERS.
listen() {
	local h=$1
	shift
	PORT=$(free_port)
	(
		export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/$h/spool \
			MAILDIR_ROOT=$BATS_TEST_TMPDIR/$h/maildir \
			SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/$h/lockout.db
		sd_env
		exec systemd-socket-activate -l "127.0.0.1:$PORT" -a --inetd \
			"${SD_ENV[@]}" "$SESSION"
	) </dev/null >/dev/null 2>>"$LOG" 3>&- &
	LISTENERS+=($!)
	wait_listen "$PORT" || fail "nothing listens on port $PORT"
}

# A session of host $1 fed through a fifo on fd 4 (timeout(1) is
# SESSION_PID, the session its child); replies in s.out.
open_session() {
	mkfifo "$BATS_TEST_TMPDIR/s.in"
	SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/$1/spool \
	MAILDIR_ROOT=$BATS_TEST_TMPDIR/$1/maildir \
	SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/$1/lockout.db \
		timeout 20 "$SESSION" < "$BATS_TEST_TMPDIR/s.in" \
		> "$BATS_TEST_TMPDIR/s.out" 2>>"$LOG" 3>&- &
	SESSION_PID=$!
	exec 4>"$BATS_TEST_TMPDIR/s.in"
}

# ---- two hosts, one count ----------------------------------------------

@test "two hosts share one count: failures from both add up, the lock is seen by both, unlock on one frees both" {
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run on B auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry 192.0.2.1
	assert_output "2 no 0"
	# the third failure, on A, locks the address for both hosts
	run on A auth_once "$PW_WRONG"
	assert_output "$LOCKING_REPLIES"
	run on B auth_once "$PW_BOB"
	assert_output "$LOCKED"
	grep -q 'locked_out id=.* client=192.0.2.1 .*when=connect' "$LOG"
	run on A auth_once "$PW_BOB"
	assert_output "$LOCKED"
	# neither host's own state file was used
	[ ! -e "$BATS_TEST_TMPDIR/A/lockout.db" ]
	[ ! -e "$BATS_TEST_TMPDIR/B/lockout.db" ]
	# the admin on B unlocks: A lets the address in too
	run on B "$LOCKOUT" unlock 192.0.2.1
	assert_success
	assert_output "192.0.2.1 unlocked"
	run on A auth_once "$PW_BOB"
	assert_output "$OK_REPLIES"
	run on B auth_once "$PW_BOB"
	assert_output "$OK_REPLIES"
	! grep -q lockout_error "$LOG"
}

@test "the connect-time check is one EVALSHA per session (EVAL only once, after SCRIPT FLUSH)" {
	redis_cli script flush >/dev/null
	redis_cli config resetstat >/dev/null
	run on A smtp <<<'QUIT'
	assert_line --index 0 "$GREETING"
	# the server did not know the script yet: NOSCRIPT, then EVAL
	run script_calls
	assert_output "evalsha=1 eval=1"
	redis_cli config resetstat >/dev/null
	run on B smtp <<<'QUIT'
	assert_line --index 0 "$GREETING"
	run on A smtp <<<'QUIT'
	assert_line --index 0 "$GREETING"
	# now one EVALSHA each: the SHA-1 compiled in is the script's
	run script_calls
	assert_output "evalsha=2 eval=0"
	# and no command of its own (the script's own calls are counted too)
	run bash -c "redis-cli -h 127.0.0.1 -p $REDIS_PORT info commandstats | grep -E '^cmdstat_(ping|select|auth|hello|client|eval|exists|get|hget|hgetall|command):'"
	assert_output ""
}

@test "smtp-lockout: list, check, fail, unlock and clear print the same against Redis as against the file" {
	local out file redis
	script() {
		body 2>&1 | sed -E 's/20[0-9-]+T[0-9:]+Z/TIME/g'
	}
	body() {
		"$LOCKOUT" fail 192.0.2.1
		"$LOCKOUT" fail 2001:db8:1:2::1
		"$LOCKOUT" fail unknown
		"$LOCKOUT" fail 192.0.2.1
		"$LOCKOUT" fail 192.0.2.1; echo "fail rc=$?"
		"$LOCKOUT" list | sort
		"$LOCKOUT" check 192.0.2.1
		"$LOCKOUT" check 2001:db8:1:2::/64; echo "check rc=$?"
		"$LOCKOUT" unlock 2001:db8:1:2:ffff::9; echo "unlock rc=$?"
		"$LOCKOUT" unlock 2001:db8:1:2::1; echo "unlock rc=$?"
		"$LOCKOUT" check 192.0.2.999; echo "bad rc=$?"
		"$LOCKOUT" clear; echo "clear rc=$?"
		"$LOCKOUT" list
	}
	file=$(SMTP_LOCKOUT_REDIS= SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/lk.db script)
	redis=$(script)
	echo "$redis"
	assert_equal "$redis" "$file"
	# and it really was Redis: the file was not touched by the second run
	[ "$(redis_cli dbsize)" = 0 ]
	# the entries under their keys, 16 octets in hex
	"$LOCKOUT" fail 192.0.2.1 >/dev/null
	run redis_cli keys '*'
	assert_output "smtp-lockout:00000000000000000000ffffc0000201"
}

# ---- the policy is the file store's -------------------------------------

@test "policy: threshold exact, IPv4-mapped and IPv4 one key, IPv6 per /64, unknown, window" {
	run "$LOCKOUT" fail 192.0.2.1
	assert_success
	run "$LOCKOUT" fail ::ffff:192.0.2.1
	assert_success
	run "$LOCKOUT" check 192.0.2.1
	assert_output "192.0.2.1 not locked"
	run "$LOCKOUT" fail 192.0.2.1
	assert_failure 1
	assert_output --regexp '^192\.0\.2\.1 locked until 20[0-9-]+T[0-9:]+Z$'
	# IPv6: per /64
	"$LOCKOUT" fail 2001:db8:1:2::1 >/dev/null
	"$LOCKOUT" fail 2001:db8:1:2:ffff::2 >/dev/null
	"$LOCKOUT" fail 2001:db8:1:3::1 >/dev/null
	run entry 2001:db8:1:2::/64
	assert_output "2 no 0"
	run entry 2001:db8:1:3::/64
	assert_output "1 no 0"
	# clients without an address: one key
	unset TCPREMOTEIP
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry unknown
	assert_output "1 no 0"
	# the window: a failure older than it does not count
	export SMTP_LOCKOUT_THRESHOLD=2 SMTP_LOCKOUT_WINDOW=1
	"$LOCKOUT" fail 198.51.100.1 >/dev/null
	sleep 2.1
	run "$LOCKOUT" fail 198.51.100.1
	assert_success
	run entry 198.51.100.1
	assert_output "1 no 0"
}

@test "policy: repeat locks double, capped at 86400 s; a short lock expires by itself" {
	export SMTP_LOCKOUT_THRESHOLD=1 SMTP_LOCKOUT_DURATION=30000
	local now t1 t2 t3
	now=$(date +%s)
	run "$LOCKOUT" fail 192.0.2.7
	t1=$(date -d "${output##* }" +%s)
	run "$LOCKOUT" fail 192.0.2.7
	t2=$(date -d "${output##* }" +%s)
	run "$LOCKOUT" fail 192.0.2.7
	t3=$(date -d "${output##* }" +%s)
	[ $((t1 - now)) -ge 29998 ] && [ $((t1 - now)) -le 30002 ]
	[ $((t2 - now)) -ge 59998 ] && [ $((t2 - now)) -le 60002 ]
	[ $((t3 - now)) -ge 86398 ] && [ $((t3 - now)) -le 86402 ]
	run entry 192.0.2.7
	assert_output "0 yes 3"
	# the key lives while the lock does, and as long as the level's decay
	local ttl
	ttl=$(redis_cli ttl smtp-lockout:00000000000000000000ffffc0000207)
	[ "$ttl" -ge 86395 ] && [ "$ttl" -le 86402 ]
	# a 3 s lock ends by itself
	export SMTP_LOCKOUT_DURATION=3
	"$LOCKOUT" fail 192.0.2.8 >/dev/null || true
	run "$LOCKOUT" check 192.0.2.8
	assert_failure 1
	sleep 4.1
	run "$LOCKOUT" check 192.0.2.8
	assert_success
	run smtp <<<'QUIT'
	assert_line --index 0 "$GREETING"
}

@test "policy: the level decays after a day without failures (the key's fields aged in Redis)" {
	export SMTP_LOCKOUT_THRESHOLD=1 SMTP_LOCKOUT_DURATION=100
	local k=smtp-lockout:00000000000000000000ffffc0000209 now t
	"$LOCKOUT" fail 192.0.2.9 >/dev/null || true
	"$LOCKOUT" fail 192.0.2.9 >/dev/null || true
	run entry 192.0.2.9
	assert_output "0 yes 2"
	# move the history back a day and a bit: lock over, level stale
	now=$(date +%s)
	redis_cli hset "$k" lu $((now - 86402)) last $((now - 86402)) \
		first $((now - 86402)) >/dev/null
	run "$LOCKOUT" fail 192.0.2.9
	assert_failure 1
	t=$(date -d "${output##* }" +%s)
	# level 0 again: the first duration, not 400 s
	[ $((t - now)) -ge 98 ] && [ $((t - now)) -le 102 ]
	run entry 192.0.2.9
	assert_output "0 yes 1"
}

@test "a success returns its charge and erases nothing; an entry with nothing left is deleted" {
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run on B auth_once "$PW_BOB"
	assert_output "$OK_REPLIES"
	run entry 192.0.2.1
	assert_output "1 no 0"
	# a success from an address with no record leaves none behind
	export TCPREMOTEIP=192.0.2.44
	run on B auth_once "$PW_BOB"
	assert_output "$OK_REPLIES"
	run redis_cli exists smtp-lockout:00000000000000000000ffffc000022c
	assert_output 0
	run redis_cli ttl smtp-lockout:00000000000000000000ffffc0000201
	[ "$output" -gt 86000 ]
}

@test "a session killed mid-verification keeps its charge; after LOCKOUT_PENDING_TTL it is a failure" {
	export SMTP_LOCKOUT_THRESHOLD=2
	export SMTP_CHECKPASSWORD="$BATS_TEST_DIRNAME/fakes/checkpw-hang.sh"
	export CHECKPW_MARK=rd-killed-$$
	: > "$SMTP_PASSWD"
	open_session A
	printf 'EHLO client.test\r\nAUTH PLAIN %s\r\n' \
		"$(printf '\0nobody\0x' | base64 -w0)" >&4
	local i
	for i in $(seq 50); do
		pgrep -f "$CHECKPW_MARK" >/dev/null && break
		sleep 0.1
	done
	kill -9 "$(pgrep -P "$SESSION_PID" -x smtp-session)"
	pkill -f "$CHECKPW_MARK" || true
	exec 4>&-
	wait "$SESSION_PID" || true
	SESSION_PID=
	run redis_cli hget smtp-lockout:00000000000000000000ffffc0000201 p
	assert_output 1
	# host B: one failure more spends the budget of 2
	unset SMTP_CHECKPASSWORD
	install -m 600 "$BATS_FILE_TMPDIR/passwd" "$SMTP_PASSWD"
	run on B auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run on B auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$LOCKED")"
	grep -q 'locked_out id=.* when=verify reason="budget in flight"' "$LOG"
	# the charge, 301 s old: the next operation counts it as a failure,
	# which with the one above locks
	redis_cli hset smtp-lockout:00000000000000000000ffffc0000201 \
		pt $(($(date +%s) - 301)) >/dev/null
	run "$LOCKOUT" check 192.0.2.1
	assert_success
	run on A auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$LOCKED")"
	run entry 192.0.2.1
	assert_output "0 yes 1"
	! grep -q 'result=ok' "$LOG"
}

# ---- concurrency ----------------------------------------------------------

@test "concurrency: 2 hosts x 25 processes x 20 failures for one address, none lost" {
	# 1000 failures at threshold 500 lock exactly twice and leave 0
	export SMTP_LOCKOUT_THRESHOLD=500
	local p h
	for p in $(seq 50); do
		h=A
		[ $((p % 2)) = 0 ] && h=B
		( for i in $(seq 20); do on $h "$LOCKOUT" fail 192.0.2.50 >/dev/null || true; done ) &
	done
	wait
	run entry 192.0.2.50
	assert_output "0 yes 2"
}

@test "concurrency: 2 x 15 exchanges held at the password prompt on two hosts, answered at once: at most THRESHOLD verified in all" {
	export SMTP_LOCKOUT_THRESHOLD=5
	local pa pb
	listen A
	pa=$PORT
	listen B
	pb=$PORT
	timeout 120 python3 "$RACE" 127.0.0.1 "$pa" 15 burst bob "$PW_WRONG" "$PW_WRONG" \
		> "$BATS_TEST_TMPDIR/race.A" &
	timeout 120 python3 "$RACE" 127.0.0.1 "$pb" 15 burst bob "$PW_WRONG" "$PW_WRONG" \
		> "$BATS_TEST_TMPDIR/race.B"
	wait $!
	cat "$BATS_TEST_TMPDIR"/race.?
	local va vb
	va=$(sed -n 's/^verified=\([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/race.A")
	vb=$(sed -n 's/^verified=\([0-9]*\) .*/\1/p' "$BATS_TEST_TMPDIR/race.B")
	[ -n "$va" ] && [ -n "$vb" ]
	[ $((va + vb)) -le 5 ]
	[ "$(grep -c 'result=failed reason="wrong password"' "$LOG")" -eq $((va + vb)) ]
	# then, sequentially, the right password on both hosts: refused
	run timeout 60 python3 "$RACE" 127.0.0.1 "$pa" 2 seq bob "$PW_WRONG" "$PW_BOB"
	assert_output --regexp '^verified=0 ok=0 '
	run timeout 60 python3 "$RACE" 127.0.0.1 "$pb" 2 seq bob "$PW_WRONG" "$PW_BOB"
	assert_output --regexp '^verified=0 ok=0 '
	! grep -q 'result=ok' "$LOG"
	run "$LOCKOUT" check 127.0.0.1
	assert_failure 1
	! grep -q lockout_error "$LOG"
}

@test "the Redis connection is not inherited by the deliver program (close-on-exec)" {
	cat > "$BATS_TEST_TMPDIR/fds.sh" <<'SH'
#!/bin/sh
cat > /dev/null
cat <&1 > /dev/null
ls -l /proc/$$/fd/ > "$FDS"
SH
	chmod +x "$BATS_TEST_TMPDIR/fds.sh"
	export SMTP_DELIVER=$BATS_TEST_TMPDIR/fds.sh FDS=$BATS_TEST_TMPDIR/fds
	run smtp <<IN
EHLO client.test
MAIL FROM:<a@sender.test>
RCPT TO:<bob@example.test>
DATA
hi
.
QUIT
IN
	assert_line --regexp '^250 2\.0\.0 Ok: queued as '
	cat "$FDS"
	# the session's own connection is a pipe here: any socket is Redis
	run grep -c 'socket:' "$FDS"
	assert_output 0
	! grep -q lockout_error "$LOG"
}

# ---- faults ----------------------------------------------------------------

assert_tempfail_then_delivered() {
	assert_success
	assert_equal "${#lines[@]}" 15
	assert_equal "$(printf '%s\n' "${lines[@]:0:9}")" "$GREETING
$EHLO_AUTH"
	assert_line --index 9 "$AUTH_TEMP"
	assert_line --index 10 "250 2.1.0 Ok"
	assert_line --index 11 "250 2.1.5 Ok"
	assert_line --index 12 "354 End data with <CR><LF>.<CR><LF>"
	assert_line --index 13 --regexp '^250 2\.0\.0 Ok: queued as '
	assert_line --index 14 "$BYE"
	grep -q 'auth id=.* result=tempfail reason="lockout store unusable"' "$LOG"
	! grep -q 'result=ok' "$LOG"
}

@test "Redis stopped: AUTH answers 454 4.7.0 (fail closed), MX mail is accepted, the log says why" {
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	redis_stop
	run on A auth_then_mail
	assert_tempfail_then_delivered
	run on A delivered_count
	assert_output 1
	grep -q 'lockout_error .*error="redis 127.0.0.1:[0-9]*: Connection refused" when=connect fallback=none' "$LOG"
	# smtp-lockout says so too, exit 3
	run "$LOCKOUT" list
	assert_failure 3
	assert_output --partial "Connection refused"
	# back: the count went with the server (no persistence), AUTH works
	redis_start
	run on B auth_once "$PW_BOB"
	assert_output "$OK_REPLIES"
}

@test "Redis stopped mid-session (after the check at connect): AUTH 454, mail goes on" {
	open_session A
	printf 'EHLO client.test\r\n' >&4
	local i
	for i in $(seq 50); do
		[ "$(grep -c . "$BATS_TEST_TMPDIR/s.out")" -ge 9 ] && break
		sleep 0.1
	done
	redis_stop                         # after the check at connect
	printf 'AUTH PLAIN %s\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n' \
		"$(plain "$PW_BOB")" >&4
	exec 4>&-
	wait "$SESSION_PID" || true
	SESSION_PID=
	run bash -c "tr -d '\r' < '$BATS_TEST_TMPDIR/s.out' | tail -6"
	assert_output "$AUTH_TEMP
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
$(sed -n 's/^\(250 2\.0\.0 Ok: queued as .*\)\r$/\1/p' "$BATS_TEST_TMPDIR/s.out")
$BYE"
	grep -q 'lockout_error .*error="redis 127.0.0.1:[0-9]*: .*" when=auth fallback=none' "$LOG"
	run on A delivered_count
	assert_output 1
}

@test "Redis stopped, SMTP_LOCKOUT_REDIS_FALLBACK=file: the host's own state file counts, the log says so" {
	export SMTP_LOCKOUT_REDIS_FALLBACK=file
	redis_stop
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	grep -q 'lockout_error .*Connection refused" when=connect fallback=file' "$LOG"
	run on A "$LOCKOUT" -f "$BATS_TEST_TMPDIR/A/lockout.db" list
	assert_line --regexp '^192\.0\.2\.1 +2 +- +0 '
	# host B has its own file: its count is its own meanwhile
	run on B auth_once "$PW_BOB"
	assert_output "$OK_REPLIES"
	run on A auth_once "$PW_WRONG"
	assert_output "$LOCKING_REPLIES"
	# without SMTP_LOCKOUT_FILE the fallback is a configuration error
	run env -u SMTP_LOCKOUT_FILE "$SESSION" --check-config
	assert_failure
	assert_output --partial "SMTP_LOCKOUT_REDIS_FALLBACK: file needs SMTP_LOCKOUT_FILE"
}

@test "Redis slow (stopped with SIGSTOP): the timeout is honoured, greeting at once, AUTH 454" {
	export SMTP_LOCKOUT_REDIS_TIMEOUT=200
	local pid start end
	pid=$(cat "$REDIS_DIR/pid")
	kill -STOP "$pid"
	start=$(date +%s%N)
	run on A auth_then_mail
	end=$(date +%s%N)
	kill -CONT "$pid"
	assert_tempfail_then_delivered
	# the connect completes (the kernel's backlog), the reply never
	# comes: the session gave up on it, it did not wait for the server
	grep -q 'lockout_error .*error="redis 127.0.0.1:[0-9]*: Resource temporarily unavailable" when=connect' "$LOG"
	echo "session: $(((end - start) / 1000000)) ms"
	[ $(((end - start) / 1000000)) -lt 5000 ]
	# and only once: later operations of the session do not wait again
	[ "$(grep -c 'lockout_error' "$LOG")" -eq 1 ] ||
	[ "$(grep -c 'Resource temporarily unavailable' "$LOG")" -eq 1 ]
}

@test "Redis restarted (state lost, scripts flushed): the next sessions reload the script and count again" {
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	redis_stop
	redis_start
	redis_cli config resetstat >/dev/null
	run on B auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry 192.0.2.1
	assert_output "2 no 0"
	# 4 operations per session (the check at connect and at AUTH, the
	# charge, the settle): 8 EVALSHAs, the first answered NOSCRIPT, and
	# one EVAL in all
	run script_calls
	assert_output "evalsha=8 eval=1"
	! grep -q lockout_error "$LOG"
}

# ---- password, DB, unix socket, configuration ------------------------------------

@test "password file, DB number and unix socket: one store, reached every way" {
	printf 'Redis-Pw-7\n' > "$BATS_TEST_TMPDIR/redis.pw"
	redis_cli config set requirepass Redis-Pw-7 >/dev/null
	export SMTP_LOCKOUT_REDIS=redis://127.0.0.1:$REDIS_PORT/5
	# no password: NOAUTH, AUTH fails closed
	run on A auth_then_mail
	assert_tempfail_then_delivered
	grep -q 'lockout_error .*NOAUTH' "$LOG"
	export SMTP_LOCKOUT_REDIS_PASSWORD_FILE=$BATS_TEST_TMPDIR/redis.pw
	: > "$LOG"
	run on A auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	# DB 5 over the unix socket: the same entry
	export SMTP_LOCKOUT_REDIS=unix:$REDIS_DIR/redis.sock?db=5
	run on B auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry 192.0.2.1
	assert_output "2 no 0"
	[ "$(redis_cli -a Redis-Pw-7 -n 5 dbsize)" = 1 ]
	[ "$(redis_cli -a Redis-Pw-7 -n 0 dbsize)" = 0 ]
	run "$SESSION" --check-config
	refute_output --partial SMTP_LOCKOUT_REDIS
	redis_cli -a Redis-Pw-7 config set requirepass "" >/dev/null
	! grep -q lockout_error "$LOG"
}

@test "configuration: a bad SMTP_LOCKOUT_REDIS, an unreachable server, a bad timeout" {
	export SMTP_LOCKOUT_REDIS=redis://localhost:6379
	run "$SESSION" --check-config
	assert_failure
	assert_output --partial "SMTP_LOCKOUT_REDIS: 'redis://localhost:6379' is not redis://IP[:PORT][/DB] or unix:/PATH[?db=DB]"
	run on A auth_then_mail
	assert_tempfail_then_delivered
	local port
	port=$(free_port)
	export SMTP_LOCKOUT_REDIS=redis://[::1]:$port/1
	run "$SESSION" --check-config
	assert_failure
	assert_output --partial "SMTP_LOCKOUT_REDIS: redis ::1:$port: Connection refused"
	export SMTP_LOCKOUT_REDIS=redis://127.0.0.1:$REDIS_PORT SMTP_LOCKOUT_REDIS_TIMEOUT=0
	run "$SESSION" --check-config
	assert_failure
	assert_output --partial "SMTP_LOCKOUT_REDIS_TIMEOUT: '0' is not a number from 1 to 10000"
	run "$LOCKOUT" list
	assert_failure 2
}

# ---- hydra against two hosts -----------------------------------------------

@test "hydra against two ports backed by one Redis (30 guesses each): at most THRESHOLD verified in total" {
	command -v hydra >/dev/null || fail "hydra is not installed (make deps)"
	export SMTP_LOCKOUT_THRESHOLD=5
	local i words=$BATS_TEST_TMPDIR/words pa pb
	{
		for i in $(seq 11); do echo "guess-$i-$RANDOM"; done
		echo "$PW_BOB"
		for i in $(seq 12 30); do echo "guess-$i-$RANDOM"; done
	} > "$words"
	listen A
	pa=$PORT
	listen B
	pb=$PORT
	mkdir -p "$BATS_TEST_TMPDIR/ha" "$BATS_TEST_TMPDIR/hb"
	( cd "$BATS_TEST_TMPDIR/ha" && timeout 60 hydra -I -l bob -P "$words" -t 2 \
		-w 10 -W 0 -s "$pa" 127.0.0.1 smtp > out 2>&1 || true ) &
	( cd "$BATS_TEST_TMPDIR/hb" && timeout 60 hydra -I -l bob -P "$words" -t 2 \
		-w 10 -W 0 -s "$pb" 127.0.0.1 smtp > out 2>&1 || true )
	wait $!
	cat "$BATS_TEST_TMPDIR"/h?/out
	grep -q "0 valid password found" "$BATS_TEST_TMPDIR/ha/out"
	grep -q "0 valid password found" "$BATS_TEST_TMPDIR/hb/out"
	local n
	n=$(grep -c 'auth id=.* client=127\.0\.0\.1 .*result=failed reason="wrong password"' "$LOG")
	echo "failed AUTHs on both hosts: $n"
	[ "$n" -ge 1 ] && [ "$n" -le "$SMTP_LOCKOUT_THRESHOLD" ]
	! grep -q 'result=ok' "$LOG"
	run "$LOCKOUT" check 127.0.0.1
	assert_failure 1
}
