# smtp-session behind real sockets, driven by real clients: the three
# launchers (systemd-socket-activate with --inetd and with the connection
# on fd 3, tcpserver), swaks, curl, Python's smtplib and raw sockets.
# Everything listens on 127.0.0.1 (one test on ::1, one on
# ::ffff:127.0.0.1); each test starts its own launcher in the background
# and teardown kills it and its children.
load helper

CLIENTS=$BATS_TEST_DIRNAME/clients

setup() {
	common_setup
	SERVER_PID=
	PORT=
	OUT=$BATS_TEST_TMPDIR/server.out
	MSG=$BATS_TEST_TMPDIR/msg
}

teardown() { stop_server; }

# The connection on fd 3 (LISTEN_FDS=1); fd 0/1 are /dev/null and $OUT.
start_fd3() {
	PORT=$(free_port)
	sd_env
	start_server systemd-socket-activate -l "127.0.0.1:$PORT" -a \
		"${SD_ENV[@]}" "$SESSION"
}

start_tcpserver() {
	PORT=$(free_port)
	unset TCPREMOTEIP               # tcpserver sets the real one
	start_server tcpserver -q -H -R 127.0.0.1 "$PORT" "$SESSION"
}

# The pid of the one session that logged "connect" (waits at most 5 s).
session_pid() {
	local pids
	for _ in $(seq 50); do
		pids=$(sed -n 's/^smtp-session\[\([0-9]*\)\]: connect .*/\1/p' "$LOG")
		if [ -n "$pids" ]; then
			[ "$(printf '%s\n' "$pids" | wc -l)" -eq 1 ] || return 1
			echo "$pids"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# True once process $1 is gone and the launcher has no child left
# (at most $2 tenths of a second).
gone_within() {
	for _ in $(seq "$2"); do
		if ! kill -0 "$1" 2>/dev/null &&
		   [ -z "$(pgrep -P "$SERVER_PID")" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# The Received line of the one message delivered to $1.
received_line() {
	grep -m1 '^Received: ' "$(delivered "$1")"
}

# The body (after the first empty line) of the one message for $1.
body_of() {
	local f
	f=$(delivered "$1")
	[ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] || return 1
	sed '1,/^$/d' "$f"
}

# ---- the launchers ----------------------------------------------------

@test "systemd-socket-activate --inetd: swaks delivers, client address from getpeername" {
	# TCPREMOTEIP in the session's environment must lose to getpeername()
	start_inetd -E TCPREMOTEIP=192.0.2.1
	run timeout 20 swaks --to bob@example.test --from alice@sender.test \
		--helo client.test --server "127.0.0.1:$PORT"
	assert_success
	assert_line --regexp '^<-  250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	run received_line bob@example.test
	assert_output 'Received: from client.test (unknown [127.0.0.1])'
	# the session saw the client's real source port, as the launcher did
	cport=$(sed -n 's/^Connection from 127\.0\.0\.1:\([0-9]*\) to .*/\1/p' "$LOG")
	[ -n "$cport" ]
	run grep -E '^smtp-session\[[0-9]+\]: (connect|accepted) ' "$LOG"
	assert_line --index 0 --regexp "^smtp-session\[[0-9]+\]: connect id=[0-9a-f]{16} client=127\.0\.0\.1 .*port=$cport "
	assert_line --index 1 --regexp '^smtp-session\[[0-9]+\]: accepted id=[0-9a-f]{16} client=127\.0\.0\.1 .*sender=alice@sender\.test rcpts=1 '
	refute_output --partial 192.0.2.1
	spool_is_empty
}

@test "systemd-socket-activate without --inetd: the connection on fd 3, curl delivers" {
	start_fd3
	printf 'Subject: via fd 3\r\n\r\n.leading dot\r\nline two\r\n' >"$MSG"
	run timeout 20 curl -sS --url "smtp://127.0.0.1:$PORT/client.test" \
		--mail-from alice@sender.test --mail-rcpt bob@example.test \
		--upload-file "$MSG"
	assert_success
	assert_output ''
	sessions_done
	run body_of bob@example.test
	assert_output "$(printf '.leading dot\nline two')"
	run received_line bob@example.test
	assert_output 'Received: from client.test (unknown [127.0.0.1])'
	run grep -E '^smtp-session\[[0-9]+\]: accepted ' "$LOG"
	assert_output --regexp '^smtp-session\[[0-9]+\]: accepted id=[0-9a-f]{16} client=127\.0\.0\.1 '
	# nothing went to fd 1 (the launcher's stdout): the replies used fd 3
	[ ! -s "$OUT" ]
	spool_is_empty
}

@test "tcpserver: smtplib delivers, client address and port from the socket" {
	start_tcpserver
	run timeout 20 python3 - "$PORT" <<'PY'
import smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    print('port', s.sock.getsockname()[1])
    print(s.sendmail('alice@sender.test', ['bob@example.test'],
                     b'Subject: via tcpserver\r\n\r\nhello\r\n'))
PY
	assert_success
	assert_line --index 1 '{}'
	cport=${lines[0]#port }
	sessions_done
	run body_of bob@example.test
	assert_output 'hello'
	run received_line bob@example.test
	assert_output 'Received: from client.test (unknown [127.0.0.1])'
	run grep -E '^smtp-session\[[0-9]+\]: (connect|accepted) ' "$LOG"
	assert_line --index 0 --regexp "^smtp-session\[[0-9]+\]: connect id=[0-9a-f]{16} client=127\.0\.0\.1 .*port=$cport "
	assert_line --index 1 --regexp '^smtp-session\[[0-9]+\]: accepted id=[0-9a-f]{16} client=127\.0\.0\.1 '
	spool_is_empty
}

@test "IPv6 loopback: client ::1 in the log, [IPv6:::1] in Received" {
	python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null ||
		skip "no IPv6 loopback here"
	PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])')
	sd_env
	start_server systemd-socket-activate -l "[::1]:$PORT" -a --inetd \
		"${SD_ENV[@]}" "$SESSION"
	run timeout 20 python3 - "$PORT" <<'PY'
import smtplib, sys
with smtplib.SMTP('::1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    print(s.sendmail('alice@sender.test', ['bob@example.test'],
                     b'Subject: v6\r\n\r\nover IPv6\r\n'))
PY
	assert_success
	assert_output '{}'
	sessions_done
	run body_of bob@example.test
	assert_output 'over IPv6'
	# RFC 5321 4.4 TCP-info is an address-literal: IPv6 ones carry "IPv6:"
	run received_line bob@example.test
	assert_output 'Received: from client.test (unknown [IPv6:::1])'
	run grep -E '^smtp-session\[[0-9]+\]: accepted ' "$LOG"
	assert_output --regexp '^smtp-session\[[0-9]+\]: accepted id=[0-9a-f]{16} client=::1 '
}

# A dual-stack (AF_INET6) listening socket hands an IPv4 client over as
# ::ffff:a.b.c.d; the session shows it as the IPv4 address.  Bound to the
# mapped loopback address only, so nothing but 127.0.0.1 reaches it.
@test "IPv4 client on an IPv6 socket: shown as IPv4 (127.0.0.1), not ::ffff:127.0.0.1" {
	[ "$(cat /proc/sys/net/ipv6/bindv6only 2>/dev/null)" = 0 ] ||
		skip "bindv6only is set here"
	PORT=$(free_port)
	sd_env
	start_server systemd-socket-activate -l "[::ffff:127.0.0.1]:$PORT" -a --inetd \
		"${SD_ENV[@]}" "$SESSION"
	run timeout 20 swaks --to bob@example.test --from alice@sender.test \
		--helo client.test --server "127.0.0.1:$PORT"
	assert_success
	sessions_done
	run received_line bob@example.test
	assert_output 'Received: from client.test (unknown [127.0.0.1])'
	run grep -E '^smtp-session\[[0-9]+\]: connect ' "$LOG"
	assert_output --regexp '^smtp-session\[[0-9]+\]: connect id=[0-9a-f]{16} client=127\.0\.0\.1 '
	refute_output --partial 'ffff'
}

# ---- clients ----------------------------------------------------------

@test "swaks --pipeline --body: leading dots and 8-bit octets arrive byte-exact" {
	start_inetd
	printf 'first\n.leading dot\n..two dots\n.\nGr\303\274\303\237e \351 8-bit\n' \
		>"$BATS_TEST_TMPDIR/body"
	run timeout 20 swaks --to bob@example.test --from alice@sender.test \
		--helo client.test --server "127.0.0.1:$PORT" --pipeline \
		--body "@$BATS_TEST_TMPDIR/body" \
		--header 'Subject: dots and 8 bits'
	assert_success
	# MAIL, RCPT and DATA went out before their replies came back
	assert_output --partial "$(printf ' -> MAIL FROM:<alice@sender.test>\n -> RCPT TO:<bob@example.test>\n -> DATA\n<-  250 2.1.0 Ok\n<-  250 2.1.5 Ok\n<-  354 ')"
	assert_line --regexp '^<-  250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	grep -qx 'Subject: dots and 8 bits' "$(delivered bob@example.test)"
	# the body as swaks read it (it may add empty lines at the end)
	body_of bob@example.test | head -n 5 >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/body" "$BATS_TEST_TMPDIR/got"
	spool_is_empty
}

@test "curl with two --mail-rcpt: one identical copy in each mailbox" {
	start_inetd
	printf 'Subject: two rcpts\r\n\r\n.dot\r\nbody\r\n' >"$MSG"
	run timeout 20 curl -sS --url "smtp://127.0.0.1:$PORT/client.test" \
		--mail-from alice@sender.test --mail-rcpt bob@example.test \
		--mail-rcpt carol@example.test --upload-file "$MSG"
	assert_success
	sessions_done
	[ "$(delivered_count)" -eq 2 ]
	run body_of bob@example.test
	assert_output "$(printf '.dot\nbody')"
	run body_of carol@example.test
	assert_output "$(printf '.dot\nbody')"
	grep -qx 'Delivered-To: carol@example.test' "$(delivered carol@example.test)"
	run grep -E '^smtp-session\[[0-9]+\]: accepted ' "$LOG"
	assert_output --regexp ' client=127\.0\.0\.1 .* rcpts=2 '
}

@test "smtplib: extensions, sendmail, and a relay-denied recipient raises SMTPRecipientsRefused 554" {
	start_inetd
	run timeout 20 python3 - "$PORT" <<'PY'
import smtplib, sys
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    print('ehlo', s.ehlo()[0])
    for e in ('pipelining', 'chunking', 'smtputf8', 'size', '8bitmime',
              'enhancedstatuscodes', 'starttls', 'auth', 'dsn'):
        print(e, s.has_extn(e))
    print('size', s.esmtp_features['size'])
    print('sendmail', s.sendmail('alice@sender.test', ['bob@example.test'],
                                 b'Subject: smtplib\r\n\r\nfrom smtplib\r\n'))
    try:
        s.sendmail('alice@sender.test', ['eve@elsewhere.test'],
                   b'Subject: relay\r\n\r\nno\r\n')
        print('relay accepted')
    except smtplib.SMTPRecipientsRefused as e:
        print('refused', e.recipients)
PY
	assert_success
	assert_output "$(cat <<'OUT'
ehlo 250
pipelining True
chunking True
smtputf8 True
size True
8bitmime True
enhancedstatuscodes True
starttls False
auth False
dsn False
size 26214400
sendmail {}
refused {'eve@elsewhere.test': (554, b'5.7.1 Relay access denied')}
OUT
)"
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	run body_of bob@example.test
	assert_output 'from smtplib'
	run grep -E '^smtp-session\[[0-9]+\]: rcpt_refused ' "$LOG"
	assert_output --regexp ' client=127\.0\.0\.1 .*to=<eve@elsewhere\.test> code=554 dsn=5\.7\.1 reply="Relay access denied" reason=relay$'
}

@test "smtplib send_message with SMTPUTF8 addresses is delivered to the UTF-8 mailbox" {
	start_inetd
	run timeout 20 python3 - "$PORT" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m['From'] = 'álice@sender.test'
m['To'] = 'bøb@example.test'
m['Subject'] = 'grüße'
m.set_content('ünïcödé body\n')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    print(s.send_message(m))
PY
	assert_success
	assert_output '{}'
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	f=$(delivered bøb@example.test)
	[ -n "$f" ]
	run sed -n '1,2p' "$f"
	assert_output "$(printf 'Return-Path: <álice@sender.test>\nDelivered-To: bøb@example.test')"
	grep -qx 'From: álice@sender.test' "$f"
	grep -qx 'Subject: grüße' "$f"
	run body_of bøb@example.test
	assert_output 'ünïcödé body'
}

@test "smtplib send_message with mail_options=['SMTPUTF8'] (keyword sent twice) is accepted" {
	# send_message adds SMTPUTF8 itself for non-ASCII addresses, so the
	# MAIL command carries "SMTPUTF8 SMTPUTF8 BODY=8BITMIME".
	start_inetd
	run timeout 20 python3 - "$PORT" <<'PY'
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m['From'] = 'álice@sender.test'
m['To'] = 'bøb@example.test'
m['Subject'] = 'explicit'
m.set_content('explicit SMTPUTF8\n')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    try:
        print(s.send_message(m, mail_options=['SMTPUTF8']))
    except smtplib.SMTPException as e:
        print('error', e)
PY
	assert_success
	assert_output '{}'
	sessions_done
	run body_of bøb@example.test
	assert_output 'explicit SMTPUTF8'
}

# ---- concurrency --------------------------------------------------------

@test "50 concurrent clients: 50 messages, each exactly once, spool empty" {
	start_inetd
	run timeout 60 python3 "$CLIENTS/concurrent.py" 127.0.0.1 "$PORT" 50
	assert_success
	assert_output 'sent 50'
	sessions_done
	[ "$(delivered bob@example.test | wc -l)" -eq 50 ]
	[ "$(delivered_count)" -eq 50 ]
	delivered bob@example.test | xargs grep -h '^Message-ID: ' | sort >"$BATS_TEST_TMPDIR/ids"
	seq 50 | sed 's/.*/Message-ID: <concurrent-&@sender.test>/' | sort >"$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/ids"
	# each file carries its own Subject next to its own Message-ID
	for f in $(delivered bob@example.test); do
		n=$(sed -n 's/^Subject: concurrent \([0-9]*\)$/\1/p' "$f")
		grep -qx "Message-ID: <concurrent-$n@sender.test>" "$f"
	done
	[ "$(grep -cE '^smtp-session\[[0-9]+\]: accepted id=[0-9a-f]{16} client=127\.0\.0\.1 ' "$LOG")" -eq 50 ]
	spool_is_empty
}

# ---- clients that go away ------------------------------------------------

@test "a client that connects and closes at once: the session exits, nothing delivered" {
	start_inetd
	run timeout 20 python3 "$CLIENTS/rawsmtp.py" 127.0.0.1 "$PORT" close
	assert_success
	pid=$(session_pid)
	gone_within "$pid" 30
	run grep -E "^smtp-session\[$pid\]: disconnect " "$LOG"
	assert_output --regexp 'reason=(eof|read_error) messages=0 accepted=0 errors=0$'
	[ "$(delivered_count)" -eq 0 ]
	spool_is_empty
}

@test "a client that resets the connection in the middle of DATA: nothing delivered, the session exits" {
	start_inetd
	run timeout 20 python3 "$CLIENTS/rawsmtp.py" 127.0.0.1 "$PORT" rst-data
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	n=${#lines[@]}
	assert_line --index $((n - 3)) '250 2.1.0 Ok'
	assert_line --index $((n - 2)) '250 2.1.5 Ok'
	assert_line --index $((n - 1)) '354 End data with <CR><LF>.<CR><LF>'
	pid=$(session_pid)
	# SMTP_TIMEOUT is 10 s: the session must notice the reset, not time out
	gone_within "$pid" 30
	run grep -E "^smtp-session\[$pid\]: (message_aborted|accepted|disconnect) " "$LOG"
	assert_line --index 0 --regexp '^smtp-session\[[0-9]+\]: message_aborted .*reason="client gone"$'
	refute_output --partial ' accepted id='
	[ "$(delivered_count)" -eq 0 ]
	spool_is_empty
}

# ---- protocol over a real socket -------------------------------------------

@test "pipelining: EHLO, MAIL, RCPTs and DATA in one send(), all replies come back" {
	start_inetd
	run timeout 20 python3 "$CLIENTS/rawsmtp.py" 127.0.0.1 "$PORT" pipeline
	assert_success
	assert_line --index 12 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_output "$(cat <<OUT
220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
250 2.1.0 Ok
250 2.1.5 Ok
554 5.7.1 Relay access denied
354 End data with <CR><LF>.<CR><LF>
${lines[12]}
221 2.0.0 mx.test Bye
EOF
OUT
)"
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	run body_of bob@example.test
	assert_output "$(printf '.dot\nbody')"
}

@test "whole-session timeout over a socket: idle client gets 421 4.4.2, then the server closes" {
	export SMTP_SESSION_TIMEOUT=2
	start_inetd
	run timeout 20 python3 "$CLIENTS/rawsmtp.py" 127.0.0.1 "$PORT" idle
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 1 '421 4.4.2 mx.test Timeout, closing connection'
	assert_line --index 2 'EOF'
	[ "${#lines[@]}" -eq 4 ]
	# 2 s, not the 10 s of SMTP_TIMEOUT
	elapsed=${lines[3]#elapsed=}
	awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.5 && e < 5) }'
	sessions_done
	run grep -E '^smtp-session\[[0-9]+\]: disconnect ' "$LOG"
	assert_output --regexp 'reason=timeout '
}

@test "whole-session timeout ends a busy client too (NOOP every 0.5 s)" {
	export SMTP_SESSION_TIMEOUT=2
	start_inetd
	run timeout 20 python3 "$CLIENTS/rawsmtp.py" 127.0.0.1 "$PORT" busy
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 1 '250 2.0.0 Ok'
	n=${#lines[@]}
	assert_line --index $((n - 3)) '421 4.4.2 mx.test Timeout, closing connection'
	assert_line --index $((n - 2)) 'EOF'
	elapsed=${lines[n - 1]#elapsed=}
	awk -v e="$elapsed" 'BEGIN { exit !(e >= 1.5 && e < 5) }'
	sessions_done
}

@test "the session sets TCP_NODELAY on its connection (no Nagle stall after TLS tickets)" {
	PORT=$(free_port)
	sd_env
	local trace=$BATS_TEST_TMPDIR/trace
	[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0
	start_server systemd-socket-activate -l "127.0.0.1:$PORT" -a --inetd \
		"${SD_ENV[@]}" -E ASAN_OPTIONS strace -o "$trace" -e trace=setsockopt "$SESSION"
	run timeout 20 python3 -c "
import smtplib; s = smtplib.SMTP('127.0.0.1', $PORT); s.ehlo('client.test'); s.quit()"
	assert_success
	sessions_done
	grep -q 'setsockopt(0, SOL_TCP, TCP_NODELAY, \[1\], 4) = 0' "$trace"
}
