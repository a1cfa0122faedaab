# SMTP AUTH (auth.c, RFC 4954): PLAIN and LOGIN, the password file
# (crypt(3) hashes), checkpassword programs, policy (SMTP_AUTH,
# SMTP_AUTH_PLAINTEXT, TLS), MAIL's AUTH= parameter, relay after AUTH,
# the failure delay and limit, and real clients (smtplib, swaks, curl).
#
# Every test's log is searched for every password and every base64 blob
# the test sent (teardown): nothing secret may ever be logged.
load helper

CLIENTS=$BATS_TEST_DIRNAME/clients

# The test passwords: distinctive, so a leak is found by grep.
PW_ALICE=Xq7-Secret-Alpha       # yescrypt
PW_BOB=Yb3-Secret-Bravo         # sha512crypt
PW_DAVE=Dd5-Secret-Delta        # sha256crypt
PW_ERIN=Ee6-Secret-Echo         # bcrypt
PW_FRANK=Ff8-Secret-Foxtrot     # locked entry ("!" before a valid hash)
PW_CAROL=Zz9-Checkpw-Gamma      # only known to checkpw-verify.sh
PW_WRONG=Ww1-Wrong-Whisky
PW_NEW=Nn2-Secret-November      # alice's after the edit
PASSWORDS="$PW_ALICE $PW_BOB $PW_DAVE $PW_ERIN $PW_FRANK $PW_CAROL $PW_WRONG $PW_NEW"

AUTH_OK='235 2.7.0 Authentication successful'
AUTH_BAD='535 5.7.8 Authentication credentials invalid'
AUTH_TEMP='454 4.7.0 Temporary authentication failure'
NO_TLS='538 5.7.11 Encryption required for requested authentication mechanism'
EHLO_PLAIN='250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8'

hash_pw() {
	printf '%s\n' "$2" | mkpasswd -s -m "$1"
}

setup_file() {
	{
		echo "# smtp-session test users"
		echo "alice:$(hash_pw yescrypt "$PW_ALICE")"
		echo
		echo "bob:$(hash_pw sha512crypt "$PW_BOB")"
		echo "dave:$(hash_pw sha256crypt "$PW_DAVE")"
		echo "erin:$(hash_pw bcrypt "$PW_ERIN")"
		echo "frank:!$(hash_pw yescrypt "$PW_FRANK")"
		echo "gina:*"
	} > "$BATS_FILE_TMPDIR/passwd"
}

setup() {
	common_setup
	unset SMTP_CHECKPASSWORD SMTP_TLS_CERT SMTP_TLS_KEY SMTP_TLS \
		SMTP_TLS_IMPLICIT SMTP_TLS_TICKET_KEYS SMTP_LOCKOUT_FILE \
		SMTP_GEOIP_DB SMTP_AUTH_COUNTRIES SMTP_GREET_DELAY
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	install -m 600 "$BATS_FILE_TMPDIR/passwd" "$SMTP_PASSWD"
	export FAKE_OUT=$BATS_TEST_TMPDIR/out
	SECRETS=$BATS_TEST_TMPDIR/secrets
	: > "$SECRETS"
	: > "$LOG"
	export LOG          # for clients/auth_timing.py
	SERVER_PID=
}

teardown() {
	stop_server
	no_secret_logged
}

# Fails if the log holds any password or any base64 blob the test sent.
no_secret_logged() {
	local s hit=0
	for s in $PASSWORDS $(cat "$SECRETS"); do
		if grep -qF -- "$s" "$LOG"; then
			echo "secret '$s' found in the log:" >&2
			grep -F -- "$s" "$LOG" >&2
			hit=1
		fi
	done
	return "$hit"
}

# base64 of $1 (recorded as a secret).
b64() {
	printf '%s' "$1" | base64 -w0 | tee -a "$SECRETS"
	echo >> "$SECRETS"
}

# The PLAIN message authzid NUL authcid NUL passwd in base64 (recorded).
plain() {
	printf '%s\0%s\0%s' "$1" "$2" "$3" | base64 -w0 | tee -a "$SECRETS"
	echo >> "$SECRETS"
}

# ---- real sockets (as in sockets.bats) ----------------------------------

# The line after "Received: from client.test " (its "by ... with ..."
# part, tab removed) in the one message delivered to $1.
received_with() {
	local f
	f=$(delivered "$1")
	[ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] || return 1
	awk '/^Received: from client\.test / { getline; sub(/^\t/, ""); print; exit }' "$f"
}

# ---- advertising and policy ----------------------------------------------

@test "EHLO advertises AUTH PLAIN LOGIN with SMTP_AUTH_PLAINTEXT=1" {
	run smtp <<'IN'
EHLO client.test
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$BYE")"
}

@test "without TLS and SMTP_AUTH_PLAINTEXT: AUTH not advertised, 538 5.7.11" {
	export SMTP_AUTH_PLAINTEXT=0
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
AUTH LOGIN
NOOP
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_PLAIN" "$NO_TLS" \
		"$NO_TLS" '250 2.0.0 Ok' "$BYE")"
	refute grep -q ' auth ' "$LOG"
}

@test "SMTP_AUTH=off: AUTH not advertised, 502 5.5.1; MAIL AUTH= is 555" {
	export SMTP_AUTH=off
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
MAIL FROM:<alice@example.test> AUTH=<>
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_PLAIN" \
		'502 5.5.1 Error: command not implemented' \
		'555 5.5.4 Unsupported parameter AUTH' "$BYE")"
}

@test "AUTH before EHLO, after HELO, in a transaction and after success: 503 5.5.1" {
	run smtp <<IN
AUTH PLAIN $(plain "" alice "$PW_ALICE")
HELO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
EHLO client.test
MAIL FROM:<alice@example.test>
AUTH PLAIN $(plain "" alice "$PW_ALICE")
RSET
AUTH PLAIN $(plain "" alice "$PW_ALICE")
AUTH PLAIN $(plain "" alice "$PW_ALICE")
AUTH LOGIN
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" \
		'503 5.5.1 Error: send EHLO first' \
		'250 mx.test' \
		'503 5.5.1 Error: send EHLO first' \
		"$EHLO_AUTH" \
		'250 2.1.0 Ok' \
		'503 5.5.1 Error: AUTH not allowed during a mail transaction' \
		'250 2.0.0 Ok' \
		"$AUTH_OK" \
		'503 5.5.1 Error: already authenticated' \
		'503 5.5.1 Error: already authenticated' \
		"$BYE")"
}

@test "SMTP_AUTH=required: MAIL before AUTH is 530 5.7.0, after AUTH 250" {
	export SMTP_AUTH=required
	run smtp <<IN
EHLO client.test
MAIL FROM:<alice@example.test>
AUTH PLAIN $(plain "" alice "$PW_ALICE")
MAIL FROM:<alice@example.test>
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" \
		'530 5.7.0 Authentication required' "$AUTH_OK" '250 2.1.0 Ok' "$BYE")"
}

@test "MAIL FROM AUTH=<> and AUTH=xtext accepted (RFC 4954 5), bad xtext 501" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<alice@example.test> AUTH=<>
RSET
MAIL FROM:<alice@example.test> AUTH=alice+2Bx@example.test SIZE=100
RSET
MAIL FROM:<alice@example.test> AUTH=alice+2bx@example.test
MAIL FROM:<alice@example.test> AUTH=alice+4
MAIL FROM:<alice@example.test> AUTH
MAIL FROM:<alice@example.test> AUTH=<> AUTH=<>
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" \
		'250 2.1.0 Ok' '250 2.0.0 Ok' '250 2.1.0 Ok' '250 2.0.0 Ok' \
		'501 5.5.4 Syntax: AUTH=<mailbox>|<>' \
		'501 5.5.4 Syntax: AUTH=<mailbox>|<>' \
		'501 5.5.4 Syntax: AUTH=<mailbox>|<>' \
		'501 5.5.4 Duplicate AUTH parameter' "$BYE")"
}

# ---- PLAIN --------------------------------------------------------------

@test "PLAIN with an initial response: 235, logged with user and mechanism" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" "$BYE")"
	run grep -c ' auth ' "$LOG"
	assert_output 1
	grep -qE '^smtp-session\[[0-9]+\]: auth id=[0-9a-f]{16} client=192\.0\.2\.1 country=-- mechanism=PLAIN user=alice result=ok$' "$LOG"
}

@test "PLAIN without an initial response: 334 and an empty challenge; mechanism name in any case" {
	run smtp <<IN
EHLO client.test
auth plain
$(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 ' "$AUTH_OK" "$BYE")"
}

@test "PLAIN with '=' (empty initial response, RFC 4954 4) is a malformed message: 535" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN =
AUTH PLAIN $(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$AUTH_OK" "$BYE")"
	grep -q ' auth .*mechanism=PLAIN user= result=failed reason="malformed PLAIN message" failures=1$' "$LOG"
}

@test "PLAIN authzid: equal to the user is fine, another identity is refused" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain bob alice "$PW_ALICE")
AUTH PLAIN $(plain alice alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$AUTH_OK" "$BYE")"
	grep -q ' auth .*user=alice result=failed reason="authorization identity differs"' "$LOG"
}

@test "PLAIN messages without two NULs, or with a third, are refused" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(printf 'alice\0%s' "$PW_ALICE" | base64 -w0 | tee -a "$SECRETS")
AUTH PLAIN $(printf '\0alice\0%s\0' "$PW_ALICE" | base64 -w0 | tee -a "$SECRETS")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$AUTH_BAD" "$BYE")"
}

# ---- LOGIN --------------------------------------------------------------

@test "LOGIN without an initial response: Username: then Password:" {
	run smtp <<IN
EHLO client.test
AUTH LOGIN
$(b64 alice)
$(b64 "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 VXNlcm5hbWU6' \
		'334 UGFzc3dvcmQ6' "$AUTH_OK" "$BYE")"
	grep -q ' auth .*mechanism=LOGIN user=alice result=ok$' "$LOG"
}

@test "LOGIN with the user name as initial response: only Password:" {
	run smtp <<IN
EHLO client.test
AUTH LOGIN $(b64 alice)
$(b64 "$PW_ALICE")
MAIL FROM:<alice@example.test>
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 UGFzc3dvcmQ6' \
		"$AUTH_OK" '250 2.1.0 Ok' "$BYE")"
}

# ---- the exchange's errors ------------------------------------------------

@test "'*' cancels at every step: 501 5.7.0, not counted as a failure" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN
*
AUTH LOGIN
*
AUTH LOGIN
$(b64 alice)
*
AUTH LOGIN $(b64 alice)
*
AUTH PLAIN $(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" \
		'334 ' '501 5.7.0 Authentication cancelled' \
		'334 VXNlcm5hbWU6' '501 5.7.0 Authentication cancelled' \
		'334 VXNlcm5hbWU6' '334 UGFzc3dvcmQ6' '501 5.7.0 Authentication cancelled' \
		'334 UGFzc3dvcmQ6' '501 5.7.0 Authentication cancelled' \
		"$AUTH_OK" "$BYE")"
	run grep -c 'result=cancelled$' "$LOG"
	assert_output 4
}

@test "bad base64 in the initial response or a response: 501 5.5.2" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN not*base64
AUTH PLAIN AGFsaWNl=
AUTH PLAIN AGFsaWNlAA
AUTH PLAIN
AG=saWNl
AUTH LOGIN
YWxp Y2U=
AUTH LOGIN $(b64 alice)
!!!!
AUTH LOGIN $(b64 alice)
$(b64 "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" \
		'501 5.5.2 Cannot decode response' \
		'501 5.5.2 Cannot decode response' \
		'501 5.5.2 Cannot decode response' \
		'334 ' '501 5.5.2 Cannot decode response' \
		'334 VXNlcm5hbWU6' '501 5.5.2 Cannot decode response' \
		'334 UGFzc3dvcmQ6' '501 5.5.2 Cannot decode response' \
		'334 UGFzc3dvcmQ6' "$AUTH_OK" "$BYE")"
}

@test "unknown mechanism 504 5.5.4; no mechanism or extra words 501 5.5.4" {
	run smtp <<'IN'
EHLO client.test
AUTH CRAM-MD5
AUTH PLAINX AGFsaWNl
AUTH
AUTH PLAIN AGFs aWNl
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" \
		'504 5.5.4 Unrecognized authentication type' \
		'504 5.5.4 Unrecognized authentication type' \
		'501 5.5.4 Syntax: AUTH mechanism [initial-response]' \
		'501 5.5.4 Syntax: AUTH mechanism [initial-response]' "$BYE")"
}

@test "lines of 12288 octets are taken (RFC 4954 4); a longer response is 500 5.5.6" {
	local ir resp long
	# "AUTH PLAIN " and 12276 base64 octets: 12287 octets
	ir=$(head -c 12276 /dev/zero | tr '\0' A)
	resp=$(head -c 12288 /dev/zero | tr '\0' A)
	long=$(head -c 12292 /dev/zero | tr '\0' A)
	run smtp <<IN
EHLO client.test
AUTH PLAIN $ir
AUTH PLAIN
$resp
AUTH PLAIN
$long
NOOP
QUIT
IN
	assert_success
	# decoded: NUL octets only, a malformed PLAIN message, so 535
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" \
		'334 ' "$AUTH_BAD" \
		'334 ' '500 5.5.6 Authentication Exchange line is too long' \
		'250 2.0.0 Ok' "$BYE")"
}

@test "three failures in a session: the third 535 is followed by 421 4.7.0 and the end" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_WRONG")
AUTH LOGIN
$(b64 nobody)
$(b64 "$PW_WRONG")
AUTH PLAIN $(plain "" alice "$PW_WRONG")
AUTH PLAIN $(plain "" alice "$PW_ALICE")
NOOP
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" \
		'334 VXNlcm5hbWU6' '334 UGFzc3dvcmQ6' "$AUTH_BAD" "$AUTH_BAD" \
		'421 4.7.0 mx.test Too many failed logins, closing connection')"
	grep -q ' auth .*mechanism=PLAIN user=alice result=failed reason="wrong password" failures=1$' "$LOG"
	grep -q ' auth .*mechanism=LOGIN user=nobody result=failed reason="unknown user" failures=2$' "$LOG"
	grep -q ' auth_limit .*failures=3$' "$LOG"
	# the 535s counted as session errors too
	grep -q ' disconnect .* errors=3$' "$LOG"
}

@test "a client gone in the middle of an exchange: no reply, logged, session ends" {
	run smtp <<'IN'
EHLO client.test
AUTH LOGIN
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 VXNlcm5hbWU6')"
	grep -q ' auth .*mechanism=LOGIN result=aborted reason="client gone"$' "$LOG"
}

# ---- relay and hand-off ------------------------------------------------------

@test "relay refused before AUTH, accepted after; deliver sees SMTP_AUTH_USER; Received says ESMTPA" {
	export SMTP_RELAY_DELIVER=$FAKES/auth-env.sh
	run smtp <<IN
EHLO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<friend@elsewhere.test>
RSET
AUTH PLAIN $(plain "" alice "$PW_ALICE")
MAIL FROM:<alice@example.test> AUTH=<>
RCPT TO:<friend@elsewhere.test>
DATA
Subject: relayed

hello
.
QUIT
IN
	assert_success
	assert_line --index 10 '554 5.7.1 Relay access denied'
	assert_line --index 12 "$AUTH_OK"
	assert_line --index 13 '250 2.1.0 Ok'
	assert_line --index 14 '250 2.1.5 Ok'
	assert_line --index 16 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	[ "$(cat "$FAKE_OUT.user")" = alice ]
	[ "$(sed -n 2p "$FAKE_OUT.msg")" = "$(printf '\tby mx.test (smtp-session) with ESMTPA')" ]
	sed -n 1p "$FAKE_OUT.msg" | grep -qx 'Received: from client\.test (unknown \[192\.0\.2\.1\])'
	printf 'Falice@example.test\0Tfriend@elsewhere.test\0\0' | cmp - "$FAKE_OUT.env"
	grep -q 'accepted .* deliver_ms=[0-9]* user=alice$' "$LOG"
}

@test "without AUTH the deliver program gets no SMTP_AUTH_USER and Received says ESMTP" {
	export SMTP_DELIVER=$FAKES/auth-env.sh SMTP_AUTH_USER=forged
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<bob@example.test>
DATA
hi
.
QUIT
IN
	assert_success
	[ "$(cat "$FAKE_OUT.user")" = unset ]
	[ "$(sed -n 2p "$FAKE_OUT.msg")" = "$(printf '\tby mx.test (smtp-session) with ESMTP')" ]
}

# ---- the password file ------------------------------------------------------

@test "each hash type verifies: yescrypt, sha512crypt, sha256crypt, bcrypt" {
	local u pw
	for u in alice:$PW_ALICE bob:$PW_BOB dave:$PW_DAVE erin:$PW_ERIN; do
		pw=${u#*:}
		u=${u%%:*}
		run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" "$u" "$pw")
QUIT
IN
		assert_success
		assert_line --index 9 "$AUTH_OK"
		grep -q " auth .*mechanism=PLAIN user=$u result=ok\$" "$LOG"
	done
	# the file really holds the four methods
	[ "$(cut -d: -f2 "$SMTP_PASSWD" | grep -oE '^\$(y|6|5|2b)\$' | LC_ALL=C sort | tr '\n' ' ')" = '$2b$ $5$ $6$ $y$ ' ]
}

# Runs one session per "user:password" argument, all at the same time
# (each failure costs the fixed delay), each doing EHLO, AUTH PLAIN and
# QUIT; the replies of the i-th (from 0) go to $BATS_TEST_TMPDIR/par.i.
auth_parallel() {
	local i=0 arg pids=()
	for arg in "$@"; do
		printf 'EHLO client.test\nAUTH PLAIN %s\nQUIT\n' \
			"$(plain "" "${arg%%:*}" "${arg#*:}")" |
			smtp > "$BATS_TEST_TMPDIR/par.$i" &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}"
}

# Every session of auth_parallel got exactly 535 to its AUTH.
all_refused() {
	local f
	for f in "$BATS_TEST_TMPDIR"/par.*; do
		run cat "$f"
		assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$BYE")"
	done
}

@test "each hash type refuses a wrong password: yescrypt, sha512crypt, sha256crypt, bcrypt" {
	auth_parallel "alice:$PW_BOB" "bob:$PW_WRONG" "dave:$PW_DAVE-" "erin:$PW_ALICE"
	all_refused
	run grep -c 'result=failed reason="wrong password" failures=1$' "$LOG"
	assert_output 4
}

@test "locked entries never match: '!' before a valid hash, and '*'" {
	auth_parallel "frank:$PW_FRANK" "gina:*" "gina:"
	all_refused
	run grep -c 'result=failed reason="wrong password" failures=1$' "$LOG"
	assert_output 2
	grep -q 'user=gina result=failed reason="malformed password" failures=1$' "$LOG"
}

@test "user names are exact: case, prefixes and comment lines do not match" {
	auth_parallel "Alice:$PW_ALICE" "alic:$PW_ALICE" "alice :$PW_ALICE" \
		"# smtp-session test users:$PW_ALICE"
	all_refused
	run grep -c 'result=failed reason="unknown user" failures=1$' "$LOG"
	assert_output 4
}

@test "the password file is read at each AUTH: an edit counts without a restart" {
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_line --index 9 "$AUTH_OK"
	# the new hash replaces alice's line; the file keeps its mode
	local new
	new=$(hash_pw sha512crypt "$PW_NEW")
	sed -i "s|^alice:.*|alice:$new|" "$SMTP_PASSWD"
	chmod 600 "$SMTP_PASSWD"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
AUTH PLAIN $(plain "" alice "$PW_NEW")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$AUTH_OK" "$BYE")"
}

@test "a group- or world-readable password file: 454 4.7.0 at AUTH, logged, a --check-config problem" {
	chmod 644 "$SMTP_PASSWD"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
AUTH LOGIN
$(b64 alice)
$(b64 "$PW_ALICE")
NOOP
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_TEMP" \
		'334 VXNlcm5hbWU6' '334 UGFzc3dvcmQ6' "$AUTH_TEMP" '250 2.0.0 Ok' "$BYE")"
	grep -qF "auth_config id=" "$LOG"
	grep -qF "file=$SMTP_PASSWD error=\"not a regular file, or readable by group or others\"" "$LOG"
	grep -q ' auth .*user=alice result=tempfail reason="password file unusable"$' "$LOG"
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_PASSWD: $SMTP_PASSWD: readable by group or others (mode 0644); chmod 600" ]
	chmod 640 "$SMTP_PASSWD"
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_PASSWD: $SMTP_PASSWD: readable by group or others (mode 0640); chmod 600" ]
	chmod 600 "$SMTP_PASSWD"
	run --separate-stderr "$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok'
}

@test "a missing password file: 454 4.7.0 at AUTH and a --check-config problem" {
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/nonexistent
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_TEMP" "$BYE")"
	grep -qF "file=$SMTP_PASSWD error=\"No such file or directory\"" "$LOG"
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_PASSWD: $SMTP_PASSWD: No such file or directory" ]
}

@test "configuration: AUTH without a credential source, bad values, relative paths" {
	local REFUSED='421 4.3.0 mx.test Service not available, configuration error'
	check() {
		run --separate-stderr "$SESSION" --check-config
		assert_failure 1
		[ "$stderr" = "smtp-session: $1" ] || { echo "stderr: $stderr" >&2; return 1; }
		run smtp <<<'EHLO client.test'
		assert_failure 1
		assert_output "$REFUSED"
	}
	unset SMTP_PASSWD
	check 'SMTP_AUTH: optional needs SMTP_PASSWD or SMTP_CHECKPASSWORD'
	export SMTP_AUTH=required
	check 'SMTP_AUTH: required needs SMTP_PASSWD or SMTP_CHECKPASSWORD'
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd SMTP_AUTH=sometimes
	check "SMTP_AUTH: 'sometimes' is not one of the allowed values"
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=yes
	check "SMTP_AUTH_PLAINTEXT: 'yes' must be 0 or 1"
	export SMTP_AUTH_PLAINTEXT=1 SMTP_PASSWD=passwd
	check "SMTP_PASSWD: 'passwd' is not an absolute path"
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd SMTP_CHECKPASSWORD='checkpw-ok.sh /bin/true'
	check "SMTP_CHECKPASSWORD: 'checkpw-ok.sh' is not an absolute path"
	export SMTP_CHECKPASSWORD=$BATS_TEST_TMPDIR/no-such-program
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_CHECKPASSWORD: $BATS_TEST_TMPDIR/no-such-program: No such file or directory" ]
	# a checkpassword program alone is a credential source
	unset SMTP_PASSWD
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-ok.sh /bin/true"
	run --separate-stderr "$SESSION" --check-config
	assert_success
}

# ---- checkpassword programs ----------------------------------------------

@test "checkpassword: fd 3 carries user NUL pass NUL NUL; fd 0 and 1 are /dev/null; argv kept" {
	unset SMTP_PASSWD
	relay_to_maildir
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-verify.sh /bin/true two"
	export CHECKPW_DUMP=$BATS_TEST_TMPDIR/dump
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" carol "$PW_CAROL")
MAIL FROM:<carol@example.test>
RCPT TO:<friend@elsewhere.test>
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" \
		'250 2.1.0 Ok' '250 2.1.5 Ok' "$BYE")"
	printf 'carol\0%s\0\0' "$PW_CAROL" | cmp - "$CHECKPW_DUMP.fd3"
	run cat "$CHECKPW_DUMP"
	assert_output "$(printf 'fd0=/dev/null\nfd1=/dev/null\nargs=/bin/true two')"
}

@test "checkpassword via LOGIN: the same interface" {
	unset SMTP_PASSWD
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-verify.sh"
	export CHECKPW_DUMP=$BATS_TEST_TMPDIR/dump
	run smtp <<IN
EHLO client.test
AUTH LOGIN $(b64 carol)
$(b64 "$PW_CAROL")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 UGFzc3dvcmQ6' "$AUTH_OK" "$BYE")"
}

@test "checkpassword exit 0 accepts, exit 1 refuses (535, counted)" {
	unset SMTP_PASSWD
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-ok.sh"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
QUIT
IN
	assert_success
	assert_line --index 9 "$AUTH_OK"
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-bad.sh"
	: > "$LOG"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$BYE")"
	grep -q ' auth .*user=anyone result=failed reason="checkpassword refused" failures=1$' "$LOG"
}

@test "checkpassword exit 111: 454 4.7.0, not counted as a failure" {
	unset SMTP_PASSWD
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-temp.sh"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
NOOP
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_TEMP" \
		"$AUTH_TEMP" "$AUTH_TEMP" "$AUTH_TEMP" '250 2.0.0 Ok' "$BYE")"
	run grep -c 'result=tempfail reason="checkpassword temporary failure"$' "$LOG"
	assert_output 4
}

@test "checkpassword that hangs: killed with its children after the timeout, 454 4.7.0" {
	unset SMTP_PASSWD
	export SMTP_TIMEOUT=2
	export CHECKPW_MARK=authhang$$x$BATS_TEST_NUMBER
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-hang.sh"
	local t0=$SECONDS
	run timeout 20 bash -c 'sed "s/\$/\r/" | "$1" 2>>"$2" | tr -d "\r"' _ "$SESSION" "$LOG" <<IN
EHLO client.test
AUTH PLAIN $(plain "" anyone "$PW_WRONG")
NOOP
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_TEMP" '250 2.0.0 Ok' "$BYE")"
	[ $((SECONDS - t0)) -lt 10 ]
	grep -q 'result=tempfail reason="checkpassword timed out"$' "$LOG"
	run pgrep -f "$CHECKPW_MARK-sleep"
	assert_failure
}

@test "password file and checkpassword: the file decides its users, checkpassword the others" {
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-ok.sh"
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" alice "$PW_WRONG")
AUTH PLAIN $(plain "" stranger "$PW_WRONG")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$AUTH_OK" "$BYE")"
	grep -q ' auth .*user=stranger result=ok$' "$LOG"
}

@test "credentials over checkpassword's 512 octets are refused without running it" {
	unset SMTP_PASSWD
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-ok.sh"
	local pw
	pw=$PW_WRONG$(head -c 500 /dev/zero | tr '\0' x)
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" anyone "$pw")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$BYE")"
	grep -q 'reason="credentials too long for checkpassword"' "$LOG"
}

# ---- timing and secrets ---------------------------------------------------

@test "unknown user and wrong password: same reply, both after the delay, crypt ran for both" {
	local d=$BATS_TEST_TMPDIR
	printf 'EHLO client.test\r\nNOOP\r\n' > "$d/none"
	printf 'EHLO client.test\r\nAUTH PLAIN %s\r\nNOOP\r\n' "$(plain "" nosuchuser "$PW_WRONG")" > "$d/unknown"
	printf 'EHLO client.test\r\nAUTH PLAIN %s\r\nNOOP\r\n' "$(plain "" alice "$PW_WRONG")" > "$d/wrong"
	run "$CLIENTS/auth_timing.py" "$SESSION" "$d/none" "$d/unknown" "$d/wrong"
	assert_success
	printf '# %s\n' "${lines[@]}" >&3
	local none unknown wrong
	none=(${lines[0]}) unknown=(${lines[1]}) wrong=(${lines[2]})
	[ "${unknown[*]:2}" = "$AUTH_BAD" ]
	[ "${wrong[*]:2}" = "$AUTH_BAD" ]
	# SMTP_AUTH_FAIL_DELAY is 1000: both answer after at least 0.9 s ...
	python3 -c "import sys; u, w = float(sys.argv[1]), float(sys.argv[2]); sys.exit(not (u >= 0.9 and w >= 0.9 and abs(u - w) <= 0.5))" \
		"${unknown[0]}" "${wrong[0]}"
	# ... yescrypt's 16 MiB were touched for the unknown user (the dummy
	# runs in the session), and the wrong password was really checked
	# (in a child cut off at the delay: its verdict is in the log)
	[ "${unknown[1]}" -ge $((none[1] + 12000)) ]
	grep -q 'user=alice result=failed reason="wrong password"' "$LOG"
}

# A slow hash (bcrypt, cost $1: 10 is ~50 ms here, 12 ~0.2 s), a fast
# one (sha512crypt, ~3 ms) and an unknown user: each 535 comes at the
# same moment.
slow_fast_passwd() {
	{
		echo "slow:$(printf '%s\n' "$PW_ERIN" | mkpasswd -s -m bcrypt -R "$1")"
		echo "fast:$(hash_pw sha512crypt "$PW_BOB")"
	} > "$SMTP_PASSWD"
}

@test "every 535 takes SMTP_AUTH_FAIL_DELAY: slow hash, fast hash and unknown user have the same median (20 samples)" {
	# cost 10, ~50 ms: room for a loaded machine (the suite runs in
	# parallel) below the 600 ms, yet 15 times the fast hash
	slow_fast_passwd 10
	export SMTP_AUTH_FAIL_DELAY=600
	run "$CLIENTS/auth_median.py" "$SESSION" 20 \
		"AUTH PLAIN $(plain "" slow "$PW_WRONG")" \
		"AUTH PLAIN $(plain "" fast "$PW_WRONG")" \
		"AUTH PLAIN $(plain "" nosuchuser "$PW_WRONG")"
	printf '# %s\n' "${lines[@]}" >&3
	assert_success
	local slow fast unknown
	slow=(${lines[0]}) fast=(${lines[1]}) unknown=(${lines[2]})
	[ "${slow[*]:3}" = "$AUTH_BAD" ]
	[ "${fast[*]:3}" = "$AUTH_BAD" ]
	[ "${unknown[*]:3}" = "$AUTH_BAD" ]
	# each at the delay, and the medians less than 50 ms apart
	python3 - "${slow[0]}" "${fast[0]}" "${unknown[0]}" <<'PY'
import sys
m = [float(x) for x in sys.argv[1:]]
assert all(x >= 590 for x in m), m
assert max(m) - min(m) < 50, m
PY
}

@test "--check-config refuses a hash slower than half of SMTP_AUTH_FAIL_DELAY, naming the user" {
	slow_fast_passwd 12
	export SMTP_AUTH_FAIL_DELAY=200      # bcrypt 12 needs ~200 ms
	run "$SESSION" --check-config
	assert_failure 1
	assert_output --regexp 'SMTP_PASSWD: user slow: the hash takes (more than )?[0-9]+ ms to verify, over half of SMTP_AUTH_FAIL_DELAY \(200 ms\)'
	refute_output --partial 'user fast'
	# a bcrypt cost of 31 would run for days: cut off at the limit
	echo "huge:\$2b\$31\$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234" >> "$SMTP_PASSWD"
	run timeout 20 "$SESSION" --check-config
	assert_failure 1
	assert_output --partial 'SMTP_PASSWD: user huge: the hash takes more than 100 ms'
	# with room enough, the same file passes
	sed -i 3d "$SMTP_PASSWD"
	export SMTP_AUTH_FAIL_DELAY=20000    # room even on a loaded machine
	run "$SESSION" --check-config
	refute_output --partial 'SMTP_PASSWD'
}

@test "a hash slower than SMTP_AUTH_FAIL_DELAY is cut off at the delay: its 535 comes when an unknown user's does" {
	# bcrypt cost 13 takes ~0.4 s here; the delay is 150 ms.  Before the
	# cut-off such a user's 535 came when the hash was done, late
	slow_fast_passwd 13
	export SMTP_AUTH_FAIL_DELAY=150
	run "$CLIENTS/auth_median.py" "$SESSION" 5 \
		"AUTH PLAIN $(plain "" slow "$PW_WRONG")" \
		"AUTH PLAIN $(plain "" slow "$PW_ERIN")" \
		"AUTH PLAIN $(plain "" nosuchuser "$PW_WRONG")"
	printf '# %s\n' "${lines[@]}" >&3
	assert_success
	local wrong right unknown
	wrong=(${lines[0]}) right=(${lines[1]}) unknown=(${lines[2]})
	# even the right password: a hash that cannot answer in time never does
	[ "${wrong[*]:3}" = "$AUTH_BAD" ]
	[ "${right[*]:3}" = "$AUTH_BAD" ]
	[ "${unknown[*]:3}" = "$AUTH_BAD" ]
	python3 - "${wrong[0]}" "${right[0]}" "${unknown[0]}" <<'PY'
import sys
m = [float(x) for x in sys.argv[1:]]
assert all(145 <= x < 300 for x in m), m
assert max(m) - min(m) < 50, m
PY
	grep -q 'auth_slow_hash id=.* user=slow ms=[0-9]* reason="verification slower than SMTP_AUTH_FAIL_DELAY"' "$LOG"
	grep -q 'user=slow result=failed reason="hash slower than SMTP_AUTH_FAIL_DELAY"' "$LOG"
}

@test "a hash cut off at the delay verified nothing: the lockout counts nothing for it" {
	slow_fast_passwd 13
	export SMTP_AUTH_FAIL_DELAY=150 SMTP_LOCKOUT_FILE=$BATS_TEST_TMPDIR/lockout
	run smtp <<IN
EHLO client.test
AUTH PLAIN $(plain "" slow "$PW_WRONG")
QUIT
IN
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_BAD" "$BYE")"
	run "$TEST_BUILD/smtp-lockout" list
	assert_success
	refute_output --partial '192.0.2.1'
}

@test "no password or blob is left in the session's memory after AUTH (explicit_bzero)" {
	[ "$(id -u)" -eq 0 ] || skip "reading /proc/PID/mem needs root"
	local d=$BATS_TEST_TMPDIR login_pw plain_ok
	login_pw=$(b64 "$PW_WRONG")
	plain_ok=$(plain "" alice "$PW_ALICE")
	printf 'EHLO client.test\r\nAUTH LOGIN\r\n%s\r\n%s\r\nAUTH PLAIN\r\n%s\r\nNOOP\r\n' \
		"$(b64 alice)" "$login_pw" "$plain_ok" > "$d/in"
	run "$CLIENTS/auth_memscan.py" "$SESSION" "$d/in" "$PW_WRONG" "$login_pw" \
		"$PW_ALICE" "$plain_ok"
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" '334 VXNlcm5hbWU6' \
		'334 UGFzc3dvcmQ6' "$AUTH_BAD" '334 ' "$AUTH_OK" '250 2.0.0 Ok')"
	# the same through a checkpassword program, initial response this time
	unset SMTP_PASSWD
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-verify.sh"
	export CHECKPW_DUMP=$d/dump
	plain_ok=$(plain "" carol "$PW_CAROL")
	printf 'EHLO client.test\r\nAUTH PLAIN %s\r\nNOOP\r\n' "$plain_ok" > "$d/in"
	run "$CLIENTS/auth_memscan.py" "$SESSION" "$d/in" "$PW_CAROL" "$plain_ok"
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_AUTH" "$AUTH_OK" '250 2.0.0 Ok')"
}

@test "the log never holds a password, not even after a refused AUTH LOGIN" {
	# a client that does not wait for the reply: after 538 its base64
	# lines arrive as commands and must not be logged verbatim
	export SMTP_AUTH_PLAINTEXT=0
	run smtp <<IN
EHLO client.test
AUTH LOGIN
$(b64 alice)
$(b64 "$PW_ALICE")
AUTH PLAIN
$(plain "" alice "$PW_ALICE")
QUIT
IN
	assert_success
	assert_output "$(printf '%s\n' "$GREETING" "$EHLO_PLAIN" "$NO_TLS" \
		'500 5.5.2 Error: command not recognized' \
		'500 5.5.2 Error: command not recognized' "$NO_TLS" \
		'500 5.5.2 Error: command not recognized' "$BYE")"
	no_secret_logged
}

@test "the log check finds a planted secret (the check itself works)" {
	b64 "$PW_ALICE" > /dev/null
	echo "planted $(printf '%s' "$PW_ALICE" | base64 -w0)" >> "$LOG"
	run no_secret_logged
	assert_failure
	echo "planted $PW_BOB" > "$LOG"
	run no_secret_logged
	assert_failure
	: > "$LOG"
	run no_secret_logged
	assert_success
}

# ---- real clients over a socket -------------------------------------------

@test "smtplib login() (PLAIN) and forced LOGIN, with and without initial response, relay after AUTH" {
	relay_to_maildir
	start_inetd
	run timeout 30 python3 - "$PORT" "$PW_ALICE" <<'PY'
import smtplib, sys
port, pw = int(sys.argv[1]), sys.argv[2]
msg = b'Subject: via smtplib\r\n\r\nhello\r\n'
with smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=10) as s:
    s.ehlo()
    print('features', s.esmtp_features.get('auth').strip())
    try:
        s.sendmail('alice@example.test', ['friend@elsewhere.test'], msg)
    except smtplib.SMTPRecipientsRefused as e:
        print('refused', e.recipients['friend@elsewhere.test'][0])
    s.rset()
    print('login', s.login('alice', pw))
    print(s.sendmail('alice@example.test', ['friend@elsewhere.test'], msg))
with smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=10) as s:
    s.ehlo()
    s.user, s.password = 'alice', pw
    print('login', s.auth('LOGIN', s.auth_login, initial_response_ok=False))
with smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=10) as s:
    s.ehlo()
    s.user, s.password = 'alice', pw
    print('login', s.auth('LOGIN', s.auth_login))
with smtplib.SMTP('127.0.0.1', port, local_hostname='client.test', timeout=10) as s:
    s.ehlo()
    s.user, s.password = 'alice', pw
    print('login', s.auth('PLAIN', s.auth_plain, initial_response_ok=False))
PY
	assert_success
	assert_output "$(cat <<'OUT'
features PLAIN LOGIN
refused 554
login (235, b'2.7.0 Authentication successful')
{}
login (235, b'2.7.0 Authentication successful')
login (235, b'2.7.0 Authentication successful')
login (235, b'2.7.0 Authentication successful')
OUT
)"
	sessions_done
	run received_with friend@elsewhere.test
	assert_output 'by mx.test (smtp-session) with ESMTPA'
	run grep -c ' auth .*user=alice result=ok$' "$LOG"
	assert_output 4
	grep -q ' auth .*mechanism=LOGIN user=alice result=ok$' "$LOG"
}

@test "swaks --auth PLAIN and --auth LOGIN relay after AUTH; a wrong password fails" {
	relay_to_maildir
	start_inetd
	run timeout 30 swaks --server "127.0.0.1:$PORT" --helo client.test \
		--from alice@example.test --to friend@elsewhere.test \
		--auth PLAIN --auth-user bob --auth-password "$PW_BOB"
	assert_success
	assert_line '<-  235 2.7.0 Authentication successful'
	run timeout 30 swaks --server "127.0.0.1:$PORT" --helo client.test \
		--from alice@example.test --to other@elsewhere.test \
		--auth LOGIN --auth-user erin --auth-password "$PW_ERIN"
	assert_success
	assert_line '<-  334 VXNlcm5hbWU6'
	assert_line '<-  334 UGFzc3dvcmQ6'
	assert_line '<-  235 2.7.0 Authentication successful'
	run timeout 30 swaks --server "127.0.0.1:$PORT" --helo client.test \
		--from alice@example.test --to other@elsewhere.test \
		--auth PLAIN --auth-user bob --auth-password "$PW_WRONG"
	assert_failure
	assert_line '<** 535 5.7.8 Authentication credentials invalid'
	sessions_done
	[ "$(delivered_count)" -eq 2 ]
	run received_with friend@elsewhere.test
	assert_output 'by mx.test (smtp-session) with ESMTPA'
	grep -q ' auth .*mechanism=PLAIN user=bob result=ok$' "$LOG"
	grep -q ' auth .*mechanism=LOGIN user=erin result=ok$' "$LOG"
}

@test "curl --login-options AUTH=PLAIN relays after AUTH" {
	relay_to_maildir
	start_inetd
	printf 'Subject: via curl\r\n\r\nhello\r\n' > "$BATS_TEST_TMPDIR/msg"
	run timeout 30 curl -sS --url "smtp://127.0.0.1:$PORT/client.test" \
		--user "dave:$PW_DAVE" --login-options AUTH=PLAIN \
		--mail-from alice@example.test --mail-rcpt friend@elsewhere.test \
		--upload-file "$BATS_TEST_TMPDIR/msg"
	assert_success
	assert_output ''
	sessions_done
	run received_with friend@elsewhere.test
	assert_output 'by mx.test (smtp-session) with ESMTPA'
	grep -q ' auth .*mechanism=PLAIN user=dave result=ok$' "$LOG"
}

@test "STARTTLS then AUTH without SMTP_AUTH_PLAINTEXT (swaks --tls): ESMTPSA" {
	relay_to_maildir
	export SMTP_AUTH_PLAINTEXT=0
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.test -days 2 -keyout "$BATS_TEST_TMPDIR/key.pem" \
		-out "$BATS_TEST_TMPDIR/cert.pem" 2>/dev/null
	export SMTP_TLS_CERT=$BATS_TEST_TMPDIR/cert.pem SMTP_TLS_KEY=$BATS_TEST_TMPDIR/key.pem
	start_inetd
	run timeout 30 swaks --server "127.0.0.1:$PORT" --helo client.test --tls \
		--from alice@example.test --to friend@elsewhere.test \
		--auth PLAIN --auth-user alice --auth-password "$PW_ALICE"
	assert_success
	assert_line '<~  250-AUTH PLAIN LOGIN'
	assert_line '<~  235 2.7.0 Authentication successful'
	# before TLS, AUTH was not offered
	refute_line '<-  250-AUTH PLAIN LOGIN'
	sessions_done
	run received_with friend@elsewhere.test
	assert_output --regexp '^by mx\.test \(smtp-session\) with ESMTPSA \(TLS'
}
