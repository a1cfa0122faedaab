# DATA (RFC 5321 3.3, 4.1.1.4, 4.5.2): the message path of smtp-session
# over stdin/stdout, checked by the replies and by the delivered Maildir
# file, byte for byte.
load helper

setup() { common_setup; }

load message

ENVELOPE='EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n'

# run_raw FORMAT...: runs the session with printf FORMAT... as its input.
run_raw() {
	printf "$@" >"$BATS_TEST_TMPDIR/in"
	run smtp_raw <"$BATS_TEST_TMPDIR/in"
}

# The session, fed by a writer that stalls: input_then_stall FORMAT SECONDS.
# Bounded by timeout(1); replies without CR.
input_then_stall() {
	{ printf "$1"; sleep "$2"; } | timeout 10 "$SESSION" 2>>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[1]}"
}

@test "DATA: 354 reply text, then the message is delivered byte-exact" {
	run_raw "${ENVELOPE}Subject: hello\r\nFrom: alice@sender.test\r\n\r\nline one\r\n  indented line\r\n\r\nlast line\r\n.\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	want 'Subject: hello\nFrom: alice@sender.test\n\nline one\n  indented line\n\nlast line\n'
	assert_body bob@example.test
	spool_is_empty
}

@test "DATA out of sequence: 503 5.5.1, no 354, the next line is a command again" {
	run_raw 'EHLO client.test\r\nDATA\r\nNOOP\r\nMAIL FROM:<alice@sender.test>\r\nDATA\r\nNOOP\r\nDATA now\r\nQUIT\r\n'
	assert_success
	assert_output "$EHLO_REPLY
503 5.5.1 Error: need MAIL command
250 2.0.0 Ok
250 2.1.0 Ok
503 5.5.1 Error: need RCPT command
250 2.0.0 Ok
501 5.5.4 Syntax: DATA takes no argument
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "DATA: CRLF becomes LF in the stored file, no CR is left" {
	run_raw "${ENVELOPE}Subject: crlf\r\n\r\na\r\nb\r\n\r\n\r\nc\r\n.\r\nQUIT\r\n"
	assert_success
	f=$(only_message bob@example.test)
	run grep -c $'\r' "$f"
	assert_output 0
	want 'Subject: crlf\n\na\nb\n\n\nc\n'
	assert_body bob@example.test
}

@test "DATA: dot-unstuffing (RFC 5321 4.5.2)" {
	run_raw "${ENVELOPE}Subject: dots\r\n\r\n..x\r\n...\r\n..\r\n. space\r\nmid.dle.\r\n....four\r\n.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want 'Subject: dots\n\n.x\n..\n.\n space\nmid.dle.\n...four\n'
	assert_body bob@example.test
}

@test "DATA: an empty message (the dot at once) is delivered, header only" {
	run_raw "${ENVELOPE}.\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	f=$(only_message bob@example.test)
	# Return-Path, Delivered-To and the 4-line Received header: nothing else.
	run wc -l <"$f"
	assert_output 6
	run tail -n 1 "$f"
	assert_output --regexp $'^\t[A-Z][a-z][a-z], '
	want ''
	assert_body bob@example.test
}

# SMTP smuggling: LOOKALIKE (printf escapes) inside the body, then a whole
# smuggled transaction, then the real end of data.  Exactly one message,
# holding the smuggled text as data, stored as $2.
smuggle() {
	run_raw "${ENVELOPE}Subject: smuggle\r\n\r\nbefore$1MAIL FROM:<evil@x.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 1
	want "Subject: smuggle\n\n$2"
	assert_body bob@example.test
	run grep -c ' accepted ' "$LOG"
	assert_output 1
}

@test "smuggling: <LF>.<LF> does not end the data" {
	smuggle '\n.\n' 'before\n.\nMAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'
}

@test "smuggling: <LF>.<CR><LF> does not end the data" {
	smuggle '\n.\r\n' 'before\n.\nMAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'
}

@test "smuggling: <CR><LF>.<LF> does not end the data" {
	smuggle '\r\n.\n' 'before\n.\nMAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'
}

@test "smuggling: <CR>.<CR> does not end the data" {
	smuggle '\r.\r' 'before\r.\rMAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'
}

@test "smuggling: <CR><LF>.<CR> does not end the data" {
	# the line ".<CR>MAIL ..." has more than the dot: unstuffed (4.5.2)
	smuggle '\r\n.\r' 'before\n\rMAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'
}

@test "smuggling: <CR>.<CR><LF> does not end the data" {
	smuggle '\r.\r\n' 'before\r.\nMAIL FROM:<evil@x.test>\nRCPT TO:<bob@example.test>\nDATA\nsmuggled\n'
}

@test "SMTP_BARE_LF=normalize (default): a bare LF ends a line, message accepted" {
	run_raw "${ENVELOPE}Subject: lf\r\n\r\none\ntwo\r\nthree\n\r\n.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want 'Subject: lf\n\none\ntwo\nthree\n\n'
	assert_body bob@example.test
}

@test "SMTP_BARE_LF=reject: 554 5.6.0 after the end of data, nothing delivered, session goes on" {
	export SMTP_BARE_LF=reject
	run_raw "${ENVELOPE}Subject: lf\r\n\r\none\ntwo\r\n.\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: good\r\n\r\nfine\r\n.\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
554 5.6.0 Message contains bare LF (RFC 5321 2.3.8)
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.2
221 2.0.0 mx.test Bye"
	want 'Subject: good\n\nfine\n'
	assert_body bob@example.test
	spool_is_empty
}

@test "SMTP_BARE_LF=reject: a smuggling attempt is one rejected message, nothing executed" {
	export SMTP_BARE_LF=reject
	run_raw "${ENVELOPE}Subject: x\r\n\r\nbefore\n.\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
554 5.6.0 Message contains bare LF (RFC 5321 2.3.8)
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
}

@test "DATA: a bare CR is kept as data, byte-exact" {
	run_raw "${ENVELOPE}Subject: cr\r\n\r\na\rb\r\nends in cr\r\r\n\r\r\n\rstarts\r\n.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want 'Subject: cr\n\na\rb\nends in cr\r\n\r\n\rstarts\n'
	assert_body bob@example.test
}

@test "DATA: 8-bit octets 0x80-0xff are stored exactly" {
	local hi="" i
	for i in $(seq 128 255); do hi+=$(printf '\\x%02x' "$i"); done
	run_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test> BODY=8BITMIME\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: 8bit\r\n\r\n${hi}\r\nend\r\n.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	want "Subject: 8bit\n\n${hi}\nend\n"
	run wc -c <"$BATS_TEST_TMPDIR/want"
	assert_output $((15 + 128 + 1 + 4))
	assert_body bob@example.test
}

@test "DATA: an SMTPUTF8 message with UTF-8 addresses and header is delivered" {
	run_raw 'EHLO client.test\r\nMAIL FROM:<ålice@sender.test> SMTPUTF8\r\nRCPT TO:<bøb@example.test>\r\nDATA\r\nFrom: Ålice <ålice@sender.test>\r\nSubject: héllo wörld ✓\r\n\r\nbödy\r\n.\r\nQUIT\r\n'
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	f=$(only_message 'bøb@example.test')
	run head -n 2 "$f"
	assert_output 'Return-Path: <ålice@sender.test>
Delivered-To: bøb@example.test'
	want 'From: Ålice <ålice@sender.test>\nSubject: héllo wörld ✓\n\nbödy\n'
	assert_body 'bøb@example.test'
}

@test "size: MAIL SIZE= over SMTP_MAX_SIZE gets 552 5.3.4" {
	export SMTP_MAX_SIZE=2000
	run_raw 'EHLO client.test\r\nMAIL FROM:<alice@sender.test> SIZE=3000\r\nMAIL FROM:<alice@sender.test> SIZE=2000\r\nQUIT\r\n'
	assert_success
	assert_output "${EHLO_REPLY/SIZE 26214400/SIZE 2000}
552 5.3.4 Message size exceeds fixed maximum message size
250 2.1.0 Ok
221 2.0.0 mx.test Bye"
}

# A message of $1 octets as sent (CRLF lines, after unstuffing): 20 lines
# of 100 octets with CRLF, the first one dot-stuffed, the last with $1-2000
# more.  Sets the global msg (wire form) and writes the stored form to want.
sized_message() {
	local a b extra="" i
	a=$(printf '%97s' '' | tr ' ' A)
	b=$(printf '%98s' '' | tr ' ' B)
	[ "$1" -gt 2000 ] && extra=$(printf "%$(($1 - 2000))s" '' | tr ' ' C)
	msg="..$a\r\n"
	: >"$BATS_TEST_TMPDIR/want"
	printf '.%s\n' "$a" >>"$BATS_TEST_TMPDIR/want"
	for i in $(seq 18); do
		msg+="$b\r\n"
		printf '%s\n' "$b" >>"$BATS_TEST_TMPDIR/want"
	done
	msg+="$b$extra\r\n"
	printf '%s\n' "$b$extra" >>"$BATS_TEST_TMPDIR/want"
}

@test "size: a message of exactly SMTP_MAX_SIZE (CRLF, after unstuffing) is accepted" {
	export SMTP_MAX_SIZE=2000
	sized_message 2000
	run_raw "EHLO client.test\r\nMAIL FROM:<alice@sender.test> SIZE=2000\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n${msg}.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_body bob@example.test
	grep -q 'accepted .* size=2000 ' "$LOG"
}

@test "size: one octet over: read to the end, 552 5.3.4, nothing delivered, next command answered" {
	export SMTP_MAX_SIZE=2000
	sized_message 2001
	run_raw "${ENVELOPE}${msg}.\r\nNOOP\r\nQUIT\r\n"
	assert_success
	assert_output "${EHLO_REPLY/SIZE 26214400/SIZE 2000}
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
552 5.3.4 Message size exceeds fixed maximum message size
250 2.0.0 Ok
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 0
	spool_is_empty
}

@test "size: a 5 MiB message with the default limit is delivered byte-exact" {
	head -c 3900000 /dev/urandom | base64 >"$BATS_TEST_TMPDIR/want"
	run test "$(stat -c %s "$BATS_TEST_TMPDIR/want")" -gt $((5 * 1024 * 1024))
	assert_success
	{
		printf "$ENVELOPE"
		sed 's/$/\r/' "$BATS_TEST_TMPDIR/want"
		printf '.\r\nQUIT\r\n'
	} >"$BATS_TEST_TMPDIR/in"
	run smtp_raw <"$BATS_TEST_TMPDIR/in"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	f=$(only_message bob@example.test)
	body_of "$f" >"$BATS_TEST_TMPDIR/got"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
}

@test "pipelining: MAIL, RCPT and DATA in one write, then the body" {
	# EHLO; then MAIL+RCPT+DATA as one write; then the body
	run bash -c '
		{ printf "EHLO client.test\r\n"; sleep 0.2
		  printf "MAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"; sleep 0.2
		  printf "Subject: p\r\n\r\npipelined\r\n.\r\nQUIT\r\n"
		} | timeout 10 "$0" 2>>"$1" | tr -d "\r"
		exit "${PIPESTATUS[1]}"' "$SESSION" "$LOG"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
221 2.0.0 mx.test Bye"
	want 'Subject: p\n\npipelined\n'
	assert_body bob@example.test
}

@test "pipelining: commands after the final dot in the same write are answered" {
	run_raw "${ENVELOPE}Subject: p\r\n\r\nbody\r\n.\r\nNOOP\r\nRSET\r\nMAIL FROM:<carol@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: q\r\n\r\nsecond\r\n.\r\nQUIT\r\n"
	assert_success
	run masked
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
250 2.0.0 Ok
250 2.0.0 Ok
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.2
221 2.0.0 mx.test Bye"
	run delivered_count
	assert_output 2
}

@test "client gone mid-DATA: no 250, nothing delivered, spool empty, exit 0" {
	run_raw "${ENVELOPE}Subject: cut\r\n\r\nhalf a message\r\nand no dot"
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>"
	run delivered_count
	assert_output 0
	spool_is_empty
	grep -q 'message_aborted .*reason="client gone"' "$LOG"
}

@test "client gone right after a lone dot without CRLF: nothing delivered" {
	run_raw "${ENVELOPE}Subject: cut\r\n\r\nbody\r\n."
	assert_success
	refute_output --partial 'queued'
	run delivered_count
	assert_output 0
	spool_is_empty
}

@test "a second message in the same session" {
	run_raw "${ENVELOPE}Subject: one\r\n\r\nfirst\r\n.\r\nMAIL FROM:<carol@sender.test>\r\nRCPT TO:<dave@example.test>\r\nDATA\r\nSubject: two\r\n\r\nsecond\r\n.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_line --index 15 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.2$'
	# both ids share the session id
	id1=${lines[11]##* }
	id2=${lines[15]##* }
	assert_equal "${id1%.1}" "${id2%.2}"
	want 'Subject: one\n\nfirst\n'
	assert_body bob@example.test
	want 'Subject: two\n\nsecond\n'
	assert_body dave@example.test
	f=$(only_message dave@example.test)
	run head -n 1 "$f"
	assert_output 'Return-Path: <carol@sender.test>'
}

# check_received FILE FROM-PART WITH ID: the six header lines of FILE.
check_received() {
	local l
	mapfile -t l < <(head -n 6 "$1")
	assert_equal "${l[0]}" 'Return-Path: <alice@sender.test>'
	assert_equal "${l[1]}" 'Delivered-To: bob@example.test'
	assert_equal "${l[2]}" "Received: from $2"
	assert_equal "${l[3]}" $'\t'"by mx.test (smtp-session) with $3"
	assert_equal "${l[4]}" $'\t'"id $4;"
	[[ ${l[5]} =~ ^$'\t'(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\ [0-9]{4}\ [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\ [+-][0-9]{4}$ ]] ||
		{ echo "bad date line: ${l[5]}" >&2; return 1; }
	# and it is now
	local t now
	t=$(date -d "${l[5]#$'\t'}" +%s)
	now=$(date +%s)
	[ $((now - t)) -ge 0 ] && [ $((now - t)) -lt 60 ] ||
		{ echo "date ${l[5]} is not now" >&2; return 1; }
	# the message itself follows
	assert_equal "$(sed -n 7p "$1")" 'Subject: r'
}

@test "Received header: from, by, with ESMTP, id (the queued id), date" {
	run_raw "${ENVELOPE}Subject: r\r\n\r\nx\r\n.\r\nQUIT\r\n"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	id=${lines[11]##* }
	f=$(only_message bob@example.test)
	check_received "$f" 'client.test (unknown [192.0.2.1])' ESMTP "$id"
	# the session id of the log is the id's first part
	grep -q "accepted id=${id%.1} .*msgid=$id " "$LOG"
}

@test "Received header: HELO gives 'with SMTP'" {
	run_raw 'HELO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: r\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_success
	assert_output --regexp $'^220 mx.test ESMTP smtp-session\n250 mx.test\n250 2.1.0 Ok\n250 2.1.5 Ok\n354 End data with <CR><LF>.<CR><LF>\n250 2.0.0 Ok: queued as [0-9a-f]{16}\.1\n221 2.0.0 mx.test Bye$'
	id=${lines[5]##* }
	f=$(only_message bob@example.test)
	check_received "$f" 'client.test (unknown [192.0.2.1])' SMTP "$id"
}

@test "Received header: TCPREMOTEHOST shows in the parentheses" {
	export TCPREMOTEHOST=mail.client.test
	run_raw "${ENVELOPE}Subject: r\r\n\r\nx\r\n.\r\nQUIT\r\n"
	assert_success
	id=${lines[11]##* }
	f=$(only_message bob@example.test)
	check_received "$f" 'client.test (mail.client.test [192.0.2.1])' ESMTP "$id"
}

@test "Received header: a TCPREMOTEHOST with odd characters is not used" {
	export TCPREMOTEHOST='evil) (x [1.2.3.4]'
	run_raw "${ENVELOPE}Subject: r\r\n\r\nx\r\n.\r\nQUIT\r\n"
	assert_success
	id=${lines[11]##* }
	f=$(only_message bob@example.test)
	check_received "$f" 'client.test (unknown [192.0.2.1])' ESMTP "$id"
}

@test "Received header: a HELO name with parentheses and control characters is sanitised" {
	run_raw 'EHLO a(b)c\\d;e\x01f\tg\rh i\xc3\xa9\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: r\r\n\r\nx\r\n.\r\nQUIT\r\n'
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	id=${lines[11]##* }
	f=$(only_message bob@example.test)
	check_received "$f" 'a_b_c_d_e_f_g_h_i__ (unknown [192.0.2.1])' ESMTP "$id"
	# still one header line: no CR, nothing that ends the field early
	run grep -c $'\r' "$f"
	assert_output 0
}

@test "timeout: a client that stalls in DATA gets 421 4.4.2, nothing delivered" {
	export SMTP_TIMEOUT=1
	SECONDS=0
	run input_then_stall "${ENVELOPE}Subject: slow\r\n\r\npartial line" 2.5
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
421 4.4.2 mx.test Timeout, closing connection"
	[ "$SECONDS" -lt 8 ]
	run delivered_count
	assert_output 0
	spool_is_empty
	grep -q 'message_aborted .*reason=timeout' "$LOG"
}

@test "timeout: idle at the command prompt gets 421 4.4.2" {
	export SMTP_TIMEOUT=1
	run input_then_stall 'EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\n' 2.5
	assert_success
	assert_output "$EHLO_REPLY
250 2.1.0 Ok
421 4.4.2 mx.test Timeout, closing connection"
}

@test "timeout: SMTP_SESSION_TIMEOUT ends a session kept busy with NOOPs" {
	export SMTP_SESSION_TIMEOUT=2
	local t0 t1
	t0=$(date +%s%N)
	run bash -c '
		for i in $(seq 16); do printf "NOOP\r\n" || exit 0; sleep 0.5; done |
			timeout 10 "$0" 2>>"$1" | tr -d "\r"
		exit "${PIPESTATUS[1]}"' "$SESSION" "$LOG"
	t1=$(date +%s%N)
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index -1 '421 4.4.2 mx.test Timeout, closing connection'
	# everything between is the NOOPs' 250s, about 4 of them (2 s / 0.5 s)
	n=$(printf '%s\n' "$output" | grep -c '^250 2\.0\.0 Ok$')
	[ "$n" -ge 2 ]
	[ "$n" -le 6 ]
	[ "${#lines[@]}" -eq $((n + 2)) ]
	# ended by the session limit (~2 s), not by the 16 NOOPs (8 s)
	[ $(((t1 - t0) / 1000000)) -lt 4000 ]
}
