# The hand-off to the deliver program (queue.c): the qmail-queue interface
# (fd 0 message, fd 1 envelope), exit-status mapping, timeouts, stderr,
# environment, the spool directory.  The deliver programs are the fakes
# in tests/fakes/ (each says what it does in its second line).
load helper

setup() {
	common_setup
	export FAKE_OUT=$BATS_TEST_TMPDIR/out
	# unique in every command line a fake starts, for pgrep -f
	MARK=handoff-mark-$$-$BATS_TEST_NUMBER-$RANDOM
}

teardown() {
	# only if a test failed and left a hung fake behind: its pids, by marker
	local pids
	pids=$(pgrep -f "$MARK") || return 0
	kill -9 $pids 2>/dev/null || true
}

HELO_REPLIES='220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok'

# One message from alice@sender.test to bob@example.test, then QUIT.
one_message() {
	smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: test

body
.
QUIT
IN
}

# The replies of one_message when DATA is answered with $1.
one_message_replies() {
	printf '%s\n354 End data with <CR><LF>.<CR><LF>\n%s\n221 2.0.0 mx.test Bye' \
		"$HELO_REPLIES" "$1"
}

# Runs one_message with deliver program "$@"; asserts the exact
# transcript with DATA answered by the last argument, a clean spool and
# a deliver_failed line in the log.
deliver_answers() {
	local want=${*: -1}
	export SMTP_DELIVER="${*:1:$#-1}"
	run one_message
	assert_success
	assert_output "$(one_message_replies "$want")"
	spool_is_empty
	grep -q ' deliver_failed id=' "$LOG"
}

# Waits (at most 2 s) until no process has the marker in its command line.
all_gone() {
	local i
	for i in $(seq 20); do
		pgrep -f "$MARK" >/dev/null || return 0
		sleep 0.1
	done
	pgrep -af "$MARK" >&2
	return 1
}

# ---- the envelope and the message --------------------------------------

@test "envelope on fd 1 is exactly F<sender>\\0 T<rcpt>\\0 T<rcpt>\\0 \\0; 250 with the id" {
	export SMTP_DELIVER=$FAKES/save
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
RCPT TO:<Carol.X@example.test>
DATA
x
.
QUIT
IN
	assert_success
	assert_line --index 6 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	printf 'Falice@sender.test\0Tbob@example.test\0TCarol.X@example.test\0\0' \
		> "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
	spool_is_empty
}

@test "null reverse-path gives F\\0 in the envelope" {
	export SMTP_DELIVER=$FAKES/save
	run smtp <<'IN'
HELO client.test
MAIL FROM:<>
RCPT TO:<bob@example.test>
DATA
x
.
QUIT
IN
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	printf 'F\0Tbob@example.test\0\0' > "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
}

@test "100 recipients: all of them in order in the envelope" {
	export SMTP_DELIVER=$FAKES/save
	local i
	{
		echo 'HELO client.test'
		echo 'MAIL FROM:<alice@sender.test>'
		for i in $(seq 100); do echo "RCPT TO:<recipient-number-$i@example.test>"; done
		printf 'DATA\nx\n.\nQUIT\n'
	} > "$BATS_TEST_TMPDIR/in"
	run smtp < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 104 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	{
		printf 'Falice@sender.test\0'
		for i in $(seq 100); do printf 'Trecipient-number-%s@example.test\0' "$i"; done
		printf '\0'
	} > "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
}

@test "message on fd 0: Received header first, then the data, LF line ends" {
	export SMTP_DELIVER=$FAKES/save
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: hello

..dot-stuffed line
last line
.
QUIT
IN
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	local id=${lines[11]##* }
	[ -n "$id" ]
	run ! grep -c $'\r' "$FAKE_OUT.msg"
	run cat "$FAKE_OUT.msg"
	assert_line --index 0 'Received: from client.test (unknown [192.0.2.1])'
	assert_line --index 1 $'\tby mx.test (smtp-session) with ESMTP'
	assert_line --index 2 $'\tid '"$id"';'
	assert_line --index 3 --regexp $'^\t(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$'
	# everything after the header, byte for byte
	tail -n +5 "$FAKE_OUT.msg" > "$BATS_TEST_TMPDIR/body"
	printf 'Subject: hello\n\n.dot-stuffed line\nlast line\n' > "$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/body"
	spool_is_empty
}

@test "a 300 KB message reaches the deliver program whole" {
	export SMTP_DELIVER=$FAKES/save
	local i
	{
		printf 'HELO client.test\nMAIL FROM:<alice@sender.test>\nRCPT TO:<bob@example.test>\nDATA\n'
		for i in $(seq 5000); do printf 'line %05d of a long message, padded out to sixty octets\n' "$i"; done
		printf '.\nQUIT\n'
	} > "$BATS_TEST_TMPDIR/in"
	for i in $(seq 5000); do printf 'line %05d of a long message, padded out to sixty octets\n' "$i"; done \
		> "$BATS_TEST_TMPDIR/want"
	run smtp < "$BATS_TEST_TMPDIR/in"
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	tail -n +5 "$FAKE_OUT.msg" > "$BATS_TEST_TMPDIR/body"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/body"
}

# ---- exit status → reply ----------------------------------------------

@test "exit 11 → 554 5.1.3" {
	deliver_answers "$FAKES/exit-status 11" '554 5.1.3 Envelope address too long for the queue'
	grep -q ' deliver_status=11 ' "$LOG"
}

@test "exit 31 → 554 5.3.0" {
	deliver_answers "$FAKES/exit-status 31" '554 5.3.0 Mail server permanently rejected the message'
}

@test "exit 25 (other 11-40) → 554 5.3.0" {
	deliver_answers "$FAKES/exit-status 25" '554 5.3.0 Permanent problem delivering the message'
}

@test "exit 40 (last permanent code) → 554 5.3.0; exit 41 → 451 4.3.0" {
	deliver_answers "$FAKES/exit-status 40" '554 5.3.0 Permanent problem delivering the message'
	deliver_answers "$FAKES/exit-status 41" '451 4.3.0 Temporary problem delivering the message'
}

@test "exit 71 → 451 4.3.0" {
	deliver_answers "$FAKES/exit-status 71" '451 4.3.0 Mail server temporarily rejected the message'
	grep -q ' deliver_status=71 ' "$LOG"
}

# ---- the program's own reply (queue.c: CUSTOM REPLIES) ---------------

@test "custom reply: exit 31 with '550 5.7.1 text' as last stderr line → that reply" {
	export FAKE_LINE='550 5.7.1 Message rejected as spam (score 12.5)'
	deliver_answers "$FAKES/say-and-exit 31" '550 5.7.1 Message rejected as spam (score 12.5)'
	grep -q 'deliver_stderr .*note: a line before the last' "$LOG"
}

@test "custom reply: exit 71 with a 4xx line → that reply" {
	export FAKE_LINE='452 4.2.2 Mailbox full'
	deliver_answers "$FAKES/say-and-exit 71" '452 4.2.2 Mailbox full'
}

@test "custom reply: a line of the wrong class is ignored (no 5xx for a temporary failure, no 4xx for a permanent one)" {
	export FAKE_LINE='550 5.7.1 Permanent, says the filter'
	deliver_answers "$FAKES/say-and-exit 71" '451 4.3.0 Mail server temporarily rejected the message'
	export FAKE_LINE='451 4.3.0 Temporary, says the filter'
	deliver_answers "$FAKES/say-and-exit 31" '554 5.3.0 Mail server permanently rejected the message'
	export FAKE_LINE='550 4.7.1 mixed classes'
	deliver_answers "$FAKES/say-and-exit 31" '554 5.3.0 Mail server permanently rejected the message'
}

@test "custom reply: exit 0 with a reply line still gets 250; a malformed line is only logged" {
	export FAKE_LINE='550 5.7.1 not a failure'
	export SMTP_DELIVER="$FAKES/say-and-exit 0"
	run one_message
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as '
	for line in '550 5.7 short code' '55 5.7.1 two digits' '550 5.7.1' '5500 5.7.1 four digits' '550  5.7.1 two spaces'; do
		export FAKE_LINE=$line
		deliver_answers "$FAKES/say-and-exit 31" '554 5.3.0 Mail server permanently rejected the message'
	done
}

@test "custom reply: control octets in the text become '?' on the wire" {
	export FAKE_LINE=$'554 5.7.1 bad\x01text\x1b[31m'
	deliver_answers "$FAKES/say-and-exit 31" '554 5.7.1 bad?text?[31m'
}

@test "exit 81 → 451 4.3.0" {
	deliver_answers "$FAKES/exit-status 81" '451 4.3.0 Queue internal bug'
}

@test "exit 111 → 451 4.3.0" {
	deliver_answers "$FAKES/exit-status 111" '451 4.3.0 Temporary problem delivering the message'
}

@test "exit 1 → 451 4.3.0 (temporary, not permanent)" {
	deliver_answers "$FAKES/exit-status 1" '451 4.3.0 Temporary problem delivering the message'
}

@test "killed by SIGKILL → 451 4.3.0 Deliver program crashed" {
	deliver_answers "$FAKES/crash KILL" '451 4.3.0 Deliver program crashed'
}

@test "killed by SIGSEGV → 451 4.3.0 Deliver program crashed" {
	deliver_answers "$FAKES/crash SEGV" '451 4.3.0 Deliver program crashed'
}

@test "exit 0 without reading the envelope (at once) → 451 4.3.0, session goes on" {
	deliver_answers "$FAKES/no-envelope" '451 4.3.0 Queue read error'
}

@test "exit 0 without reading the envelope (after it was written) → 451 4.3.0" {
	# by then the envelope sits unread in the pipe: the program cannot
	# have queued the message for its recipients
	deliver_answers "$FAKES/no-envelope 0.3" '451 4.3.0 Queue read error'
}

@test "after a failed delivery the next message in the session is accepted" {
	export SMTP_DELIVER="$FAKES/fail-first 71"
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
first
.
MAIL FROM:<second@sender.test>
RCPT TO:<carol@example.test>
DATA
second
.
QUIT
IN
	assert_success
	assert_equal "${#lines[@]}" 11
	assert_line --index 5 '451 4.3.0 Mail server temporarily rejected the message'
	assert_line --index 6 '250 2.1.0 Ok'
	assert_line --index 7 '250 2.1.5 Ok'
	assert_line --index 8 '354 End data with <CR><LF>.<CR><LF>'
	assert_line --index 9 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.2$'
	assert_line --index 10 '221 2.0.0 mx.test Bye'
	printf 'Fsecond@sender.test\0Tcarol@example.test\0\0' > "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
	[ "$(tail -n 1 "$FAKE_OUT.msg")" = second ]
	spool_is_empty
}

# ---- timeouts and stray processes --------------------------------------

@test "a hung deliver program is killed after SMTP_DELIVER_TIMEOUT: 451 4.3.0, nothing left" {
	export SMTP_DELIVER_TIMEOUT=1 SMTP_DELIVER="$FAKES/hang $MARK"
	local t0=$SECONDS
	export SESSION LOG
	run timeout 20 bash -c "$(declare -f smtp one_message); one_message" 3>&-
	assert_success
	assert_output "$(one_message_replies '451 4.3.0 Deliver program timed out')"
	[ $((SECONDS - t0)) -le 5 ]
	all_gone
	spool_is_empty
	grep -q ' deliver_failed id=.* reply="Deliver program timed out"' "$LOG"
}

@test "a grandchild holding stderr open does not delay the reply and is killed" {
	export SMTP_DELIVER_TIMEOUT=30 SMTP_DELIVER="$FAKES/grandchild $MARK exit"
	local t0=$SECONDS
	export SESSION LOG
	run timeout 20 bash -c "$(declare -f smtp one_message); one_message" 3>&-
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_equal "${#lines[@]}" 7
	[ $((SECONDS - t0)) -le 5 ]
	all_gone
	spool_is_empty
}

@test "a hung deliver program with a grandchild: 451 after the timeout, both killed" {
	export SMTP_DELIVER_TIMEOUT=1 SMTP_DELIVER="$FAKES/grandchild $MARK hang"
	local t0=$SECONDS
	export SESSION LOG
	run timeout 20 bash -c "$(declare -f smtp one_message); one_message" 3>&-
	assert_success
	assert_output "$(one_message_replies '451 4.3.0 Deliver program timed out')"
	[ $((SECONDS - t0)) -le 5 ]
	all_gone
	spool_is_empty
}

# ---- stderr, environment, arguments ------------------------------------

@test "the deliver program's stderr goes to the log, escaped, never to the client" {
	export SMTP_DELIVER=$FAKES/stderr-lines
	run one_message
	assert_success
	assert_output --regexp '^220 mx\.test ESMTP smtp-session
250 mx\.test
250 2\.1\.0 Ok
250 2\.1\.5 Ok
354 End data with <CR><LF>\.<CR><LF>
250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1
221 2\.0\.0 mx\.test Bye$'
	run sed -n 's/^smtp-session\[[0-9]*\]: deliver_stderr id=[0-9a-f]\{16\} client=192\.0\.2\.1 country=-- //p' "$LOG"
	assert_output "$(cat <<'OUT'
text="first line"
text="escape \x1b[31m red"
text=tab\x09here
text="no newline at end"
OUT
)"
	# no raw control character reached the log
	run ! grep -c $'[\x01-\x08\x0b-\x1f]' "$LOG"
}

@test "environment: TCPREMOTEIP, SMTP_SESSION_ID (the reply's id), SMTP_HELO; no forged or stale ones" {
	export SMTP_DELIVER=$FAKES/env-dump
	export SMTP_AUTH_USER=forged SMTP_SESSION_ID=forged SMTP_HELO=forged
	# SMTP_TLS is also the configuration variable (off/optional/required);
	# without TLS the deliver program must not see it
	export SMTP_TLS=optional
	run one_message
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	local id=${lines[5]##* }
	id=${id%.1}
	run bash -c 'tr "\0" "\n" < "$FAKE_OUT.environ" | grep -E "^(TCPREMOTEIP|SMTP_SESSION_ID|SMTP_HELO|SMTP_AUTH_USER|SMTP_TLS|FAKE_OUT)=" | sort'
	assert_output "$(cat <<OUT
FAKE_OUT=$FAKE_OUT
SMTP_HELO=client.test
SMTP_SESSION_ID=$id
TCPREMOTEIP=192.0.2.1
OUT
)"
	# the id in the log is the same
	grep -q "^smtp-session\[[0-9]*\]: accepted id=$id " "$LOG"
}

@test "SMTP_DELIVER arguments are split on spaces, never given to a shell" {
	export SMTP_DELIVER="$FAKES/save  one '\$HOME;rm' \"two\"	\$(id) *"
	run one_message
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	run cat "$FAKE_OUT.args"
	assert_output "$(cat <<'OUT'
one
'$HOME;rm'
"two"
$(id)
*
OUT
)"
}

@test "QMAILQUEUE is the deliver program when SMTP_DELIVER is unset" {
	unset SMTP_DELIVER
	export QMAILQUEUE="$FAKES/save from-qmailqueue"
	run one_message
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_equal "$(cat "$FAKE_OUT.args")" from-qmailqueue
	printf 'Falice@sender.test\0Tbob@example.test\0\0' > "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
}

@test "SMTP_DELIVER wins over QMAILQUEUE" {
	export SMTP_DELIVER="$FAKES/save from-smtp-deliver"
	export QMAILQUEUE="$FAKES/exit-status 71"
	run one_message
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_equal "$(cat "$FAKE_OUT.args")" from-smtp-deliver
}

@test "a deliver program that does not exist: 451 4.3.0, logged, session goes on" {
	export SMTP_DELIVER=$BATS_TEST_TMPDIR/no-such-program
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
x
.
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
451 4.3.0 Unable to run the deliver program
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
	grep -q "deliver_stderr .*no-such-program: No such file or directory" "$LOG"
	grep -q ' disconnect .* reason=quit ' "$LOG"
	spool_is_empty
}

# ---- the spool directory -----------------------------------------------

@test "client gone in the middle of DATA: nothing delivered, spool empty" {
	export SMTP_DELIVER=$FAKES/save
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: cut short
IN
	assert_success
	assert_output "$(printf '%s\n354 End data with <CR><LF>.<CR><LF>' "$HELO_REPLIES")"
	[ ! -e "$FAKE_OUT.msg" ]
	[ ! -e "$FAKE_OUT.env" ]
	spool_is_empty
	grep -q ' message_aborted .* reason="client gone"' "$LOG"
}

@test "missing SMTP_SPOOL_DIR: DATA gets 451 4.3.0 before any 354, session goes on" {
	export SMTP_DELIVER=$FAKES/save
	export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/no-such-dir
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
RSET
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
451 4.3.0 Local error: cannot create spool file
250 2.0.0 Ok
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
	[ ! -e "$FAKE_OUT.msg" ]
	grep -q " spool_error .*dir=$SMTP_SPOOL_DIR " "$LOG"
}

@test "SMTP_SPOOL_DIR is a regular file: 451 4.3.0 at DATA" {
	export SMTP_DELIVER=$FAKES/save
	export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/file
	: > "$SMTP_SPOOL_DIR"
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n451 4.3.0 Local error: cannot create spool file\n221 2.0.0 mx.test Bye' "$HELO_REPLIES")"
	[ ! -s "$SMTP_SPOOL_DIR" ]
	[ ! -e "$FAKE_OUT.msg" ]
}

@test "SMTP_SPOOL_DIR under a regular file (cannot be written, even by root): 451 4.3.0" {
	export SMTP_DELIVER=$FAKES/save
	: > "$BATS_TEST_TMPDIR/file"
	export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/file/spool
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n451 4.3.0 Local error: cannot create spool file\n221 2.0.0 mx.test Bye' "$HELO_REPLIES")"
	[ ! -e "$FAKE_OUT.msg" ]
}

@test "BDAT: the envelope and the message reach the deliver program as with DATA" {
	export SMTP_DELIVER=$FAKES/save
	run smtp_raw < <(printf 'EHLO client.test\r\nMAIL FROM:<alice@sender.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT 14 LAST\r\nSubject: b\r\n\r\nQUIT\r\n')
	assert_success
	assert_line --index 10 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	printf 'Falice@sender.test\0Tbob@example.test\0\0' > "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
	tail -n +5 "$FAKE_OUT.msg" > "$BATS_TEST_TMPDIR/body"
	printf 'Subject: b\n\n' > "$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/body"
	spool_is_empty
}
