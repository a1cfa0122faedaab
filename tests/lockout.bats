# The shared lockout state (lockout.c, smtp-lockout), the connect-time
# gate (gate.c): lockout at connect, GeoIP country policy, greet delay.
# The AUTH side of the lockout is in auth-lockout.bats.
load helper

LOCKOUT=$TEST_BUILD/smtp-lockout

setup() {
	common_setup
	export SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/lockout.db
	unset SMTP_LOCKOUT_THRESHOLD SMTP_LOCKOUT_WINDOW SMTP_LOCKOUT_DURATION \
		SMTP_LOCKOUT_V6_PREFIX SMTP_LOCKOUT_SLOTS SMTP_GEOIP_DB \
		SMTP_COUNTRY_DENY SMTP_AUTH_COUNTRIES SMTP_GREET_DELAY
}

fail_n() {       # fail_n N ADDR: N failures recorded, as N processes
	local i
	for i in $(seq "$1"); do "$LOCKOUT" fail "$2" >/dev/null || true; done
}

# `smtp-lockout list` line of one address: "failures locked level"
entry() {
	"$LOCKOUT" list | awk -v a="$1" '$1 == a { print $2, ($3 == "-" ? "no" : "yes"), $4 }'
}

@test "the threshold is exact: THRESHOLD-1 failures do not lock, the next does" {
	export SMTP_LOCKOUT_THRESHOLD=3
	fail_n 2 192.0.2.1
	run "$LOCKOUT" check 192.0.2.1
	assert_success
	assert_output "192.0.2.1 not locked"
	run "$LOCKOUT" fail 192.0.2.1
	assert_failure 1
	assert_output --regexp '^192\.0\.2\.1 locked until 20[0-9-]+T[0-9:]+Z$'
	run "$LOCKOUT" check 192.0.2.1
	assert_failure 1
}

@test "a locked-out address gets 421 at connect; unlock lets it back" {
	export SMTP_LOCKOUT_THRESHOLD=2
	fail_n 2 192.0.2.1
	run smtp <<<'QUIT'
	assert_output "421 4.7.0 mx.test Too many failed logins, try again later"
	grep -q 'locked_out id=.* client=192.0.2.1 .*when=connect' "$LOG"
	run "$LOCKOUT" unlock 192.0.2.1
	assert_success
	assert_output "192.0.2.1 unlocked"
	run smtp <<<'QUIT'
	assert_output --partial "220 mx.test ESMTP"
	run "$LOCKOUT" unlock 192.0.2.1
	assert_failure 1
	assert_output "192.0.2.1 has no entry"
}

@test "another address is not affected by a lock" {
	export SMTP_LOCKOUT_THRESHOLD=1
	fail_n 1 192.0.2.99
	run smtp <<<'QUIT'
	assert_line --index 0 "220 mx.test ESMTP smtp-session"
}

@test "IPv4-mapped IPv6 is the same address as IPv4" {
	export SMTP_LOCKOUT_THRESHOLD=2
	fail_n 1 ::ffff:192.0.2.1
	fail_n 1 192.0.2.1
	run "$LOCKOUT" check ::ffff:192.0.2.1
	assert_failure 1
	export TCPREMOTEIP=::ffff:192.0.2.1
	run smtp <<<'QUIT'
	assert_output --partial "421 4.7.0"
}

@test "IPv6 addresses in one /64 share a counter, another /64 does not" {
	export SMTP_LOCKOUT_THRESHOLD=3
	fail_n 1 2001:db8:1:2::1
	fail_n 1 2001:db8:1:2:ffff::2
	fail_n 1 2001:db8:1:3::1
	run entry 2001:db8:1:2::/64
	assert_output "2 no 0"
	fail_n 1 2001:db8:1:2:abcd::9
	run "$LOCKOUT" check 2001:db8:1:2::77
	assert_failure 1
	run "$LOCKOUT" check 2001:db8:1:3::1
	assert_success
	export SMTP_LOCKOUT_V6_PREFIX=128
	run "$LOCKOUT" check 2001:db8:1:2::77
	assert_success
}

@test "repeat lockouts double, capped at 86400 s" {
	export SMTP_LOCKOUT_THRESHOLD=1 SMTP_LOCKOUT_DURATION=30000
	local now t1 t2 t3
	now=$(date +%s)
	run "$LOCKOUT" fail 192.0.2.7
	t1=$(date -d "${output##* }" +%s)
	run "$LOCKOUT" fail 192.0.2.7
	t2=$(date -d "${output##* }" +%s)
	run "$LOCKOUT" fail 192.0.2.7
	t3=$(date -d "${output##* }" +%s)
	# 30000, then 60000, then 120000 capped to 86400 (each +-2 s)
	[ $((t1 - now)) -ge 29998 ] && [ $((t1 - now)) -le 30002 ]
	[ $((t2 - now)) -ge 59998 ] && [ $((t2 - now)) -le 60002 ]
	[ $((t3 - now)) -ge 86398 ] && [ $((t3 - now)) -le 86402 ]
	run entry 192.0.2.7
	assert_output "0 yes 3"
}

@test "a short lock expires by itself" {
	# times are whole seconds: a 1 s lock can end right after it began
	export SMTP_LOCKOUT_THRESHOLD=1 SMTP_LOCKOUT_DURATION=3
	fail_n 1 192.0.2.1
	run "$LOCKOUT" check 192.0.2.1
	assert_failure 1
	sleep 4.1
	run "$LOCKOUT" check 192.0.2.1
	assert_success
	run smtp <<<'QUIT'
	assert_line --index 0 "220 mx.test ESMTP smtp-session"
}

@test "failures older than the window do not count" {
	export SMTP_LOCKOUT_THRESHOLD=2 SMTP_LOCKOUT_WINDOW=1
	fail_n 1 192.0.2.1
	sleep 2.1
	fail_n 1 192.0.2.1
	run "$LOCKOUT" check 192.0.2.1
	assert_success
	run entry 192.0.2.1
	assert_output "1 no 0"
}

@test "concurrency: 2 x 50 processes x 20 failures for one address, none lost" {
	# 2000 failures at threshold 1000 lock exactly twice and leave 0:
	# a single lost update leaves level 1 and failures > 0.
	export SMTP_LOCKOUT_THRESHOLD=1000
	local p
	for p in $(seq 100); do
		( for i in $(seq 20); do "$LOCKOUT" fail 192.0.2.50 >/dev/null || true; done ) &
	done
	wait
	run entry 192.0.2.50
	assert_output "0 yes 2"
}

@test "SIGKILL mid-update, in a loop: the store stays usable and exact" {
	export SMTP_LOCKOUT_THRESHOLD=1000
	local i pid
	fail_n 1 192.0.2.60
	for i in $(seq 40); do
		( while :; do "$LOCKOUT" fail 192.0.2.61 >/dev/null || true; done ) &
		pid=$!
		sleep 0.0$((RANDOM % 9 + 1))
		pkill -9 -P "$pid" smtp-lockout 2>/dev/null || true
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# no stuck lock: these return at once
	run timeout 5 "$LOCKOUT" fail 192.0.2.60
	assert_success
	run entry 192.0.2.60
	assert_output "2 no 0"
	run timeout 5 "$LOCKOUT" list
	assert_success
}

@test "a torn slot (bad checksum) restarts that one address only" {
	export SMTP_LOCKOUT_THRESHOLD=100 SMTP_LOCKOUT_SLOTS=64
	fail_n 3 192.0.2.70
	fail_n 2 192.0.2.71
	# flip one byte in the failures field of 192.0.2.70's slot
	python3 - "$SMTP_LOCKOUT_FILE" <<'PY'
import sys, struct
f = open(sys.argv[1], 'r+b'); data = f.read()
key = bytes(10) + b'\xff\xff' + bytes([192, 0, 2, 70])
off = data.index(key, 64)
f.seek(off + 32); f.write(b'\x07'); f.close()
PY
	run entry 192.0.2.70
	assert_output ""
	run entry 192.0.2.71
	assert_output "2 no 0"
	fail_n 1 192.0.2.70
	run entry 192.0.2.70
	assert_output "1 no 0"
}

@test "a corrupt or truncated state file: mail goes on, the log says why" {
	head -c 100 /dev/urandom > "$SMTP_LOCKOUT_FILE"
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@sender.test>
RCPT TO:<bob@example.test>
DATA
hello
.
QUIT
IN
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as '
	grep -q 'lockout_error .*not a valid lockout state file' "$LOG"
	run "$LOCKOUT" list
	assert_failure 3
	run "$SESSION" --check-config
	assert_failure 1
	assert_output --partial "SMTP_LOCKOUT_FILE"
}

@test "a full store evicts the least recently failed unlocked entry, locked ones last" {
	export SMTP_LOCKOUT_THRESHOLD=2 SMTP_LOCKOUT_SLOTS=64
	local i
	fail_n 2 10.0.0.1                   # locked
	for i in $(seq 2 300); do fail_n 1 10.0.1.$((i % 250)); done
	"$LOCKOUT" check 10.0.0.1 && false
	[ "$(stat -c %s "$SMTP_LOCKOUT_FILE")" -eq $((64 + 64 * 48)) ]
	[ "$("$LOCKOUT" list | tail -n +2 | wc -l)" -le 64 ]
}

@test "smtp-lockout: usage, exit codes, clear, missing file" {
	run "$LOCKOUT"
	assert_failure 2
	run "$LOCKOUT" check
	assert_failure 2
	run "$LOCKOUT" -f "$BATS_TEST_TMPDIR/none" list
	assert_failure 3
	assert_output --partial "No such file"
	[ ! -e "$BATS_TEST_TMPDIR/none" ]
	fail_n 1 192.0.2.1
	run "$LOCKOUT" list
	assert_line --index 0 --regexp '^ADDRESS +FAILURES +LOCKED_UNTIL +LEVEL +LAST_FAILURE$'
	assert_line --index 1 --regexp '^192\.0\.2\.1 +1 +- +0 +20'
	run "$LOCKOUT" clear
	assert_success
	run "$LOCKOUT" list
	assert_output --regexp '^ADDRESS'
	[ "${#lines[@]}" -eq 1 ]
	run "$LOCKOUT" unlock not-an-ip
	assert_failure 3
}

@test "smtp-lockout: a bad SMTP_LOCKOUT_* value is reported as the session reports it, exit 2" {
	# before: env_uint() silently fell back to its own copy of the default
	local var val line
	fail_n 1 192.0.2.1
	for var in THRESHOLD=0 WINDOW=x DURATION=86401 V6_PREFIX=8 SLOTS=10k \
		THRESHOLD=-1 FILE=relative.db; do
		val=${var#*=}; var=SMTP_LOCKOUT_${var%%=*}
		line=$(env "$var=$val" "$SESSION" --check-config 2>&1 | grep "^smtp-session: $var: ") ||
			{ echo "the session does not report $var=$val" >&2; return 1; }
		for cmd in list "check 192.0.2.1" "fail 192.0.2.9" clear; do
			# shellcheck disable=SC2086
			run --separate-stderr env "$var=$val" "$LOCKOUT" $cmd
			assert_failure 2
			assert_output ''
			[ "$stderr" = "smtp-lockout: ${line#smtp-session: }" ] ||
				{ echo "$var=$val $cmd: '$stderr', not '$line'" >&2; return 1; }
		done
	done
	# every problem at once, in the sessions' words
	run --separate-stderr env SMTP_LOCKOUT_THRESHOLD=0 SMTP_LOCKOUT_WINDOW=0 "$LOCKOUT" list
	assert_failure 2
	[ "$stderr" = "smtp-lockout: SMTP_LOCKOUT_THRESHOLD: '0' is not a number from 1 to 1000
smtp-lockout: SMTP_LOCKOUT_WINDOW: '0' is not a number from 1 to 2592000" ]
	# nothing was touched: the one failure is still there
	run entry 192.0.2.1
	assert_output '1 no 0'
	# -f names the file: SMTP_LOCKOUT_FILE is not read at all
	run env SMTP_LOCKOUT_FILE=relative.db "$LOCKOUT" -f "$SMTP_LOCKOUT_FILE" check 192.0.2.1
	assert_success
	# empty is unset, as for the session: the default
	run env SMTP_LOCKOUT_THRESHOLD= "$LOCKOUT" check 192.0.2.1
	assert_success
}

@test "smtp-lockout takes what list prints: a /64 prefix, an address inside it; garbage exits 3" {
	# before the fix: check 2001:db8::/64 said "not locked" (exit 0),
	# unlock exited 3, and check bogus said "not locked" (exit 0)
	export SMTP_LOCKOUT_THRESHOLD=2
	fail_n 2 2001:db8::5
	run "$LOCKOUT" list
	assert_line --index 1 --regexp '^2001:db8::/64 +0 +20[0-9-]+T[0-9:]+Z +1 '
	run "$LOCKOUT" check 2001:db8::/64
	assert_failure 1
	assert_output --regexp '^2001:db8::/64 locked until 20'
	run "$LOCKOUT" check 2001:db8::ffff:1
	assert_failure 1
	run "$LOCKOUT" check 2001:db8:0:0:8000::/80     # inside the /64
	assert_failure 1
	run "$LOCKOUT" check 2001:db8:0:1::/64           # the next /64
	assert_success
	assert_output "2001:db8:0:1::/64 not locked"
	for bad in bogus 2001:db8::/48 2001:db8::/129 2001:db8::/ 192.0.2.1/24 \
		192.0.2.1/x 256.1.1.1 ff02::1 ''; do
		run "$LOCKOUT" check "$bad"
		assert_failure 3
		assert_output --partial 'not an address'
		run "$LOCKOUT" unlock "$bad"
		assert_failure 3
	done
	run "$LOCKOUT" check 192.0.2.1/32
	assert_success
	run "$LOCKOUT" unlock 2001:db8::/64
	assert_success
	assert_output "2001:db8::/64 unlocked"
	run "$LOCKOUT" check 2001:db8::5
	assert_success
}

@test "a client without a known address is counted as 'unknown' and locked out like any other" {
	# before the fix: over a pipe without TCPREMOTEIP nothing was counted
	export SMTP_LOCKOUT_THRESHOLD=2
	unset TCPREMOTEIP REMOTE_ADDR
	run "$LOCKOUT" fail unknown
	assert_success
	run "$LOCKOUT" list
	assert_line --index 1 --regexp '^unknown +1 +- +0 +20'
	run "$LOCKOUT" fail unknown
	assert_failure 1
	run smtp <<<'QUIT'
	assert_output "421 4.7.0 mx.test Too many failed logins, try again later"
	grep -q 'locked_out id=.* client=unknown .*when=connect' "$LOG"
	run "$LOCKOUT" check unknown
	assert_failure 1
	# a real address is not affected
	export TCPREMOTEIP=192.0.2.1
	run smtp <<<'QUIT'
	assert_line --index 0 "220 mx.test ESMTP smtp-session"
}

@test "the state file is created 0600 with the configured slots" {
	export SMTP_LOCKOUT_SLOTS=1000
	run smtp <<<'QUIT'
	assert_success
	[ "$(stat -c %a "$SMTP_LOCKOUT_FILE")" = 600 ]
	[ "$(stat -c %s "$SMTP_LOCKOUT_FILE")" -eq $((64 + 1000 * 48)) ]
}

# ---- GeoIP -----------------------------------------------------------

geo() {
	perl "$BATS_TEST_DIRNAME/mkmmdb.pl" "$BATS_TEST_TMPDIR/geo.mmdb"
	export SMTP_GEOIP_DB=$BATS_TEST_TMPDIR/geo.mmdb
}

@test "geoip: the country is in every log line, and in the deliver env" {
	geo
	export SMTP_DELIVER="$FAKES/env-dump" FAKE_OUT=$BATS_TEST_TMPDIR/env
	export TCPREMOTEIP=10.1.2.3
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@sender.test>
RCPT TO:<bob@example.test>
DATA
x
.
QUIT
IN
	[ "$(grep -c . "$LOG")" -ge 3 ]
	[ "$(grep -vc 'country=DE' "$LOG")" -eq 0 ]
	tr '\0' '\n' < "$FAKE_OUT.environ" | grep -qx 'SMTP_COUNTRY=DE'
}

@test "geoip: IPv6 and an address not in the database (--)" {
	geo
	export TCPREMOTEIP=2001:db8::5
	run smtp <<<'QUIT'
	grep -q 'connect .*country=NL' "$LOG"
	export TCPREMOTEIP=203.0.113.9
	run smtp <<<'QUIT'
	grep -q 'connect .*client=203.0.113.9 country=--' "$LOG"
}

@test "geoip: SMTP_COUNTRY_DENY refuses at connect with 554 5.7.1, -- can be listed" {
	geo
	export SMTP_COUNTRY_DENY="cn, FR"
	run smtp <<<'QUIT'
	assert_output "554 5.7.1 mx.test Service not available to your network"
	grep -q 'refused .*country=FR .*reason=country' "$LOG"
	export TCPREMOTEIP=10.0.0.1
	run smtp <<<'QUIT'
	assert_line --index 0 "220 mx.test ESMTP smtp-session"
	export SMTP_COUNTRY_DENY="--" TCPREMOTEIP=203.0.113.9
	run smtp <<<'QUIT'
	assert_output --partial "554 5.7.1"
}

@test "geoip: a missing or corrupt database is a check-config error and a log line" {
	export SMTP_GEOIP_DB=$BATS_TEST_TMPDIR/missing.mmdb SMTP_COUNTRY_DENY=FR
	run "$SESSION" --check-config
	assert_failure 1
	assert_output --partial "SMTP_GEOIP_DB"
	run smtp <<<'QUIT'
	assert_line --index 0 "220 mx.test ESMTP smtp-session"
	grep -q 'geoip_error' "$LOG"
	head -c 2000 /dev/urandom > "$BATS_TEST_TMPDIR/bad.mmdb"
	export SMTP_GEOIP_DB=$BATS_TEST_TMPDIR/bad.mmdb
	run "$SESSION" --check-config
	assert_failure 1
	run smtp <<<'QUIT'
	assert_line --index 0 "220 mx.test ESMTP smtp-session"
}

@test "geoip: a bad country code is a configuration error" {
	export SMTP_COUNTRY_DENY="DE France"
	run "$SESSION" --check-config
	assert_failure 1
	assert_output --partial "SMTP_COUNTRY_DENY: 'FRANCE' is not an ISO 3166 country code"
}

# ---- greet delay -----------------------------------------------------

@test "greet delay: a client that talks first gets 554 5.5.1 and is closed" {
	export SMTP_GREET_DELAY=2
	run smtp <<<'EHLO early.test'
	assert_output "554 5.5.1 mx.test Error: you talked before the greeting"
	grep -q 'pregreet' "$LOG"
}

@test "greet delay: a patient client is served after the delay" {
	export SMTP_GREET_DELAY=1
	local start end
	start=$(date +%s%N)
	export SESSION LOG
	run bash -c '{ sleep 1.5; printf "QUIT\r\n"; } | "$SESSION" 2>>"$LOG" | tr -d "\r"'
	end=$(date +%s%N)
	assert_output "$(printf '220 mx.test ESMTP smtp-session\n221 2.0.0 mx.test Bye')"
	[ $(( (end - start) / 1000000 )) -ge 1000 ]
}
