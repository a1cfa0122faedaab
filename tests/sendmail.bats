#!/usr/bin/env bats
# smtp-sendmail: the qmail-queue interface in, the host MTA's sendmail(1)
# out.  A fake sendmail (fakes/sendmail) shows the exact command line,
# the bytes on its stdin and the exit-status table; a real one (msmtp
# with a config file of the test's own) relays into a second
# smtp-session on loopback, which files the message with smtp-deliver.
load helper

setup() {
	common_setup
	BRIDGE=$TEST_BUILD/smtp-sendmail
	FAKE=$FAKES/sendmail
	T=$BATS_TEST_TMPDIR
	export FAKE_OUT=$T/fake
	unset FAKE_EXIT FAKE_SLEEP FAKE_SIGNAL FAKE_NOISE FAKE_MARK
	# 8-bit octets, a bare CR and a lone dot line: all must come out
	# unchanged (sendmail gets -i: the dot is text)
	printf 'Received: from client.test by mx.test\nSubject: test\n\nbody \xe9\xff\r bare CR\n.\nend\n' > "$T/msg"
}

teardown() {
	stop_server
}

# envelope SENDER RCPT... -> $T/env in qmail-queue(8) format.
envelope() {
	{ printf 'F%s\0' "$1"; shift
	  local r
	  for r in "$@"; do printf 'T%s\0' "$r"; done
	  printf '\0'; } > "$T/env"
}

# The bridge as smtp-session runs it: message on fd 0, envelope on fd 1;
# what bats captures is its stderr.
bridge() {
	"$BRIDGE" "$@" 2>&1 < "$T/msg" 1< "$T/env"
}

# The fake's argv, one argument a line (they hold no newline here).
fake_argv() {
	tr '\0' '\n' < "$FAKE_OUT.argv"
}

# The last line of the output: the reply the session answers with.
last_line() {
	assert_equal "${lines[${#lines[@]} - 1]}" "$1"
}

# ---- the command line and the message -------------------------------

@test "sendmail: argv is PROGRAM -i -f SENDER -- RCPT..., stdin the message byte for byte" {
	envelope 'sender@client.test' 'a@example.test' 'B@Other.test'
	run -0 bridge "$FAKE"
	assert_output "$(printf 'fake sendmail: stdout line\nfake sendmail: stderr line')"
	run fake_argv
	assert_output "$(printf '%s\n' "$FAKE" -i -f sender@client.test -- a@example.test B@Other.test)"
	cmp "$T/msg" "$FAKE_OUT.stdin"
}

@test "sendmail: the null sender is -f '<>'; a recipient starting with '-' stays after --" {
	envelope '' '-oQ/tmp/evil@example.test' '-bs@example.test'
	run -0 bridge "$FAKE"
	run fake_argv
	assert_output "$(printf '%s\n' "$FAKE" -i -f '<>' -- '-oQ/tmp/evil@example.test' '-bs@example.test')"
}

@test "sendmail: a sender starting with '-' is the argument of -f, not an option" {
	envelope '-odd@client.test' 'a@example.test'
	run -0 bridge "$FAKE"
	run fake_argv
	assert_output "$(printf '%s\n' "$FAKE" -i -f '-odd@client.test' -- a@example.test)"
}

@test "sendmail: PROGRAM's own arguments come first; --timeout is ours" {
	envelope 's@client.test' 'a@example.test'
	run -0 bridge --timeout=30 "$FAKE" -C "$T/some file" -oem
	run fake_argv
	assert_output "$(printf '%s\n' "$FAKE" -C "$T/some file" -oem -i -f s@client.test -- a@example.test)"
}

@test "sendmail: a message on a pipe reaches sendmail byte for byte" {
	envelope 's@client.test' 'a@example.test'
	# 200 KiB: more than a pipe holds, so the bridge must read it all
	# before the envelope (qmail-queue order) without blocking anyone
	{ cat "$T/msg"; head -c 204800 /dev/urandom | base64; } > "$T/big"
	run -0 bash -c 'cat "$1" | "$2" "$3" 2>&1 1< "$4"' _ "$T/big" "$BRIDGE" "$FAKE" "$T/env"
	cmp "$T/big" "$FAKE_OUT.stdin"
}

@test "sendmail: /usr/sbin/sendmail is the default PROGRAM" {
	envelope 's@client.test' 'a@example.test'
	run -71 bridge
	if [ -x /usr/sbin/sendmail ]; then skip "this host has a sendmail"; fi
	assert_line --index 0 "smtp-sendmail: cannot run /usr/sbin/sendmail: No such file or directory"
	last_line '451 4.3.0 Host MTA cannot be run'
}

# ---- sendmail's exit status ------------------------------------------

@test "sendmail: each sysexits.h status is mapped, with the reply line last" {
	local row st code reply bad=0
	envelope 's@client.test' 'a@example.test'
	while IFS='|' read -r st code reply; do
		FAKE_EXIT=$st run bridge "$FAKE"
		if [ "$status" != "$code" ]; then
			echo "sendmail exit $st: exit $status, wanted $code" >&2; bad=1
		fi
		if [ -n "$reply" ] && [ "${lines[${#lines[@]} - 1]}" != "$reply" ]; then
			echo "sendmail exit $st: last line '${lines[${#lines[@]} - 1]}', wanted '$reply'" >&2; bad=1
		fi
		if [ "$code" != 0 ] &&
		   ! [[ ${lines[${#lines[@]} - 2]} =~ ^smtp-sendmail:\ .*\ exited\ $st ]]; then
			echo "sendmail exit $st: diagnostic '${lines[${#lines[@]} - 2]}'" >&2; bad=1
		fi
		if [ "$code" = 0 ] && [ "${#lines[@]}" -ne 2 ]; then
			echo "sendmail exit 0: output '$output'" >&2; bad=1
		fi
	done <<-'EOF'
	0|0|
	64|31|554 5.3.0 Host MTA refused the command line (sendmail exit 64)
	65|31|554 5.6.0 Host MTA refused the message (sendmail exit 65)
	66|71|451 4.3.0 Host MTA cannot read the message (sendmail exit 66)
	67|31|550 5.1.1 Host MTA: no such recipient (sendmail exit 67)
	68|31|550 5.1.2 Host MTA: no such recipient domain (sendmail exit 68)
	69|71|451 4.3.0 Host MTA unavailable (sendmail exit 69)
	70|81|451 4.3.0 Host MTA internal error (sendmail exit 70)
	71|71|451 4.3.0 Host MTA system error (sendmail exit 71)
	72|71|451 4.3.5 Host MTA system file missing (sendmail exit 72)
	73|71|451 4.3.1 Host MTA cannot queue the message (sendmail exit 73)
	74|74|451 4.4.2 Host MTA I/O error (sendmail exit 74)
	75|71|451 4.3.0 Host MTA temporarily refused the message (sendmail exit 75)
	76|74|451 4.4.2 Host MTA protocol error (sendmail exit 76)
	77|71|451 4.3.5 Host MTA permission denied (sendmail exit 77)
	78|71|451 4.3.5 Host MTA configuration error (sendmail exit 78)
	1|71|451 4.3.0 Host MTA failed (sendmail exit 1)
	100|71|451 4.3.0 Host MTA failed (sendmail exit 100)
	EOF
	[ "$bad" -eq 0 ]
}

@test "sendmail: the diagnostic names the program and the status, before the reply" {
	envelope 's@client.test' 'a@example.test'
	FAKE_EXIT=75 run -71 bridge "$FAKE"
	assert_output "$(printf '%s\n' 'fake sendmail: stdout line' 'fake sendmail: stderr line' \
		"smtp-sendmail: $FAKE exited 75 (EX_TEMPFAIL)" \
		'451 4.3.0 Host MTA temporarily refused the message (sendmail exit 75)')"
}

@test "sendmail: sendmail killed by a signal is a temporary failure" {
	envelope 's@client.test' 'a@example.test'
	FAKE_SIGNAL=SEGV run -71 bridge "$FAKE"
	assert_line "smtp-sendmail: $FAKE killed by signal 11"
	last_line '451 4.3.0 Host MTA crashed (signal 11)'
}

@test "sendmail: a hung sendmail and what it started are killed at --timeout" {
	envelope 's@client.test' 'a@example.test'
	export FAKE_MARK=sendmail-hang-$$-$RANDOM
	local t0=$SECONDS
	FAKE_SLEEP=60 run -71 bridge --timeout=1 "$FAKE"
	[ $((SECONDS - t0)) -le 5 ]
	assert_line "smtp-sendmail: $FAKE killed after 1 s"
	last_line '451 4.4.7 Host MTA timed out'
	sleep 0.2
	run pgrep -f "^$FAKE_MARK"
	assert_failure
}

@test "sendmail: killed with the bridge (a session timeout): no sendmail is left" {
	envelope 's@client.test' 'a@example.test'
	export FAKE_MARK=sendmail-orphan-$$-$RANDOM FAKE_SLEEP=60
	# -X MARK: an argument of this test's fake alone (tests run in
	# parallel, other fakes run at the same time)
	"$BRIDGE" "$FAKE" -X "$FAKE_MARK" < "$T/msg" 1< "$T/env" 2>/dev/null &
	local pid=$! i
	for i in $(seq 50); do pgrep -f "^$FAKE_MARK" >/dev/null && break; sleep 0.1; done
	run pgrep -f "sendmail -X $FAKE_MARK"
	assert_success
	kill -KILL "$pid"
	wait "$pid" || true
	sleep 0.3
	# the fake itself died with the bridge (PR_SET_PDEATHSIG) ...
	run pgrep -f "sendmail -X $FAKE_MARK"
	assert_failure
	pkill -f "^$FAKE_MARK" || true   # ... its own child is its business
}

@test "sendmail: output without a final newline still leaves the reply on a line of its own; output is capped" {
	envelope 's@client.test' 'a@example.test'
	FAKE_EXIT=69 FAKE_NOISE=10 run -71 bridge "$FAKE"
	assert_line --index 2 'xxxxxxxxxx'
	last_line '451 4.3.0 Host MTA unavailable (sendmail exit 69)'
	FAKE_EXIT=69 FAKE_NOISE=20000 run -71 bridge "$FAKE"
	[ "${#output}" -lt 5000 ]
	assert_line --regexp '^smtp-sendmail: [0-9]+ more octets of output dropped$'
	last_line '451 4.3.0 Host MTA unavailable (sendmail exit 69)'
}

# ---- what never reaches sendmail ---------------------------------------

@test "sendmail: a control octet in an address is refused (31) and sendmail never runs" {
	envelope 's@client.test' 'a@example.test' $'b@example.test\r\nDATA'
	run -31 bridge "$FAKE"
	assert_line --index 0 'smtp-sendmail: recipient address <b@example.test\x0d\x0aDATA> has a control octet'
	last_line '554 5.1.3 Bad recipient address syntax'
	[ ! -e "$FAKE_OUT.argv" ]
	envelope $'s@client.test\x7f' 'a@example.test'
	run -31 bridge "$FAKE"
	last_line '554 5.1.3 Bad sender address syntax'
}

@test "sendmail: envelope limits and format errors" {
	envelope 's@client.test' "$(rep 1003)@x"
	run -11 bridge "$FAKE"
	assert_output 'smtp-sendmail: recipient address longer than 1002 octets'
	envelope 's@client.test' $(for i in $(seq 1001); do echo "r$i@example.test"; done)
	run -31 bridge "$FAKE"
	last_line '554 5.5.3 Too many recipients for the host MTA (at most 1000)'
	envelope 's@client.test'
	run -91 bridge "$FAKE"
	assert_output 'smtp-sendmail: the envelope has no recipients'
	printf 'Xs@client.test\0Ta@example.test\0\0' > "$T/env"
	run -91 bridge "$FAKE"
	assert_output 'smtp-sendmail: the envelope starts with \x58, not F'
	printf 'Fs@client.test\0Ta@example.test\0' > "$T/env"
	run -54 bridge "$FAKE"
	assert_output 'smtp-sendmail: the envelope ends before its final NUL'
	: > "$T/env"
	run -54 bridge "$FAKE"
	assert_output 'smtp-sendmail: the envelope is empty'
	[ ! -e "$FAKE_OUT.argv" ]
}

@test "sendmail: 1000 recipients fit on the command line" {
	envelope 's@client.test' $(for i in $(seq 1000); do echo "r$i-$(rep 200 y)@example.test"; done)
	run -0 bridge "$FAKE"
	[ "$(fake_argv | wc -l)" -eq 1005 ]
}

@test "sendmail: bad command lines are configuration errors (55)" {
	envelope 's@client.test' 'a@example.test'
	run -55 bridge sendmail
	assert_output 'smtp-sendmail: PROGRAM must be an absolute path, not "sendmail"'
	run -55 bridge --timeout=0 "$FAKE"
	assert_output 'smtp-sendmail: --timeout wants 1 to 86400 seconds, not "0"'
	run -55 bridge --bogus "$FAKE"
	assert_output 'smtp-sendmail: unknown option "--bogus"'
	run -0 "$BRIDGE" --version
	assert_output 'smtp-sendmail 0.1.0'
	run -0 "$BRIDGE" --help
	assert_line --index 0 'usage: smtp-sendmail [--timeout=SECONDS] [PROGRAM [ARG...]]'
}

# ---- a real sendmail: msmtp into a second smtp-session ------------------

# A sink: smtp-session on 127.0.0.1:$PORT filing example.test into
# $MAILDIR_ROOT with smtp-deliver; msmtp's configuration $T/msmtprc
# (no header added: the message arrives as it was sent).
start_sink() {
	start_inetd
	cat > "$T/msmtprc" <<-EOF
	defaults
	syslog off
	account default
	host 127.0.0.1
	port $PORT
	tls off
	auth off
	domain relay.test
	from fallback@relay.test
	set_from_header off
	set_date_header off
	set_msgid_header off
	EOF
	chmod 600 "$T/msmtprc"
}

@test "sendmail: msmtp relays into a real smtp-session: envelope and message arrive" {
	start_sink
	envelope 'sender@client.test' 'user@example.test' '-dash@example.test'
	run -0 bridge /usr/bin/msmtp -C "$T/msmtprc"
	assert_output ''
	local f
	for r in user@example.test -dash@example.test; do
		f=$(delivered "$r")
		[ -n "$f" ]
		run head -2 "$f"
		assert_output "$(printf 'Return-Path: <sender@client.test>\nDelivered-To: %s' "$r")"
		# the sink's Received header (5 lines), then the message as sent
		sed 1,2d "$f" | awk 'body { print; next } /^\t[A-Z][a-z][a-z], / { body = 1 }' | cmp - "$T/msg"
	done
	grep -q 'accepted .* sender=sender@client.test rcpts=2 ' "$LOG"
}

@test "sendmail: msmtp with the null sender: the sink sees MAIL FROM:<>" {
	start_sink
	envelope '' 'user@example.test'
	run -0 bridge /usr/bin/msmtp -C "$T/msmtprc"
	run head -1 "$(delivered user@example.test)"
	assert_output 'Return-Path: <>'
}

@test "sendmail: msmtp refused by the sink (relay denied): permanent, 31 and a 554 reply" {
	start_sink
	envelope 'sender@client.test' 'user@elsewhere.test'
	run -31 bridge /usr/bin/msmtp -C "$T/msmtprc"
	assert_line --partial '554 5.7.1'      # msmtp quotes the sink's answer
	last_line '554 5.6.0 Host MTA refused the message (sendmail exit 65)'
	[ "$(delivered_count)" -eq 0 ]
}

@test "sendmail: msmtp with nothing listening: temporary, 71 and a 451 reply" {
	start_sink
	stop_server || true
	envelope 'sender@client.test' 'user@example.test'
	run -71 bridge /usr/bin/msmtp -C "$T/msmtprc"
	# msmtp: connection refused is EX_TEMPFAIL
	last_line '451 4.3.0 Host MTA temporarily refused the message (sendmail exit 75)'
}

@test "sendmail: a whole session relays through smtp-sendmail and msmtp into the sink" {
	start_sink
	# the front session: example.test is remote here (the sink's domain),
	# so a relay client's mail for it goes to SMTP_RELAY_DELIVER
	export SMTP_DOMAINS=front.test RELAYCLIENT=
	export SMTP_RELAY_DELIVER="$BRIDGE /usr/bin/msmtp -C $T/msmtprc"
	run smtp <<-'EOF'
	EHLO client.test
	MAIL FROM:<sender@client.test>
	RCPT TO:<user@example.test>
	DATA
	Subject: relayed

	hello through the host MTA
	.
	MAIL FROM:<sender@client.test>
	RCPT TO:<bad@example.test>
	QUIT
	EOF
	assert_line --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	run delivered_body user@example.test
	# the sink's Received, then the front session's, then the message
	assert_output --partial 'hello through the host MTA'
	grep -q '^Received: from client.test' "$(delivered user@example.test)"
}

@test "sendmail: a whole session: the host MTA's refusal reaches the client in the bridge's words" {
	start_sink
	# the front session accepts elsewhere.test (a relay client); the sink
	# refuses it, msmtp exits 65, the bridge 31
	export SMTP_RELAY_DELIVER="$BRIDGE /usr/bin/msmtp -C $T/msmtprc" RELAYCLIENT=
	run smtp <<-'EOF'
	EHLO client.test
	MAIL FROM:<sender@client.test>
	RCPT TO:<user@elsewhere.test>
	DATA
	Subject: refused

	x
	.
	QUIT
	EOF
	# the bridge's last stderr line is the session's reply
	assert_line '554 5.6.0 Host MTA refused the message (sendmail exit 65)'
	grep -q 'deliver_stderr .*554 5.6.0 Host MTA refused the message (sendmail exit 65)' "$LOG"
}

@test "sendmail: a whole session: the host MTA down is a 451 in the bridge's words" {
	start_sink
	stop_server || true
	export SMTP_DOMAINS=front.test RELAYCLIENT=
	export SMTP_RELAY_DELIVER="$BRIDGE /usr/bin/msmtp -C $T/msmtprc"
	run smtp <<-'EOF'
	EHLO client.test
	MAIL FROM:<sender@client.test>
	RCPT TO:<user@example.test>
	DATA
	Subject: later

	x
	.
	QUIT
	EOF
	assert_line '451 4.3.0 Host MTA temporarily refused the message (sendmail exit 75)'
}
