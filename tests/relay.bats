# Outbound mail (issue "admin"): recipients outside SMTP_DOMAINS that a
# client may relay (RELAYCLIENT, AUTH) go to SMTP_RELAY_DELIVER, never
# into a local Maildir; without it they get 550 5.7.1 at RCPT.  A
# transaction with local and relayed recipients is split between the
# two programs (delivery.c): 250 only when both succeeded; after a
# partial failure the retry skips what was delivered.
load helper

setup() {
	common_setup
	export FAKE_OUT=$BATS_TEST_TMPDIR/relay
	export SMTP_RELAY_DELIVER=$FAKES/save
}

# The relay program's envelope, NULs as '|'.
relay_envelope() {
	tr '\0' '|' < "$FAKE_OUT.env"
}

# A mixed transaction from a RELAYCLIENT: bob local, friend remote.
mixed() {
	smtp_ids <<IN
EHLO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<bob@example.test>
RCPT TO:<friend@far.example>
DATA
Subject: ${1:-mixed}

hello
.
QUIT
IN
}

mixed_replies() {
	cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
$1
$BYE
OUT
}

records() {
	ls -A "$SMTP_SPOOL_DIR/delivered" 2>/dev/null | wc -l
}

@test "relaying not configured: a relay client's remote recipient gets 550 5.7.1 at RCPT, the local one is delivered" {
	unset SMTP_RELAY_DELIVER
	export RELAYCLIENT=
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<friend@far.example>
RCPT TO:<bob@example.test>
DATA
hi
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
550 5.7.1 Relaying is not configured on this server
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	[ "$(delivered_count)" -eq 1 ]
	[ ! -e "$MAILDIR_ROOT/far.example" ]
	grep -qE ' rcpt_refused .* from=<alice@example\.test> to=<friend@far\.example> code=550 dsn=5\.7\.1 reply="Relaying is not configured on this server" reason="relay not configured"$' "$LOG"
}

@test "relaying not configured: an authenticated client gets 550 5.7.1 too (submission never files outbound mail locally)" {
	unset SMTP_RELAY_DELIVER
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1 SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	install -m 600 /dev/null "$SMTP_PASSWD"
	echo "alice:$(printf 'pw-alice\n' | mkpasswd -s -m sha512crypt)" > "$SMTP_PASSWD"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(printf '\0alice\0pw-alice' | base64)
MAIL FROM:<alice@example.test>
RCPT TO:<friend@far.example>
QUIT
IN
	assert_success
	assert_line --index 9 '235 2.7.0 Authentication successful'
	assert_line --index 10 '250 2.1.0 Ok'
	assert_line --index 11 '550 5.7.1 Relaying is not configured on this server'
}

@test "a client that may not relay gets 554 5.7.1 Relay access denied, relay program or not" {
	run smtp <<'IN'
HELO client.test
MAIL FROM:<a@b.test>
RCPT TO:<friend@far.example>
QUIT
IN
	assert_success
	assert_line --index 3 '554 5.7.1 Relay access denied'
	[ ! -e "$FAKE_OUT.env" ]
}

@test "relayed recipients only: the relay program gets them, with the session's environment; no Maildir" {
	export RELAYCLIENT=
	export SMTP_RELAY_DELIVER=$FAKES/env-dump
	run smtp_ids <<'IN'
HELO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<friend@far.example>
RCPT TO:<other@else.example>
DATA
hi
.
QUIT
IN
	assert_success
	assert_line --index 6 '250 2.0.0 Ok: queued as ID.1'
	[ "$(delivered_count)" -eq 0 ]
	[ ! -e "$MAILDIR_ROOT" ]
	run tr '\0' '\n' < "$FAKE_OUT.environ"
	assert_line 'SMTP_HELO=client.test'
	assert_line 'TCPREMOTEIP=192.0.2.1'
	assert_line --regexp '^SMTP_SESSION_ID=[0-9a-f]{16}$'
}

@test "mixed transaction: local part to SMTP_DELIVER, relayed part to SMTP_RELAY_DELIVER, one 250" {
	export RELAYCLIENT=
	run mixed
	assert_success
	assert_output "$(mixed_replies '250 2.0.0 Ok: queued as ID.1')"
	run delivered_body bob@example.test
	assert_output "$(printf 'Subject: mixed\n\nhello')"
	run relay_envelope
	assert_output 'Falice@example.test|Tfriend@far.example||'
	run tail -n 1 "$FAKE_OUT.msg"
	assert_output hello
	grep -qE ' delivered .* to=<bob@example\.test> .* route=local part_status=0 code=250 ' "$LOG"
	grep -qE ' delivered .* to=<friend@far\.example> .* route=relay part_status=0 code=250 ' "$LOG"
	[ "$(records)" -eq 0 ]
}

@test "mixed transaction, relay part fails (temporary): 451, the retry delivers the relay part and not the local one again" {
	export RELAYCLIENT= SMTP_RELAY_DELIVER="$FAKES/fail-first 71"
	run mixed
	assert_success
	assert_output "$(mixed_replies '451 4.3.0 Mail server temporarily rejected the message')"
	[ "$(delivered_count)" -eq 1 ]
	[ "$(records)" -eq 1 ]
	grep -qE ' not_delivered .* to=<bob@example\.test> .* route=local part_status=0 code=451 dsn=4\.3\.0 ' "$LOG"
	grep -qE ' not_delivered .* to=<friend@far\.example> .* route=relay part_status=71 code=451 ' "$LOG"
	# the client's retry: same message, same sender
	run mixed
	assert_success
	assert_output "$(mixed_replies '250 2.0.0 Ok: queued as ID.1')"
	[ "$(delivered_count)" -eq 1 ]
	run relay_envelope
	assert_output 'Falice@example.test|Tfriend@far.example||'
	grep -qE ' delivered .* to=<bob@example\.test> .* route=local part_status=earlier code=250 ' "$LOG"
	[ "$(records)" -eq 0 ]
}

@test "mixed transaction, a retry with another message (or another sender) is delivered in full" {
	export RELAYCLIENT= SMTP_RELAY_DELIVER="$FAKES/fail-first 71"
	run mixed first
	assert_output "$(mixed_replies '451 4.3.0 Mail server temporarily rejected the message')"
	run mixed second
	assert_output "$(mixed_replies '250 2.0.0 Ok: queued as ID.1')"
	[ "$(delivered_count)" -eq 2 ]
	# the record of the first stays until it is old (RECORD_DAYS)
	[ "$(records)" -eq 1 ]
}

@test "mixed transaction, local part fails: 451, the relay program is not run" {
	export RELAYCLIENT=
	mkdir -p "$(dirname "$MAILDIR_ROOT")"
	: > "$MAILDIR_ROOT"                    # a file: smtp-deliver exits 61
	run mixed
	assert_success
	assert_output "$(mixed_replies '451 4.3.0 Queue trouble in home directory')"
	[ ! -e "$FAKE_OUT.env" ]
	[ "$(records)" -eq 0 ]
	grep -qE ' not_delivered .* to=<friend@far\.example> .* route=relay part_status=- code=451 ' "$LOG"
}

@test "mixed transaction, relay part refused for good: its own reply; the local copy stays (documented)" {
	export RELAYCLIENT= SMTP_RELAY_DELIVER="$FAKES/say-and-exit 31"
	export FAKE_LINE='550 5.1.2 Host MTA says: no such domain'
	run mixed
	assert_success
	assert_output "$(mixed_replies '550 5.1.2 Host MTA says: no such domain')"
	[ "$(delivered_count)" -eq 1 ]
	[ "$(records)" -eq 0 ]
}

@test "SMTP_RELAY_DELIVER the same program as SMTP_DELIVER: one run gets every recipient (qmail-queue)" {
	export RELAYCLIENT= SMTP_DELIVER=$FAKES/save SMTP_RELAY_DELIVER=$FAKES/save
	run mixed
	assert_success
	assert_output "$(mixed_replies '250 2.0.0 Ok: queued as ID.1')"
	run relay_envelope
	assert_output 'Falice@example.test|Tbob@example.test|Tfriend@far.example||'
}

@test "a message that already has our Delivered-To: for its recipient is refused as a loop: 554 5.4.6" {
	run smtp_ids <<'IN'
HELO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
DATA
Delivered-To: bob@example.test
Subject: looping

hi
.
QUIT
IN
	assert_success
	assert_line --index 5 '554 5.4.6 Mail loop: already delivered to <bob@example.test>'
	[ "$(delivered_count)" -eq 0 ]
}
