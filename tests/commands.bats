# The command layer: greeting, HELO/EHLO, the simple verbs, line limits,
# the error counter, pipelining, logging of what the client sends.
load helper

setup() { common_setup; }

# $1 copies of the letter x.
xs() { rep "$1" x; }

@test "the greeting comes first, and a client that sends nothing gets only it" {
	run smtp </dev/null
	assert_success
	assert_output "$GREETING"
}

@test "HELO replies 250 with the host name" {
	run smtp <<'IN'
HELO client.test
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
221 2.0.0 mx.test Bye
OUT
)"
}

@test "EHLO lists the extensions, SIZE follows SMTP_MAX_SIZE" {
	export SMTP_MAX_SIZE=10000
	run smtp <<'IN'
EHLO client.test
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 10000
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
221 2.0.0 mx.test Bye
OUT
)"
}

@test "HELO and EHLO without an argument get 501 5.5.4 and change nothing" {
	run smtp <<'IN'
HELO
EHLO
HELO   
MAIL FROM:<a@b.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
501 5.5.4 Syntax: HELO needs an argument
501 5.5.4 Syntax: EHLO needs an argument
501 5.5.4 Syntax: HELO needs an argument
503 5.5.1 Error: send HELO/EHLO first
221 2.0.0 mx.test Bye
OUT
)"
}

@test "RSET replies 250 2.0.0, also before HELO; with an argument 501" {
	run smtp <<'IN'
RSET
EHLO client.test
RSET
RSET now
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
250 2.0.0 Ok
$EHLO_REPLY
250 2.0.0 Ok
501 5.5.4 Syntax: RSET takes no argument
221 2.0.0 mx.test Bye
OUT
)"
}

@test "NOOP replies 250 2.0.0 with and without an argument" {
	run smtp <<'IN'
NOOP
NOOP some argument
EHLO client.test
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
250 2.0.0 Ok
250 2.0.0 Ok
$EHLO_REPLY
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "QUIT replies 221 2.0.0 and ends the session: later lines are not answered" {
	run smtp <<'IN'
EHLO client.test
QUIT
NOOP
MAIL FROM:<a@b.test>
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
221 2.0.0 mx.test Bye
OUT
)"
	run grep -c ' disconnect .* reason=quit' "$LOG"
	assert_output 1
}

@test "QUIT ends the session at once, without waiting for the client to close" {
	# stdin stays open 3 s after QUIT; the session must be gone long before.
	quit_held_open() {
		timeout 2 "$SESSION" 2>>"$LOG" 3>&- \
			< <(printf 'QUIT\r\nNOOP\r\n'; exec sleep 3 >/dev/null 2>&1 3>&-) |
			tr -d '\r'
		return "${PIPESTATUS[0]}"
	}
	run quit_held_open
	assert_success
	assert_output "$(printf '%s\n221 2.0.0 mx.test Bye' "$GREETING")"
}

@test "QUIT with an argument gets 501 and the session goes on" {
	run smtp <<'IN'
QUIT now
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
501 5.5.4 Syntax: QUIT takes no argument
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "VRFY gets 252 2.5.2 (RFC 5321 3.5.3); without an argument 501" {
	run smtp <<'IN'
VRFY bob
EHLO client.test
VRFY <bob@example.test>
VRFY
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery
$EHLO_REPLY
252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery
501 5.5.4 Syntax: VRFY needs an argument
221 2.0.0 mx.test Bye
OUT
)"
}

@test "HELP replies 214 2.0.0, with and without an argument" {
	run smtp <<'IN'
HELP
HELP MAIL
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see smtp-session(8)
214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP; see smtp-session(8)
221 2.0.0 mx.test Bye
OUT
)"
}

@test "EXPN, TURN and ETRN get 502 5.5.1" {
	run smtp <<'IN'
EHLO client.test
EXPN staff
EXPN
TURN
ETRN example.test
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
221 2.0.0 mx.test Bye
OUT
)"
}

@test "without a certificate STARTTLS gets 502 5.5.1 and is not advertised" {
	run smtp <<'IN'
EHLO client.test
STARTTLS
NOOP
QUIT
IN
	assert_success
	refute_line '250-STARTTLS'
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
502 5.5.1 Error: STARTTLS not offered
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "with SMTP_AUTH off AUTH gets 502 5.5.1 and is not advertised" {
	run smtp <<'IN'
EHLO client.test
AUTH PLAIN AGJvYgBzZWNyZXQ=
AUTH LOGIN
NOOP
QUIT
IN
	assert_success
	refute_line --partial 'AUTH'
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
502 5.5.1 Error: command not implemented
502 5.5.1 Error: command not implemented
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "unknown verbs get 500 5.5.2; a verb is matched whole, not by prefix" {
	run smtp <<'IN'
EHLO client.test
FOO bar
MAILFROM:<a@b.test>
HELOclient.test
QUITX

MAIL FROM:<a@b.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
250 2.1.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "verbs and the FROM:/TO: keywords are case-insensitive" {
	run smtp_ids <<'IN'
ehlo client.test
MaIl from:<alice@sender.test>
rcpt To:<bob@example.test>
data
Subject: case

x
.
nOoP
quit
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
	run delivered_body bob@example.test
	assert_output "$(printf 'Subject: case\n\nx')"
}

@test "a command line of 2048 octets is accepted, 2049 gets 500 5.5.2 Line too long" {
	# "NOOP " + x's + CRLF: 2048 and 2049 octets.
	local ok long mail
	ok="NOOP $(xs 2041)"
	long="NOOP $(xs 2042)"
	# A MAIL line of 2049 octets: if it were executed, the next MAIL
	# would be nested (503).
	mail="MAIL FROM:<a@b.test> X-PAD=$(xs $((2049 - 2 - 27)))"
	[ $(( ${#ok} + 2 )) -eq 2048 ] && [ $(( ${#long} + 2 )) -eq 2049 ] &&
		[ $(( ${#mail} + 2 )) -eq 2049 ]
	run smtp <<IN
EHLO client.test
$ok
$long
$mail
MAIL FROM:<a@b.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.0.0 Ok
500 5.5.2 Line too long
500 5.5.2 Line too long
250 2.1.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "the tail of a too-long line is discarded, never run as a command" {
	# "QUIT" placed where a reader that cuts at ~2048 octets would start
	# a new line; a 20000-octet line ending in QUIT too.
	local l1 l2 l3 l4 huge
	l1="NOOP $(xs 2040)QUIT"
	l2="NOOP $(xs 2041)QUIT"
	l3="NOOP $(xs 2042)QUIT"
	l4="NOOP $(xs 2043)QUIT"
	huge="NOOP $(xs $((20000 - 2 - 9)))QUIT"
	[ $(( ${#huge} + 2 )) -eq 20000 ]
	run smtp <<IN
EHLO client.test
$l1
$l2
$l3
$l4
$huge
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Line too long
500 5.5.2 Line too long
500 5.5.2 Line too long
500 5.5.2 Line too long
500 5.5.2 Line too long
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "a line of 3000 x's gets 500 5.5.2 Line too long, and the session goes on" {
	run smtp <<IN
EHLO client.test
$(xs 3000)
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Line too long
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "a NUL octet in a command gets 500 5.5.2 and the command is not run" {
	run smtp_raw < <(printf 'EHLO client.test\r\nNOOP a\0b\r\nMAIL FROM:<a@b.test>\0\r\nMAIL FROM:<a@b.test>\r\nQUIT\r\n')
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Error: NUL octet in command
500 5.5.2 Error: NUL octet in command
250 2.1.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "commands ending in a bare LF are accepted" {
	run smtp_raw_ids < <(printf 'EHLO client.test\nMAIL FROM:<a@b.test>\nRCPT TO:<bob@example.test>\nDATA\r\nhi\r\n.\r\nNOOP\nQUIT\n')
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
	run delivered_body bob@example.test
	assert_output 'hi'
}

@test "SMTP_MAX_ERRORS=3: the 3rd bad command is answered, then 421 4.7.0 and nothing more" {
	export SMTP_MAX_ERRORS=3
	run smtp <<'IN'
EHLO client.test
FOO
BAR
BAZ
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
421 4.7.0 mx.test Too many errors, closing connection
OUT
)"
	run grep -c ' disconnect .* reason=too_many_errors' "$LOG"
	assert_output 1
}

@test "errors are counted per 5xx reply of any kind; 2xx and 4xx do not reset or count" {
	export SMTP_MAX_ERRORS=3 SMTP_MAX_RCPTS=1
	run smtp <<'IN'
EHLO client.test
FOO
NOOP
MAIL FROM:<>
RCPT TO:<bob@example.test>
RCPT TO:<alice@example.test>
RCPT TO:<carol@example.test>
MAIL FROM:<>
RSET
RCPT TO:<bob@example.test>
NOOP
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Error: command not recognized
250 2.0.0 Ok
250 2.1.0 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients
452 4.5.3 Error: too many recipients
503 5.5.1 Error: nested MAIL command
250 2.0.0 Ok
503 5.5.1 Error: need MAIL command
421 4.7.0 mx.test Too many errors, closing connection
OUT
)"
}

@test "errors: relay denials and bad addresses count too" {
	export SMTP_MAX_ERRORS=3
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a..b@sender.test>
MAIL FROM:<>
RCPT TO:<x@other.test>
RCPT TO:bob@example.test
NOOP
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
553 5.1.7 Bad address syntax
250 2.1.0 Ok
554 5.7.1 Relay access denied
501 5.5.4 Syntax: RCPT TO:<address>
421 4.7.0 mx.test Too many errors, closing connection
OUT
)"
}

@test "an accepted message resets the error count" {
	export SMTP_MAX_ERRORS=3
	run smtp_ids <<'IN'
EHLO client.test
FOO
BAR
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
DATA
hi
.
FOO
BAR
NOOP
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
500 5.5.2 Error: command not recognized
500 5.5.2 Error: command not recognized
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
}

@test "RFC 2920: a pipelined group sent in one write is answered completely and in order" {
	run smtp_raw_ids < <(printf '%s' 'EHLO client.test
MAIL FROM:<alice@sender.test> SIZE=100
RCPT TO:<bob@example.test>
RCPT TO:<x@other.test>
RCPT TO:<carol@example.test>
FOO
DATA
Subject: pipelined

body
.
MAIL FROM:<>
RCPT TO:<dave@example.test>
RSET
DATA
NOOP
QUIT
' | sed 's/$/\r/')
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
554 5.7.1 Relay access denied
250 2.1.5 Ok
500 5.5.2 Error: command not recognized
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok
503 5.5.1 Error: need MAIL command
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
	run delivered_body bob@example.test
	assert_output "$(printf 'Subject: pipelined\n\nbody')"
	run delivered_body carol@example.test
	assert_output "$(printf 'Subject: pipelined\n\nbody')"
	run delivered_count
	assert_output 2
}

@test "RFC 2920: replies to a group are flushed before the server waits for more input" {
	# The client sends a group and waits: all its replies must arrive
	# while the connection is still open.
	local out=$BATS_TEST_TMPDIR/out
	mkfifo "$BATS_TEST_TMPDIR/in"
	timeout 5 "$SESSION" <"$BATS_TEST_TMPDIR/in" >"$out" 2>>"$LOG" 3>&- &
	local pid=$!
	exec 4>"$BATS_TEST_TMPDIR/in"
	printf 'EHLO client.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nNOOP\r\n' >&4
	local i seen=no
	for i in $(seq 50); do
		if [ "$(grep -c . "$out")" -ge 11 ]; then seen=yes; break; fi
		sleep 0.1
	done
	printf 'QUIT\r\n' >&4
	exec 4>&-
	wait "$pid"
	run tr -d '\r' <"$out"
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok
221 2.0.0 mx.test Bye
OUT
)"
	# The replies were there while the connection was still open.
	assert_equal "$seen" yes
}

@test "an HTTP request line gets 421 and the connection is closed" {
	run smtp <<'IN'
GET / HTTP/1.1
Host: mx.test
User-Agent: curl/8.0

IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
421 4.7.0 mx.test Error: this is an SMTP server
OUT
)"
}

@test "an HTTP POST after EHLO also gets 421 and the close" {
	run smtp <<'IN'
EHLO client.test
POST /form HTTP/1.1
NOOP
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
421 4.7.0 mx.test Error: this is an SMTP server
OUT
)"
}

@test "EOF without QUIT ends cleanly: exit 0, a disconnect line with reason=eof" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
OUT
)"
	run grep -E '^smtp-session\[[0-9]+\]: disconnect .*reason=eof( |$)' "$LOG"
	assert_success
	assert_equal "${#lines[@]}" 1
	spool_is_empty
}

@test "every log line of a session carries client=192.0.2.1 and the same id" {
	run smtp <<'IN'
EHLO client.test
FOO
MAIL FROM:<a@b.test>
RCPT TO:<x@other.test>
RCPT TO:<bob@example.test>
DATA
hi
.
QUIT
IN
	assert_success
	# connect, unknown_command, mail, rcpt_refused, accepted, disconnect
	run grep -c . "$LOG"
	[ "$output" -ge 6 ]
	run grep -vE ' client=192\.0\.2\.1( |$)' "$LOG"
	assert_failure
	assert_output ''
	run bash -c "grep -oE ' id=[0-9a-f]+ ' '$LOG' | sort -u | wc -l"
	assert_output 1
	run grep -c ' id=' "$LOG"
	[ "$output" -eq "$(grep -c . "$LOG")" ]
}

@test "control characters from the client never reach the log raw" {
	run smtp_raw < <(printf '%s\r\n' \
		$'EHLO cli\x1b]0;pwn\x07ent.test' \
		$'FO\x1b[31mO bar\rbaz' \
		$'MAIL FROM:<a\x1b[31m@b.test>' \
		$'MAIL FROM:<"a\x1b[31m"@b.test>' \
		'MAIL FROM:<>' \
		$'RCPT TO:<x\x1b[2J@other.test>' \
		$'RCPT TO:<"x\x1b[2J"@example.test>' \
		$'RCPT TO:<bob@oth\x1b[2Jer.test>' \
		'QUIT')
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
500 5.5.2 Error: command not recognized
553 5.1.7 Bad address syntax
553 5.1.7 Bad address syntax
250 2.1.0 Ok
553 5.1.3 Bad address syntax
553 5.1.3 Bad address syntax
553 5.1.3 Bad address syntax
221 2.0.0 mx.test Bye
OUT
)"
	# The unknown command is logged by its length only: its text may be
	# a client's base64 credentials (see auth.bats).
	grep -qF 'unknown_command' "$LOG"
	grep -q 'unknown_command .* length=16$' "$LOG"
	run grep -c $'\x1b' "$LOG"
	assert_output 0
	run grep -c $'\x07' "$LOG"
	assert_output 0
	run grep -c $'\r' "$LOG"
	assert_output 0
	run grep -vc '^smtp-session\[[0-9]*\]: ' "$LOG"
	assert_output 0
}
