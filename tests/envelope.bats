# The envelope: MAIL and RCPT syntax, parameters, SMTPUTF8, relay
# control, SMTP_RECIPIENTS, postmaster, limits, transaction resets.
load helper

# The error limit is tested in commands.bats; here it would only get in
# the way of tests that send many bad addresses.
setup() { common_setup; export SMTP_MAX_ERRORS=1000; }

# A domain name of exactly $1 octets (at least 7): labels of at most
# 10 octets, ending in .test.
long_domain() {
	local n=$1 m k
	m=$(( (n - 6) / 10 ))
	k=$(( n - 5 - 10 * m ))
	printf '%s.' "$(rep "$k" x)"
	for ((; m > 0; m--)); do printf 'abcdefghi.'; done
	printf 'test'
}

# Return-Path: and Delivered-To: of the one message in $1's mailbox.
envelope_of() {
	local f
	f=$(delivered "$1")
	[ -n "$f" ] && [ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] || return 1
	head -n 2 "$f"
}

# ---- sequence ----------------------------------------------------------

@test "MAIL, RCPT and DATA before HELO/EHLO get 503 5.5.1" {
	run smtp <<'IN'
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
503 5.5.1 Error: send HELO/EHLO first
503 5.5.1 Error: send HELO/EHLO first
503 5.5.1 Error: send HELO/EHLO first
$BYE
OUT
)"
}

@test "a nested MAIL gets 503 5.5.1 and the first transaction stays" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<alice@sender.test>
MAIL FROM:<eve@sender.test>
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
503 5.5.1 Error: nested MAIL command
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of bob@example.test
	assert_output "$(printf 'Return-Path: <alice@sender.test>\nDelivered-To: bob@example.test')"
}

@test "RCPT before MAIL, DATA before MAIL and DATA before RCPT get 503 5.5.1" {
	run smtp <<'IN'
EHLO client.test
RCPT TO:<bob@example.test>
DATA
MAIL FROM:<a@b.test>
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
503 5.5.1 Error: need RCPT command
$BYE
OUT
)"
	spool_is_empty
}

# ---- MAIL FROM syntax ----------------------------------------------------

@test "MAIL FROM:<> (the null sender) is accepted and delivered with Return-Path <>" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<>
RCPT TO:<bob@example.test>
DATA
bounce
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of bob@example.test
	assert_output "$(printf 'Return-Path: <>\nDelivered-To: bob@example.test')"
}

@test "MAIL FROM: <a@b.test> with a space after the colon is accepted" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM: <a@b.test>
RCPT TO: <bob@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
$BYE
OUT
)"
}

@test "a path without angle brackets gets 501 5.5.4" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:a@b.test
MAIL FROM:<a@b.test
MAIL TO:<a@b.test>
MAIL FROM:<a@b.test>junk
MAIL FROM:<a@b.test>
RCPT TO:bob@example.test
RCPT FROM:<bob@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
501 5.5.4 Syntax: MAIL FROM:<address>
501 5.5.4 Syntax: MAIL FROM:<address>
501 5.5.4 Syntax: MAIL FROM:<address>
501 5.5.4 Syntax: MAIL FROM:<address>
250 2.1.0 Ok
501 5.5.4 Syntax: RCPT TO:<address>
501 5.5.4 Syntax: RCPT TO:<address>
$BYE
OUT
)"
}

@test "bad sender address syntax gets 553 5.1.7" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a..b@x.test>
MAIL FROM:<.a@x.test>
MAIL FROM:<a.@x.test>
MAIL FROM:<@>
MAIL FROM:<a@>
MAIL FROM:<@x.test>
MAIL FROM:<a@-x.test>
MAIL FROM:<a@x-.test>
MAIL FROM:<a@x..test>
MAIL FROM:<a@.x.test>
MAIL FROM:<"john@x.test>
MAIL FROM:<john"@x.test>
MAIL FROM:<a b@x.test>
MAIL FROM:<a@x_y.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
$(for i in $(seq 14); do echo '553 5.1.7 Bad address syntax'; done)
$BYE
OUT
)"
}

@test "bad recipient address syntax gets 553 5.1.3" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<a..b@example.test>
RCPT TO:<@>
RCPT TO:<a@>
RCPT TO:<a@-example.test>
RCPT TO:<a@example..test>
RCPT TO:<"john@example.test>
RCPT TO:<john"@example.test>
RCPT TO:<>
RCPT TO:<bob>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
$(for i in $(seq 9); do echo '553 5.1.3 Bad address syntax'; done)
$BYE
OUT
)"
}

@test "a quoted local part is accepted and delivered unquoted, qmail style" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<"alice smith"@sender.test>
RCPT TO:<"john doe"@example.test>
DATA
Subject: quoted

hi
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of 'john doe@example.test'
	assert_output "$(printf 'Return-Path: <alice smith@sender.test>\nDelivered-To: john doe@example.test')"
	run delivered_body 'john doe@example.test'
	assert_output "$(printf 'Subject: quoted\n\nhi')"
}

@test "a recipient smtp-deliver cannot file gets 553 5.1.3 at RCPT; the good one is delivered" {
	# '/', '\', a leading dot: valid RFC 5321 local parts (4.1.2: '/' is
	# atext, anything goes quoted) that smtp-deliver refuses (exit 31).
	# Refused one by one at RCPT, they cannot fail the whole message.
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
RCPT TO:<"a/b"@example.test>
RCPT TO:<a/b@example.test>
RCPT TO:<"a\\b"@example.test>
RCPT TO:<".dot"@example.test>
RCPT TO:<"."@example.test>
RCPT TO:<".."@example.test>
RCPT TO:<"../../etc"@example.test>
DATA
hi
.
MAIL FROM:<alice@sender.test>
RCPT TO:<"x/y"@example.test>
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
$(for i in $(seq 7); do echo '553 5.1.3 Recipient address not deliverable here'; done)
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
250 2.1.0 Ok
553 5.1.3 Recipient address not deliverable here
503 5.5.1 Error: need RCPT command
$BYE
OUT
)"
	run envelope_of bob@example.test
	assert_output "$(printf 'Return-Path: <alice@sender.test>\nDelivered-To: bob@example.test')"
	run delivered_count
	assert_output 1
	[ "$(grep -c ' rcpt_refused ' "$LOG")" -eq 8 ]
	grep -qF 'to=<a\x5cb@example.test> code=553 dsn=5.1.3 reply="Recipient address not deliverable here" reason="local part contains a backslash"' "$LOG"
	grep -qF 'to=<../../etc@example.test> code=553 dsn=5.1.3 reply="Recipient address not deliverable here" reason="local part starts with a dot"' "$LOG"
}

@test "a source route is accepted and dropped (RFC 5321 appendix C)" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<@relay.test:alice@sender.test>
RCPT TO:<@relay.test,@r2.test:bob@example.test>
DATA
routed
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of bob@example.test
	assert_output "$(printf 'Return-Path: <alice@sender.test>\nDelivered-To: bob@example.test')"
	run delivered_count
	assert_output 1
}

@test "a path of 256 octets is accepted, 257 gets 553 (RFC 5321 4.5.3.1.3)" {
	local local60 d193 d194 p256 p257
	local60=$(rep 60 l)
	d193=$(long_domain 193)
	d194=$(long_domain 194)
	p256="<$local60@$d193>"
	p257="<$local60@$d194>"
	[ "${#p256}" -eq 256 ] && [ "${#p257}" -eq 257 ]
	export SMTP_DOMAINS=".test"
	run smtp <<IN
EHLO client.test
MAIL FROM:$p257
MAIL FROM:$p256
RCPT TO:$p257
RCPT TO:$p256
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
553 5.1.7 Address too long
250 2.1.0 Ok
553 5.1.3 Address too long
250 2.1.5 Ok
$BYE
OUT
)"
}

@test "a local part of 64 octets is accepted, 65 gets 553" {
	local l64 l65
	l64=$(rep 64 l)
	l65=$(rep 65 l)
	run smtp <<IN
EHLO client.test
MAIL FROM:<$l65@sender.test>
MAIL FROM:<"$l65"@sender.test>
MAIL FROM:<$l64@sender.test>
RCPT TO:<$l65@example.test>
RCPT TO:<$l64@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
553 5.1.7 Address too long
553 5.1.7 Address too long
250 2.1.0 Ok
553 5.1.3 Address too long
250 2.1.5 Ok
$BYE
OUT
)"
}

# ---- MAIL parameters ---------------------------------------------------

@test "SIZE: within SMTP_MAX_SIZE ok, above 552 5.3.4, not a number 501" {
	export SMTP_MAX_SIZE=10000
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test> SIZE=1000
RSET
MAIL FROM:<a@b.test> SIZE=10000
RSET
MAIL FROM:<a@b.test> size=10001
MAIL FROM:<a@b.test> SIZE=99999999999999999999
MAIL FROM:<a@b.test> SIZE=abc
MAIL FROM:<a@b.test> SIZE=-1
MAIL FROM:<a@b.test> SIZE
MAIL FROM:<a@b.test> SIZE=
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
250-mx.test
250-PIPELINING
250-SIZE 10000
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
250 2.1.0 Ok
250 2.0.0 Ok
250 2.1.0 Ok
250 2.0.0 Ok
552 5.3.4 Message size exceeds fixed maximum message size
501 5.5.4 Syntax: SIZE=<octets>
501 5.5.4 Syntax: SIZE=<octets>
501 5.5.4 Syntax: SIZE=<octets>
501 5.5.4 Syntax: SIZE=<octets>
501 5.5.4 Syntax error in parameters
$BYE
OUT
)"
}

@test "BODY=8BITMIME and BODY=7BIT are accepted, BODY=BINARYMIME gets 501" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test> BODY=8BITMIME
RSET
MAIL FROM:<a@b.test> BODY=7BIT
RSET
MAIL FROM:<a@b.test> body=8bitmime SIZE=100
RSET
MAIL FROM:<a@b.test> BODY=BINARYMIME
MAIL FROM:<a@b.test> BODY
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.0.0 Ok
250 2.1.0 Ok
250 2.0.0 Ok
250 2.1.0 Ok
250 2.0.0 Ok
501 5.5.4 Syntax: BODY=7BIT|8BITMIME
501 5.5.4 Syntax: BODY=7BIT|8BITMIME
$BYE
OUT
)"
}

@test "SMTPUTF8 is accepted; unknown and DSN parameters get 555 5.5.4" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test> SMTPUTF8
RSET
MAIL FROM:<a@b.test> FOO=bar
MAIL FROM:<a@b.test> RET=FULL
MAIL FROM:<a@b.test> ENVID=abc
MAIL FROM:<a@b.test> SIZE=100 AUTH=<>
MAIL FROM:<a@b.test> SMTPUTF8=yes
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.0.0 Ok
555 5.5.4 Unsupported parameter FOO
555 5.5.4 Unsupported parameter RET
555 5.5.4 Unsupported parameter ENVID
555 5.5.4 Unsupported parameter AUTH
501 5.5.4 Syntax: SMTPUTF8 takes no value
$BYE
OUT
)"
}

@test "a repeated SIZE or BODY gets 501 5.5.4; a repeated SMTPUTF8 is harmless" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test> SIZE=100 SIZE=200
MAIL FROM:<a@b.test> BODY=7BIT body=8BITMIME
MAIL FROM:<a@b.test> SMTPUTF8 SMTPUTF8
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
501 5.5.4 Duplicate SIZE parameter
501 5.5.4 Duplicate BODY parameter
250 2.1.0 Ok
$BYE
OUT
)"
}

@test "MAIL parameters after HELO (not EHLO) get 555 5.5.4" {
	run smtp <<'IN'
HELO client.test
MAIL FROM:<a@b.test> SIZE=100
MAIL FROM:<a@b.test> BODY=8BITMIME
MAIL FROM:<a@b.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
250 mx.test
555 5.5.4 Parameters need EHLO
555 5.5.4 Parameters need EHLO
250 2.1.0 Ok
$BYE
OUT
)"
}

@test "RCPT with any parameter gets 555 5.5.4 (no DSN)" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test> NOTIFY=NEVER
RCPT TO:<bob@example.test> ORCPT=rfc822;bob@example.test
RCPT TO:<bob@example.test> FOO
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
555 5.5.4 Unsupported parameter
555 5.5.4 Unsupported parameter
555 5.5.4 Unsupported parameter
503 5.5.1 Error: need RCPT command
$BYE
OUT
)"
}

# ---- SMTPUTF8 (RFC 6531) ---------------------------------------------------

@test "a UTF-8 address without SMTPUTF8 on MAIL gets 553 5.6.7" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<jösé@sender.test>
MAIL FROM:<a@b.test>
RCPT TO:<jösé@example.test>
RCPT TO:<bob@exämple.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
553 5.6.7 Non-ASCII address needs SMTPUTF8
250 2.1.0 Ok
553 5.6.7 Non-ASCII address needs SMTPUTF8
553 5.6.7 Non-ASCII address needs SMTPUTF8
$BYE
OUT
)"
}

@test "with SMTPUTF8 a UTF-8 recipient is accepted and delivered" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<rené@sender.test> SMTPUTF8
RCPT TO:<jösé@example.test>
DATA
Subject: utf8

hola
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of 'jösé@example.test'
	assert_output "$(printf 'Return-Path: <rené@sender.test>\nDelivered-To: jösé@example.test')"
}

@test "invalid UTF-8 in an address gets 553, with or without SMTPUTF8" {
	# \xff never occurs in UTF-8; \xc3 alone is truncated; \xc0\xaf is
	# an overlong '/'; \xed\xa0\x80 a surrogate.
	run smtp_raw < <(printf '%s\r\n' \
		'EHLO client.test' \
		$'MAIL FROM:<j\xffo@sender.test> SMTPUTF8' \
		$'MAIL FROM:<j\xc3@sender.test> SMTPUTF8' \
		$'MAIL FROM:<j\xffo@sender.test>' \
		'MAIL FROM:<a@b.test> SMTPUTF8' \
		$'RCPT TO:<j\xffo@example.test>' \
		$'RCPT TO:<j\xc0\xafo@example.test>' \
		$'RCPT TO:<j\xed\xa0\x80o@example.test>' \
		$'RCPT TO:<jo@ex\xc3ample.test>' \
		'DATA' \
		'QUIT')
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
553 5.1.7 Bad address syntax
553 5.1.7 Bad address syntax
553 5.1.7 Bad address syntax
250 2.1.0 Ok
553 5.1.3 Bad address syntax
553 5.1.3 Bad address syntax
553 5.1.3 Bad address syntax
553 5.1.3 Bad address syntax
503 5.5.1 Error: need RCPT command
$BYE
OUT
)"
}

# ---- relay control -----------------------------------------------------

@test "a recipient in another domain gets 554 5.7.1 Relay access denied" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<bob@example.test>
RCPT TO:<x@other.test>
RCPT TO:<x@sub.example.test>
RCPT TO:<x@example.test.other.test>
RCPT TO:<x@[192.0.2.7]>
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
503 5.5.1 Error: need RCPT command
$BYE
OUT
)"
	grep -qE ' rcpt_refused .*to=<x@other\.test> code=554 dsn=5\.7\.1 reply="Relay access denied" reason=relay$' "$LOG"
}

@test "with SMTP_DOMAINS empty every RCPT gets 554 5.7.1 (never an open relay)" {
	export SMTP_DOMAINS=
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
RCPT TO:<bob@mx.test>
RCPT TO:<x@other.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

@test "with SMTP_DOMAINS unset every RCPT gets 554 5.7.1" {
	unset SMTP_DOMAINS
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
RCPT TO:<x@other.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

@test "RELAYCLIENT set, even empty, allows any domain: relayed recipients go to SMTP_RELAY_DELIVER" {
	export RELAYCLIENT= SMTP_RELAY_DELIVER=$FAKES/save FAKE_OUT=$BATS_TEST_TMPDIR/relay
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<x@other.test>
RCPT TO:<bob@example.test>
DATA
relayed
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run delivered_body bob@example.test
	assert_output relayed
	# x@other.test: to the relay program, never into a local Maildir
	[ ! -e "$MAILDIR_ROOT/other.test" ]
	run tr '\0' '|' < "$FAKE_OUT.env"
	assert_output 'Fa@b.test|Tx@other.test||'
	run tail -n 1 "$FAKE_OUT.msg"
	assert_output relayed
}

@test "local domain matching is case-insensitive" {
	export SMTP_DOMAINS=Example.TEST
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<BOB@EXAMPLE.TEST>
DATA
upper
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of bob@example.test
	assert_output "$(printf 'Return-Path: <a@b.test>\nDelivered-To: BOB@EXAMPLE.TEST')"
}

@test "a .example.org entry matches the domain and its subdomains only" {
	export SMTP_DOMAINS=.example.org
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<x@a.example.org>
RCPT TO:<x@b.c.example.org>
RCPT TO:<x@example.org>
RCPT TO:<x@A.Example.ORG>
RCPT TO:<x@badexample.org>
RCPT TO:<x@example.org.evil.test>
RCPT TO:<x@xexample.org>
RCPT TO:<x@org>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

@test "a plain entry does not match subdomains" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<x@sub.example.test>
RCPT TO:<x@xexample.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

@test "SMTP_DOMAINS may be separated by commas and spaces" {
	export SMTP_DOMAINS='one.test, two.test three.test,four.test'
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<x@one.test>
RCPT TO:<x@two.test>
RCPT TO:<x@three.test>
RCPT TO:<x@four.test>
RCPT TO:<x@five.test>
RCPT TO:<x@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
554 5.7.1 Relay access denied
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

# RFC 5321 4.1.2: Domain = sub-domain *("." sub-domain), so a trailing dot
# is not valid syntax there.  What must never happen is that the dot takes
# the address past relay control or into another mailbox.
@test "trailing dot: bob@example.test. is refused as syntax (RFC 5321 4.1.2), never relayed" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test.>
RCPT TO:<bob@other.test.>
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
553 5.1.3 Bad address syntax
553 5.1.3 Bad address syntax
503 5.5.1 Error: need RCPT command
$BYE
OUT
)"
}

# ---- SMTP_RECIPIENTS ------------------------------------------------------

@test "SMTP_RECIPIENTS: listed addresses accepted, others 550 5.1.1; case, comments, blank lines" {
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/recipients
	printf '%s\n' '# valid users' '' 'alice@example.test' \
		'Bob@Example.Test  ' '#carol@example.test' '   ' \
		'eve@other.test' 'frank@example.test' > "$SMTP_RECIPIENTS"
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<alice@example.test>
RCPT TO:<FRANK@Example.TEST>
RCPT TO:<bob@example.test>
RCPT TO:<carol@example.test>
RCPT TO:<#carol@example.test>
RCPT TO:<dave@example.test>
RCPT TO:<eve@other.test>
DATA
listed
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
550 5.1.1 Recipient address rejected: User unknown
550 5.1.1 Recipient address rejected: User unknown
550 5.1.1 Recipient address rejected: User unknown
554 5.7.1 Relay access denied
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run delivered_body alice@example.test
	assert_output listed
	run delivered_body bob@example.test
	assert_output listed
	run delivered_body frank@example.test
	assert_output listed
	run delivered carol@example.test
	assert_output ''
	run delivered dave@example.test
	assert_output ''
}

@test "SMTP_RECIPIENTS: an @domain line is a catch-all for that domain only" {
	export SMTP_DOMAINS='example.test other.test'
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/recipients
	printf '%s\n' '@Example.Test' 'zed@other.test' > "$SMTP_RECIPIENTS"
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<anyone@example.test>
RCPT TO:<Someone.Else@EXAMPLE.test>
RCPT TO:<zed@other.test>
RCPT TO:<x@other.test>
RCPT TO:<x@sub.example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
550 5.1.1 Recipient address rejected: User unknown
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

@test "SMTP_RECIPIENTS: an edit takes effect for the next session" {
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/recipients
	printf 'alice@example.test\n' > "$SMTP_RECIPIENTS"
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
QUIT
IN
	assert_success
	assert_line --index 9 '550 5.1.1 Recipient address rejected: User unknown'
	printf 'bob@example.test\n' >> "$SMTP_RECIPIENTS"
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
$BYE
OUT
)"
}

@test "SMTP_RECIPIENTS unreadable: 451 4.3.0, and the session still starts" {
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/does-not-exist
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
RCPT TO:<x@other.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
451 4.3.0 Temporary recipient lookup failure
554 5.7.1 Relay access denied
$BYE
OUT
)"
}

@test "SMTP_RECIPIENTS naming a directory: 451 4.3.0" {
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
451 4.3.0 Temporary recipient lookup failure
$BYE
OUT
)"
}

# ---- postmaster (RFC 5321 4.5.1) ------------------------------------------

@test "postmaster and postmaster@<local> are accepted even when SMTP_RECIPIENTS omits them" {
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/recipients
	printf 'alice@example.test\n' > "$SMTP_RECIPIENTS"
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<postmaster>
RCPT TO:<Postmaster>
RCPT TO:<postmaster@example.test>
RCPT TO:<POSTMASTER@Example.Test>
RCPT TO:<postmaster@other.test>
RCPT TO:<postmasters@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
250 2.1.5 Ok
554 5.7.1 Relay access denied
550 5.1.1 Recipient address rejected: User unknown
$BYE
OUT
)"
}

@test "postmaster is accepted even when the recipients file is unreadable" {
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/does-not-exist
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<postmaster@example.test>
RCPT TO:<postmaster>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
$BYE
OUT
)"
}

@test "bare <postmaster> is delivered to postmaster@mx.test (the host name)" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<postmaster>
DATA
Subject: abuse report

x
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run envelope_of postmaster@mx.test
	assert_output "$(printf 'Return-Path: <a@b.test>\nDelivered-To: postmaster@mx.test')"
	run delivered_count
	assert_output 1
}

# ---- limits and resets ---------------------------------------------------

@test "SMTP_MAX_RCPTS=2: the third RCPT gets 452 4.5.3, the message goes to the first two" {
	export SMTP_MAX_RCPTS=2
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<one@example.test>
RCPT TO:<two@example.test>
RCPT TO:<three@example.test>
DATA
capped
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
$BYE
OUT
)"
	run delivered_body one@example.test
	assert_output capped
	run delivered_body two@example.test
	assert_output capped
	run delivered_count
	assert_output 2
}

@test "a refused RCPT does not take a slot of SMTP_MAX_RCPTS" {
	export SMTP_MAX_RCPTS=2
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<x@other.test>
RCPT TO:<a..b@example.test>
RCPT TO:<one@example.test>
RCPT TO:<two@example.test>
RCPT TO:<three@example.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
554 5.7.1 Relay access denied
553 5.1.3 Bad address syntax
250 2.1.5 Ok
250 2.1.5 Ok
452 4.5.3 Error: too many recipients
$BYE
OUT
)"
}

@test "RSET clears the envelope: DATA and RCPT after RSET get 503" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
RSET
DATA
RCPT TO:<bob@example.test>
MAIL FROM:<c@d.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
250 2.0.0 Ok
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
$BYE
OUT
)"
	run delivered_count
	assert_output 0
}

@test "a second transaction in the same session gets its own envelope" {
	run smtp_ids <<'IN'
EHLO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
first
.
MAIL FROM:<carol@sender.test>
RCPT TO:<dave@example.test>
DATA
second
.
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.1
250 2.1.0 Ok
250 2.1.5 Ok
354 End data with <CR><LF>.<CR><LF>
250 2.0.0 Ok: queued as ID.2
$BYE
OUT
)"
	run envelope_of bob@example.test
	assert_output "$(printf 'Return-Path: <alice@sender.test>\nDelivered-To: bob@example.test')"
	run delivered_body bob@example.test
	assert_output first
	run envelope_of dave@example.test
	assert_output "$(printf 'Return-Path: <carol@sender.test>\nDelivered-To: dave@example.test')"
	run delivered_body dave@example.test
	assert_output second
	run delivered_count
	assert_output 2
}

@test "EHLO or HELO in the middle of a transaction resets it" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
EHLO client.test
DATA
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
HELO client.test
RCPT TO:<bob@example.test>
MAIL FROM:<a@b.test>
QUIT
IN
	assert_success
	assert_output "$(cat <<OUT
$GREETING
$EHLO_REPLY
250 2.1.0 Ok
250 2.1.5 Ok
$EHLO_REPLY
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
250 2.1.5 Ok
250 mx.test
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
$BYE
OUT
)"
	run delivered_count
	assert_output 0
}

@test "a recipient given twice (in any case) gets one copy" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@b.test>
RCPT TO:<alice@example.test>
RCPT TO:<ALICE@Example.Test>
DATA
hi
.
QUIT
IN
	assert_success
	assert_line --index 9 "250 2.1.5 Ok"
	assert_line --index 10 "250 2.1.5 Ok"
	run delivered_count
	assert_output 1
	grep -q 'accepted .* rcpts=1 ' "$LOG"
}

@test "address literals: IPv4 and IPv6: are accepted, anything else in brackets is 553" {
	export RELAYCLIENT= SMTP_RELAY_DELIVER=$FAKES/save
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<a@[192.0.2.1]>
RCPT TO:<bob@[IPv6:2001:db8::1]>
RCPT TO:<bob@[x@y]>
RCPT TO:<bob@[1.2.3]>
RCPT TO:<bob@[IPv6:nothex]>
RCPT TO:<bob@[tag:content]>
QUIT
IN
	assert_success
	assert_line --index 8 "250 2.1.0 Ok"
	assert_line --index 9 "250 2.1.5 Ok"
	assert_line --index 10 "553 5.1.3 Bad address syntax"
	assert_line --index 11 "553 5.1.3 Bad address syntax"
	assert_line --index 12 "553 5.1.3 Bad address syntax"
	assert_line --index 13 "553 5.1.3 Bad address syntax"
}
