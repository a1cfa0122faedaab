# Fault injection: full and read-only filesystems (tiny tmpfs or read-only
# bind mounts in a private mount namespace, so nothing leaks out of the
# test), a lockout state file on a full filesystem, clients too slow to
# finish (one octet per second) and clients that never read their replies.
# Already covered elsewhere and not repeated here: deliver program crashing
# or hanging (handoff.bats), corrupt or truncated lockout state file
# (lockout.bats, auth-lockout.bats), corrupt GeoIP database (lockout.bats),
# client reset mid-DATA (sockets.bats, handoff.bats).
load helper

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

setup() {
	common_setup
	SERVER_PID=
}

teardown() {
	[ -z "${CLIENT_PID:-}" ] || kill "$CLIENT_PID" 2>/dev/null || true
	stop_server
}

# in_ns SETUP: runs the shell commands SETUP, then the session with $IN as
# stdin (replies to $OUT, CR removed), then AFTER (if set), all in a
# private mount namespace: the mounts vanish with it.
in_ns() {
	export LOG SESSION IN OUT
	timeout 30 unshare -m --propagation private sh -c "$1"'
		"$SESSION" <"$IN" 2>>"$LOG" | tr -d "\r" >"$OUT"
		'"${AFTER:-true}" 
}

# A 210 KB message (3000 lines of 70 x), then a small one, then QUIT.
big_then_small() {
	"$PYTHON" -c '
import sys
w = sys.stdout.buffer.write
w(b"EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: big\r\n\r\n")
for i in range(3000):
    w(b"x" * 70 + b"\r\n")
w(b".\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: small\r\n\r\nhi\r\n.\r\nQUIT\r\n")'
}

EHLO='220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>'

# The small message is the one message in bob's new/, whole.
assert_small_only() {
	run delivered_count
	assert_output 1
	run delivered_body bob@example.test
	assert_output "Subject: small

hi"
}

@test "spool on a full filesystem: 451 4.3.0 for the big message, nothing delivered of it; the next one fits" {
	export IN=$BATS_TEST_TMPDIR/in OUT=$BATS_TEST_TMPDIR/out
	big_then_small >"$IN"
	export SESSION
	AFTER='ls -A "$SMTP_SPOOL_DIR" >"$OUT.spool"' in_ns \
		'mount -t tmpfs -o size=64k tmpfs "$SMTP_SPOOL_DIR" || exit 99'
	run cat "$OUT"
	assert_output --regexp "^$(sed 's/[].[]/\\&/g' <<<"$EHLO")
451 4\.3\.0 Local error: cannot write spool file
250 2\.1\.0 Ok
250 2\.1\.5 Ok
354 End data with <CR><LF>\.<CR><LF>
250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.2
221 2\.0\.0 mx\.test Bye$"
	# the spool (the full tmpfs) is empty after the session: O_TMPFILE
	run cat "$OUT.spool"
	assert_output ''
	assert_small_only
	grep -q 'spool_error .* error="write failed"' "$LOG"
}

@test "Maildir on a full filesystem: smtp-deliver exits 53 → 451 4.3.0, no partial file in new/, tmp/ cleaned" {
	export IN=$BATS_TEST_TMPDIR/in OUT=$BATS_TEST_TMPDIR/out
	big_then_small >"$IN"
	mkdir -p "$MAILDIR_ROOT"
	export SESSION
	AFTER='cd "$MAILDIR_ROOT" && find . -type f | sort >"$OUT.files" &&
		for f in $(find . -path "*/new/*" -type f); do cat "$f"; done >"$OUT.new"' \
		in_ns 'mount -t tmpfs -o size=64k tmpfs "$MAILDIR_ROOT" || exit 99'
	run cat "$OUT"
	assert_output --regexp "^$(sed 's/[].[]/\\&/g' <<<"$EHLO")
451 4\.3\.0 Queue write error or disk full
250 2\.1\.0 Ok
250 2\.1\.5 Ok
354 End data with <CR><LF>\.<CR><LF>
250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.2
221 2\.0\.0 mx\.test Bye$"
	# one file: the small message in new/; nothing in tmp/
	run cat "$OUT.files"
	assert_output --regexp '^\./example\.test/bob/new/[^/]+$'
	run tail -n 1 "$OUT.new"
	assert_output 'hi'
	run grep -c '^x' "$OUT.new"
	assert_output 0
	grep -q "deliver_failed .* deliver_status=53 " "$LOG"
	grep -q "smtp-deliver: cannot write .*No space left on device" "$LOG"
}

@test "read-only spool (bind mount, root too): DATA gets 451 4.3.0 before any 354, session goes on" {
	export IN=$BATS_TEST_TMPDIR/in OUT=$BATS_TEST_TMPDIR/out
	printf 'EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nNOOP\r\nQUIT\r\n' >"$IN"
	export SESSION
	in_ns 'mount --bind -o ro "$SMTP_SPOOL_DIR" "$SMTP_SPOOL_DIR" || exit 99'
	run cat "$OUT"
	assert_output "${EHLO%
354*}
451 4.3.0 Local error: cannot create spool file
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

# AUTH PLAIN with a wrong password, then a message: "EHLO .. QUIT" input.
auth_fail_then_mail() {
	printf 'EHLO client.test\r\nAUTH PLAIN %s\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: small\r\n\r\nhi\r\n.\r\nQUIT\r\n' \
		"$(printf '\0bob\0Wrong-Guess-1' | base64)"
}

auth_env() {
	printf 'bob:%s\n' "$(printf 'Right-Pass-1\n' | mkpasswd -s -m sha512crypt)" \
		>"$BATS_TEST_TMPDIR/passwd"
	chmod 600 "$BATS_TEST_TMPDIR/passwd"
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	mkdir -p "$BATS_TEST_TMPDIR/state"
	export SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/state/lockout.db
	export IN=$BATS_TEST_TMPDIR/in OUT=$BATS_TEST_TMPDIR/out SESSION
	auth_fail_then_mail >"$IN"
}

AUTH_EHLO="$GREETING
$EHLO_AUTH"

@test "lockout state file on a full filesystem at creation: AUTH 454 4.7.0 (fails closed), MX mail still delivered" {
	auth_env
	in_ns 'mount -t tmpfs -o size=16k tmpfs "${SMTP_LOCKOUT_FILE%/*}" || exit 99
		dd if=/dev/zero of="${SMTP_LOCKOUT_FILE%/*}/fill" bs=4k 2>/dev/null'
	run cat "$OUT"
	assert_output --regexp "^$(sed 's/[].[]/\\&/g' <<<"$AUTH_EHLO")
454 4\.7\.0 Temporary authentication failure
250 2\.1\.0 Ok
250 2\.1\.5 Ok
354 End data with <CR><LF>\.<CR><LF>
250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1
221 2\.0\.0 mx\.test Bye$"
	assert_small_only
	grep -q 'reason="lockout store unusable"' "$LOG"
}

@test "lockout state file whose filesystem fills up later: failures from new addresses never crash the session" {
	auth_env
	# The store is created (sparse) while there is room, then the
	# filesystem is filled; recording a failure in a page not yet backed
	# must not kill the session (SIGBUS on a shared mapping): AUTH gets
	# 535 or 454, and the message after it is delivered, for every address.
	AFTER='for ip in 198.51.100.9 203.0.113.5 192.0.2.77 198.51.100.200 203.0.113.99 192.0.2.200; do
			TCPREMOTEIP=$ip "$SESSION" <"$IN" 2>>"$LOG" | tr -d "\r" >>"$OUT"
		done' in_ns 'mount -t tmpfs -o size=64k tmpfs "${SMTP_LOCKOUT_FILE%/*}" || exit 99
		"$SESSION" <"$IN" 2>>"$LOG" >/dev/null
		dd if=/dev/zero of="${SMTP_LOCKOUT_FILE%/*}/fill" bs=4k 2>/dev/null'
	run grep -cE '^(535 5\.7\.8 Authentication credentials invalid|454 4\.7\.0 Temporary authentication failure)$' "$OUT"
	assert_output 7
	run grep -c '^250 2\.0\.0 Ok: queued as ' "$OUT"
	assert_output 7
	run delivered_count
	assert_output 8
}

@test "a client sending one octet per second is cut off by SMTP_SESSION_TIMEOUT: 421 4.4.2 at ~4 s" {
	export SMTP_TIMEOUT=2 SMTP_SESSION_TIMEOUT=4
	start_inetd
	# Each read completes within SMTP_TIMEOUT, so only the session limit can end it.
	run timeout 20 "$PYTHON" - "$PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t0 = time.monotonic()
f = s.makefile("rb")
print(f.readline().decode().rstrip())
s.setblocking(False)
data = b""
for i in range(15):
    try:
        s.send(b"NOOP x"[i % 6:i % 6 + 1])
    except OSError:
        break
    time.sleep(1)
    try:
        d = s.recv(4096)
        if not d:
            break
        data += d
    except BlockingIOError:
        pass
    except OSError:
        break
for l in data.decode().splitlines():
    print(l)
print("elapsed=%d" % round(time.monotonic() - t0))
PY
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 1 '421 4.4.2 mx.test Timeout, closing connection'
	assert_line --index 2 --regexp '^elapsed=[4-8]$'
	sessions_done
}

@test "a client that never reads its replies is cut off by SMTP_TIMEOUT: blocked writes are bounded too" {
	export SMTP_TIMEOUT=2 SMTP_SESSION_TIMEOUT=60
	start_inetd
	"$PYTHON" - "$PORT" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(1)
# NOOPs without pause for up to 15 s, never reading a reply: the session
# must fill its socket buffers, block writing, and give up after SMTP_TIMEOUT
# (an idle timeout cannot be the reason: the client never stops sending).
end = time.monotonic() + 15
while time.monotonic() < end:
    try:
        s.send(b"NOOP\r\n" * 1000)
    except socket.timeout:
        pass
    except OSError:
        break
time.sleep(15)
PY
	CLIENT_PID=$!
	local i t0 t1
	for i in $(seq 50); do
		[ -n "$(pgrep -P "$SERVER_PID")" ] && break
		sleep 0.1
	done
	[ -n "$(pgrep -P "$SERVER_PID")" ] || fail "no session started"
	t0=$(date +%s%N)
	for i in $(seq 100); do
		[ -z "$(pgrep -P "$SERVER_PID")" ] && break
		sleep 0.1
	done
	t1=$(date +%s%N)
	[ -z "$(pgrep -P "$SERVER_PID")" ] || fail "the session still runs 10 s later (writes not bounded by SMTP_TIMEOUT)"
	echo "session ended after $(( (t1 - t0) / 1000000 )) ms" >&3
	# SMTP_TIMEOUT (2 s) plus slack, far below SMTP_SESSION_TIMEOUT
	[ $(( (t1 - t0) / 1000000 )) -lt 5000 ]
	grep -q 'disconnect .*reason=timeout' "$LOG" || { cat "$LOG" | tail -5; false; }
}
