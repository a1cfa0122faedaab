# smtp-dkimsign: DKIM signatures on mail of authenticated senders, checked
# by an independent implementation (dkimpy, Debian python3-dkim, fed the
# public keys directly: tests/clients/dkim_verify.py), both algorithms,
# relaxed canonicalization, over-signing, who is signed and who is not,
# the key table and key file checks, and the whole chain over a socket:
# smtp-session with AUTH -> smtp-dkimsign -> smtp-deliver.
load helper

SIGN=$TEST_BUILD/smtp-dkimsign
VERIFY=$BATS_TEST_DIRNAME/clients/dkim_verify.py
PY=/usr/bin/python3	# Debian's, which has python3-dkim
REFUSED='451 4.3.5 Message signing is misconfigured here, try again later'

setup_file() {
	local k=$BATS_FILE_TMPDIR
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/rsa.pem" 2>/dev/null
	openssl genpkey -algorithm ed25519 -out "$k/ed.pem"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/net.pem" 2>/dev/null
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/ec.pem"
	chmod 600 "$k"/*.pem
	# the TXT records: RSA's p= is the SubjectPublicKeyInfo (RFC 6376
	# 3.6.1), Ed25519's the bare 32-octet key (RFC 8463 4.2)
	echo "v=DKIM1; k=rsa; p=$(openssl pkey -in "$k/rsa.pem" -pubout -outform DER | base64 -w0)" >"$k/rsa.txt"
	echo "v=DKIM1; k=ed25519; p=$(openssl pkey -in "$k/ed.pem" -pubout -outform DER | tail -c 32 | base64 -w0)" >"$k/ed.txt"
	echo "v=DKIM1; k=rsa; p=$(openssl pkey -in "$k/net.pem" -pubout -outform DER | base64 -w0)" >"$k/net.txt"
}

setup() {
	common_setup
	# check-asan: libopendkim's own ed25519 leak (see the file); whole
	# stacks, so the suppression sees the library frame under libcrypto
	export LSAN_OPTIONS="suppressions=$BATS_TEST_DIRNAME/data/lsan-opendkim.supp:print_suppressions=0"
	[ -z "${ASAN_OPTIONS:-}" ] || export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
	K=$BATS_FILE_TMPDIR
	W=$BATS_TEST_TMPDIR
	export SMTP_DKIM_KEYS=$W/dkim-keys
	cat >"$SMTP_DKIM_KEYS" <<EOF
# domain       selector  key
example.org    rsa2026   $K/rsa.pem
example.org    ed2026    $K/ed.pem
*.example.net  net       $K/net.pem
EOF
	export SMTP_AUTH_USER=alice
	unset SMTP_DKIM_SIGN_RELAYCLIENT
	export FAKE_OUT=$W/out
	SERVER_PID=
	KEYS=("rsa2026._domainkey.example.org=$(cat "$K/rsa.txt")"
	      "ed2026._domainkey.example.org=$(cat "$K/ed.txt")"
	      "net._domainkey.example.net=$(cat "$K/net.txt")")
	message From: 'Alice Example <alice@Example.ORG>' >"$W/msg"
	printf 'Falice@example.org\0Tbob@example.net\0\0' >"$W/env"
}

teardown() {
	stop_server
}

# message NAME: VALUE...: a message as the session hands it on (its
# Received: first, LF line ends) with the given extra header fields.
message() {
	printf 'Received: from client.test by mx.test (smtp-session) with ESMTPA\n'
	while [ $# -ge 2 ]; do
		printf '%s %s\n' "$1" "$2"
		shift 2
	done
	printf 'To: Bob <bob@example.net>\nSubject: quarterly\n numbers\n'
	printf 'Date: Wed, 02 Dec 2026 08:00:00 +0000\nMessage-ID: <q4@example.org>\n'
	printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n'
	printf 'Dear Bob,\n\nthe numbers  are\tfine.  \n\n-- \nAlice\n\n\n'
}

# dkimsign [MSGFILE]: the filter with fakes/save as NEXT; status, stderr
# in $output ($FAKE_OUT.msg and .env hold what NEXT got).
dkimsign() {
	"$SIGN" "$FAKES/save" <"${1:-$W/msg}" 2>&1 1<>"$W/env.copy"
}

# with_next NEXT [ARGS...]: the filter in front of another program
with_next() {
	"$SIGN" "$@" <"$W/msg" 2>&1 1<>"$W/env.copy"
}

sign_it() {
	cp "$W/env" "$W/env.copy"
	run dkimsign "$@"
}

verify() {
	run "$PY" "$VERIFY" "$1" "${KEYS[@]}"
}

@test "dkimsign: authenticated sender: an rsa-sha256 and an ed25519-sha256 signature (RFC 8463), both verified by dkimpy" {
	sign_it
	assert_success
	assert_output "smtp-dkimsign: signed d=example.org s=rsa2026 a=rsa-sha256 for=auth
smtp-dkimsign: signed d=example.org s=ed2026 a=ed25519-sha256 for=auth"
	# the two fields first, then the message as it was; the envelope as it was
	[ "$(grep -c '^DKIM-Signature: ' "$FAKE_OUT.msg")" -eq 2 ]
	head -1 "$FAKE_OUT.msg" | grep -q '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org;'
	sed '1,/^Received: /{/^Received: /!d}' "$FAKE_OUT.msg" | cmp - "$W/msg"
	cmp "$FAKE_OUT.env" "$W/env"
	verify "$FAKE_OUT.msg"
	assert_success
	assert_line --index 0 --regexp '^0 d=example.org s=rsa2026 a=rsa-sha256 pass h='
	assert_line --index 1 --regexp '^1 d=example.org s=ed2026 a=ed25519-sha256 pass h='
}

@test "dkimsign: the signed fields: a modern list, From and Subject (and To, Cc...) over-signed, Received not signed" {
	sign_it
	assert_success
	verify "$FAKE_OUT.msg"
	assert_success
	local h=${lines[0]#*h=}
	[ "$h" = "From:To:Subject:Date:Message-ID:MIME-Version:Content-Type:From:Reply-To:Subject:Date:To:Cc:Message-ID:In-Reply-To:References:MIME-Version:Content-Type:Content-Transfer-Encoding:List-Unsubscribe:List-Unsubscribe-Post" ]
	[[ ":$h:" != *:Received:* ]]
}

@test "dkimsign: relaxed/relaxed survives re-folding, case and white space changes; a changed word does not" {
	sign_it
	assert_success
	# what relaxed canonicalization allows (RFC 6376 3.4.2, 3.4.4)
	sed -e 's/^Subject: quarterly$/subject:    quarterly  /' \
	    -e 's/^To: Bob <bob@example.net>$/TO:\tBob\n   <bob@example.net>/' \
	    -e 's/^the numbers  are\tfine.  $/the numbers are fine./' \
	    "$FAKE_OUT.msg" >"$W/relaxed"
	printf '\n\n\n' >>"$W/relaxed"
	! cmp -s "$W/relaxed" "$FAKE_OUT.msg"
	verify "$W/relaxed"
	assert_success
	sed 's/the numbers/the Numbers/' "$FAKE_OUT.msg" >"$W/changed"
	verify "$W/changed"
	assert_failure
	assert_line --index 0 --regexp ' fail h='
	assert_line --index 1 --regexp ' fail h='
}

@test "dkimsign: over-signing: a second From, Subject or a Cc added breaks the signatures; an X- field does not" {
	sign_it
	assert_success
	local f
	for f in 'From: Mallory <boss@example.org>' 'Subject: urgent' 'Cc: all@example.net'; do
		awk -v f="$f" '{ print } /^Received: / { print f }' "$FAKE_OUT.msg" >"$W/added"
		verify "$W/added"
		assert_failure
		assert_line --index 0 --regexp ' fail h='
		assert_line --index 1 --regexp ' fail h='
	done
	awk '{ print } /^Received: / { print "X-Spam-Score: 0" }' "$FAKE_OUT.msg" >"$W/added"
	verify "$W/added"
	assert_success
}

@test "dkimsign: an unauthenticated sender is not signed: NEXT gets the message and envelope untouched, nothing logged" {
	unset SMTP_AUTH_USER
	sign_it
	assert_success
	assert_output ''
	cmp "$FAKE_OUT.msg" "$W/msg"
	cmp "$FAKE_OUT.env" "$W/env"
	# SMTP_AUTH_USER empty is not authenticated either
	SMTP_AUTH_USER= sign_it
	assert_success
	cmp "$FAKE_OUT.msg" "$W/msg"
}

@test "dkimsign: RELAYCLIENT is signed only with SMTP_DKIM_SIGN_RELAYCLIENT=1" {
	unset SMTP_AUTH_USER
	RELAYCLIENT= sign_it
	assert_success
	assert_output ''
	cmp "$FAKE_OUT.msg" "$W/msg"
	RELAYCLIENT= SMTP_DKIM_SIGN_RELAYCLIENT=0 sign_it
	cmp "$FAKE_OUT.msg" "$W/msg"
	RELAYCLIENT= SMTP_DKIM_SIGN_RELAYCLIENT=1 sign_it
	assert_success
	assert_line --index 0 'smtp-dkimsign: signed d=example.org s=rsa2026 a=rsa-sha256 for=relayclient'
	verify "$FAKE_OUT.msg"
	assert_success
	# without RELAYCLIENT the switch signs nothing
	SMTP_DKIM_SIGN_RELAYCLIENT=1 sign_it
	cmp "$FAKE_OUT.msg" "$W/msg"
}

@test "dkimsign: a From domain without a key is passed on unsigned with a log line" {
	message From: 'Alice <alice@gmail.example>' >"$W/msg"
	sign_it
	assert_success
	assert_output 'smtp-dkimsign: unsigned: no key for domain=gmail.example'
	cmp "$FAKE_OUT.msg" "$W/msg"
	cmp "$FAKE_OUT.env" "$W/env"
	# example.net itself: "*.example.net" covers only the names below it
	message From: 'alice@example.net' >"$W/msg"
	sign_it
	assert_output 'smtp-dkimsign: unsigned: no key for domain=example.net'
}

@test "dkimsign: *.example.net signs a subdomain with d=example.net; an exact line beats it" {
	message From: '"Ops, Team" <ops@eu.mail.example.net>' >"$W/msg"
	sign_it
	assert_success
	assert_output 'smtp-dkimsign: signed d=example.net s=net a=rsa-sha256 for=auth'
	verify "$FAKE_OUT.msg"
	assert_success
	assert_line --index 0 --regexp '^0 d=example.net s=net a=rsa-sha256 pass '
	echo "eu.mail.example.net rsa2026 $K/rsa.pem" >>"$SMTP_DKIM_KEYS"
	sign_it
	assert_output 'smtp-dkimsign: signed d=eu.mail.example.net s=rsa2026 a=rsa-sha256 for=auth'
}

@test "dkimsign: no From, two From fields, two addresses: passed on unsigned with the reason" {
	message >"$W/msg"
	sign_it
	assert_success
	assert_output 'smtp-dkimsign: unsigned: no From field'
	cmp "$FAKE_OUT.msg" "$W/msg"
	message From: alice@example.org From: bob@example.org >"$W/msg"
	sign_it
	assert_output 'smtp-dkimsign: unsigned: several From fields'
	message From: 'alice@example.org, bob@example.org' >"$W/msg"
	sign_it
	assert_output 'smtp-dkimsign: unsigned: several From addresses'
	cmp "$FAKE_OUT.msg" "$W/msg"
}

@test "dkimsign: a group- or world-readable key is refused: exit 71 and the client's 451 4.3.5" {
	cp "$K/rsa.pem" "$W/rsa.pem"
	sed -i "s|$K/rsa.pem|$W/rsa.pem|" "$SMTP_DKIM_KEYS"
	chmod 640 "$W/rsa.pem"
	sign_it
	[ "$status" -eq 71 ]
	assert_output "smtp-dkimsign: key=$W/rsa.pem: refused: mode 0640 lets others than its owner read it (chmod 600)
$REFUSED"
	[ ! -e "$FAKE_OUT.msg" ]
	chmod 604 "$W/rsa.pem"
	sign_it
	[ "$status" -eq 71 ]
	assert_line --index 0 "smtp-dkimsign: key=$W/rsa.pem: refused: mode 0604 lets others than its owner read it (chmod 600)"
	chmod 400 "$W/rsa.pem"
	sign_it
	assert_success
}

@test "dkimsign: a missing key, a key that is not RSA or Ed25519, a malformed or missing table: exit 71" {
	sed -i "s|$K/ed.pem|$W/nothere.pem|" "$SMTP_DKIM_KEYS"
	sign_it
	[ "$status" -eq 71 ]
	assert_output "smtp-dkimsign: key=$W/nothere.pem: No such file or directory
$REFUSED"
	sed -i "s|$W/nothere.pem|$K/ec.pem|" "$SMTP_DKIM_KEYS"
	sign_it
	[ "$status" -eq 71 ]
	assert_line --index 0 "smtp-dkimsign: key=$K/ec.pem: not a PEM RSA (1024 bits or more) or Ed25519 private key"
	echo "example.com selector relative/path.pem" >>"$SMTP_DKIM_KEYS"
	sign_it
	[ "$status" -eq 71 ]
	assert_line --index 0 "smtp-dkimsign: table=$SMTP_DKIM_KEYS line 5: malformed (domain selector /key/path), or more than 4 lines for one domain"
	SMTP_DKIM_KEYS=$W/none sign_it
	[ "$status" -eq 71 ]
	assert_output "smtp-dkimsign: table=$W/none: No such file or directory
$REFUSED"
	# a table others may change could point at any key: refused
	sed -i '$d' "$SMTP_DKIM_KEYS"
	chmod 664 "$SMTP_DKIM_KEYS"
	sign_it
	[ "$status" -eq 71 ]
	assert_output "smtp-dkimsign: table=$SMTP_DKIM_KEYS: refused: mode 0664 lets others than its owner change it (chmod 644)
$REFUSED"
	# an unauthenticated message never reads the table
	unset SMTP_AUTH_USER
	SMTP_DKIM_KEYS=$W/none sign_it
	assert_success
}

@test "dkimsign: a message on a pipe (a filter in front) is signed the same" {
	cp "$W/env" "$W/env.copy"
	run bash -c 'cat "$1" | "$2" "$3" 2>&1 1<>"$4"' - "$W/msg" "$SIGN" "$FAKES/save" "$W/env.copy"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	verify "$FAKE_OUT.msg"
	assert_success
	cmp "$FAKE_OUT.env" "$W/env"
}

@test "dkimsign: NEXT's exit status is the filter's; a NEXT that cannot run is 55" {
	cp "$W/env" "$W/env.copy"
	run with_next "$FAKES/exit-status" 31
	[ "$status" -eq 31 ]
	cp "$W/env" "$W/env.copy"
	run with_next "$W/no-such-program"
	[ "$status" -eq 55 ]
	assert_line "smtp-dkimsign: cannot run $W/no-such-program: No such file or directory"
	unset SMTP_AUTH_USER
	run with_next "$W/no-such-program"
	[ "$status" -eq 55 ]
	assert_output "smtp-dkimsign: cannot run $W/no-such-program: No such file or directory"
}

@test "dkimsign: --help lists the variables with their defaults" {
	run "$SIGN" --help
	assert_success
	assert_line '  SMTP_DKIM_KEYS             default "/etc/smtp-session/dkim-keys"'
	assert_line '  SMTP_DKIM_SIGN_RELAYCLIENT default "0"'
	run "$SIGN"
	[ "$status" -eq 55 ]
}

@test "dkimsign: the chain over a socket: AUTH with smtplib -> smtp-session -> smtp-dkimsign -> relay program; dkimpy verifies what it got" {
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_PASSWD=$W/passwd
	printf 'alice:%s\n' "$(printf '%s\n' Dk1-Secret-Sign | mkpasswd -s -m sha512crypt)" >"$SMTP_PASSWD"
	chmod 600 "$SMTP_PASSWD"
	unset SMTP_AUTH_USER
	# relayed mail (the submission case) through the signer to a fake
	# relay program; local mail through it to smtp-deliver's Maildir
	export SMTP_RELAY_DELIVER="$SIGN $FAKES/save"
	export SMTP_DELIVER="$SIGN $DELIVER"
	start_inetd
	run timeout 30 "$PY" - "$PORT" <<'PY'
import smtplib, sys
msg = (b'From: Alice <alice@example.org>\r\nTo: friend@elsewhere.test\r\n'
       b'Subject: signed over the wire\r\nMessage-ID: <wire@example.org>\r\n'
       b'Date: Wed, 02 Dec 2026 08:00:00 +0000\r\n\r\nhello  there\r\n.leading dot\r\n')
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    s.login('alice', 'Dk1-Secret-Sign')
    print(s.sendmail('alice@example.org', ['friend@elsewhere.test'], msg))
with smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='client.test', timeout=10) as s:
    print(s.sendmail('stranger@example.org', ['alice@example.test'], msg))
PY
	assert_success
	assert_output '{}
{}'
	sessions_done
	verify "$FAKE_OUT.msg"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	grep -q '^\.leading dot$' "$FAKE_OUT.msg"
	grep -qx $'\tby mx.test (smtp-session) with ESMTPA' "$FAKE_OUT.msg"
	[ "$(tr '\0' '\n' <"$FAKE_OUT.env")" = "Falice@example.org
Tfriend@elsewhere.test" ]
	local unsigned
	unsigned=$(ls "$MAILDIR_ROOT"/example.test/alice/new/*)
	! grep -q '^DKIM-Signature:' "$unsigned"
	grep -q '^Subject: signed over the wire$' "$unsigned"
	grep -q 'smtp-dkimsign: signed d=example.org s=ed2026 a=ed25519-sha256 for=auth' "$LOG"
}
