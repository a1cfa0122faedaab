#!/usr/bin/env bats
# contrib/filter/spamc-filter: a content filter between smtp-session and
# the deliver program.  The scanner is a fake with spamc -E's contract
# (fakes/scanner: a marker in the body decides); the next program is the
# real smtp-deliver, or smtp-sendmail, or fakes/save to see the envelope.
load helper

setup() {
	common_setup
	FILTER=$BATS_TEST_DIRNAME/../contrib/filter/spamc-filter
	T=$BATS_TEST_TMPDIR
	export TMPDIR=$T/tmp FAKE_OUT=$T/fake
	export FILTER_SCANNER=$FAKES/scanner
	unset FILTER_SPAM_ACTION FILTER_ON_FAILURE FILTER_TIMEOUT
	mkdir -p "$TMPDIR"
	envelope 'sender@client.test' 'a@example.test' 'b@example.test'
}

# message BODY-LINE -> $T/msg (with a Received line as the session writes).
message() {
	printf 'Received: from client.test by mx.test\nSubject: test\n\nbody \xe9 %s\nend\n' "$1" > "$T/msg"
}

envelope() {
	{ printf 'F%s\0' "$1"; shift
	  local r
	  for r in "$@"; do printf 'T%s\0' "$r"; done
	  printf '\0'; } > "$T/env"
}

# The filter as smtp-session runs it (message fd 0, envelope fd 1);
# bats captures its stderr.
filter() {
	"$FILTER" "$@" 2>&1 < "$T/msg" 1< "$T/env"
}

# The one copy for $1 is: Return-Path, Delivered-To, then $2 (the added
# headers, one a line), then the message as sent.
assert_copy() {
	local f
	f=$(delivered "$1")
	[ -n "$f" ] && [ "$(printf '%s\n' "$f" | wc -l)" -eq 1 ] || { echo "copies for $1: $f" >&2; return 1; }
	{ printf 'Return-Path: <sender@client.test>\nDelivered-To: %s\n%s\n' "$1" "$2"; cat "$T/msg"; } |
		cmp - "$f"
}

no_temp_files() {
	[ -z "$(ls -A "$TMPDIR")" ] || { echo "left in TMPDIR: $(ls -A "$TMPDIR")" >&2; return 1; }
}

last_line() {
	assert_equal "${lines[${#lines[@]} - 1]}" "$1"
}

@test "filter: ham goes on to smtp-deliver with the headers added, for every recipient" {
	message 'hello'
	run -0 filter "$DELIVER"
	assert_output ''
	assert_copy a@example.test "$(printf 'X-Spam-Filter: ham\nX-Fake-Scanner: ham')"
	assert_copy b@example.test "$(printf 'X-Spam-Filter: ham\nX-Fake-Scanner: ham')"
	no_temp_files
}

@test "filter: the next program gets the envelope untouched and its own arguments" {
	message 'hello'
	run -0 filter "$FAKES/save" one 'two words'
	printf 'Fsender@client.test\0Ta@example.test\0Tb@example.test\0\0' | cmp - "$FAKE_OUT.env"
	assert_equal "$(cat "$FAKE_OUT.args")" "$(printf 'one\ntwo words')"
	{ printf 'X-Spam-Filter: ham\nX-Fake-Scanner: ham\n'; cat "$T/msg"; } | cmp - "$FAKE_OUT.msg"
	no_temp_files
}

@test "filter: a scanner that writes nothing leaves the message unchanged but for our header" {
	message 'SILENT-MARKER'
	run -0 filter "$DELIVER"
	assert_copy a@example.test 'X-Spam-Filter: ham'
}

@test "filter: spam is rejected: exit 31, the reply line last, nothing delivered" {
	message 'SPAM-MARKER'
	run -31 filter "$DELIVER"
	assert_output "$(printf 'spamc-filter: message rejected as spam\n554 5.7.1 Message rejected as spam')"
	[ "$(delivered_count)" -eq 0 ]
	no_temp_files
}

@test "filter: FILTER_SPAM_ACTION=tag passes spam on with its verdict" {
	message 'SPAM-MARKER'
	FILTER_SPAM_ACTION=tag run -0 filter "$DELIVER"
	assert_copy a@example.test "$(printf 'X-Spam-Filter: spam\nX-Fake-Scanner: spam')"
}

@test "filter: a crashed scanner: the original message passes, marked unscanned (default)" {
	message 'CRASH-MARKER'
	run -0 filter "$DELIVER"
	assert_line --regexp '^spamc-filter: scanner ".*/scanner" failed \(exit [0-9]+\); FILTER_ON_FAILURE=pass$'
	local st=${output##*exit }; st=${st%%)*}
	[ "$st" -gt 1 ]
	# not the scanner's half output: the message as it came
	assert_copy a@example.test "X-Spam-Filter: unscanned; scanner failed (exit $st)"
	no_temp_files
}

@test "filter: a crashed scanner with FILTER_ON_FAILURE=tempfail: exit 71, a 451 reply" {
	message 'CRASH-MARKER'
	FILTER_ON_FAILURE=tempfail run -71 filter "$DELIVER"
	last_line '451 4.7.0 Message could not be scanned, try again later'
	[ "$(delivered_count)" -eq 0 ]
	no_temp_files
}

@test "filter: a hung scanner is killed at FILTER_TIMEOUT and the message passes" {
	message 'HANG-MARKER'
	local t0=$SECONDS
	FILTER_TIMEOUT=1 run -0 filter "$DELIVER"
	[ $((SECONDS - t0)) -le 5 ]
	assert_copy a@example.test 'X-Spam-Filter: unscanned; scanner failed (exit 137)'
	no_temp_files
}

@test "filter: a missing scanner passes the message, marked unscanned" {
	message 'hello'
	FILTER_SCANNER=$T/no-such-scanner run -0 filter "$DELIVER"
	assert_copy a@example.test 'X-Spam-Filter: unscanned; scanner failed (exit 127)'
}

@test "filter: a message on a pipe works too" {
	message 'hello'
	run -0 bash -c 'cat "$1" | "$2" "$3" 2>&1 1< "$4"' _ "$T/msg" "$FILTER" "$DELIVER" "$T/env"
	assert_copy a@example.test "$(printf 'X-Spam-Filter: ham\nX-Fake-Scanner: ham')"
	no_temp_files
}

@test "filter: the next program's failure is the chain's; bad configuration is 55, no TMPDIR 53" {
	message 'hello'
	run -61 filter "$FAKES/exit-status" 61
	no_temp_files
	run -55 filter
	assert_output 'spamc-filter: usage: spamc-filter NEXT-PROGRAM [ARG...]'
	FILTER_SPAM_ACTION=drop run -55 filter "$DELIVER"
	FILTER_ON_FAILURE=ignore run -55 filter "$DELIVER"
	TMPDIR=$T/no-such-dir run -53 filter "$DELIVER"
	last_line "spamc-filter: cannot make temporary files in $T/no-such-dir"
	[ "$(delivered_count)" -eq 0 ]
}

@test "filter: killed while scanning, it leaves no temporary file" {
	message 'HANG-MARKER'
	# an argument of this test's scanner alone (tests run in parallel)
	local mark=scan-$$-$RANDOM
	export FILTER_SCANNER="$FAKES/scanner $mark"
	"$FILTER" "$DELIVER" < "$T/msg" 1< "$T/env" 2>/dev/null &
	local pid=$! i st=0
	for i in $(seq 50); do [ -n "$(ls -A "$TMPDIR")" ] && break; sleep 0.1; done
	[ -n "$(ls -A "$TMPDIR")" ]
	sleep 0.2
	kill -TERM "$pid"
	wait "$pid" || st=$?
	[ "$st" -eq 71 ]
	no_temp_files
	# the scanner went with it
	sleep 0.2
	run pgrep -f "scanner $mark"
	assert_failure
}

# ---- the whole chain under smtp-session --------------------------------

@test "filter: a session with SMTP_DELIVER=filter smtp-deliver: ham is queued with the header" {
	export SMTP_DELIVER="$FILTER $DELIVER"
	run smtp <<-'EOF'
	EHLO client.test
	MAIL FROM:<sender@client.test>
	RCPT TO:<a@example.test>
	DATA
	Subject: ham

	hello
	.
	QUIT
	EOF
	assert_line --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	local f
	f=$(delivered a@example.test)
	run sed -n '3,4p' "$f"
	assert_output "$(printf 'X-Spam-Filter: ham\nX-Fake-Scanner: ham')"
	run grep -c '^hello$' "$f"
	assert_output 1
	no_temp_files
}

@test "filter: a session with the filter: spam is refused with the filter's 554 5.7.1, nothing delivered" {
	export SMTP_DELIVER="$FILTER $DELIVER"
	run smtp <<-'EOF'
	EHLO client.test
	MAIL FROM:<sender@client.test>
	RCPT TO:<a@example.test>
	DATA
	Subject: spam

	SPAM-MARKER
	.
	QUIT
	EOF
	# exit 31; the filter's last stderr line is the session's reply
	assert_line '554 5.7.1 Message rejected as spam'
	grep -q 'deliver_stderr .*554 5.7.1 Message rejected as spam' "$LOG"
	[ "$(delivered_count)" -eq 0 ]
	no_temp_files
}

@test "filter: a session with FILTER_ON_FAILURE=tempfail and a crashing scanner: the filter's 451" {
	export SMTP_DELIVER="$FILTER $DELIVER" FILTER_ON_FAILURE=tempfail
	run smtp <<-'EOF'
	EHLO client.test
	MAIL FROM:<sender@client.test>
	RCPT TO:<a@example.test>
	DATA
	Subject: crash

	CRASH-MARKER
	.
	QUIT
	EOF
	assert_line '451 4.7.0 Message could not be scanned, try again later'
	[ "$(delivered_count)" -eq 0 ]
	no_temp_files
}

@test "filter: in front of smtp-sendmail: the scanned message reaches sendmail" {
	message 'hello'
	run -0 filter "$TEST_BUILD/smtp-sendmail" "$FAKES/sendmail"
	{ printf 'X-Spam-Filter: ham\nX-Fake-Scanner: ham\n'; cat "$T/msg"; } | cmp - "$FAKE_OUT.stdin"
	assert_equal "$(tr '\0' ' ' < "$FAKE_OUT.argv")" "$FAKES/sendmail -i -f sender@client.test -- a@example.test b@example.test "
	no_temp_files
}
