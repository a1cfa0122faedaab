# BDAT (RFC 3030 CHUNKING): chunks counted in octets, no dot handling,
# checked by the replies and by the delivered Maildir file, byte for byte.
load helper

setup() { common_setup; }

load message

ENVELOPE='EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\n'

# chunk FORMAT [LAST]: "BDAT <octets of printf FORMAT>[ LAST]" and the octets.
chunk() {
	local f=$BATS_TEST_TMPDIR/chunk
	printf "$1" >"$f"
	printf 'BDAT %d%s\r\n' "$(stat -c %s "$f")" "${2:+ $2}"
	cat "$f"
}

# run_raw FORMAT...: runs the session with printf FORMAT... as its input.
run_raw() {
	printf "$@" >"$BATS_TEST_TMPDIR/in"
	run smtp_raw <"$BATS_TEST_TMPDIR/in"
}

@test "BDAT n LAST: a single chunk is delivered byte-exact" {
	{ printf "$ENVELOPE"; chunk 'Subject: one chunk\r\n\r\nbody line\r\n' LAST; printf 'QUIT\r\n'; } >"$BATS_TEST_TMPDIR/in"
	run grep -c '^BDAT 33 LAST' "$BATS_TEST_TMPDIR/in"
	assert_output 1
	run smtp_raw <"$BATS_TEST_TMPDIR/in"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	want 'Subject: one chunk\n\nbody line\n'
	assert_body bob@example.test
	spool_is_empty
}

@test "BDAT: several chunks, one reply each, one message" {
	run_raw "${ENVELOPE}BDAT 5\r\nSubjeBDAT 7\r\nct: x\r\nBDAT 0 LAST\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 5 octets received
250 2.0.0 7 octets received
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	want 'Subject: x\n'
	assert_body bob@example.test
}

@test "BDAT: a CRLF split across two chunks is stored as one LF" {
	run_raw "${ENVELOPE}BDAT 6\r\nline1\rBDAT 7 LAST\r\n\nline2\n"
	assert_success
	assert_line --index -2 '250 2.0.0 6 octets received'
	assert_line --index -1 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want 'line1\nline2\n'
	assert_body bob@example.test
}

@test "BDAT: a CR at the very end of the last chunk is kept as data" {
	run_raw "${ENVELOPE}BDAT 4\r\na\rb\rBDAT 0 LAST\r\nQUIT\r\n"
	assert_success
	assert_line --index -2 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want 'a\rb\r'
	assert_body bob@example.test
}

@test "BDAT: no dot-unstuffing, and CRLF.CRLF inside a chunk ends nothing" {
	{
		printf "$ENVELOPE"
		chunk '..x\r\n.\r\n...\r\nMAIL FROM:<evil@x.test>\r\n.\r\n'
		chunk 'after\r\n' LAST
		printf 'QUIT\r\n'
	} >"$BATS_TEST_TMPDIR/in"
	run smtp_raw <"$BATS_TEST_TMPDIR/in"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 41 octets received
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	want '..x\n.\n...\nMAIL FROM:<evil@x.test>\n.\nafter\n'
	assert_body bob@example.test
}

@test "BDAT before MAIL: the chunk is read and discarded, 503 5.5.1, next command answered" {
	run_raw 'EHLO client.test\r\nBDAT 6\r\nQUIT\r\nNOOP\r\nQUIT\r\n'
	assert_success
	assert_output "$EHLO_REPLY
503 5.5.1 Error: need MAIL command
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "BDAT without RCPT: 503 5.5.1, the chunk is not executed" {
	run_raw 'EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\nQUIT\r\n'
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
503 5.5.1 Error: need RCPT command
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "BDAT size limit across chunks: 552 5.3.4, nothing delivered, the transaction is over" {
	export SMTP_MAX_SIZE=2000
	local c
	c=$(printf '%1498s' '' | tr ' ' x)
	run_raw "${ENVELOPE}BDAT 1500\r\n$c\r\nBDAT 1500\r\n$c\r\nBDAT 10 LAST\r\n0123456789NOOP\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT 4 LAST\r\nok\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "${EHLO_REPLY/SIZE 26214400/SIZE 2000}
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 1500 octets received
552 5.3.4 Message size exceeds fixed maximum message size
503 5.5.1 Error: need MAIL command
250 2.0.0 Ok
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok: queued as ID.2
221 2.0.0 mx.test Bye"
	want 'ok\n'
	assert_body bob@example.test
	spool_is_empty
}

@test "BDAT size limit: exactly SMTP_MAX_SIZE octets over two chunks is accepted" {
	export SMTP_MAX_SIZE=2000
	local c
	c=$(printf '%998s' '' | tr ' ' y)
	run_raw "${ENVELOPE}BDAT 1000\r\n$c\r\nBDAT 1000 LAST\r\n$c\r\nQUIT\r\n"
	assert_success
	assert_line --index -3 '250 2.0.0 1000 octets received'
	assert_line --index -2 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want "$c\n$c\n"
	assert_body bob@example.test
}

@test "BDAT size limit: one chunk over the limit is read to its end, then 552 5.3.4" {
	export SMTP_MAX_SIZE=2000
	# 2001 octets that are also commands: none of them may run
	{
		printf "$ENVELOPE"
		chunk "$(printf 'NOOP NOOP NOOP NOOP\\r\\n%.0s' $(seq 95))NOOP\\r\\n" LAST
		printf 'NOOP\r\nQUIT\r\n'
	} >"$BATS_TEST_TMPDIR/in"
	run grep -c '^BDAT 2001 LAST' "$BATS_TEST_TMPDIR/in"
	assert_output 1
	run smtp_raw <"$BATS_TEST_TMPDIR/in"
	assert_success
	assert_output "${EHLO_REPLY/SIZE 26214400/SIZE 2000}
250 2.1.0 Ok
250 2.1.5 Ok
552 5.3.4 Message size exceeds fixed maximum message size
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "DATA after a BDAT chunk in one transaction: 503 5.5.1" {
	run_raw "${ENVELOPE}BDAT 3\r\nab\nDATA\r\nRSET\r\nQUIT\r\n"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 3 octets received
503 5.5.1 Error: DATA after BDAT
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "RCPT after a BDAT chunk: 503 5.5.1" {
	run_raw "${ENVELOPE}BDAT 3\r\nab\nRCPT TO:<carol@example.test>\r\nBDAT 0 LAST\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 3 octets received
503 5.5.1 Error: RCPT after BDAT
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	want 'ab\n'
	assert_body bob@example.test
	run delivered carol@example.test
	assert_output ''
}

@test "BDAT syntax errors: 501 5.5.4" {
	run_raw "${ENVELOPE}BDAT\r\nBDAT x\r\nBDAT 10 FOO\r\nBDAT -1\r\nBDAT +5\r\nBDAT 10 LAST FOO\r\nBDAT 123456789012345678901\r\nNOOP\r\nQUIT\r\n"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
501 5.5.4 Syntax: BDAT needs an argument
501 5.5.4 Syntax: BDAT <size> [LAST]
501 5.5.4 Syntax: BDAT <size> [LAST]
501 5.5.4 Syntax: BDAT <size> [LAST]
501 5.5.4 Syntax: BDAT <size> [LAST]
501 5.5.4 Syntax: BDAT <size> [LAST]
501 5.5.4 Syntax: BDAT <size> [LAST]
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "BDAT syntax: LAST must be separated by a space (RFC 3030 bdat-cmd)" {
	# bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
	run_raw "${ENVELOPE}BDAT 4LAST\r\nNOOP\r\nQUIT\r\n"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
501 5.5.4 Syntax: BDAT <size> [LAST]
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "BDAT: the LAST keyword is case-insensitive" {
	run_raw "${ENVELOPE}bdat 3 last\r\nhi\nQUIT\r\n"
	assert_success
	assert_line --index -2 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want 'hi\n'
	assert_body bob@example.test
}

@test "BDAT of a huge size, client gone: nothing delivered, exit 0" {
	run_raw "${ENVELOPE}BDAT 1000000000000 LAST\r\nSubject: big\r\n\r\nonly the start\r\n"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok"
	run delivered_count
	assert_output 0
	spool_is_empty
	grep -q 'message_aborted .*reason="client gone"' "$LOG"
}

@test "BDAT: a client that stalls inside a chunk gets 421 4.4.2, nothing delivered" {
	export SMTP_TIMEOUT=1
	run bash -c '
		{ printf "$2"; sleep 2.5; } | timeout 10 "$0" 2>>"$1" | tr -d "\r"
		exit "${PIPESTATUS[1]}"' "$SESSION" "$LOG" "${ENVELOPE}BDAT 100 LAST\r\nSubject: slow\r\n"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
421 4.4.2 mx.test Timeout, closing connection"
	run delivered_count
	assert_output 0
	spool_is_empty
}

@test "BDAT 0 LAST right after RCPT: an empty message, header only" {
	run_raw "${ENVELOPE}BDAT 0 LAST\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	f=$(only_message bob@example.test)
	run wc -l <"$f"
	assert_output 6
	run head -n 3 "$f"
	assert_output 'Return-Path: <alice@sender.test>
Delivered-To: bob@example.test
Received: from client.test (unknown [192.0.2.1])'
	want ''
	assert_body bob@example.test
}

@test "BDAT: pipelined chunks and commands in one write, two messages" {
	run_raw "${ENVELOPE}BDAT 4\r\nabcdBDAT 3 LAST\r\ne\r\nMAIL FROM:<carol@sender.test>\r\nRCPT TO:<dave@example.test>\r\nBDAT 2\r\nfgBDAT 1\r\nhBDAT 2 LAST\r\n\r\nNOOP\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 4 octets received
250 2.0.0 Ok: queued as ID.1
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 2 octets received
250 2.0.0 1 octets received
250 2.0.0 Ok: queued as ID.2
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	want 'abcde\n'
	assert_body bob@example.test
	want 'fgh\n'
	assert_body dave@example.test
}
