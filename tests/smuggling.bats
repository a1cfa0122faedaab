# SMTP smuggling (SEC Consult, December 2023, and the follow-ups): each
# published end-of-data look-alike, sent over a real TCP socket inside a
# message and followed by a whole second transaction, must stay data:
# exactly one message, one 250, the smuggled text inside it.  In both
# SMTP_BARE_LF modes, over DATA (one write, and one octet per write) and
# BDAT.  And STARTTLS command injection over a real socket.
load helper

CLIENTS=$BATS_TEST_DIRNAME/clients
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

setup() {
	common_setup
	export SMTP_TIMEOUT=5
}

teardown() {
	stop_server
}

# The second transaction that must never be executed.
SMUGGLED='MAIL FROM:<evil@x.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n'
# ... as it is stored when it stays data (qmail line format, LF ends).
STORED='MAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'

EHLO='220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
250 2.1.0 Ok
250 2.1.5 Ok'
ACCEPTED="$EHLO
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID
221 2.0.0 mx.test Bye
EOF"

# The client's transcript with the queue id masked.
masked() {
	sed -E 's/queued as [0-9a-f]{16}\.[0-9]+$/queued as ID/' <<<"$output"
}

# The one delivered message's body after the 6 header lines we add
# (Return-Path, Delivered-To, 4-line Received) equals printf "$1".
assert_stored() {
	local f
	run delivered_count
	assert_output 1
	f=$(delivered bob@example.test)
	printf "$1" >"$BATS_TEST_TMPDIR/want"
	tail -n +7 "$f" >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got" ||
		fail "stored: $(od -c "$BATS_TEST_TMPDIR/got" | head -20)"
	spool_is_empty
}

# smuggle MODE LOOKALIKE STORED-BODY [SUFFIX]: LOOKALIKE between "before" and the
# smuggled transaction; one message accepted, holding STORED-BODY
# (then SUFFIX, optional).
smuggle() {
	start_inetd
	run timeout 20 "$PYTHON" "$CLIENTS/smuggle_send.py" "$PORT" "$1" \
		"Subject: s\r\n\r\nbefore$2$SMUGGLED"
	assert_success
	run masked
	if [ "$1" = bdat ]; then
		assert_output "$EHLO
250 2.0.0 Ok: queued as ID
221 2.0.0 mx.test Bye
EOF"
	else
		assert_output "$ACCEPTED"
	fi
	assert_stored "Subject: s\n\nbefore$3$STORED${4:-}"
	run grep -c ' accepted ' "$LOG"
	assert_output 1
}

@test "smuggling over TCP: <LF>.<LF> stays data" {
	smuggle data '\n.\n' '\n.\n'
}

@test "smuggling over TCP: <LF>.<CR><LF> stays data" {
	smuggle data '\n.\r\n' '\n.\n'
}

@test "smuggling over TCP: <CR><LF>.<LF> stays data" {
	smuggle data '\r\n.\n' '\n.\n'
}

@test "smuggling over TCP: <CR>.<CR> stays data (bare CRs kept)" {
	smuggle data '\r.\r' '\r.\r'
}

@test "smuggling over TCP: <CR><LF>.<CR> stays data (dot unstuffed, CR kept)" {
	smuggle data '\r\n.\r' '\n\r'
}

@test "smuggling over TCP: <CR>.<CR><LF> stays data" {
	smuggle data '\r.\r\n' '\r.\n'
}

@test "smuggling over TCP: <CR><LF><NUL>.<CR><LF> stays data (NUL kept)" {
	smuggle data '\r\n\x00.\r\n' '\n\x00.\n'
}

@test "smuggling over TCP: <CR><LF>.<NUL><CR><LF> stays data (dot unstuffed)" {
	smuggle data '\r\n.\x00\r\n' '\n\x00\n'
}

@test "smuggling over TCP: <LF>.<CR> and <CR><LF><CR>.<LF> mixtures stay data" {
	smuggle data '\n.\r\r\n\r.\n' '\n\r\n\r.\n'
}

@test "smuggling over TCP, one octet per write: <LF>.<CR><LF> and <CR><LF>.<LF> stay data" {
	smuggle data-drip '\n.\r\nX\r\n.\n' '\n.\nX\n.\n'
}

@test "smuggling over TCP, one octet per write: <CR>.<CR><LF> stays data" {
	smuggle data-drip '\r.\r\n' '\r.\n'
}

@test "BDAT over TCP: a whole CRLF.CRLF and a transaction inside the chunk are data" {
	# no dot-unstuffing in BDAT: the smuggled final dot line is kept
	smuggle bdat '\r\n.\r\n' '\n.\n' '.\n'
}

@test "BDAT over TCP: <LF>.<LF> inside the chunk is data" {
	smuggle bdat '\n.\n' '\n.\n' '.\n'
}

# SMTP_BARE_LF=reject: a look-alike with a bare LF rejects the message at
# the real end of data; the smuggled transaction is never executed.
reject() {
	export SMTP_BARE_LF=reject
	start_inetd
	run timeout 20 "$PYTHON" "$CLIENTS/smuggle_send.py" "$PORT" data \
		"Subject: s\r\n\r\nbefore$1$SMUGGLED"
	assert_success
	assert_output "$EHLO
354 End data with <CR><LF>.<CR><LF>
554 5.6.0 Message contains bare LF (RFC 5321 2.3.8)
221 2.0.0 mx.test Bye
EOF"
	run delivered_count
	assert_output 0
	spool_is_empty
}

@test "SMTP_BARE_LF=reject over TCP: <LF>.<LF> → 554 5.6.0, nothing delivered, nothing executed" {
	reject '\n.\n'
}

@test "SMTP_BARE_LF=reject over TCP: <LF>.<CR><LF> → 554 5.6.0" {
	reject '\n.\r\n'
}

@test "SMTP_BARE_LF=reject over TCP: <CR><LF>.<LF> → 554 5.6.0" {
	reject '\r\n.\n'
}

@test "SMTP_BARE_LF=reject over TCP: bare-CR look-alikes stay data, one message accepted" {
	export SMTP_BARE_LF=reject
	smuggle data '\r.\r\n' '\r.\n'
}

# ---- STARTTLS injection (CVE-2011-0411 class) over a real socket

tls_setup() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.test -days 30 -keyout "$BATS_TEST_TMPDIR/key.pem" \
		-out "$BATS_TEST_TMPDIR/cert.pem" 2>/dev/null
	export SMTP_TLS_CERT=$BATS_TEST_TMPDIR/cert.pem
	export SMTP_TLS_KEY=$BATS_TEST_TMPDIR/key.pem
	start_inetd
}

EHLO_TLS='220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-STARTTLS
250-CHUNKING
250 SMTPUTF8
220 2.0.0 Ready to start TLS'

@test "STARTTLS injection: MAIL in the same packet as STARTTLS is never executed" {
	tls_setup
	# Had the injected MAIL been executed, RCPT over TLS would get 250;
	# it must get 503 (no MAIL in this TLS session).
	run timeout 20 "$PYTHON" "$CLIENTS/tls_dialog.py" "$PORT" '<' \
		'>EHLO client.test' '<' '=STARTTLS\r\nMAIL FROM:<x@y.test>\r\n' '<' tls \
		'>EHLO client.test' '<' '>RCPT TO:<bob@example.test>' '<' '>QUIT' '<' eof
	assert_success
	assert_line --index 10 'TLS TLSv1.3'
	assert_line --index 18 '503 5.5.1 Error: need MAIL command'
	assert_line --index 19 '221 2.0.0 mx.test Bye'
	assert_line --index 20 'EOF close_notify'
	run delivered_count
	assert_output 0
}

@test "STARTTLS injection: plaintext arriving after the 220, before the ClientHello, is no command" {
	tls_setup
	# MAIL FROM in the clear where the ClientHello belongs: not a TLS
	# record, so the handshake fails; it is never answered as a command
	# and the session ends by itself, cleanly.
	run timeout 20 "$PYTHON" "$CLIENTS/tls_dialog.py" "$PORT" '<' \
		'>EHLO client.test' '<' '>STARTTLS' '<' '=MAIL FROM:<x@y.test>\r\n' eof
	assert_success
	assert_output "$EHLO_TLS
EOF"
	sessions_done || fail "the session did not end"
	run grep -c 'died with code 0$' "$LOG"
	assert_output 1
	run grep -E 'MAIL|250 2\.1\.0' "$LOG"
	refute_output --regexp '250 2\.1\.0'
}
