# Operations: smtp-session under the real tcpserver with real tcprules
# cdbs (contrib/tcpserver), the supervision run scripts, and the journal's
# native protocol (log.c, contrib/journald.md) against a datagram socket
# that stands in for journald at /run/systemd/journal/socket inside a
# private mount namespace (the host's /run is never touched).
load helper

CONTRIB=$BATS_TEST_DIRNAME/../contrib

setup() {
	common_setup
	SERVER_PID=
	PORT=
	CDB=$BATS_TEST_TMPDIR/smtp.cdb
	IN=$BATS_TEST_TMPDIR/in         # journal_run's files
	OUT=$BATS_TEST_TMPDIR/out
	ERR=$BATS_TEST_TMPDIR/err
	DG=$BATS_TEST_TMPDIR/dgrams
	# relayed recipients go to a fake that keeps what it got
	export SMTP_RELAY_DELIVER=$FAKES/save FAKE_OUT=$BATS_TEST_TMPDIR/relay
}

teardown() { stop_server; }

# The body (after the first empty line) of the one message for $1.
body_of() {
	local f
	f=$(delivered "$1")
	[ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] || return 1
	sed '1,/^$/d' "$f"
}

# ---- tcpserver ----------------------------------------------------------

# Compiles the rules on stdin into $CDB with the real tcprules.
rules() {
	tcprules "$CDB" "$CDB.tmp"
}

# tcpserver with the rules in $CDB; sessions' stderr and tcpserver's -v
# lines go to $LOG.  The session runs as root here: SMTP_ALLOW_ROOT=1
# reaches it through tcpserver's environment, like every SMTP_* variable.
start_tcpserver() {
	PORT=$(free_port)
	unset TCPREMOTEIP               # tcpserver sets the real one
	tcpserver -v -R -H -l 0 -x "$CDB" 127.0.0.1 "$PORT" "$SESSION" \
		</dev/null >"$BATS_TEST_TMPDIR/server.out" 2>>"$LOG" 3>&- &
	SERVER_PID=$!
	wait_listen "$PORT" || fail "nothing listens on port $PORT"
}

# No session process left under tcpserver (at most 5 s).
sessions_done() {
	for _ in $(seq 50); do
		[ -z "$(pgrep -P "$SERVER_PID")" ] && return 0
		sleep 0.1
	done
	return 1
}

# dialog CMD...: one smtplib session to 127.0.0.1:$PORT (from address
# $SRC if set).  Prints the greeting, EHLO's first line, then one
# "code text" line per command; "DATA" sends a two-line message.  The id
# in "queued as" becomes <ID>.
dialog() {
	timeout 20 python3 - "$PORT" "$@" <<'PY' | sed 's/queued as [0-9a-f.]*$/queued as <ID>/'
import os, smtplib, sys
def show(r):
    print(r[0], r[1].decode().split('\n')[0])
s = smtplib.SMTP(timeout=10, source_address=(os.environ.get('SRC', '127.0.0.1'), 0))
try:
    show(s.connect('127.0.0.1', int(sys.argv[1])))
except smtplib.SMTPServerDisconnected:
    print('closed before the greeting')
    sys.exit(0)
show(s.ehlo('client.test'))
for cmd in sys.argv[2:]:
    if cmd == 'DATA':
        show(s.data(b'Subject: ops\r\n\r\nhello\r\n'))
    else:
        show(s.docmd(cmd))
PY
}

@test "tcpserver: the shipped smtp.rules lets 127.0.0.1 relay (RELAYCLIENT), mail is delivered" {
	rules < "$CONTRIB/tcpserver/smtp.rules"
	start_tcpserver
	run dialog 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<carol@other.test>' \
		'RCPT TO:<bob@example.test>' DATA QUIT
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.0.0 Ok: queued as <ID>
221 2.0.0 mx.test Bye
OUT
)"
	sessions_done
	# bob in the Maildir, carol to the relay program (SMTP_RELAY_DELIVER)
	[ "$(delivered_count)" -eq 1 ]
	run tr '\0' '|' < "$FAKE_OUT.env"
	assert_output 'Falice@sender.test|Tcarol@other.test||'
	run tail -n 1 "$FAKE_OUT.msg"
	assert_output 'hello'
	run body_of bob@example.test
	assert_output 'hello'
	# the client address came from the socket
	run grep -c '^smtp-session\[[0-9]*\]: connect id=[0-9a-f]* client=127\.0\.0\.1 ' "$LOG"
	assert_output 1
}

@test "tcpserver: the shipped smtp.rules for clients from five addresses (private network namespace)" {
	command -v ip >/dev/null || skip "ip(8) (iproute2) is missing"
	unshare -n true 2>/dev/null || skip "no network namespaces here"
	rules < "$CONTRIB/tcpserver/smtp.rules"
	PORT=$(free_port)
	unset TCPREMOTEIP
	export PORT CDB SESSION LOG
	export -f dialog wait_listen
	# In its own network namespace, lo also carries the client addresses;
	# tcpserver listens on 127.0.0.1 there and dies with the namespace.
	run timeout 60 unshare -n bash -c '
		ip link set lo up || exit 97
		for a in 10.1.2.3 192.0.2.7 198.51.100.9 203.0.113.9; do
			ip addr add "$a/32" dev lo || exit 97
		done
		tcpserver -v -R -H -l 0 -x "$CDB" 127.0.0.1 "$PORT" "$SESSION" \
			</dev/null >/dev/null 2>>"$LOG" &
		pid=$!
		trap "kill $pid" EXIT
		trap "exit 1" TERM INT
		wait_listen "$PORT" || exit 98
		for SRC in 127.0.0.1 10.1.2.3 192.0.2.7 198.51.100.9 203.0.113.9; do
			export SRC
			echo "== $SRC"
			dialog "MAIL FROM:<alice@sender.test>" "RCPT TO:<carol@other.test>" \
				"RCPT TO:<r1@example.test>" "RCPT TO:<r2@example.test>" \
				"RCPT TO:<r3@example.test>" "RCPT TO:<r4@example.test>" \
				"RCPT TO:<r5@example.test>" "RCPT TO:<r6@example.test>" QUIT
		done'
	assert_success
	assert_output "$(cat <<'OUT'
== 127.0.0.1
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
221 2.0.0 mx.test Bye
== 10.1.2.3
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
221 2.0.0 mx.test Bye
== 192.0.2.7
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
554 5.7.1 Relay access denied
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients
221 2.0.0 mx.test Bye
== 198.51.100.9
closed before the greeting
== 203.0.113.9
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
554 5.7.1 Relay access denied
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
221 2.0.0 mx.test Bye
OUT
)"
	# each session saw its real client address
	for a in 127.0.0.1 10.1.2.3 192.0.2.7 203.0.113.9; do
		grep -q "^smtp-session\[[0-9]*\]: connect id=[0-9a-f]* client=$a " "$LOG"
	done
	grep -q '^tcpserver: deny [0-9]* 0:127\.0\.0\.1:[0-9]* :198\.51\.100\.9::[0-9]*$' "$LOG"
	! grep -q 'client=198\.51\.100\.9' "$LOG"
}

@test "tcpserver: a rule without RELAYCLIENT: other domains get 554 5.7.1, local ones 250" {
	rules <<'RULES'
10.:allow,RELAYCLIENT=""
127.0.0.1:allow
:allow,RELAYCLIENT=""
RULES
	start_tcpserver
	run dialog 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<carol@other.test>' \
		'RCPT TO:<bob@example.test>' DATA QUIT
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
554 5.7.1 Relay access denied
250 2.1.5 Ok
250 2.0.0 Ok: queued as <ID>
221 2.0.0 mx.test Bye
OUT
)"
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	run body_of bob@example.test
	assert_output 'hello'
}

@test "tcpserver: a per-IP SMTP_MAX_RCPTS=\"1\" overrides the server's value: 452 4.5.3 on the second RCPT" {
	export SMTP_MAX_RCPTS=50        # tcpserver's own environment
	rules <<'RULES'
127.0.0.1:allow,SMTP_MAX_RCPTS="1"
192.0.2.7:allow,SMTP_MAX_RCPTS="5"
:allow
RULES
	start_tcpserver
	run dialog 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<bob@example.test>' \
		'RCPT TO:<dan@example.test>' DATA QUIT
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients
250 2.0.0 Ok: queued as <ID>
221 2.0.0 mx.test Bye
OUT
)"
	sessions_done
	[ "$(delivered_count)" -eq 1 ]
	run body_of bob@example.test
	assert_output 'hello'
}

@test "tcpserver: the server's own SMTP_MAX_RCPTS holds for an address without an override" {
	export SMTP_MAX_RCPTS=2
	rules <<'RULES'
192.0.2.7:allow,SMTP_MAX_RCPTS="1"
:allow
RULES
	start_tcpserver
	run dialog 'MAIL FROM:<alice@sender.test>' 'RCPT TO:<bob@example.test>' \
		'RCPT TO:<dan@example.test>' 'RCPT TO:<eve@example.test>' QUIT
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients
221 2.0.0 mx.test Bye
OUT
)"
}

@test "tcpserver: a deny rule closes the connection before any session starts" {
	rules <<'RULES'
127.0.0.1:deny
:allow
RULES
	start_tcpserver
	run timeout 20 python3 - "$PORT" <<'PY'
import socket, sys
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])), 10)
data = b''
while True:
    b = c.recv(4096)
    if not b:
        break
    data += b
print('received %d bytes, then EOF' % len(data))
PY
	assert_success
	assert_output 'received 0 bytes, then EOF'
	sessions_done
	run grep -c '^tcpserver: deny [0-9]* 0:127\.0\.0\.1:[0-9]* :127\.0\.0\.1::[0-9]*$' "$LOG"
	assert_output 1
	run grep -c '^smtp-session\[' "$LOG"
	assert_output 0
}

@test "contrib: daemontools and runit run scripts are executable sh, run tcpserver with the cdb as smtpd" {
	local f
	for f in daemontools/run daemontools/log/run runit/run runit/log/run; do
		[ -x "$CONTRIB/$f" ]
		sh -n "$CONTRIB/$f"
		[ "$(head -1 "$CONTRIB/$f")" = '#!/bin/sh' ]
	done
	for f in daemontools/run runit/run; do
		grep -qxF "$(printf '\t%s' 'tcpserver -v -R -H -l 0 -x ./smtp.cdb -c 64 -u "$SMTPUID" -g "$SMTPGID" \')" "$CONTRIB/$f"
		grep -qxF "$(printf '\t%s' '0 25 /usr/local/sbin/smtp-session')" "$CONTRIB/$f"
		grep -qx 'SMTPUID=$(id -u smtpd) || exit 1' "$CONTRIB/$f"
	done
	grep -qx 'exec envdir ./env \\' "$CONTRIB/daemontools/run"
	grep -qx 'exec chpst -e ./env \\' "$CONTRIB/runit/run"
}

# ---- journald native protocol ---------------------------------------------

# journal_run [nosocket]: runs the session with stdin $IN (client lines,
# CRLF added), stdout $OUT, stderr $ERR, in a private mount namespace in
# which a tmpfs covers /run/systemd/journal (or the nearest existing
# parent, so nothing is created on the host) and, unless "nosocket",
# a Python AF_UNIX datagram socket is bound at
# /run/systemd/journal/socket.  Each datagram received lands in
# $DG/N (N = 1, 2, ...).  Returns the session's exit status.
journal_run() {
	mkdir -p "$DG"
	sed 's/$/\r/' "$IN" > "$IN.crlf"
	touch "$ERR"
	timeout 30 unshare -m --propagation private bash -c '
		set -e
		for d in /run/systemd/journal /run/systemd /run; do
			[ -d "$d" ] && break
		done
		mount -n -t tmpfs -o mode=0755,size=1m smtp-ops-test "$d"
		mkdir -p /run/systemd/journal
		exec python3 - "$@" <<'"'PY'"'
import os, select, socket, subprocess, sys
path, dgdir, infile, outfile, errfile = sys.argv[1:6]
cmd = sys.argv[6:]
sock = None
if path != "-":
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
n = 0
def save(d):
    global n
    n += 1
    with open(os.path.join(dgdir, str(n)), "wb") as f:
        f.write(d)
with open(infile, "rb") as i, open(outfile, "wb") as o, open(errfile, "ab") as e:
    p = subprocess.Popen(cmd, stdin=i, stdout=o, stderr=e)
while p.poll() is None:
    if sock:
        r, _, _ = select.select([sock], [], [], 0.05)
        if r:
            save(sock.recv(1 << 16))
    else:
        try:
            p.wait(0.05)
        except subprocess.TimeoutExpired:
            pass
if sock:
    sock.setblocking(False)
    while True:
        try:
            save(sock.recv(1 << 16))
        except BlockingIOError:
            break
sys.exit(p.returncode)
PY
' bash "$([ "${1:-}" = nosocket ] && echo - || echo /run/systemd/journal/socket)" \
		"$DG" "$IN.crlf" "$OUT" "$ERR" "$SESSION"
}

# All datagrams, in order, one "-- N" line before each; the session id
# becomes <ID>, the message id <MSGID>, the deliver time <MS>.
datagrams() {
	local f id
	id=$(sed -n 's/^SMTP_ID=//p' "$DG/1")
	for f in $(ls "$DG" | sort -n); do
		echo "-- $f"
		cat "$DG/$f"
	done | sed -e "s/$id/<ID>/g" -e 's/<ID>\.[0-9]*/<MSGID>/g' \
		   -e 's/deliver_ms=[0-9]*/deliver_ms=<MS>/' \
		   -e 's/^SMTP_DELIVER_MS=[0-9]*$/SMTP_DELIVER_MS=<MS>/' \
		   -e 's/delay=[0-9.]*$/delay=<DELAY>/' \
		   -e 's/^SMTP_DELAY=[0-9.]*$/SMTP_DELAY=<DELAY>/'
}

# The stderr lines without "smtp-session[PID]: ", ids replaced as above.
stderr_lines() {
	local id
	id=$(sed -n '1s/.* id=\([0-9a-f]*\) .*/\1/p' "$ERR")
	sed -e 's/^smtp-session\[[0-9]*\]: //' -e "s/$id/<ID>/g" \
	    -e 's/<ID>\.[0-9]*/<MSGID>/g' -e 's/deliver_ms=[0-9]*/deliver_ms=<MS>/' \
	    -e 's/delay=[0-9.]*$/delay=<DELAY>/' "$ERR"
}

need_unshare() {
	unshare -m --propagation private true 2>/dev/null ||
		skip "no mount namespaces here (unshare -m needs CAP_SYS_ADMIN)"
}

message_transcript() {
	cat > "$IN" <<'IN'
EHLO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: journal

hello
.
QUIT
IN
}

MESSAGE_DATAGRAMS='-- 1
MESSAGE=connect id=<ID> client=192.0.2.1 country=-- port= host=unknown
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=connect
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_PORT=
SMTP_HOST=unknown
-- 2
MESSAGE=mail id=<ID> client=192.0.2.1 country=-- sender=alice@sender.test
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=mail
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_SENDER=alice@sender.test
-- 3
MESSAGE=accepted id=<ID> client=192.0.2.1 country=-- msgid=<MSGID> sender=alice@sender.test rcpts=1 size=27 reply="Ok: queued" deliver_status=0 deliver_ms=<MS>
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=accepted
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_MSGID=<MSGID>
SMTP_SENDER=alice@sender.test
SMTP_RCPTS=1
SMTP_SIZE=27
SMTP_REPLY=Ok: queued
SMTP_DELIVER_STATUS=0
SMTP_DELIVER_MS=<MS>
-- 4
MESSAGE=delivered id=<ID> client=192.0.2.1 country=-- client_name=unknown helo=client.test queue_id=<MSGID> message_id= from=<alice@sender.test> to=<bob@example.test> size=27 route=local part_status=0 code=250 dsn=2.0.0 reply="Ok: queued as <MSGID>" delay=<DELAY>
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=delivered
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_CLIENT_NAME=unknown
SMTP_HELO=client.test
SMTP_QUEUE_ID=<MSGID>
SMTP_MESSAGE_ID=
SMTP_FROM=<alice@sender.test>
SMTP_TO=<bob@example.test>
SMTP_SIZE=27
SMTP_ROUTE=local
SMTP_PART_STATUS=0
SMTP_CODE=250
SMTP_DSN=2.0.0
SMTP_REPLY=Ok: queued as <MSGID>
SMTP_DELAY=<DELAY>
-- 5
MESSAGE=disconnect id=<ID> client=192.0.2.1 country=-- reason=quit messages=1 accepted=1 errors=0
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=disconnect
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_REASON=quit
SMTP_MESSAGES=1
SMTP_ACCEPTED=1
SMTP_ERRORS=0'

MESSAGE_LINES='connect id=<ID> client=192.0.2.1 country=-- port= host=unknown
mail id=<ID> client=192.0.2.1 country=-- sender=alice@sender.test
accepted id=<ID> client=192.0.2.1 country=-- msgid=<MSGID> sender=alice@sender.test rcpts=1 size=27 reply="Ok: queued" deliver_status=0 deliver_ms=<MS>
delivered id=<ID> client=192.0.2.1 country=-- client_name=unknown helo=client.test queue_id=<MSGID> message_id= from=<alice@sender.test> to=<bob@example.test> size=27 route=local part_status=0 code=250 dsn=2.0.0 reply="Ok: queued as <MSGID>" delay=<DELAY>
disconnect id=<ID> client=192.0.2.1 country=-- reason=quit messages=1 accepted=1 errors=0'

REPLIES='220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as <MSGID>
221 2.0.0 mx.test Bye'

# $OUT without CR, the message id replaced.
replies() {
	tr -d '\r' < "$OUT" | sed 's/queued as [0-9a-f]*\.[0-9]*$/queued as <MSGID>/'
}

@test "journal: SMTP_LOG=journal sends each event as one datagram of fields, nothing on stderr" {
	need_unshare
	message_transcript
	export SMTP_LOG=journal
	run journal_run
	assert_success
	run replies
	assert_output "$REPLIES"
	run datagrams
	assert_output "$MESSAGE_DATAGRAMS"
	# the message id in the journal is the one the client was told
	grep -qx "SMTP_MSGID=$(tr -d '\r' < "$OUT" | sed -n 's/^250 2.0.0 Ok: queued as //p')" "$DG/3"
	# every datagram: FIELD=value lines only, no value spans two lines
	! grep -hvE '^[A-Z][A-Z0-9_]*=' "$DG"/*
	[ ! -s "$ERR" ]
	run body_of bob@example.test
	assert_output 'hello'
}

@test "journal: SMTP_LOG=auto uses the journal when JOURNAL_STREAM is stderr's device:inode" {
	need_unshare
	message_transcript
	export SMTP_LOG=auto
	touch "$ERR"
	JOURNAL_STREAM=$(stat -L -c %d:%i "$ERR")
	export JOURNAL_STREAM
	run journal_run
	assert_success
	run datagrams
	assert_output "$MESSAGE_DATAGRAMS"
	[ ! -s "$ERR" ]
}

@test "journal: SMTP_LOG=auto with JOURNAL_STREAM naming another file, or unset, logs to stderr" {
	need_unshare
	message_transcript
	export SMTP_LOG=auto
	touch "$ERR" "$BATS_TEST_TMPDIR/other"
	JOURNAL_STREAM=$(stat -L -c %d:%i "$BATS_TEST_TMPDIR/other")
	export JOURNAL_STREAM
	run journal_run
	assert_success
	[ -z "$(ls -A "$DG")" ]
	run stderr_lines
	assert_output "$MESSAGE_LINES"

	unset JOURNAL_STREAM
	rm -rf "$ERR" "$MAILDIR_ROOT"
	run journal_run
	assert_success
	[ -z "$(ls -A "$DG")" ]
	run stderr_lines
	assert_output "$MESSAGE_LINES"
}

@test "journal: SMTP_LOG=stderr ignores a matching JOURNAL_STREAM" {
	need_unshare
	message_transcript
	export SMTP_LOG=stderr
	touch "$ERR"
	JOURNAL_STREAM=$(stat -L -c %d:%i "$ERR")
	export JOURNAL_STREAM
	run journal_run
	assert_success
	[ -z "$(ls -A "$DG")" ]
	run stderr_lines
	assert_output "$MESSAGE_LINES"
}

@test "journal: without the journal socket the same events go to stderr (fallback)" {
	need_unshare
	message_transcript
	export SMTP_LOG=journal
	run journal_run nosocket
	assert_success
	run replies
	assert_output "$REPLIES"
	[ -z "$(ls -A "$DG")" ]
	run stderr_lines
	assert_output "$MESSAGE_LINES"
}

@test "journal: AUTH events carry SMTP_USER, SMTP_MECHANISM, SMTP_RESULT; a forged newline stays in its field" {
	need_unshare
	local pw=Jj4-Journal-Juliet
	printf 'alice:%s\n' "$(printf '%s\n' "$pw" | mkpasswd -s -m sha512crypt)" \
		> "$BATS_TEST_TMPDIR/passwd"
	chmod 600 "$BATS_TEST_TMPDIR/passwd"
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd SMTP_AUTH=optional \
	       SMTP_AUTH_PLAINTEXT=1 SMTP_LOG=journal
	{
		echo 'EHLO client.test'
		# user "eve<LF>SMTP_RESULT=ok": tries to forge a field
		echo "AUTH PLAIN $(printf '\0eve\nSMTP_RESULT=ok\0x' | base64 -w0)"
		echo "AUTH PLAIN $(printf '\0alice\0%s' "$pw" | base64 -w0)"
		echo 'QUIT'
	} > "$IN"
	run journal_run
	assert_success
	run datagrams
	assert_output "$(cat <<'OUT'
-- 1
MESSAGE=connect id=<ID> client=192.0.2.1 country=-- port= host=unknown
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=connect
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_PORT=
SMTP_HOST=unknown
-- 2
MESSAGE=auth id=<ID> client=192.0.2.1 country=-- mechanism=PLAIN user=eve\x0aSMTP_RESULT=ok result=failed reason="unknown user" failures=1
PRIORITY=4
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=auth
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_MECHANISM=PLAIN
SMTP_USER=eve\x0aSMTP_RESULT=ok
SMTP_RESULT=failed
SMTP_REASON=unknown user
SMTP_FAILURES=1
-- 3
MESSAGE=auth id=<ID> client=192.0.2.1 country=-- mechanism=PLAIN user=alice result=ok
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=auth
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_MECHANISM=PLAIN
SMTP_USER=alice
SMTP_RESULT=ok
-- 4
MESSAGE=disconnect id=<ID> client=192.0.2.1 country=-- reason=quit messages=0 accepted=0 errors=1
PRIORITY=6
SYSLOG_FACILITY=2
SYSLOG_IDENTIFIER=smtp-session
SMTP_EVENT=disconnect
SMTP_ID=<ID>
SMTP_CLIENT=192.0.2.1
SMTP_COUNTRY=--
SMTP_REASON=quit
SMTP_MESSAGES=0
SMTP_ACCEPTED=0
SMTP_ERRORS=1
OUT
)"
	! grep -hvE '^[A-Z][A-Z0-9_]*=' "$DG"/*
	! grep -rqF "$pw" "$DG" "$ERR"
	[ ! -s "$ERR" ]
}
