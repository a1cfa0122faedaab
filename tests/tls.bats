# TLS: STARTTLS (RFC 3207), implicit TLS (RFC 8314), ticket resumption
# across processes, --check-config and --new-ticket-key, with real
# clients (openssl s_client, swaks, Python ssl/smtplib, curl) against
# smtp-session under systemd-socket-activate (one process per connection).
load helper

CLIENTS=$BATS_TEST_DIRNAME/clients
# the system's Python starts in a fraction of the time of a pyenv shim
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

setup_file() {
	local d=$BATS_FILE_TMPDIR
	# the server's certificate: ECDSA P-256, self-signed, for mx.test
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.test -addext subjectAltName=DNS:mx.test -days 30 \
		-keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
	# one that expires within the 14 days --check-config warns about
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.test -days 2 -keyout "$d/soon-key.pem" \
		-out "$d/soon-cert.pem" 2>/dev/null
	# a key that belongs to no certificate here
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$d/other-key.pem" 2>/dev/null
	# an expired certificate (openssl req cannot back-date: openssl ca)
	mkdir -p "$d/ca"
	: > "$d/ca/index.txt"
	echo 01 > "$d/ca/serial"
	printf '%s\n' '[ca]' 'default_ca = d' '[d]' "database = $d/ca/index.txt" \
		"new_certs_dir = $d/ca" "serial = $d/ca/serial" 'default_md = sha256' \
		'policy = p' '[p]' 'commonName = supplied' > "$d/ca/ca.cnf"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.test -keyout "$d/old-key.pem" -out "$d/old.csr" 2>/dev/null
	openssl ca -batch -config "$d/ca/ca.cnf" -selfsign -keyfile "$d/old-key.pem" \
		-in "$d/old.csr" -startdate 20200101000000Z -enddate 20200102000000Z \
		-out "$d/old-cert.pem" 2>/dev/null
}

setup() {
	common_setup
	export SMTP_TLS_CERT=$BATS_FILE_TMPDIR/cert.pem
	export SMTP_TLS_KEY=$BATS_FILE_TMPDIR/key.pem
	export FAKE_OUT=$BATS_TEST_TMPDIR/out
	export SMTP_TIMEOUT=5
	unset SMTP_TLS SMTP_TLS_IMPLICIT SMTP_TLS_TICKET_KEYS
	SERVERS=()
}

teardown() {
	local p
	for p in "${SERVERS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	true
}

# How many servers have said "Listening on" in $LOG so far.
listen_lines() {
	local n
	n=$(grep -c '^Listening on' "$LOG" 2>/dev/null)
	echo "${n:-0}"
}

# Runs smtp-session under systemd-socket-activate on a free port ($PORT),
# one process per connection, with the test's environment plus the
# NAME=VALUE arguments.  Its log (and the sessions' logs) go to $LOG.
# Not under `run`: teardown kills every server in SERVERS.
start_server() {
	local v args=() before
	PORT=$(free_port)
	# a second server in one test: wait for its own "Listening on" line
	before=$(listen_lines)
	for v in PATH SMTP_ALLOW_ROOT SMTP_HOSTNAME SMTP_DOMAINS SMTP_SPOOL_DIR \
		SMTP_DELIVER MAILDIR_ROOT SMTP_LOG SMTP_TIMEOUT SMTP_SESSION_TIMEOUT \
		SMTP_TLS_CERT SMTP_TLS_KEY SMTP_TLS SMTP_TLS_IMPLICIT \
		SMTP_TLS_TICKET_KEYS FAKE_OUT ASAN_OPTIONS UBSAN_OPTIONS; do
		[ -n "${!v+set}" ] && args+=(-E "$v")
	done
	for v in "$@"; do
		args+=(-E "$v")
	done
	systemd-socket-activate -l "127.0.0.1:$PORT" -a --inetd "${args[@]}" \
		"$SESSION" >/dev/null 2>>"$LOG" 3>&- &
	SERVERS+=($!)
	for _ in $(seq 50); do
		[ "$(listen_lines)" -gt "$before" ] && return 0
		sleep 0.1
	done
	echo "server did not start" >&2
	return 1
}

# Waits (at most 10 s) until n sessions have ended (systemd-socket-activate
# logs "Child N died with code C" for each).
wait_sessions() {
	for _ in $(seq 100); do
		[ "$(grep -c '^Child .* died' "$LOG")" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

dialog() {
	timeout 20 "$PYTHON" "$CLIENTS/tls_dialog.py" "$PORT" "$@"
}

# openssl s_client; QUIT is sent once the handshake (and the TLS 1.3
# tickets, which arrive after it) are surely through.
sclient() {
	{ sleep 0.5; printf 'QUIT\r\n'; } |
		timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -nocommands "$@" 2>&1
}

EHLO_TLS='250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8'
EHLO_PLAIN='250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-STARTTLS
250-CHUNKING
250 SMTPUTF8'

# ---- STARTTLS dialogue ------------------------------------------------------

@test "STARTTLS: advertised before TLS only; the session forgets EHLO and the envelope; again 503, with argument 501" {
	start_server
	run dialog '<' '>EHLO client.test' '<' '>MAIL FROM:<a@sender.test>' '<' \
		'>STARTTLS' '<' tls \
		'>MAIL FROM:<a@sender.test>' '<' '>EHLO client.test' '<' \
		'>RCPT TO:<bob@example.test>' '<' \
		'>STARTTLS' '<' '>STARTTLS now' '<' '>QUIT' '<' eof
	assert_success
	assert_output "220 mx.test ESMTP smtp-session
$EHLO_PLAIN
250 2.1.0 Ok
220 2.0.0 Ready to start TLS
TLS TLSv1.3
503 5.5.1 Error: send HELO/EHLO first
$EHLO_TLS
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: TLS already active
501 5.5.4 Syntax: STARTTLS takes no argument
221 2.0.0 mx.test Bye
EOF close_notify"
	wait_sessions 1
	run grep -E ' tls id=[0-9a-f]{16} client=127\.0\.0\.1 .*version=TLSv1\.3 cipher=TLS_[A-Z0-9_]+ bits=(128|256) cert_loads=1 resumed=no$' "$LOG"
	assert_success
	grep -q '^Child .* died with code 0$' "$LOG"
}

@test "injection: plaintext pipelined after STARTTLS is discarded, never executed (CVE-2011-0411)" {
	start_server
	# STARTTLS, RSET and HELP in one write: neither RSET's 250 nor HELP's
	# 214 may ever arrive; the first reply over TLS answers NOOP, the next QUIT.
	run dialog '<' '>EHLO client.test' '<' '=STARTTLS\r\nRSET\r\nHELP\r\n' '<' tls \
		'>NOOP' '<' '>QUIT' '<' eof
	assert_success
	assert_output "220 mx.test ESMTP smtp-session
$EHLO_PLAIN
220 2.0.0 Ready to start TLS
TLS TLSv1.3
250 2.0.0 Ok
221 2.0.0 mx.test Bye
EOF close_notify"
}

# ---- RFC 3207 4.2: what is forgotten at STARTTLS ---------------------------

EHLO_PLAIN_AUTH='250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-STARTTLS
250-AUTH PLAIN LOGIN
250-CHUNKING
250 SMTPUTF8'
EHLO_TLS_AUTH=$EHLO_AUTH
PW_ALICE=Xq7-Secret-Alpha

# AUTH over plaintext (SMTP_AUTH_PLAINTEXT=1) against a password file with
# alice; the NAME=VALUE arguments go on to start_server.
start_auth_server() {
	printf 'alice:%s\n' "$(printf '%s\n' "$PW_ALICE" | mkpasswd -s -m yescrypt)" \
		> "$BATS_TEST_TMPDIR/passwd"
	chmod 600 "$BATS_TEST_TMPDIR/passwd"
	start_server SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1 \
		SMTP_PASSWD="$BATS_TEST_TMPDIR/passwd" "$@"
}

# AUTH PLAIN with an initial response for alice and the password $1.
auth_plain() {
	printf 'AUTH PLAIN %s' "$(printf '\0alice\0%s' "$1" | base64 -w0)"
}

@test "STARTTLS forgets AUTH and HELO (RFC 3207 4.2): no relay, ESMTPS not ESMTPSA, EHLO again, AUTH again" {
	start_auth_server SMTP_DELIVER="$FAKES/auth-env.sh" SMTP_RELAY_DELIVER="$FAKES/auth-env.sh"
	run dialog '<' '>EHLO before.test' '<' ">$(auth_plain "$PW_ALICE")" '<' \
		'>STARTTLS' '<' tls \
		'>MAIL FROM:<alice@example.test>' '<' \
		'>EHLO after.test' '<' \
		'>MAIL FROM:<alice@example.test>' '<' \
		'>RCPT TO:<friend@elsewhere.test>' '<' \
		'>RCPT TO:<bob@example.test>' '<' \
		'>DATA' '<' '>Subject: t' '>' '>hello' '>.' '<' \
		">$(auth_plain "$PW_ALICE")" '<' \
		'>MAIL FROM:<alice@example.test>' '<' \
		'>RCPT TO:<friend@elsewhere.test>' '<' '>RSET' '<' \
		'>QUIT' '<' eof
	assert_success
	assert_output --regexp "^220 mx.test ESMTP smtp-session
$EHLO_PLAIN_AUTH
235 2.7.0 Authentication successful
220 2.0.0 Ready to start TLS
TLS TLSv1.3
503 5.5.1 Error: send HELO/EHLO first
$EHLO_TLS_AUTH
250 2.1.0 Ok
554 5.7.1 Relay access denied
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as [0-9a-f]{16}\\.1
235 2.7.0 Authentication successful
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok
221 2.0.0 mx.test Bye
EOF close_notify\$"
	# the message sent between STARTTLS and the second AUTH: no user,
	# "with ESMTPS", and the EHLO name given over TLS only
	[ "$(cat "$FAKE_OUT.user")" = unset ]
	run sed -n 1,2p "$FAKE_OUT.msg"
	assert_line --index 0 'Received: from after.test (unknown [127.0.0.1])'
	assert_line --index 1 --regexp '^	by mx\.test \(smtp-session\) with ESMTPS \(TLS1\.3 [A-Z0-9_]+\)$'
	run grep -c 'before\.test' "$FAKE_OUT.msg"
	assert_output 0
	wait_sessions 1
	run grep -c ' auth .*user=alice result=ok' "$LOG"
	assert_output 2
	grep -qE ' accepted .*msgid=[0-9a-f]{16}\.1 ' "$LOG"
	run grep -E ' accepted .* user=' "$LOG"
	assert_failure
}

@test "STARTTLS resets the error count (SMTP_MAX_ERRORS) and the AUTH failure count" {
	# before TLS: two failed AUTHs and two unknown commands (4 errors, 2
	# failures); after it one more of each would reach SMTP_MAX_ERRORS=5
	# and the third failure (421) if the counts were carried over
	start_auth_server SMTP_MAX_ERRORS=5
	run dialog '<' '>EHLO client.test' '<' \
		">$(auth_plain wrong-1)" '<' ">$(auth_plain wrong-2)" '<' \
		'>BOGUS' '<' '>BOGUS' '<' '>STARTTLS' '<' tls \
		'>EHLO client.test' '<' ">$(auth_plain wrong-3)" '<' '>BOGUS' '<' \
		">$(auth_plain "$PW_ALICE")" '<' '>QUIT' '<' eof
	assert_success
	assert_output "220 mx.test ESMTP smtp-session
$EHLO_PLAIN_AUTH
535 5.7.8 Authentication credentials invalid
535 5.7.8 Authentication credentials invalid
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
220 2.0.0 Ready to start TLS
TLS TLSv1.3
$EHLO_TLS_AUTH
535 5.7.8 Authentication credentials invalid
500 5.5.2 Error: command not recognized
235 2.7.0 Authentication successful
221 2.0.0 mx.test Bye
EOF close_notify"
	wait_sessions 1
	# the failure count in the log starts again at 1 after TLS
	run grep -oE ' auth .*result=failed .*failures=[0-9]+' "$LOG"
	assert_line --index 2 --regexp 'failures=1$'
}

@test "STARTTLS when TLS is off or not configured: 502 and not advertised" {
	run smtp <<'IN'
EHLO client.test
STARTTLS
QUIT
IN
	assert_success
	assert_line --index 6 '250-STARTTLS'
	SMTP_TLS=off run smtp <<'IN'
EHLO client.test
STARTTLS
QUIT
IN
	assert_success
	assert_output "220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
502 5.5.1 Error: STARTTLS not offered
221 2.0.0 mx.test Bye"
	unset SMTP_TLS_CERT SMTP_TLS_KEY
	run smtp <<'IN'
EHLO client.test
STARTTLS
QUIT
IN
	assert_success
	assert_line --index 8 '502 5.5.1 Error: STARTTLS not offered'
	refute_line 'STARTTLS'
}

@test "required: MAIL, RCPT, DATA, BDAT (its chunk skipped) and AUTH get 530 before TLS; EHLO works" {
	SMTP_TLS=required run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@sender.test>
RCPT TO:<bob@example.test>
DATA
BDAT 6 LAST
RSET
AUTH PLAIN
NOOP
QUIT
IN
	assert_success
	assert_output "220 mx.test ESMTP smtp-session
$EHLO_PLAIN
530 5.7.0 Must issue a STARTTLS command first
530 5.7.0 Must issue a STARTTLS command first
530 5.7.0 Must issue a STARTTLS command first
530 5.7.0 Must issue a STARTTLS command first
530 5.7.0 Must issue a STARTTLS command first
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
}

@test "required: after STARTTLS the mail goes through" {
	start_server SMTP_TLS=required SMTP_DELIVER="$FAKES/tls-env.sh"
	run dialog '<' '>EHLO client.test' '<' '>MAIL FROM:<a@sender.test>' '<' \
		'>STARTTLS' '<' tls '>EHLO client.test' '<' \
		'>MAIL FROM:<a@sender.test>' '<' '>RCPT TO:<bob@example.test>' '<' \
		'>DATA' '<' '>Subject: t' '>' '>hello' '>.' '<' '>QUIT' '<'
	assert_success
	assert_line --index 9 '530 5.7.0 Must issue a STARTTLS command first'
	assert_line --index 19 '250 2.1.0 Ok'
	assert_line --index 20 '250 2.1.5 Ok'
	assert_line --index 21 '354 End data with <CR><LF>.<CR><LF>'
	assert_line --index 22 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
}

@test "a peer idle after TLS gets 421 4.4.2 over TLS after SMTP_TIMEOUT" {
	start_server SMTP_TIMEOUT=1
	run dialog '<' '>EHLO client.test' '<' '>STARTTLS' '<' tls '<' eof
	assert_success
	assert_line --index 10 'TLS TLSv1.3'
	assert_line --index 11 '421 4.4.2 mx.test Timeout, closing connection'
	assert_line --index 12 'EOF close_notify'
}

# ---- protocol versions, failures -------------------------------------------

@test "TLS 1.0 and 1.1 are refused by the server, TLS 1.2 and 1.3 accepted" {
	start_server
	# SECLEVEL=0 so that the client would offer them; the server says no
	run sclient -starttls smtp -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	assert_failure
	assert_output --partial 'alert protocol version'
	run sclient -starttls smtp -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
	assert_failure
	assert_output --partial 'alert protocol version'
	wait_sessions 2
	run grep -c ' tls_error .*stage=handshake .*unsupported protocol' "$LOG"
	assert_output 2
	run sclient -starttls smtp -tls1_2
	assert_success
	assert_output --partial 'New, TLSv1.2, Cipher is ECDHE-ECDSA-'
	run sclient -starttls smtp -tls1_3
	assert_success
	assert_output --partial 'New, TLSv1.3, Cipher is TLS_'
}

@test "TLS 1.2: the server's cipher order wins over the client's" {
	start_server
	# the client prefers ChaCha20, then AES-256; our list puts AES-128 first
	run sclient -starttls smtp -tls1_2 -cipher \
		'ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256'
	assert_success
	assert_output --partial 'New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256'
}

@test "garbage instead of a ClientHello: logged with OpenSSL's reason, clean exit" {
	start_server
	run dialog '<' '>EHLO client.test' '<' '>STARTTLS' '<' \
		'=GARBAGE GARBAGE GARBAGE\r\n' eof
	assert_success
	assert_line --index 9 '220 2.0.0 Ready to start TLS'
	assert_line --index 10 'EOF'
	wait_sessions 1
	run grep -E ' tls_error .*stage=handshake reason="?error:[0-9A-F]+:SSL routines:[a-z_]*:' "$LOG"
	assert_success
	run grep -E ' disconnect .*reason=tls_failed ' "$LOG"
	assert_success
	run grep '^Child .* died' "$LOG"
	assert_output --regexp '^Child [0-9]+ died with code 0$'
}

@test "a client that stalls in the handshake is dropped after SMTP_TIMEOUT" {
	start_server SMTP_TIMEOUT=1
	# nothing at all after 220; then half a record (a TLS header only)
	SECONDS=0
	run dialog '<' '>EHLO client.test' '<' '>STARTTLS' '<' eof
	assert_success
	assert_line --index 10 'EOF'
	run dialog '<' '>EHLO client.test' '<' '>STARTTLS' '<' 'raw=1603010200' eof
	assert_success
	assert_line --index 10 'EOF'
	[ "$SECONDS" -le 6 ]
	# the handshake as a whole is bounded: one octet every 0.3 s never
	# waits a full second, yet the client is dropped after about one
	run dialog '<' '>EHLO client.test' '<' '>STARTTLS' '<' \
		'drip=16030100c8010000c40303,0.3' eof
	assert_success
	assert_line --index 10 --regexp '^DRIPPED [2-5]$'
	assert_line --index 11 'EOF'
	wait_sessions 3
	run grep -c ' tls_error .*stage=handshake reason=timeout' "$LOG"
	assert_output 3
	run grep -c '^Child .* died with code 0$' "$LOG"
	assert_output 3
}

@test "a peer that drops mid-record after TLS: clean end of session" {
	start_server
	run dialog '<' '>EHLO client.test' '<' '>STARTTLS' '<' tls \
		'>EHLO client.test' '<' 'raw=1703030040616263' close
	assert_success
	wait_sessions 1
	run grep -E ' disconnect .*reason=eof ' "$LOG"
	assert_success
	run grep -c ' tls_error ' "$LOG"
	assert_output 0
	grep -q '^Child .* died with code 0$' "$LOG"
}

@test "implicit TLS: handshake before the greeting; a plaintext client gets nothing" {
	start_server SMTP_TLS_IMPLICIT=1
	run dialog --implicit '<' '>EHLO client.test' '<' '>STARTTLS' '<' '>QUIT' '<' eof
	assert_success
	assert_output "TLS TLSv1.3
220 mx.test ESMTP smtp-session
$EHLO_TLS
503 5.5.1 Error: TLS already active
221 2.0.0 mx.test Bye
EOF close_notify"
	run sclient -tls1_2
	assert_success
	assert_output --partial 'New, TLSv1.2, Cipher is ECDHE-ECDSA-'
	assert_output --partial '220 mx.test ESMTP smtp-session'
	run dialog '>EHLO client.test' eof
	assert_success
	assert_output 'EOF'
	wait_sessions 3
	run grep -c ' tls_error .*stage=handshake' "$LOG"
	assert_output 1
}

@test "implicit TLS: a stalled client is dropped after SMTP_TIMEOUT, without a greeting" {
	start_server SMTP_TLS_IMPLICIT=1 SMTP_TIMEOUT=1
	run dialog eof
	assert_success
	assert_output 'EOF'
	wait_sessions 1
	run grep -c ' tls_error .*stage=handshake reason=timeout' "$LOG"
	assert_output 1
	run grep -c ' connect ' "$LOG"
	assert_output 0
}

# ---- real clients: mail over TLS, the TLS facts ------------------------------

# The delivered message's Received header and the deliver program's SMTP_TLS.
assert_tls_facts() {
	local vers=$1 info
	run head -3 "$FAKE_OUT.msg"
	assert_line --index 1 --regexp "^	by mx\.test \(smtp-session\) with ESMTPS \(TLS$vers [A-Z0-9_-]+\)$"
	info=$(sed -n '2s/.*(\(TLS[^)]*\))$/\1/p' "$FAKE_OUT.msg")
	run cat "$FAKE_OUT.tls"
	assert_output "$info"
	grep -qF "tls=\"$info\"" "$LOG"     # on the accepted line too
}

@test "swaks --tls: mail arrives with the TLS facts in Received and SMTP_TLS" {
	start_server SMTP_DELIVER="$FAKES/tls-env.sh"
	run timeout 20 swaks --server 127.0.0.1 --port "$PORT" --tls --pipeline \
		--from a@sender.test --to bob@example.test --helo client.test
	assert_success
	assert_output --partial '<-  220 2.0.0 Ready to start TLS'
	assert_output --regexp '<~ +250 2\.0\.0 Ok: queued as'
	assert_tls_facts 1.3
	run cat "$FAKE_OUT.tls"
	assert_output --regexp '^TLS1\.3 TLS_(AES_256_GCM_SHA384|AES_128_GCM_SHA256|CHACHA20_POLY1305_SHA256)$'
	grep -q "^Received: from client.test (unknown \[127.0.0.1\])$" "$FAKE_OUT.msg"
}

@test "swaks --tlsc (implicit TLS) and TLS 1.2: cipher in Received" {
	start_server SMTP_TLS_IMPLICIT=1 SMTP_DELIVER="$FAKES/tls-env.sh"
	run timeout 20 swaks --server 127.0.0.1 --port "$PORT" --tlsc \
		--tls-protocol tlsv1_2 --from a@sender.test --to bob@example.test
	assert_success
	assert_output --regexp '<~ +250 2\.0\.0 Ok: queued as'
	assert_tls_facts 1.2
	run cat "$FAKE_OUT.tls"
	assert_output --regexp '^TLS1\.2 ECDHE-ECDSA-(AES256-GCM-SHA384|AES128-GCM-SHA256|CHACHA20-POLY1305)$'
}

@test "Python smtplib starttls() and SMTP_SSL: a 300 kB message arrives byte-exact" {
	start_server
	run timeout 20 "$PYTHON" - "$PORT" "$BATS_TEST_TMPDIR/body" <<'PY'
import smtplib, ssl, sys
port, out = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
body = "Subject: big\r\n\r\n" + "".join(
    "line %06d of a long message over TLS .........................\r\n" % i
    for i in range(4500))
open(out, "w").write(body.replace("\r\n", "\n"))
with smtplib.SMTP("127.0.0.1", port, local_hostname="client.test") as c:
    c.ehlo()
    assert c.has_extn("starttls")
    c.starttls(context=ctx)
    c.ehlo()
    assert not c.has_extn("starttls")
    print(c.sendmail("a@sender.test", ["bob@example.test"], body))
PY
	assert_success
	assert_output '{}'
	start_server SMTP_TLS_IMPLICIT=1
	run timeout 20 "$PYTHON" - "$PORT" <<'PY'
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP_SSL("127.0.0.1", int(sys.argv[1]), context=ctx,
                      local_hostname="client.test") as c:
    print(c.sendmail("a@sender.test", ["carol@example.test"], "Subject: s\r\n\r\nimplicit\r\n"))
PY
	assert_success
	assert_output '{}'
	run delivered_body bob@example.test
	assert_success
	diff <(printf '%s\n' "$output") "$BATS_TEST_TMPDIR/body"
	run delivered_body carol@example.test
	assert_output "$(printf 'Subject: s\n\nimplicit')"
	[ "$(grep -c 'with ESMTPS (TLS1.3 ' "$(delivered bob@example.test)")" = 1 ]
}

@test "curl --ssl-reqd (STARTTLS, -k) and smtps:// (implicit, --cacert)" {
	printf 'Subject: c\r\n\r\ncurl\r\n' > "$BATS_TEST_TMPDIR/m"
	start_server
	run timeout 20 curl -sS -k --ssl-reqd "smtp://127.0.0.1:$PORT" \
		--mail-from a@sender.test --mail-rcpt dave@example.test \
		-T "$BATS_TEST_TMPDIR/m"
	assert_success
	start_server SMTP_TLS_IMPLICIT=1
	run timeout 20 curl -sS --cacert "$SMTP_TLS_CERT" \
		--resolve "mx.test:$PORT:127.0.0.1" "smtps://mx.test:$PORT" \
		--mail-from a@sender.test --mail-rcpt erin@example.test \
		-T "$BATS_TEST_TMPDIR/m"
	assert_success
	run delivered_body dave@example.test
	assert_output "$(printf 'Subject: c\n\ncurl')"
	run delivered_body erin@example.test
	assert_output "$(printf 'Subject: c\n\ncurl')"
}

# ---- resumption across processes --------------------------------------------

@test "resumption across processes: TLS 1.3 and TLS 1.2 tickets with the shared key file" {
	local k=$BATS_TEST_TMPDIR/ticket.keys s=$BATS_TEST_TMPDIR
	"$SESSION" --new-ticket-key "$k"
	start_server SMTP_TLS_TICKET_KEYS="$k"
	run sclient -starttls smtp -tls1_3 -sess_out "$s/s13.pem"
	assert_output --partial 'New, TLSv1.3, Cipher is'
	run sclient -starttls smtp -tls1_3 -sess_in "$s/s13.pem"
	assert_output --partial 'Reused, TLSv1.3, Cipher is'
	run sclient -starttls smtp -tls1_2 -sess_out "$s/s12.pem"
	assert_output --partial 'New, TLSv1.2, Cipher is'
	run sclient -starttls smtp -tls1_2 -sess_in "$s/s12.pem"
	assert_output --partial 'Reused, TLSv1.2, Cipher is'
	wait_sessions 4
	# four processes, the second and the fourth resumed; the certificate
	# callback (tls.c cert_cb) ran for the full handshakes only
	run grep -oE '^smtp-session\[[0-9]+\]: tls .*resumed=(yes|no)$' "$LOG"
	assert_line --index 0 --regexp 'version=TLSv1\.3 .* cert_loads=1 resumed=no$'
	assert_line --index 1 --regexp 'version=TLSv1\.3 .* cert_loads=0 resumed=yes$'
	assert_line --index 2 --regexp 'version=TLSv1\.2 .* cert_loads=1 resumed=no$'
	assert_line --index 3 --regexp 'version=TLSv1\.2 .* cert_loads=0 resumed=yes$'
	[ "$(grep -oE '^smtp-session\[[0-9]+\]: tls ' "$LOG" | sort -u | wc -l)" = 4 ]
}

@test "resumption survives a key rotation; a key rotated out resumes no more" {
	local k=$BATS_TEST_TMPDIR/ticket.keys s=$BATS_TEST_TMPDIR
	"$SESSION" --new-ticket-key "$k"
	start_server SMTP_TLS_TICKET_KEYS="$k"
	run sclient -starttls smtp -sess_out "$s/a.pem"
	assert_output --partial 'New, TLSv1.3'
	run sclient -starttls smtp -tls1_2 -sess_out "$s/b.pem"
	assert_output --partial 'New, TLSv1.2'
	"$SESSION" --new-ticket-key "$k"
	run sclient -starttls smtp -sess_in "$s/a.pem"
	assert_output --partial 'Reused, TLSv1.3'
	run sclient -starttls smtp -tls1_2 -sess_in "$s/b.pem"
	assert_output --partial 'Reused, TLSv1.2'
	"$SESSION" --new-ticket-key "$k"
	"$SESSION" --new-ticket-key "$k"   # the first key is gone now
	run sclient -starttls smtp -tls1_2 -sess_in "$s/b.pem"
	assert_output --partial 'New, TLSv1.2'
}

@test "an RSA certificate and key work too (the key decoded as the certificate's type), TLS 1.3 and 1.2" {
	local d=$BATS_TEST_TMPDIR
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=mx.test -days 2 \
		-keyout "$d/rsa-key.pem" -out "$d/rsa-cert.pem" 2>/dev/null
	# the traditional "BEGIN RSA PRIVATE KEY" form as well as PKCS#8
	openssl rsa -in "$d/rsa-key.pem" -traditional -out "$d/rsa-trad.pem" 2>/dev/null
	start_server SMTP_TLS_CERT="$d/rsa-cert.pem" SMTP_TLS_KEY="$d/rsa-key.pem"
	run sclient -starttls smtp -tls1_3
	assert_output --partial 'New, TLSv1.3, Cipher is'
	assert_output --partial 'Peer signature type: RSA-PSS'
	run sclient -starttls smtp -tls1_2
	assert_output --partial 'Cipher is ECDHE-RSA-AES128-GCM-SHA256'
	start_server SMTP_TLS_CERT="$d/rsa-cert.pem" SMTP_TLS_KEY="$d/rsa-trad.pem"
	run sclient -starttls smtp -tls1_2
	assert_output --partial 'Cipher is ECDHE-RSA-AES128-GCM-SHA256'
	wait_sessions 3
	run grep -c ' tls .* cert_loads=1 resumed=no$' "$LOG"
	assert_output 3
	run grep -c ' tls_error ' "$LOG"
	assert_output 0
}

# The files are read at STARTTLS (unreadable: 454 as before) and parsed
# only when a full handshake needs them: a file that is readable but no
# certificate or key fails that handshake, logged.
@test "certificate or key unreadable: 454 at STARTTLS; unparsable or not matching: the handshake fails, logged" {
	local d=$BATS_TEST_TMPDIR
	SMTP_TLS_KEY=$d/missing.pem run smtp <<'IN'
EHLO client.test
STARTTLS
QUIT
IN
	assert_output "220 mx.test ESMTP smtp-session
$EHLO_PLAIN
454 4.7.0 TLS not available due to temporary reason
221 2.0.0 mx.test Bye"
	grep -qF "tls_error id=" "$LOG"
	grep -qF "stage=setup file=$d/missing.pem reason=\"No such file or directory\"" "$LOG"
	: > "$LOG"
	echo 'not a certificate' > "$d/junk.pem"
	start_server SMTP_TLS_CERT="$d/junk.pem"
	run sclient -starttls smtp
	assert_output --partial 'alert internal error'
	assert_output --partial 'Cipher is (NONE)'
	start_server SMTP_TLS_KEY="$BATS_FILE_TMPDIR/other-key.pem"
	run sclient -starttls smtp
	assert_output --partial 'alert internal error'
	assert_output --partial 'Cipher is (NONE)'
	wait_sessions 2
	run grep -oE ' tls_error .*stage=certificate .*' "$LOG"
	assert_line --index 0 --partial "stage=certificate file=$d/junk.pem reason=\"error:0480006C:PEM routines::no start line\""
	assert_line --index 1 --partial "stage=certificate file=$BATS_FILE_TMPDIR/other-key.pem reason=\"error:0A000120:SSL routines::private key mismatch\""
	run grep -c ' tls .*resumed=' "$LOG"
	assert_output 0
}

@test "no ticket key file: no tickets, no resumption" {
	start_server
	# TLS 1.3: no NewSessionTicket; TLS 1.2: no ticket and no session id,
	# so s_client has no resumable session to save
	run sclient -starttls smtp -tls1_3 -sess_out "$BATS_TEST_TMPDIR/s13.pem"
	assert_output --partial 'New, TLSv1.3'
	refute_output --partial 'Post-Handshake New Session Ticket arrived'
	run sclient -starttls smtp -tls1_2 -sess_out "$BATS_TEST_TMPDIR/s12.pem"
	assert_output --partial 'New, TLSv1.2'
	refute_output --partial 'TLS session ticket:'
	assert_line --regexp '^ *Session-ID: *$'
	[ ! -e "$BATS_TEST_TMPDIR/s13.pem" ]
	[ ! -e "$BATS_TEST_TMPDIR/s12.pem" ]
}

@test "a group-readable ticket key file is refused: logged, no tickets, TLS still served" {
	local k=$BATS_TEST_TMPDIR/ticket.keys
	"$SESSION" --new-ticket-key "$k"
	chmod 640 "$k"
	start_server SMTP_TLS_TICKET_KEYS="$k"
	run sclient -starttls smtp -tls1_2 -sess_out "$BATS_TEST_TMPDIR/s.pem"
	assert_output --partial 'New, TLSv1.2'
	refute_output --partial 'TLS session ticket:'
	[ ! -e "$BATS_TEST_TMPDIR/s.pem" ]
	run sclient -starttls smtp -tls1_3
	assert_output --partial 'New, TLSv1.3'
	refute_output --partial 'Post-Handshake New Session Ticket arrived'
	wait_sessions 2
	run grep -c " tls_error .*stage=ticket_keys file=$k reason=\"accessible by group or others (mode 0640); must be 0600\"" "$LOG"
	assert_output 2
	run grep -c ' tls .*resumed=no$' "$LOG"
	assert_output 2
}

# ---- --new-ticket-key ----------------------------------------------------------

@test "--new-ticket-key: makes a private file, puts new keys first, keeps three" {
	local k=$BATS_TEST_TMPDIR/keys/t.keys
	mkdir -p "$BATS_TEST_TMPDIR/keys"
	run "$SESSION" --new-ticket-key "$k"
	assert_success
	assert_output "smtp-session: $k: new ticket key, 0 older kept"
	[ "$(stat -c %a "$k")" = 600 ]
	run grep -vc '^#' "$k"
	assert_output 1
	grep -qxE '[0-9a-f]{160}' "$k"
	first=$(grep -v '^#' "$k")
	"$SESSION" --new-ticket-key "$k"
	[ "$(grep -v '^#' "$k" | sed -n 2p)" = "$first" ]
	"$SESSION" --new-ticket-key "$k"
	[ "$(grep -v '^#' "$k" | sed -n 3p)" = "$first" ]
	run "$SESSION" --new-ticket-key "$k"
	assert_output "smtp-session: $k: new ticket key, 2 older kept"
	run grep -vc '^#' "$k"
	assert_output 3
	run grep -c "$first" "$k"
	assert_output 0
	[ "$(grep -vE '^#' "$k" | sort -u | wc -l)" = 3 ]
	# no temporary file left behind
	run ls "$BATS_TEST_TMPDIR/keys"
	assert_output t.keys
}

@test "--new-ticket-key refuses to replace a file it cannot read as keys" {
	local k=$BATS_TEST_TMPDIR/t.keys
	echo 'not a key' > "$k"
	chmod 600 "$k"
	run "$SESSION" --new-ticket-key "$k"
	assert_failure
	assert_output "smtp-session: $k: line 1: not 160 hex digits; not replaced"
	run cat "$k"
	assert_output 'not a key'
	"$SESSION" --new-ticket-key "$BATS_TEST_TMPDIR/ok.keys"
	chmod 644 "$BATS_TEST_TMPDIR/ok.keys"
	run "$SESSION" --new-ticket-key "$BATS_TEST_TMPDIR/ok.keys"
	assert_failure
	assert_output "smtp-session: $BATS_TEST_TMPDIR/ok.keys: accessible by group or others (mode 0644); must be 0600; not replaced"
}

# ---- configuration --------------------------------------------------------------

@test "--check-config: a good TLS configuration is ok" {
	export SMTP_TLS_TICKET_KEYS=$BATS_TEST_TMPDIR/t.keys
	"$SESSION" --new-ticket-key "$SMTP_TLS_TICKET_KEYS"
	run "$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok'
}

@test "--check-config: unreadable cert, key not matching, readable-by-others ticket file" {
	local d=$BATS_FILE_TMPDIR
	SMTP_TLS_CERT=$BATS_TEST_TMPDIR/missing.pem run "$SESSION" --check-config
	assert_failure
	assert_output "smtp-session: SMTP_TLS_CERT: $BATS_TEST_TMPDIR/missing.pem: No such file or directory"
	SMTP_TLS_KEY=$d/other-key.pem run "$SESSION" --check-config
	assert_failure
	assert_output "smtp-session: SMTP_TLS_KEY: $d/other-key.pem: does not match the certificate in $d/cert.pem"
	SMTP_TLS_KEY=$d/cert.pem run "$SESSION" --check-config
	assert_failure
	assert_output --regexp "^smtp-session: SMTP_TLS_KEY: $d/cert.pem: error:"
	"$SESSION" --new-ticket-key "$BATS_TEST_TMPDIR/t.keys"
	chmod 604 "$BATS_TEST_TMPDIR/t.keys"
	SMTP_TLS_TICKET_KEYS=$BATS_TEST_TMPDIR/t.keys run "$SESSION" --check-config
	assert_failure
	assert_output "smtp-session: SMTP_TLS_TICKET_KEYS: $BATS_TEST_TMPDIR/t.keys: accessible by group or others (mode 0604); must be 0600"
}

@test "--check-config: an expired or soon expiring certificate is a warning, not a problem" {
	export SMTP_TLS_CERT=$BATS_FILE_TMPDIR/old-cert.pem
	export SMTP_TLS_KEY=$BATS_FILE_TMPDIR/old-key.pem
	run "$SESSION" --check-config
	assert_success
	assert_output "smtp-session: warning: SMTP_TLS_CERT: $SMTP_TLS_CERT: expired on 2020-01-02 00:00:00 UTC
smtp-session: configuration ok"
	export SMTP_TLS_CERT=$BATS_FILE_TMPDIR/soon-cert.pem
	export SMTP_TLS_KEY=$BATS_FILE_TMPDIR/soon-key.pem
	run "$SESSION" --check-config
	assert_success
	assert_line --index 0 --regexp "^smtp-session: warning: SMTP_TLS_CERT: $SMTP_TLS_CERT: expires on 20[0-9-]+ [0-9:]+ UTC\$"
	assert_line --index 1 'smtp-session: configuration ok'
}

@test "configuration: required or implicit TLS without cert and key refuses to serve" {
	unset SMTP_TLS_KEY
	SMTP_TLS=required run "$SESSION" --check-config
	assert_failure
	assert_output "smtp-session: SMTP_TLS_CERT and SMTP_TLS_KEY: set both or neither
smtp-session: SMTP_TLS: required needs SMTP_TLS_CERT and SMTP_TLS_KEY"
	unset SMTP_TLS_CERT
	SMTP_TLS_IMPLICIT=1 run smtp <<<'QUIT'
	assert_failure 1
	assert_output '421 4.3.0 mx.test Service not available, configuration error'
	grep -q 'problem="SMTP_TLS_IMPLICIT: needs SMTP_TLS_CERT and SMTP_TLS_KEY"' "$LOG"
	SMTP_TLS=sometimes run "$SESSION" --check-config
	assert_failure
	assert_output "smtp-session: SMTP_TLS: 'sometimes' is not one of the allowed values"
}

# ---- cost: a plain session never touches OpenSSL ------------------------------

@test "a plain session neither loads libssl/libcrypto nor initialises OpenSSL; a STARTTLS session does, without openssl.cnf" {
	local t=$BATS_TEST_TMPDIR/trace
	# LeakSanitizer cannot run under ptrace (check-asan)
	[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0
	printf 'EHLO client.test\r\nQUIT\r\n' |
		timeout 10 strace -f -e trace=open,openat -o "$t" "$SESSION" 2>>"$LOG" >/dev/null
	grep -q 'openat(.*/libc\.so\.6", .*) = [0-9]' "$t"   # strace saw the loader's opens
	run grep -E 'libssl\.so|libcrypto\.so|openssl\.cnf|cert\.pem|key\.pem' "$t"
	assert_failure
	# the control: STARTTLS over the pipe (the handshake then fails)
	printf 'EHLO client.test\r\nSTARTTLS\r\n' |
		timeout 10 strace -f -e trace=open,openat -o "$t" "$SESSION" 2>>"$LOG" >/dev/null
	run grep -cE '/cert\.pem|/key\.pem' "$t"
	assert_output 2
	# openssl.cnf is not read (tls.c: OPENSSL_INIT_NO_LOAD_CONFIG)
	run grep -c 'openssl\.cnf' "$t"
	assert_output 0
	# each library opened once, libcrypto first (tls.c dlopen()s them)
	grep -oE '/lib(ssl|crypto)\.so\.3", [^)]*\) = [0-9]+$' "$t" |
		sed -E 's/[0-9]+$/FD/' > "$t.libs"
	run cat "$t.libs"
	assert_output '/libcrypto.so.3", O_RDONLY|O_CLOEXEC) = FD
/libssl.so.3", O_RDONLY|O_CLOEXEC) = FD'
}

# libssl.so.3 / libcrypto.so.3 are dlopen()ed at the first use of TLS: a
# broken or incomplete installation is "TLS not available", not a crash.
# LD_LIBRARY_PATH puts a stand-in first: an empty libssl.so.3 (dlsym
# fails) or a libcrypto.so.3 that is not a library (dlopen fails).
@test "OpenSSL missing or incomplete: STARTTLS 454 and plain SMTP goes on, implicit TLS ends, --check-config reports it" {
	local d=$BATS_TEST_TMPDIR/nossl d2=$BATS_TEST_TMPDIR/badcrypto
	mkdir -p "$d" "$d2"
	cc -shared -fPIC -nostdlib -o "$d/libssl.so.3" -x c /dev/null
	echo 'not a library' > "$d2/libcrypto.so.3"
	LD_LIBRARY_PATH=$d run smtp <<'IN'
EHLO client.test
STARTTLS
MAIL FROM:<a@sender.test>
RCPT TO:<bob@example.test>
QUIT
IN
	assert_success
	assert_output "220 mx.test ESMTP smtp-session
$EHLO_PLAIN
454 4.7.0 TLS not available due to temporary reason
250 2.1.0 Ok
250 2.1.5 Ok
221 2.0.0 mx.test Bye"
	grep -qF "tls_error id=" "$LOG"
	grep -qF "stage=setup reason=\"OpenSSL not available: $d/libssl.so.3: undefined symbol: OPENSSL_init_ssl\"" "$LOG"
	: > "$LOG"
	SMTP_TLS_IMPLICIT=1 LD_LIBRARY_PATH=$d2 run smtp <<<'EHLO client.test'
	assert_success
	assert_output ''
	grep -qF "stage=setup reason=\"OpenSSL not available: $d2/libcrypto.so.3: file too short\"" "$LOG"
	grep -q ' disconnect .*reason=tls_failed' "$LOG"
	LD_LIBRARY_PATH=$d2 run "$SESSION" --check-config
	assert_failure
	assert_output "smtp-session: OpenSSL not available: $d2/libcrypto.so.3: file too short"
}

@test "a certificate signed by a CA (leaf + CA in SMTP_TLS_CERT): --check-config passes, the client verifies the chain" {
	local d=$BATS_TEST_TMPDIR
	# ECDSA/SHA-256 throughout: nothing weak, yet the security level's
	# check of the CA certificate's signature needs the digest table
	# (tls.c, ossl_init(): "ca md too weak" without it)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=ca.test -days 30 -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=mx.test \
		-addext subjectAltName=DNS:mx.test -keyout "$d/leaf.key" -out "$d/leaf.csr" 2>/dev/null
	openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -copy_extensions copy -days 30 -out "$d/leaf.pem" 2>/dev/null
	cat "$d/leaf.pem" "$d/ca.pem" > "$d/chain.pem"
	export SMTP_TLS_CERT=$d/chain.pem SMTP_TLS_KEY=$d/leaf.key
	run --separate-stderr "$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok'
	start_server
	run sclient -starttls smtp -CAfile "$d/ca.pem" -verify_return_error -verify_hostname mx.test
	assert_success
	assert_output --partial 'Verify return code: 0 (ok)'
	assert_output --partial 'Certificate chain'
	run grep -c ' tls .*cert_loads=1 ' "$LOG"
	assert_output 1
}
