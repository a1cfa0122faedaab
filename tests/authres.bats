# smtp-authres: the verdicts (iprev, SPF, DKIM, DMARC) against a real DNS
# server (dnsmasq in a network namespace, tests/dns.bash) serving the
# records below, DKIM signatures made by an independent implementation
# (dkimpy, Debian's python3-dkim, with keys made here), the policies and
# the exemptions, the forged-header stripping, the time budget with a
# dead resolver, and the whole chain over real sockets: smtp-session ->
# smtp-authres -> smtp-deliver.  Needs root (namespaces).
load helper
load dns

# Debian's python3, which has python3-dkim (a pyenv python on PATH may not).
PY=/usr/bin/python3

setup_file() {
	[ "$(id -u)" = 0 ] || return 0
	K=$BATS_FILE_TMPDIR/keys
	mkdir -p "$K"
	local k pub
	for k in a b q; do
		openssl genrsa -out "$K/$k.pem" 2048 2>/dev/null
		openssl rsa -in "$K/$k.pem" -pubout -outform DER 2>/dev/null |
			base64 -w0 >"$K/$k.pub"
	done
	# a.test: SPF for 192.0.2.10, DKIM key "sel", DMARC p=reject
	dns_txt a.test 'v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all'
	dns_txt sel._domainkey.a.test "v=DKIM1; k=rsa; p=$(cat "$K/a.pub")"
	dns_txt _dmarc.a.test 'v=DMARC1; p=reject'
	# b.test: a second signer (no DMARC record)
	dns_txt sel2._domainkey.b.test "v=DKIM1; k=rsa; p=$(cat "$K/b.pub")"
	# q.test: DMARC p=quarantine; n.test: p=none
	dns_txt q.test 'v=spf1 ip4:192.0.2.10 -all'
	dns_txt sel._domainkey.q.test "v=DKIM1; k=rsa; p=$(cat "$K/q.pub")"
	dns_txt _dmarc.q.test 'v=DMARC1; p=quarantine'
	dns_txt n.test 'v=spf1 ip4:192.0.2.10 -all'
	dns_txt _dmarc.n.test 'v=DMARC1; p=none'
	# example.com (RFC 2606, answered here only): reject for itself,
	# quarantine for its subdomains (sp=).  The organizational domain
	# comes from the public suffix list, which has com but not test.
	dns_zone example.com
	dns_txt example.com 'v=spf1 ip4:192.0.2.10 -all'
	dns_txt _dmarc.example.com 'v=DMARC1; p=reject; sp=quarantine'
	dns_txt sub.example.com 'v=spf1 ip4:192.0.2.10 -all'
	dns_txt sel._domainkey.mail.example.com "v=DKIM1; k=rsa; p=$(cat "$K/a.pub")"
	# the SPF results
	dns_txt soft.test 'v=spf1 ~all'
	dns_txt neutral.test 'v=spf1 ?all'
	dns_a none.test 192.0.2.99
	dns_txt perm.test 'v=spf1 ip4:192.0.2.10 foo:bar -all'
	local inc="v=spf1" i
	for i in $(seq 11); do
		dns_txt "l$i.test" 'v=spf1 -all'
		inc+=" include:l$i.test"
	done
	dns_txt limit.test "$inc -all"
	dns_txt helo.test 'v=spf1 ip4:192.0.2.10 -all'
	# iprev: .10 confirmed, .20 a PTR whose name has no address, .30 none
	dns_host mx.a.test 192.0.2.10
	dns_host mx6.a.test 2001:db8::10
	dns_ptr 192.0.2.20 ghost.test
	# the chain over sockets
	dns_txt chain.test 'v=spf1 ip4:192.0.2.10 -all'
	dns_txt bad.test 'v=spf1 -all'
	dns_start
}

teardown_file() {
	dns_stop
}

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (network and mount namespaces)"
	common_setup
	AUTHRES=$TEST_BUILD/smtp-authres
	K=$BATS_FILE_TMPDIR/keys
	T=$BATS_TEST_TMPDIR
	export FAKE_OUT=$T/out
	export SMTP_DMARC_DIR=$T/dmarc
	export TCPREMOTEIP=192.0.2.10 SMTP_HELO=mx.a.test
	unset SMTP_AUTH_USER RELAYCLIENT SMTP_AUTHRES_SPF_REJECT \
		SMTP_AUTHRES_DMARC_REJECT SMTP_AUTHRES_DMARC_QUARANTINE \
		SMTP_AUTHRES_DNS_TIMEOUT SMTP_AUTHRES_DEADLINE DNS_RESOLV
}

# msg FROM [SUBJECT]: a message into $T/msg.
msg() {
	printf 'From: Someone <%s>\nTo: bob@example.test\nSubject: %s\nMessage-ID: <1@x.test>\n\nHello,\nthis is the body.\n' \
		"$1" "${2:-test}" >"$T/msg"
}

# sign KEY SELECTOR DOMAIN: dkimpy prepends a DKIM-Signature to $T/msg
# (relaxed/relaxed); the first 8 characters of its b= go to $T/b.
sign() {
	"$PY" - "$K/$1.pem" "$2" "$3" "$T/msg" "$T/b" <<'EOF'
import dkim, re, sys
key, sel, dom, path, bfile = sys.argv[1:]
m = open(path, "rb").read()
sig = dkim.sign(m, sel.encode(), dom.encode(), open(key, "rb").read(),
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"message-id"])
open(path, "wb").write(sig + m)
b = re.search(rb"\bb=([^;]*)", re.sub(rb"\s", b"", sig.split(b":", 1)[1])).group(1)
open(bfile, "a").write(b[:8].decode() + "\n")
EOF
}

# hb N: header.b of the Nth signature made (1 = first), as written.
hb() {
	local b
	b=$(sed -n "${1}p" "$T/b")
	case $b in
	*/*) printf 'header.b="%s"' "$b" ;;
	*) printf 'header.b=%s' "$b" ;;
	esac
}

# authres SENDER: smtp-authres in the namespace on $T/msg, envelope
# SENDER -> bob@example.test, next program tests/fakes/save.
authres() {
	printf 'F%s\0Tbob@example.test\0\0' "$1" >"$T/env"
	dns_run "$AUTHRES" "$FAKES/save" <"$T/msg" 1<"$T/env"
}

# The Authentication-Results field the next program got (its lines).
ar_field() {
	awk '/^Authentication-Results:/ { on = 1; print; next }
	     on && /^\t/ { print; next } { on = 0 }' "$FAKE_OUT.msg"
}

# The one method line of the field for method $1 (without ";").
ar_method() {
	ar_field | sed -n "s/^\t\($1=[^;]*\);\{0,1\}\$/\1/p"
}

# ---- SPF ---------------------------------------------------------------

@test "spf=pass: MAIL FROM domain lists the client" {
	msg x@a.test
	run -0 authres x@a.test
	run ar_method spf
	assert_output 'spf=pass smtp.mailfrom=a.test'
}

@test "spf=fail: the client is not listed (-all)" {
	msg x@a.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@a.test
	run ar_method spf
	assert_output 'spf=fail smtp.mailfrom=a.test'
}

@test "spf=softfail, neutral, none" {
	msg x@soft.test
	run -0 authres x@soft.test
	run ar_method spf
	assert_output 'spf=softfail smtp.mailfrom=soft.test'
	run -0 authres x@neutral.test
	run ar_method spf
	assert_output 'spf=neutral smtp.mailfrom=neutral.test'
	run -0 authres x@none.test
	run ar_method spf
	assert_output 'spf=none smtp.mailfrom=none.test'
	run -0 authres x@nxdomain.test
	run ar_method spf
	assert_output 'spf=none smtp.mailfrom=nxdomain.test'
}

@test "spf=permerror: an unknown mechanism; more than 10 DNS mechanisms (RFC 7208 4.6.4)" {
	msg x@perm.test
	run -0 authres x@perm.test
	run ar_method spf
	assert_output 'spf=permerror smtp.mailfrom=perm.test'
	run -0 authres x@limit.test
	run ar_method spf
	assert_output 'spf=permerror smtp.mailfrom=limit.test'
}

@test "spf: the null sender <> is checked with the HELO identity (RFC 7208 2.4)" {
	msg x@a.test
	SMTP_HELO=helo.test run -0 authres ''
	run ar_method spf
	assert_output 'spf=pass smtp.helo=helo.test'
	TCPREMOTEIP=192.0.2.20 SMTP_HELO=helo.test run -0 authres ''
	run ar_method spf
	assert_output 'spf=fail smtp.helo=helo.test'
}

@test "dead resolver: every verdict is temperror, within the time budget, the message goes on" {
	msg x@a.test
	sign a sel a.test
	export SMTP_AUTHRES_DNS_TIMEOUT=1
	local t0=$SECONDS
	DNS_RESOLV=$(dns_resolv_dead) run -0 authres x@a.test
	[ $((SECONDS - t0)) -lt 15 ]
	run ar_field
	assert_output "Authentication-Results: mx.test;
	iprev=temperror policy.iprev=192.0.2.10;
	spf=temperror smtp.mailfrom=a.test;
	dkim=temperror (key DNS query failed) header.d=a.test header.s=sel $(hb 1);
	dmarc=temperror header.from=a.test"
}

@test "a resolver slower than the deadline: the checking child is killed at the deadline, the rest is temperror" {
	msg x@a.test
	# each query may wait 30 s, the checks together 2 s
	export SMTP_AUTHRES_DNS_TIMEOUT=30 SMTP_AUTHRES_DEADLINE=2
	local t0=$SECONDS
	DNS_RESOLV=$(dns_resolv_dead) run -0 authres x@a.test
	[ $((SECONDS - t0)) -lt 10 ]
	run ar_field
	assert_output "Authentication-Results: mx.test;
	iprev=temperror policy.iprev=192.0.2.10;
	spf=temperror smtp.mailfrom=a.test;
	dkim=none;
	dmarc=temperror header.from=a.test"
}

# ---- DKIM --------------------------------------------------------------

@test "dkim=pass: a dkimpy signature verifies, with header.d, header.s, header.b" {
	msg x@a.test
	sign a sel a.test
	run -0 authres x@a.test
	run ar_method dkim
	assert_output "dkim=pass header.d=a.test header.s=sel $(hb 1)"
}

@test "dkim=fail: body changed after signing" {
	msg x@a.test
	sign a sel a.test
	sed -i 's/this is the body/this is another body/' "$T/msg"
	run -0 authres x@a.test
	run ar_method dkim
	assert_output "dkim=fail (body hash did not verify) header.d=a.test header.s=sel $(hb 1)"
}

@test "dkim=fail: a signed header changed after signing" {
	msg x@a.test 'original subject'
	sign a sel a.test
	sed -i 's/^Subject: original subject$/Subject: changed subject/' "$T/msg"
	run -0 authres x@a.test
	run ar_method dkim
	assert_output "dkim=fail (signature verification failed) header.d=a.test header.s=sel $(hb 1)"
}

@test "dkim=permerror: no key published for the selector" {
	msg x@a.test
	sign a nokey a.test
	run -0 authres x@a.test
	run ar_method dkim
	assert_output "dkim=permerror (key not found in DNS) header.d=a.test header.s=nokey $(hb 1)"
}

@test "two signatures: one dkim= each, in order" {
	msg x@a.test
	sign a sel a.test
	sign b sel2 b.test
	run -0 authres x@a.test
	run ar_method dkim
	assert_output "dkim=pass header.d=b.test header.s=sel2 $(hb 2)
dkim=pass header.d=a.test header.s=sel $(hb 1)"
}

@test "no signature: dkim=none" {
	msg x@a.test
	run -0 authres x@a.test
	run ar_method dkim
	assert_output 'dkim=none'
}

# ---- DMARC -------------------------------------------------------------

@test "dmarc=pass through SPF alone (aligned MAIL FROM, no signature)" {
	msg x@a.test
	run -0 authres bounce@a.test
	run ar_method dmarc
	assert_output 'dmarc=pass (p=reject) header.from=a.test'
}

@test "dmarc=pass through DKIM alone (SPF of another domain)" {
	msg x@a.test
	sign a sel a.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@none.test
	run ar_method spf
	assert_output 'spf=none smtp.mailfrom=none.test'
	run ar_method dmarc
	assert_output 'dmarc=pass (p=reject) header.from=a.test'
}

@test "dmarc=fail, p=reject: the message goes on while the policy is off, with the whole field" {
	msg x@a.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@a.test
	run ar_field
	assert_output "Authentication-Results: mx.test;
	iprev=fail policy.iprev=192.0.2.20 (ghost.test);
	spf=fail smtp.mailfrom=a.test;
	dkim=none;
	dmarc=fail (p=reject) header.from=a.test"
}

@test "dmarc=fail, p=reject, SMTP_AUTHRES_DMARC_REJECT=1: exit 31 and a 550 5.7.1 last line, nothing handed on" {
	msg x@a.test
	export SMTP_AUTHRES_DMARC_REJECT=1
	TCPREMOTEIP=192.0.2.20 run -31 authres x@a.test
	assert_line --index 0 --partial 'smtp-authres: iprev=fail spf=fail smtp.mailfrom=a.test dkim=none dmarc=fail header.from=a.test policy=reject disposition=reject'
	assert_line --index 1 '550 5.7.1 DMARC policy of a.test rejects this message (neither SPF nor DKIM aligned)'
	[ "${#lines[@]}" -eq 2 ]
	[ ! -e "$FAKE_OUT.msg" ]
}

@test "dmarc=fail, p=quarantine: X-Spam-Flag only with SMTP_AUTHRES_DMARC_QUARANTINE=1" {
	msg x@q.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@q.test
	run ar_method dmarc
	assert_output 'dmarc=fail (p=quarantine) header.from=q.test'
	run grep -c '^X-Spam-Flag:' "$FAKE_OUT.msg"
	assert_output 0
	export SMTP_AUTHRES_DMARC_QUARANTINE=1 SMTP_AUTHRES_DMARC_REJECT=1
	TCPREMOTEIP=192.0.2.20 run -0 authres x@q.test
	run head -1 "$FAKE_OUT.msg"
	assert_output 'X-Spam-Flag: YES'
}

@test "dmarc=fail, p=none: delivered unmarked with every policy on" {
	msg x@n.test
	export SMTP_AUTHRES_DMARC_QUARANTINE=1 SMTP_AUTHRES_DMARC_REJECT=1
	TCPREMOTEIP=192.0.2.20 run -0 authres x@n.test
	run ar_method dmarc
	assert_output 'dmarc=fail (p=none) header.from=n.test'
	run grep -c '^X-Spam-Flag:' "$FAKE_OUT.msg"
	assert_output 0
}

@test "subdomain policy: a subdomain without a record gets the organizational domain's sp=" {
	msg x@sub.example.com
	TCPREMOTEIP=192.0.2.20 run -0 authres x@sub.example.com
	run ar_method dmarc
	assert_output 'dmarc=fail (sp=quarantine) header.from=sub.example.com'
	msg x@example.com
	TCPREMOTEIP=192.0.2.20 run -0 authres x@example.com
	run ar_method dmarc
	assert_output 'dmarc=fail (p=reject) header.from=example.com'
	# relaxed alignment (RFC 7489 3.1.2): the subdomain's SPF aligns
	run -0 authres x@sub.example.com
	run ar_method dmarc
	assert_output 'dmarc=pass (p=reject) header.from=example.com'
}

@test "DKIM relaxed alignment: a signer in a subdomain of the From domain aligns, another domain does not" {
	msg x@example.com
	sign a sel mail.example.com
	TCPREMOTEIP=192.0.2.20 run -0 authres x@none.test
	run ar_method dkim
	assert_output "dkim=pass header.d=mail.example.com header.s=sel $(hb 1)"
	run ar_method dmarc
	assert_output 'dmarc=pass (p=reject) header.from=example.com'
	msg x@example.com
	sign a sel a.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@none.test
	run ar_method dmarc
	assert_output 'dmarc=fail (p=reject) header.from=example.com'
}

@test "dmarc=none without a record; permerror with two From addresses" {
	msg x@b.test
	run -0 authres x@b.test
	run ar_method dmarc
	assert_output 'dmarc=none header.from=b.test'
	printf 'From: a@a.test, b@b.test\nSubject: x\n\nbody\n' >"$T/msg"
	run -0 authres x@a.test
	run ar_method dmarc
	assert_output 'dmarc=permerror'
}

@test "one DMARC record per message in SMTP_DMARC_DIR (dmarc-store.c's line format)" {
	msg x@a.test
	sign a sel a.test
	run -0 authres x@a.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@a.test
	run cat "$SMTP_DMARC_DIR"/*
	[ "${#lines[@]}" -eq 2 ]
	assert_line --index 0 --regexp ' 192\.0\.2\.10 a\.test a\.test a\.test pass a\.test pass pass reject none pass pass r r  100 [0-9a-f]{8}$'
	assert_line --index 1 --regexp ' 192\.0\.2\.20 a\.test a\.test a\.test fail a\.test pass pass reject none fail pass r r  100 [0-9a-f]{8}$'
}

# ---- iprev -------------------------------------------------------------

@test "iprev=pass: the PTR name resolves back to the client" {
	msg x@a.test
	run -0 authres x@a.test
	run ar_method iprev
	assert_output 'iprev=pass policy.iprev=192.0.2.10 (mx.a.test)'
}

@test "iprev=fail: a PTR name without the address; no PTR at all" {
	msg x@a.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@a.test
	run ar_method iprev
	assert_output 'iprev=fail policy.iprev=192.0.2.20 (ghost.test)'
	TCPREMOTEIP=192.0.2.30 run -0 authres x@a.test
	run ar_method iprev
	assert_output 'iprev=fail policy.iprev=192.0.2.30'
}

@test "an IPv6 client: iprev through ip6.arpa, SPF ip6:, the address quoted in the field (RFC 8601 2.2)" {
	msg x@a.test
	TCPREMOTEIP=2001:db8::10 run -0 authres x@a.test
	run ar_method iprev
	assert_output 'iprev=pass policy.iprev="2001:db8::10" (mx6.a.test)'
	run ar_method spf
	assert_output 'spf=pass smtp.mailfrom=a.test'
	TCPREMOTEIP=2001:db8::11 run -0 authres x@a.test
	run ar_method iprev
	assert_output 'iprev=fail policy.iprev="2001:db8::11"'
	run ar_method spf
	assert_output 'spf=fail smtp.mailfrom=a.test'
}

# ---- our header, forged ones -------------------------------------------

@test "forged Authentication-Results with our authserv-id are removed (any case, folded); others stay" {
	printf '%s\n' 'Authentication-Results: mx.test; spf=pass smtp.mailfrom=a.test' \
		'From: x@a.test' \
		'authentication-results:   (comment) MX.TEST;' \
		'	dkim=pass header.d=a.test' \
		'Authentication-Results: other.test; dkim=pass' \
		'Authentication-Results: "mx.test"; dmarc=pass' \
		'Authentication-Results: mx.test.evil; dmarc=pass' \
		'Subject: s' '' 'body' >"$T/msg"
	run -0 authres x@a.test
	# our field first (its 5 lines), then the header without the forgeries
	run head -1 "$FAKE_OUT.msg"
	assert_output 'Authentication-Results: mx.test;'
	run tail -n +6 "$FAKE_OUT.msg"
	assert_output "From: x@a.test
Authentication-Results: other.test; dkim=pass
Authentication-Results: mx.test.evil; dmarc=pass
Subject: s

body"
}

@test "the envelope and the rest of the message reach the next program unchanged" {
	msg x@a.test
	run -0 authres x@a.test
	run cmp <(tail -n +6 "$FAKE_OUT.msg") "$T/msg"
	assert_success
	run cmp "$FAKE_OUT.env" "$T/env"
	assert_success
}

# ---- policies ------------------------------------------------------------

@test "SPF fail is delivered by default; refused with SMTP_AUTHRES_SPF_REJECT=1 (550 5.7.23)" {
	msg x@bad.test
	TCPREMOTEIP=192.0.2.20 run -0 authres x@bad.test
	export SMTP_AUTHRES_SPF_REJECT=1
	rm -f "$FAKE_OUT.msg"
	TCPREMOTEIP=192.0.2.20 run -31 authres x@bad.test
	assert_line --index 1 '550 5.7.23 SPF check failed for bad.test: 192.0.2.20 is not allowed to send its mail'
	[ ! -e "$FAKE_OUT.msg" ]
}

@test "policies never apply to an authenticated sender (auth=pass in the field) or a RELAYCLIENT" {
	msg x@a.test
	export SMTP_AUTHRES_SPF_REJECT=1 SMTP_AUTHRES_DMARC_REJECT=1
	SMTP_AUTH_USER=alice TCPREMOTEIP=192.0.2.20 run -0 authres x@a.test
	run ar_field
	assert_line --index 1 $'\tauth=pass smtp.auth=alice;'
	assert_line --index 3 $'\tspf=fail smtp.mailfrom=a.test;'
	RELAYCLIENT= TCPREMOTEIP=192.0.2.20 run -0 authres x@a.test
	run ar_method dmarc
	assert_output 'dmarc=fail (p=reject) header.from=a.test'
}

@test "a bad policy value is a configuration error (55), not a silent default" {
	msg x@a.test
	SMTP_AUTHRES_SPF_REJECT=yes run -55 authres x@a.test
	assert_output 'smtp-authres: SMTP_AUTHRES_SPF_REJECT must be 0 or 1: 0..1, not "yes"'
}

@test "--help lists every variable; no NEXT is a usage error (55)" {
	run -0 "$AUTHRES" --help
	for v in SMTP_HOSTNAME SMTP_AUTHRES_SPF_REJECT SMTP_AUTHRES_DMARC_REJECT \
		SMTP_AUTHRES_DMARC_QUARANTINE SMTP_AUTHRES_DMARC_RECORD SMTP_DMARC_DIR \
		SMTP_AUTHRES_DNS_TIMEOUT SMTP_AUTHRES_DEADLINE SMTP_AUTHRES_PSL; do
		assert_output --partial "  $v (default"
	done
	run -55 "$AUTHRES" </dev/null
}

@test "a message on a pipe is spooled first (filter | smtp-authres)" {
	msg x@a.test
	printf 'Fx@a.test\0Tbob@example.test\0\0' >"$T/env"
	run -0 dns_run sh -c 'cat "$1" | "$2" "$3" 1<"$4"' sh "$T/msg" "$AUTHRES" "$FAKES/save" "$T/env"
	run ar_method spf
	assert_output 'spf=pass smtp.mailfrom=a.test'
}

@test "the checking child runs sandboxed: no_new_privs, Landlock and seccomp applied" {
	command -v strace >/dev/null || skip "strace missing"
	msg x@a.test
	printf 'Fx@a.test\0Tbob@example.test\0\0' >"$T/env"
	traced() {
		dns_run strace -f -e trace=prctl,landlock_restrict_self,seccomp \
			-o "$T/trace" "$AUTHRES" "$FAKES/save" <"$T/msg" 1<"$T/env"
	}
	run -0 traced
	run grep -E 'PR_SET_NO_NEW_PRIVS.* = 0|landlock_restrict_self\(.* = 0|PR_SET_SECCOMP.* = 0' "$T/trace"
	assert_line --partial 'PR_SET_NO_NEW_PRIVS'
	assert_line --partial 'PR_SET_SECCOMP'
	[ "$(grep -c . <<<"$output")" -ge 2 ]
	# and the verdicts came back
	run ar_method spf
	assert_output 'spf=pass smtp.mailfrom=a.test'
}

# ---- the chain over real sockets -------------------------------------------

# Starts smtp-session under systemd-socket-activate on 192.0.2.1:CHAIN_PORT
# inside the namespace, SMTP_DELIVER = smtp-authres smtp-deliver.  The
# clients come from 192.0.2.10 or .20 (on the namespace's lo too): libspf2
# passes any loopback client (127.0.0.1) without looking at the record.
start_chain() {
	local a
	# tests of a file run in parallel: a port each (in our namespace)
	CHAIN_PORT=$((2600 + BATS_TEST_NUMBER))
	for a in 192.0.2.1 192.0.2.10 192.0.2.20; do
		nsenter -t "$DNS_HOLDER" -n ip addr replace "$a/32" dev lo
	done
	export SMTP_DELIVER="$AUTHRES $DELIVER" SMTP_DOMAINS=example.test
	sd_env
	dns_exec systemd-socket-activate -l 192.0.2.1:$CHAIN_PORT -a --inetd \
		"${SD_ENV[@]}" -E MAILDIR_ROOT "$SESSION" \
		</dev/null >/dev/null 2>>"$LOG" 3>&- &
	SERVER_PID=$!
	local i
	for i in $(seq 50); do
		nsenter -t "$DNS_HOLDER" -n ss -Hltn "sport = :$CHAIN_PORT" | grep -q . && return 0
		sleep 0.1
	done
	fail "nothing listens on $CHAIN_PORT in the namespace"
}

stop_chain() {
	kill "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	local i
	for i in $(seq 50); do
		nsenter -t "$DNS_HOLDER" -n ss -Hltn "sport = :$CHAIN_PORT" | grep -q . || return 0
		sleep 0.1
	done
}

# send SOURCE-IP FROM-ADDR MAIL-FROM: one message through smtplib in the
# namespace; prints the reply to DATA (or the refusal).
send() {
	nsenter -t "$DNS_HOLDER" -n python3 - "$@" "$CHAIN_PORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("192.0.2.1", int(sys.argv[4]), local_hostname="mx.a.test",
                 source_address=(sys.argv[1], 0))
msg = "From: %s\r\nTo: bob@example.test\r\nSubject: chain\r\n\r\nbody\r\n" % sys.argv[2]
try:
    s.sendmail(sys.argv[3], ["bob@example.test"], msg)
    print("250")
except smtplib.SMTPDataError as e:
    print(e.smtp_code, e.smtp_error.decode())
s.quit()
EOF
}

@test "chain over sockets: smtp-session -> smtp-authres -> smtp-deliver, the delivered file carries the field" {
	start_chain
	run send 192.0.2.10 x@chain.test x@chain.test
	stop_chain
	assert_output 250
	local f
	f=$(delivered bob@example.test)
	[ -n "$f" ]
	run awk '/^Authentication-Results:/ { on = 1; print; next } on && /^\t/ { print; next } { on = 0 }' "$f"
	assert_output "Authentication-Results: mx.test;
	iprev=pass policy.iprev=192.0.2.10 (mx.a.test);
	spf=pass smtp.mailfrom=chain.test;
	dkim=none;
	dmarc=none header.from=chain.test"
}

@test "chain over sockets: SPF reject reaches the client as the filter's own 550 5.7.23 line" {
	export SMTP_AUTHRES_SPF_REJECT=1
	start_chain
	run send 192.0.2.20 x@bad.test x@bad.test
	stop_chain
	assert_output '550 5.7.23 SPF check failed for bad.test: 192.0.2.20 is not allowed to send its mail'
	[ "$(delivered_count)" -eq 0 ]
}

@test "docs: smtp-authres(8) ENVIRONMENT has every variable --help prints, with the same default and range" {
	local help page
	help=$("$AUTHRES" --help | sed -n 's/^  \(SMTP_[A-Z_]*\) (default \(.*\))$/\1 \2/p' | sort)
	page=$(awk '/^\.SH ENVIRONMENT/ { on = 1 } /^\.SH EXIT/ { on = 0 }
		on && prev ~ /^\.B SMTP_/ && /^\(default / {
			sub(/^\.B /, "", prev); d = $0; sub(/^\(default /, "", d); sub(/\).*/, "", d)
			print prev, d }
		{ prev = $0 }' "$BATS_TEST_DIRNAME/../man/smtp-authres.8" | sort)
	[ -n "$help" ]
	[ "$page" = "$help" ] || { printf 'page:\n%s\nhelp:\n%s\n' "$page" "$help" >&2; return 1; }
}
