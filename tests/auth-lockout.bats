# The lockout through real AUTH (auth.c -> gate.c -> lockout.c): the
# threshold counted over separate session processes, a success that erases
# no failure, the exact budget under concurrent verifications, a lock that
# lands while a session is open (no 235 for a locked address), a broken
# state file (AUTH fails closed, mail goes on), SMTP_AUTH_COUNTRIES,
# concurrent sessions, IPv6 prefixes, and hydra against a real socket.
# The store and the admin tool themselves are in lockout.bats.
#
# auth.c ends a session after 3 failures of its own, so the shared
# threshold is tested with one failure per session.  Each failure costs
# auth.c's 1 s failure delay: sessions that must not interact run in
# parallel where the order does not matter.
load helper

LOCKOUT=$TEST_BUILD/smtp-lockout

PW_BOB=Lk4-Secret-Bob
PW_WRONG=Lk5-Wrong-Guess

AUTH_OK='235 2.7.0 Authentication successful'
AUTH_BAD='535 5.7.8 Authentication credentials invalid'
AUTH_TEMP='454 4.7.0 Temporary authentication failure'
LOCKED='421 4.7.0 mx.test Too many failed logins, try again later'

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
		SMTP_LOCKOUT_SLOTS
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	install -m 600 "$BATS_FILE_TMPDIR/passwd" "$SMTP_PASSWD"
	export SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/lockout.db
	export SMTP_LOCKOUT_THRESHOLD=3
	: > "$LOG"
	SERVER_PID=
	SESSION_PID=
}

teardown() {
	exec 4>&-
	if [ -n "$SESSION_PID" ]; then
		kill "$SESSION_PID" 2>/dev/null || true
		wait "$SESSION_PID" 2>/dev/null || true
	fi
	stop_server
}

# The PLAIN message for user bob with password $1, in base64.
plain() {
	printf '\0bob\0%s' "$1" | base64 -w0
}

# One session from $TCPREMOTEIP: EHLO, AUTH PLAIN with password $1, QUIT.
auth_once() {
	smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "$1")
QUIT
IN
}

# The replies of a session whose AUTH failed without locking.
FAILED_REPLIES="$GREETING
$EHLO_AUTH
$AUTH_BAD
$BYE"
# ... whose failure locked the address.
LOCKING_REPLIES="$GREETING
$EHLO_AUTH
$AUTH_BAD
$LOCKED"

# N sessions in parallel, each failing once from $TCPREMOTEIP; each
# session's replies go to $BATS_TEST_TMPDIR/par.I.
fail_parallel() {
	local i pids=()
	for i in $(seq "$1"); do
		( auth_once "$PW_WRONG" ) > "$BATS_TEST_TMPDIR/par.$i" 3>&- &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
}

# `smtp-lockout list` line of one address: "failures locked level"
entry() {
	"$LOCKOUT" list | awk -v a="$1" '$1 == a { print $2, ($3 == "-" ? "no" : "yes"), $4 }'
}

# ---- a session driven line by line through a fifo (fd 4) --------------

open_session() {
	mkfifo "$BATS_TEST_TMPDIR/s.in"
	: > "$BATS_TEST_TMPDIR/s.out"
	timeout 20 "$SESSION" < "$BATS_TEST_TMPDIR/s.in" \
		> "$BATS_TEST_TMPDIR/s.out" 2>>"$LOG" 3>&- &
	SESSION_PID=$!
	exec 4>"$BATS_TEST_TMPDIR/s.in"
}

say() { printf '%s\r\n' "$1" >&4; }

# Waits (at most 5 s) until the session has written $1 reply lines.
replies() {
	local i
	for i in $(seq 50); do
		[ "$(grep -c . "$BATS_TEST_TMPDIR/s.out")" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "only $(grep -c . "$BATS_TEST_TMPDIR/s.out") of $1 replies:" >&2
	cat "$BATS_TEST_TMPDIR/s.out" >&2
	return 1
}

# Closes the session's input and waits for its end (not under `run`: a
# subshell cannot wait for it).
close_session() {
	exec 4>&-
	wait "$SESSION_PID" || true
	SESSION_PID=
}

# The session's replies, without CR.
session_replies() {
	tr -d '\r' < "$BATS_TEST_TMPDIR/s.out"
}

# ---- the threshold -----------------------------------------------------

@test "the threshold is exact through AUTH: failures 1 and 2 get 535, the 3rd 535 + 421, then 421 at connect" {
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry 192.0.2.1
	assert_output "2 no 0"
	run auth_once "$PW_WRONG"
	assert_output "$LOCKING_REPLIES"
	grep -q "lockout id=.* client=192.0.2.1 .*until=20" "$LOG"
	run entry 192.0.2.1
	assert_output "0 yes 1"
	# the next connection: 421 at connect, no greeting, nothing read
	run auth_once "$PW_BOB"
	assert_output "$LOCKED"
	grep -q 'locked_out id=.* client=192.0.2.1 .*when=connect' "$LOG"
	[ "$(grep -c 'result=failed' "$LOG")" -eq 3 ]
	# the right password does not help either, and unlock lets it back
	"$LOCKOUT" unlock 192.0.2.1
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
}

@test "a success erases no failure: 2 failures, success, 1 failure locks" {
	# fails on the code before the exact budget: a success cleared the count
	fail_parallel 2
	assert_equal "$(cat "$BATS_TEST_TMPDIR/par.1")" "$FAILED_REPLIES"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/par.2")" "$FAILED_REPLIES"
	run entry 192.0.2.1
	assert_output "2 no 0"
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
	run entry 192.0.2.1
	assert_output "2 no 0"
	# the count goes on from 2: one more locks
	run auth_once "$PW_WRONG"
	assert_output "$LOCKING_REPLIES"
}

@test "one valid account does not wipe the count of the others: bob, bob, carol... locks" {
	# the attack: two wrong guesses for bob, one good login as carol,
	# repeated; before the fix it never locked (24 guesses in 8 rounds)
	printf 'carol:%s\n' "$(printf '%s\n' Carol-Pw-9 | mkpasswd -s -m sha512crypt)" \
		>> "$SMTP_PASSWD"
	export SMTP_LOCKOUT_THRESHOLD=5 SMTP_AUTH_FAIL_DELAY=100
	local round guesses=0 locked=no out
	for round in 1 2 3 4; do
		for _ in 1 2; do
			out=$(auth_once "$PW_WRONG")
			case "$out" in *"$AUTH_BAD"*) guesses=$((guesses + 1)) ;; esac
			case "$out" in *"$LOCKED"*) locked=yes ;; esac
		done
		out=$(smtp <<IN
EHLO client.test
AUTH PLAIN $(printf '\0carol\0Carol-Pw-9' | base64 -w0)
QUIT
IN
)
		case "$out" in *"$LOCKED"*) locked=yes ;; esac
	done
	assert_equal "$locked" yes
	assert_equal "$guesses" 5
	run "$LOCKOUT" check 192.0.2.1
	assert_failure 1
}

@test "no 235 for an address locked during the LOGIN exchange: 421, nothing verified" {
	open_session
	replies 1
	say "EHLO client.test"
	replies 9
	say "AUTH LOGIN"
	replies 10
	say "$(printf bob | base64)"
	replies 11
	# the lockout check is behind us: another process locks the address
	# (and records one more failure, so the success has a count to clear)
	"$LOCKOUT" fail 192.0.2.1 >/dev/null
	"$LOCKOUT" fail 192.0.2.1 >/dev/null
	run "$LOCKOUT" fail 192.0.2.1
	assert_failure 1
	"$LOCKOUT" fail 192.0.2.1 >/dev/null || true
	run entry 192.0.2.1
	assert_output "1 yes 1"
	say "$(printf '%s' "$PW_BOB" | base64)"
	replies 12
	close_session
	run session_replies
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" \
		'334 VXNlcm5hbWU6' '334 UGFzc3dvcmQ6' "$LOCKED")"
	grep -q 'locked_out id=.* client=192.0.2.1 .*when=verify' "$LOG"
	! grep -q 'result=ok\|result=failed' "$LOG"
	run entry 192.0.2.1
	assert_output "1 yes 1"
	run auth_once "$PW_BOB"
	assert_output "$LOCKED"
}

@test "a lock that happened while the session was open is caught at AUTH: 421" {
	open_session
	replies 1
	say "EHLO client.test"
	replies 9
	# connected and greeted before the lock: another process locks it now
	"$LOCKOUT" fail 192.0.2.1 >/dev/null
	"$LOCKOUT" fail 192.0.2.1 >/dev/null
	"$LOCKOUT" fail 192.0.2.1 >/dev/null || true
	run "$LOCKOUT" check 192.0.2.1
	assert_failure 1
	say "AUTH PLAIN $(plain "$PW_BOB")"
	replies 10
	close_session
	run session_replies
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$LOCKED")"
	grep -q 'locked_out id=.* client=192.0.2.1 .*when=auth' "$LOG"
	grep -q 'disconnect id=.* reason=locked_out' "$LOG"
	# no credential was looked at, nothing counted
	! grep -q 'result=ok\|result=failed' "$LOG"
	run entry 192.0.2.1
	assert_output "0 yes 1"
}

# ---- a broken store ----------------------------------------------------

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
	run delivered_count
	assert_output 1
	grep -q 'auth id=.* result=tempfail reason="lockout store unusable"' "$LOG"
	! grep -q 'result=ok' "$LOG"
}

@test "a corrupt state file: AUTH answers 454 4.7.0 (fail closed), mail is still delivered" {
	head -c 4096 /dev/urandom > "$SMTP_LOCKOUT_FILE"
	run auth_then_mail
	assert_tempfail_then_delivered
	grep -q 'lockout_error .*not a valid lockout state file' "$LOG"
}

@test "a truncated state file: AUTH answers 454 4.7.0, mail is still delivered" {
	# a valid store cut short
	"$LOCKOUT" fail 192.0.2.9 >/dev/null
	truncate -s 1000 "$SMTP_LOCKOUT_FILE"
	run auth_then_mail
	assert_tempfail_then_delivered
	grep -q 'lockout_error .*not a valid lockout state file' "$LOG"
}

@test "an unopenable state file (missing directory, a directory): AUTH 454, mail delivered" {
	export SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/nodir/lockout.db
	run auth_then_mail
	assert_tempfail_then_delivered
	grep -q 'lockout_error .*nodir/lockout.db: No such file or directory' "$LOG"
	: > "$LOG"
	rm -rf "$MAILDIR_ROOT"
	export SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR
	run auth_then_mail
	assert_tempfail_then_delivered
	grep -q 'lockout_error ' "$LOG"
}

# ---- SMTP_AUTH_COUNTRIES ----------------------------------------------

geo() {
	perl "$BATS_TEST_DIRNAME/mkmmdb.pl" "$BATS_TEST_TMPDIR/geo.mmdb"
	export SMTP_GEOIP_DB=$BATS_TEST_TMPDIR/geo.mmdb
}

@test "SMTP_AUTH_COUNTRIES: a listed country can AUTH; others get 535 after the exchange, counted" {
	geo
	export SMTP_AUTH_COUNTRIES="DE, nl"
	export TCPREMOTEIP=10.1.2.3            # DE
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
	grep -q 'auth id=.* client=10\.1\.2\.3 country=DE mechanism=PLAIN user=bob result=ok' "$LOG"
	export TCPREMOTEIP=2001:db8::5         # NL
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
	grep -q 'auth id=.* client=2001:db8::5 country=NL .*result=ok' "$LOG"
	# FR, the right password, over LOGIN: the whole exchange, then 535
	export TCPREMOTEIP=192.0.2.1
	run smtp <<IN
EHLO client.test
AUTH LOGIN
$(printf bob | base64)
$(printf '%s' "$PW_BOB" | base64)
QUIT
IN
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 VXNlcm5hbWU6' \
		'334 UGFzc3dvcmQ6' "$AUTH_BAD" "$BYE")"
	grep -q 'auth id=.* client=192\.0\.2\.1 country=FR mechanism=LOGIN user=bob result=failed reason="country not allowed"' "$LOG"
	run entry 192.0.2.1
	assert_output "1 no 0"
	# CN with PLAIN: refused too, and it counts toward the lock
	export TCPREMOTEIP=198.51.100.7 SMTP_LOCKOUT_THRESHOLD=2
	run auth_once "$PW_BOB"
	assert_output "$FAILED_REPLIES"
	run auth_once "$PW_BOB"
	assert_output "$LOCKING_REPLIES"
	grep -q 'lockout id=.* client=198\.51\.100\.7 country=CN ' "$LOG"
	! grep -q 'result=ok .*country=FR\|country=FR .*result=ok\|country=CN .*result=ok' "$LOG"
}

@test "SMTP_AUTH_COUNTRIES: '--' admits addresses without a country, and only when listed" {
	geo
	export TCPREMOTEIP=203.0.113.9         # not in the database
	export SMTP_AUTH_COUNTRIES="DE"
	run auth_once "$PW_BOB"
	assert_output "$FAILED_REPLIES"
	grep -q 'auth id=.* client=203\.0\.113\.9 country=-- .*result=failed reason="country not allowed"' "$LOG"
	export SMTP_AUTH_COUNTRIES="DE --"
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
	grep -q 'auth id=.* client=203\.0\.113\.9 country=-- .*result=ok' "$LOG"
	# the success erased nothing: the failure above still counts
	run entry 203.0.113.9
	assert_output "1 no 0"
	# loopback is ZZ in the test database: not admitted by '--'
	export TCPREMOTEIP=127.0.0.1
	run auth_once "$PW_BOB"
	assert_output "$FAILED_REPLIES"
	grep -q 'auth id=.* client=127\.0\.0\.1 country=ZZ .*result=failed' "$LOG"
}

# ---- concurrency -------------------------------------------------------

@test "20 parallel sessions from one address, each failing once: locked, and every new connection gets 421" {
	export SMTP_LOCKOUT_THRESHOLD=5
	fail_parallel 20
	local i out failed=0 locking=0 at_connect=0 at_auth=0
	for i in $(seq 20); do
		out=$(cat "$BATS_TEST_TMPDIR/par.$i")
		case $out in
		"$FAILED_REPLIES") failed=$((failed + 1)) ;;
		"$LOCKING_REPLIES") locking=$((locking + 1)) ;;
		"$LOCKED") at_connect=$((at_connect + 1)) ;;
		"$GREETING"$'\n'"$EHLO_AUTH"$'\n'"$LOCKED") at_auth=$((at_auth + 1)) ;;
		*) echo "session $i: unexpected replies:"; echo "$out"; false ;;
		esac
	done
	echo "failed=$failed locking=$locking at_connect=$at_connect at_auth=$at_auth"
	[ $((failed + locking + at_connect + at_auth)) -eq 20 ]
	# every failure is in the log, and at least THRESHOLD of them happened
	[ "$(grep -c 'result=failed' "$LOG")" -eq $((failed + locking)) ]
	# the exact budget: exactly THRESHOLD passwords were verified
	[ $((failed + locking)) -eq 5 ]
	# the sessions that locked are the locks the store counted (level)
	[ "$locking" -ge 1 ]
	run "$LOCKOUT" check 192.0.2.1
	assert_failure 1
	run "$LOCKOUT" list
	assert_line --regexp '^192\.0\.2\.1 +[0-4] +20[0-9-]+T[0-9:]+Z +[1-9]'
	run entry 192.0.2.1
	assert_output --regexp "^[0-4] yes $locking\$"
	# no failure lost: each lock took exactly THRESHOLD of them (failures
	# of sessions in flight count on after the lock), the rest are left
	local left=${output%% *}
	[ $((locking * 5 + left)) -eq $((failed + locking)) ]
	[ "$(grep -c "^smtp-session\[[0-9]*\]: lockout id=" "$LOG")" -eq "$locking" ]
	# after the lock every new connection is refused at connect
	for i in 1 2 3; do
		run auth_once "$PW_BOB"
		assert_output "$LOCKED"
	done
}

@test "AUTH over a pipe without a client address: failures count under 'unknown' and lock" {
	unset TCPREMOTEIP REMOTE_ADDR
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry unknown
	assert_output "1 no 0"
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run auth_once "$PW_WRONG"
	assert_output "$LOCKING_REPLIES"
	run auth_once "$PW_BOB"
	assert_output "$LOCKED"
	run "$LOCKOUT" check unknown
	assert_failure 1
}

# ---- the exact budget: many exchanges held at the password prompt -------
#
# The attack the budget closes: hold N exchanges open at the password
# prompt, then answer them.  Before the fix the lock was checked only
# when AUTH began, so every held exchange got its password verified and
# the right one, last, got 235 from a locked address.

RACE=$BATS_TEST_DIRNAME/clients/auth_race.py

# race MODE N LAST: auth_race.py against the listener on $PORT; the last
# connection answers LAST, the others $PW_WRONG.
race() {
	timeout 120 python3 "$RACE" 127.0.0.1 "$PORT" "$2" "$1" bob \
		"$PW_WRONG" "$3"
}

assert_budget_held() {
	assert_success
	local verified=${output#verified=}
	verified=${verified%% *}
	echo "$output (threshold $SMTP_LOCKOUT_THRESHOLD)"
	[ "$verified" -le "$SMTP_LOCKOUT_THRESHOLD" ]
	assert_output --partial " ok=0 "
	[ "$(grep -c 'result=failed' "$LOG")" -le "$SMTP_LOCKOUT_THRESHOLD" ]
	! grep -q 'result=ok' "$LOG"
}

@test "30 exchanges held at the password prompt, answered one by one: THRESHOLD verified, no 235" {
	export SMTP_LOCKOUT_THRESHOLD=5 SMTP_AUTH_FAIL_DELAY=100
	start_inetd
	run race seq 30 "$PW_BOB"
	assert_budget_held
	assert_output --regexp '^verified=5 ok=0 bad=5 refused=25 early=0$'
	run "$LOCKOUT" check 127.0.0.1
	assert_failure 1
}

@test "a session killed mid-verification keeps its charge: the budget stays spent, no free guess" {
	# bob is not in the file: the hanging checkpassword program verifies
	export SMTP_LOCKOUT_THRESHOLD=2 SMTP_AUTH_FAIL_DELAY=100
	export SMTP_CHECKPASSWORD="$BATS_TEST_DIRNAME/fakes/checkpw-hang.sh"
	export CHECKPW_MARK=lk-killed-$$
	: > "$SMTP_PASSWD"
	open_session
	replies 1
	say "EHLO client.test"
	replies 9
	say "AUTH PLAIN $(printf '\0nobody\0x' | base64 -w0)"
	sleep 0.5                        # charged, and in checkpassword now
	kill -9 "$(pgrep -P "$SESSION_PID" -x smtp-session)"   # under timeout(1)
	pkill -f "$CHECKPW_MARK" || true
	close_session
	# one failure more spends the budget of 2: the next password is
	# refused unverified, though nothing is locked yet
	unset SMTP_CHECKPASSWORD
	install -m 600 "$BATS_FILE_TMPDIR/passwd" "$SMTP_PASSWD"
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$LOCKED")"
	grep -q 'locked_out id=.* when=verify reason="budget in flight"' "$LOG"
	! grep -q 'result=ok' "$LOG"
}

@test "30 exchanges held at the password prompt, all answered at once: at most THRESHOLD verified" {
	# all wrong: a right password verified among the first THRESHOLD
	# would rightly get 235 (a success costs no guess)
	export SMTP_LOCKOUT_THRESHOLD=5 SMTP_AUTH_FAIL_DELAY=100
	start_inetd
	run race burst 30 "$PW_WRONG"
	assert_budget_held
	# the charges in flight spent the budget; their failures locked it
	run "$LOCKOUT" check 127.0.0.1
	assert_failure 1
	grep -q 'locked_out id=.* when=verify' "$LOG"
}

@test "the budget holds over IPv6 for 30 exchanges from 6 addresses of one /64 (network namespace)" {
	command -v ip >/dev/null || skip "ip(8) (iproute2) is missing"
	unshare -n true 2>/dev/null || skip "no network namespaces here"
	export SMTP_LOCKOUT_THRESHOLD=5 SMTP_AUTH_FAIL_DELAY=100
	unset TCPREMOTEIP
	sd_env
	export RACE SESSION LOG PW_BOB PW_WRONG
	export -f wait_listen
	run timeout 120 unshare -n bash -c '
		ip link set lo up || exit 97
		for a in 1 a1 a2 a3 a4 a5 a6; do
			ip -6 addr add "2001:db8:7::$a/64" dev lo nodad || exit 97
		done
		systemd-socket-activate -l "[2001:db8:7::1]:2525" -a --inetd '"${SD_ENV[*]}"' \
			"$SESSION" </dev/null >/dev/null 2>>"$LOG" &
		pid=$!
		trap "kill $pid" EXIT
		wait_listen 2525 || exit 98
		python3 "$RACE" 2001:db8:7::1 2525 30 burst bob "$PW_WRONG" "$PW_WRONG" \
			2001:db8:7::a1 2001:db8:7::a2 2001:db8:7::a3 2001:db8:7::a4 \
			2001:db8:7::a5 2001:db8:7::a6 || exit 1
		python3 "$RACE" 2001:db8:7::1 2525 3 seq bob "$PW_WRONG" "$PW_BOB" \
			2001:db8:7::a6'
	echo "$output"
	assert_success
	assert_line --index 0 --regexp '^verified=[1-5] ok=0 '
	# afterwards every address of the /64 is refused at connect
	assert_line --index 1 'verified=0 ok=0 bad=0 refused=0 early=3'
	[ "$(grep -c 'result=failed' "$LOG")" -le 5 ]
	! grep -q 'result=ok' "$LOG"
	run "$LOCKOUT" check 2001:db8:7::/64
	assert_failure 1
}

# ---- IPv6 --------------------------------------------------------------

@test "IPv6: two addresses in one /64 share the counter through AUTH, another /64 does not" {
	export TCPREMOTEIP=2001:db8:1:2::1
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	export TCPREMOTEIP=2001:db8:1:2:ffff:ffff:ffff:fffe
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	export TCPREMOTEIP=2001:db8:1:3::1     # the next /64: its own count
	run auth_once "$PW_WRONG"
	assert_output "$FAILED_REPLIES"
	run entry 2001:db8:1:2::/64
	assert_output "2 no 0"
	export TCPREMOTEIP=2001:db8:1:2::abcd  # the third in the first /64 locks it
	run auth_once "$PW_WRONG"
	assert_output "$LOCKING_REPLIES"
	export TCPREMOTEIP=2001:db8:1:2::77
	run auth_once "$PW_BOB"
	assert_output "$LOCKED"
	export TCPREMOTEIP=2001:db8:1:3::1
	run auth_once "$PW_BOB"
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
}

# ---- hydra against a real socket ------------------------------------------

@test "hydra (30 guesses, the password among them) against a real socket: at most THRESHOLD+1 guesses, none found" {
	command -v hydra >/dev/null || fail "hydra is not installed (make deps)"
	local i words=$BATS_TEST_TMPDIR/words tasks=2
	{
		for i in $(seq 11); do echo "guess-$i-$RANDOM"; done
		echo "$PW_BOB"          # found on the 12th try if nothing stops it
		for i in $(seq 12 30); do echo "guess-$i-$RANDOM"; done
	} > "$words"
	start_inetd
	cd "$BATS_TEST_TMPDIR"          # hydra writes ./hydra.restore
	run timeout 60 hydra -I -l bob -P "$words" -t "$tasks" -w 10 -W 0 \
		-s "$PORT" 127.0.0.1 smtp
	echo "$output"
	[ "$status" -ne 124 ]           # hydra gave up by itself
	assert_output --partial "0 valid password found"
	refute_output --partial "password: "
	local n
	n=$(grep -c 'auth id=.* client=127\.0\.0\.1 .*result=failed' "$LOG")
	echo "failed AUTHs: $n"
	# the threshold, plus one in-flight guess per other task
	[ "$n" -ge "$SMTP_LOCKOUT_THRESHOLD" ]
	[ "$n" -le $((SMTP_LOCKOUT_THRESHOLD + tasks - 1)) ]
	! grep -q 'result=ok' "$LOG"
	grep -q 'locked_out id=.* client=127\.0\.0\.1 .*when=connect' "$LOG"
	run "$LOCKOUT" check 127.0.0.1
	assert_failure 1
}
