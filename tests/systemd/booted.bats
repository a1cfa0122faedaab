# tests/systemd/booted.bats - run by tests/systemd/run (make check-systemd)
# against a booted Debian 12 root where `make install DESTDIR=<root>` put
# the project.  The tests run in order and build on each other: the first
# runs README.md's "Run it for real" steps, extracted from the README.
# Clients run here, on the host, over loopback; the container shares the
# host's network and its sockets listen on 127.0.0.1:$MX_PORT (25),
# $SUB_PORT (587) and $SMTPS_PORT (465).
bats_require_minimum_version 1.5.0

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	load lib
	local r=$CT_ROOT
	provision_admin || return 1
	# Test programs inside the container: a checkpassword that knows bob,
	# and a deliver wrapper that probes the network before smtp-deliver.
	mkdir -p "$r/usr/local/libexec"
	cat > "$r/usr/local/libexec/check-systemd-checkpassword" <<'EOF'
#!/bin/bash
# fd 3: user\0password\0\0
IFS= read -r -d '' user <&3
IFS= read -r -d '' pass <&3
[ "$user" = bob ] && [ "$pass" = bob-pw-3X ] && exit 0
exit 1
EOF
	cat > "$r/usr/local/libexec/check-systemd-deliver" <<EOF
#!/bin/bash
# On HELO netprobe.test: which addresses can the deliver chain reach?
if [ "\$SMTP_HELO" = netprobe.test ]; then
	for a in 127.0.0.1/$MX_PORT ::1/$MX_PORT 192.0.2.2/9 127.0.0.53/53; do
		r=\$(timeout 3 bash -c "exec 3<>/dev/tcp/\$a" 2>&1 && echo connected)
		[ \$? = 124 ] && r="timed out"
		echo "probe \$a: \${r##*: }"
	done > /var/lib/smtp-session/netprobe.txt 2>&1
fi
exec /usr/local/sbin/smtp-deliver "\$@"
EOF
	chmod 755 "$r/usr/local/libexec/check-systemd-checkpassword" \
		"$r/usr/local/libexec/check-systemd-deliver"
}

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	load lib
}

@test "README: the 'Run it for real' steps run as written and --check-config passes" {
	readme_steps > "$SCRATCH/steps.sh"
	[ -s "$SCRATCH/steps.sh" ]
	grep -q '^systemctl enable --now smtp-session.socket' "$SCRATCH/steps.sh"
	sed 's/^/# step: /' "$SCRATCH/steps.sh" >&3
	run ct env EDITOR=/scratch/editor bash -c 'cd /src && bash -ex /scratch/steps.sh' \
		< "$SCRATCH/alice.pw"
	echo "$output"
	assert_success
	assert_output --partial 'smtp-session: configuration ok'
	grep -qx /etc/smtp-session/smtp-session.env "$SCRATCH/editor.ran"
}

@test "after the steps: sockets and timer active, files owned and moded as documented" {
	local u
	for u in smtp-session.socket smtp-submission.socket smtps-session.socket \
		 smtp-session-ticket-keys.timer; do
		run ct systemctl is-active "$u"
		assert_output active
		run ct systemctl is-enabled "$u"
		assert_output enabled
	done
	run ct stat -c '%U:%G %a' /etc/smtp-session/passwd /etc/smtp-session/cert.pem \
		/etc/smtp-session/key.pem /var/lib/smtp-session/ticket.keys \
		/var/spool/smtp-session /var/lib/smtp-session
	assert_output "smtpd:smtpd 600
root:smtpd 640
root:smtpd 640
smtpd:smtpd 600
smtpd:smtpd 700
smtpd:smtpd 700"
	# exactly one key so far: made by the step, not by the timer
	[ "$(grep -vc '^#' "$(ct_path /var/lib/smtp-session/ticket.keys)")" = 1 ]
	run ct grep -c '^alice:\$y\$' /etc/smtp-session/passwd
	assert_output 1
}

@test "test extras: checkpassword and the probing deliver wrapper on 465 and 587" {
	local e
	for e in submission smtps; do
		printf 'SMTP_CHECKPASSWORD=/usr/local/libexec/check-systemd-checkpassword\n' \
			> "$(ct_path /etc/smtp-session/$e.env)"
	done
	echo 'SMTP_DELIVER=/usr/local/libexec/check-systemd-deliver' \
		>> "$(ct_path /etc/smtp-session/smtps.env)"
}

@test "MX (25): plain SMTP is delivered into the Maildir, as smtpd" {
	run sw --server "127.0.0.1:$MX_PORT" --to user@example.org --h-Subject mx-plain-1
	assert_success
	assert_output --partial '<-  250 2.0.0 Ok: queued as'
	f=$(delivered mx-plain-1)
	[ -n "$f" ]
	[[ $f == */example.org/user/new/* ]]
	[ "$(ct stat -c %U "${f#"$CT_ROOT"}")" = smtpd ]
	received "$f" | grep -Eq ' with ESMTP[[:space:]]+id '
}

@test "MX (25) with smtp-authres in front of smtp-deliver: it runs in the unit's sandbox, the delivered mail carries its field" {
	# the container has no resolver: every lookup fails at once, so the
	# verdicts are temperror (libspf2 passes a loopback client itself),
	# but the sandboxed checking child ran under the unit's own system
	# call filter, users and address rules, and the chain delivered
	local env=$(ct_path /etc/smtp-session/mx.env)
	echo 'SMTP_DELIVER="/usr/local/sbin/smtp-authres /usr/local/sbin/smtp-deliver"' >> "$env"
	run sw --server "127.0.0.1:$MX_PORT" --to user@example.org --h-Subject mx-authres-1
	sed -i '/smtp-authres/d' "$env"
	assert_success
	assert_output --partial '<-  250 2.0.0 Ok: queued as'
	f=$(delivered mx-authres-1)
	[ -n "$f" ]
	run grep -E '^(Authentication-Results: |	(iprev|spf|dkim|dmarc)=)' "$f"
	assert_line --index 0 --regexp '^Authentication-Results: [a-z0-9.-]+;$'
	assert_line --index 1 --regexp '^	iprev=(temperror|fail) policy.iprev=127.0.0.1;$'
	assert_line --index 2 --regexp '^	spf=pass smtp.mailfrom='
	assert_line --index 3 '	dkim=none;'
	assert_line --index 4 --regexp '^	dmarc=(temperror|none) header.from='
	run ct journalctl --no-pager -o cat SYSLOG_IDENTIFIER=smtp-session SMTP_EVENT=deliver_stderr
	assert_output --partial 'smtp-authres: iprev='
}

@test "MX (25): STARTTLS is offered and used" {
	run sw --server "127.0.0.1:$MX_PORT" --to user@example.org --tls --h-Subject mx-tls-1
	assert_success
	assert_output --partial '250-STARTTLS'
	f=$(delivered mx-tls-1)
	[ -n "$f" ]
	received "$f" | grep -q ' with ESMTPS (TLS1.3 '
}

@test "MX (25) over IPv6: delivered, the client's address logged as ::1" {
	# (swaks needs IO::Socket::INET6 for IPv6; smtplib does not)
	run timeout 60 python3 - "$MX_PORT" <<'PY'
import smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP("::1", int(sys.argv[1]), local_hostname="client.test", timeout=30) as s:
    s.starttls(context=ctx)
    s.sendmail("sender@client.test", ["user@example.org"], "Subject: mx-v6-1\r\n\r\nv6\r\n")
print("sent")
PY
	assert_success
	f=$(delivered mx-v6-1)
	received "$f" | grep -qF '[IPv6:::1]'    # RFC 5321 address literal
	run ct journalctl --no-pager -q -o cat SMTP_EVENT=accepted SMTP_CLIENT=::1
	assert_output --partial 'client=::1'
}

@test "MX (25): a domain that is not ours is refused (no open relay)" {
	run sw --server "127.0.0.1:$MX_PORT" --to someone@elsewhere.test
	assert_failure
	assert_output --partial '554 5.7.1'
}

@test "submission (587): no MAIL before STARTTLS, no AUTH offered in plaintext" {
	run sw --server "127.0.0.1:$SUB_PORT" --to user@example.org --quit-after MAIL
	assert_failure
	assert_output --partial '530 5.7.0'
	refute_output --partial '250-AUTH'
	# after STARTTLS: still no MAIL without AUTH
	run sw --server "127.0.0.1:$SUB_PORT" --to user@example.org --tls --quit-after MAIL
	assert_failure
	assert_output --partial '250-AUTH PLAIN LOGIN'
	assert_output --partial '530 5.7.0'
}

@test "submission (587): STARTTLS + AUTH against the password file" {
	run sw --server "127.0.0.1:$SUB_PORT" --to user@example.org --tls \
		--auth PLAIN --auth-user alice --auth-password alice-pw-7Q --h-Subject sub-alice-1
	assert_success
	assert_output --partial '235 2.7.0'
	f=$(delivered sub-alice-1)
	received "$f" | grep -q ' with ESMTPSA (TLS1.3 '
}

@test "submission (587): AUTH against the checkpassword program; a wrong password is 535" {
	run sw --server "127.0.0.1:$SUB_PORT" --to user@example.org --tls \
		--auth LOGIN --auth-user bob --auth-password bob-pw-3X --h-Subject sub-bob-1
	assert_success
	assert_output --partial '235 2.7.0'
	[ -n "$(delivered sub-bob-1)" ]
	run sw --server "127.0.0.1:$SUB_PORT" --local-interface 127.0.0.3 --to user@example.org \
		--tls --auth PLAIN --auth-user bob --auth-password wrong
	assert_failure
	assert_output --partial '535 5.7.8'
}

@test "smtps (465): implicit TLS, AUTH required, delivered" {
	run sw --server "127.0.0.1:$SMTPS_PORT" --tlsc --to user@example.org --quit-after MAIL
	assert_failure
	assert_output --partial '530 5.7.0'
	run sw --server "127.0.0.1:$SMTPS_PORT" --tlsc --to user@example.org \
		--auth PLAIN --auth-user alice --auth-password alice-pw-7Q --h-Subject smtps-1
	assert_success
	f=$(delivered smtps-1)
	received "$f" | grep -q ' with ESMTPSA (TLS1.3 '
}

# s_client: New or Reused, on 465
tls_session() {   # tls_session OUT-FILE [IN-FILE]
	local in=()
	[ -n "${2:-}" ] && in=(-sess_in "$2")
	sleep 1 | timeout 20 openssl s_client -connect "127.0.0.1:$SMTPS_PORT" \
		-sess_out "$1" "${in[@]}" 2>&1 | grep -E '^(New|Reused),'
}

@test "TLS sessions resume across connections (shared ticket keys)" {
	run tls_session "$SCRATCH/s1.pem"
	assert_output --partial 'New, TLSv1.3'
	run tls_session "$SCRATCH/s2.pem" "$SCRATCH/s1.pem"
	assert_output --partial 'Reused, TLSv1.3'
}

@test "ticket keys: the service rotates them; old tickets still resume; the timer is set" {
	local k=$(ct_path /var/lib/smtp-session/ticket.keys) first
	first=$(grep -v '^#' "$k" | head -1)
	run ct systemctl start smtp-session-ticket-keys.service
	assert_success
	[ "$(grep -vc '^#' "$k")" = 2 ]
	[ "$(grep -v '^#' "$k" | sed -n 2p)" = "$first" ]
	[ "$(grep -v '^#' "$k" | head -1)" != "$first" ]
	[ "$(ct stat -c '%U %a' /var/lib/smtp-session/ticket.keys)" = "smtpd 600" ]
	run tls_session "$SCRATCH/s3.pem" "$SCRATCH/s1.pem"
	assert_output --partial 'Reused, TLSv1.3'
	run ct systemctl show -p NextElapseUSecRealtime --value smtp-session-ticket-keys.timer
	[ -n "$output" ] && [ "$output" != 0 ] && [ "$output" != n/a ]
}

@test "lockout: failures on 587 lock the address out of 465 and 25 as well (one shared file)" {
	local i
	for i in 1 2; do     # 3 failures end a session; 5 lock out
		sw --server "127.0.0.1:$SUB_PORT" --local-interface 127.0.0.2 --tls \
			--to user@example.org --auth PLAIN --auth-user alice \
			--auth-password "wrong$i" >/dev/null 2>&1 || true
		sw --server "127.0.0.1:$SUB_PORT" --local-interface 127.0.0.2 --tls \
			--to user@example.org --auth PLAIN --auth-user nobody \
			--auth-password "wrong$i" >/dev/null 2>&1 || true
	done
	sw --server "127.0.0.1:$SUB_PORT" --local-interface 127.0.0.2 --tls \
		--to user@example.org --auth PLAIN --auth-user alice \
		--auth-password wrong5 >/dev/null 2>&1 || true
	run sw --server "127.0.0.1:$SMTPS_PORT" --tlsc --local-interface 127.0.0.2 \
		--to user@example.org --auth PLAIN --auth-user alice --auth-password alice-pw-7Q
	assert_failure
	assert_output --partial '421 4.7.0 mx.example.org Too many failed logins'
	run sw --server "127.0.0.1:$MX_PORT" --local-interface 127.0.0.2 --to user@example.org
	assert_failure
	assert_output --partial '421 4.7.0'
	# the README's command
	run ct bash -c "$(grep -o '^smtp-lockout [^#]*list' "$REPO/README.md")"
	assert_success
	assert_output --partial '127.0.0.2'
	# the README's journal query finds the failures
	run ct journalctl --no-pager -q -o cat SMTP_EVENT=auth SMTP_RESULT=failed SMTP_CLIENT=127.0.0.2
	[ "${#lines[@]}" -ge 5 ]
	run ct smtp-lockout -f /var/lib/smtp-session/lockout unlock 127.0.0.2
	assert_success
}

@test "journal: entries carry the documented fields" {
	run ct journalctl --no-pager -o export SMTP_EVENT=accepted SYSLOG_IDENTIFIER=smtp-session
	assert_success
	local f
	for f in SMTP_ID= SMTP_CLIENT=127.0.0.1 SMTP_COUNTRY= SMTP_MSGID= SMTP_SENDER=sender@client.test \
		 SMTP_RCPTS=1 SMTP_REPLY= PRIORITY= _SYSTEMD_UNIT=smtp-session@ _SYSTEMD_UNIT=smtps-session@ \
		 _SYSTEMD_UNIT=smtp-submission@ SMTP_USER=alice SMTP_TLS=; do
		grep -qaF -- "$f" <<<"$output" || { echo "missing: $f"; false; }
	done
	run ct journalctl --no-pager -o export SMTP_EVENT=connect
	assert_output --partial 'SMTP_CLIENT='
	run ct journalctl --no-pager -o export SMTP_EVENT=tls
	assert_output --partial 'SMTP_EVENT=tls'
}

@test "journal: entries carry SYSLOG_FACILITY=2 (mail), as DESIGN.md section 7 says" {
	run ct journalctl --no-pager -o export SYSLOG_IDENTIFIER=smtp-session SMTP_EVENT=accepted
	grep -qax 'SYSLOG_FACILITY=2' <<<"$output"
}

@test "journal: journalctl's field match finds a delivery per recipient (the admin's question)" {
	run ct journalctl --no-pager -o export SYSLOG_FACILITY=2 SYSLOG_IDENTIFIER=smtp-session \
		SMTP_EVENT=delivered 'SMTP_TO=<user@example.org>'
	assert_success
	local f
	for f in 'SMTP_FROM=<sender@client.test>' SMTP_CODE=250 SMTP_DSN=2.0.0 SMTP_ROUTE=local \
		 SMTP_HELO=client.test SMTP_QUEUE_ID= SMTP_DELAY= SMTP_PART_STATUS=0; do
		grep -qaF -- "$f" <<<"$output" || { echo "missing: $f"; false; }
	done
	# the refused relay attempt of the MX test has its line too
	run ct journalctl --no-pager -o export SMTP_EVENT=rcpt_refused 'SMTP_TO=<someone@elsewhere.test>'
	assert_output --partial 'SMTP_CODE=554'
}

@test "the shipped environment file means the same to systemd's EnvironmentFile= and to a POSIX shell's . file" {
	# every example line switched on, so the commented values count too
	ct_sh 'sed "s/^#\(SMTP_[A-Z_]*=\)/\1/" /etc/smtp-session/smtp-session.env.example > /run/all.env'
	run ct systemd-run --quiet --wait --pipe -p EnvironmentFile=/run/all.env \
		sh -c 'env | grep -E "^(SMTP_|MAILDIR_ROOT=)" | sort'
	assert_success
	local by_systemd=$output
	[ "$(grep -c . <<<"$by_systemd")" -ge 12 ]
	run ct env -i sh -c 'set -a; . /run/all.env; env | grep -E "^(SMTP_|MAILDIR_ROOT=)" | sort'
	assert_success
	assert_equal "$output" "$by_systemd"
	grep -qx 'SMTP_AUTH_COUNTRIES=DE AT CH' <<<"$by_systemd"
}

@test "sandbox: a live session runs as smtpd with seccomp, no capabilities, read-only /usr" {
	exec 5<>"/dev/tcp/127.0.0.1/$MX_PORT"
	local greeting unit pid
	read -r -t 10 greeting <&5
	[[ $greeting == 220* ]]
	unit=$(ct systemctl list-units --no-legend --plain --state=running 'smtp-session@*.service' |
		awk '{ print $1 }' | head -1)
	[ -n "$unit" ]
	pid=$(ct systemctl show -p MainPID --value "$unit")
	[ "$pid" -gt 1 ]
	run ct cat "/proc/$pid/status"
	echo "$output" | grep -E '^(Uid|Gid|Seccomp|NoNewPrivs|Cap[A-Za-z]*):' | sed 's/^/# /' >&3
	assert_output --regexp $'\nSeccomp:\t2\n'
	assert_output --regexp $'\nNoNewPrivs:\t1\n'
	assert_output --regexp $'\nCapEff:\t0000000000000000\n'
	assert_output --regexp $'\nCapBnd:\t0000000000000000\n'
	assert_output --regexp $'\nCapPrm:\t0000000000000000\n'
	local uid
	uid=$(ct id -u smtpd)
	assert_output --regexp $'\nUid:\t'"$uid"$'\t'
	# / is read-only, /usr is no mount of its own, so it is too
	run ct awk '$5 == "/" || $5 == "/usr" { print $5, $6 }' "/proc/$pid/mountinfo"
	assert_output --regexp '^/ ro,'
	refute_output --regexp '/usr rw'
	run ct awk '$5 == "/var/spool/smtp-session" { print $6 }' "/proc/$pid/mountinfo"
	assert_output --regexp '^rw,'
	run ct cat "/proc/$pid/uid_map"
	echo "$output" | sed 's/^/# uid_map: /' >&3
	[ "${#lines[@]}" = 2 ]           # PrivateUsers: root and smtpd only
	printf 'QUIT\r\n' >&5; exec 5>&-
}

@test "network: the deliver chain reaches loopback (and a local resolver's address), nothing else" {
	rm -f "$(ct_path /var/lib/smtp-session/netprobe.txt)"
	run sw --server "127.0.0.1:$SMTPS_PORT" --tlsc --helo netprobe.test --to user@example.org \
		--auth PLAIN --auth-user alice --auth-password alice-pw-7Q
	assert_success
	run cat "$(ct_path /var/lib/smtp-session/netprobe.txt)"
	echo "$output" | sed 's/^/# /' >&3
	assert_line "probe 127.0.0.1/$MX_PORT: connected"
	assert_line "probe ::1/$MX_PORT: connected"
	# this host's own non-loopback address: refused at once from here,
	# dropped (the connect times out) from the deliver chain
	run timeout 3 bash -c 'exec 3<>/dev/tcp/192.0.2.2/9'
	assert_output --partial 'Connection refused'
	run cat "$(ct_path /var/lib/smtp-session/netprobe.txt)"
	assert_line 'probe 192.0.2.2/9: timed out'
	# 127.0.0.53 is allowed: refused (nothing listens), not "not permitted"
	assert_line 'probe 127.0.0.53/53: Connection refused'
}

@test "burst: 1000 connections in 2 s; the socket stays up, limits hold, nothing lost" {
	local s=$SCRATCH/burst mx=0 n
	mkdir -p "$s"
	# server side: sample how many session instances exist
	(
		while [ ! -e "$s/done" ]; do
			ct systemctl list-units --no-legend --plain --all 'smtp-session@*.service' |
				wc -l >> "$s/instances"
			sleep 0.05
		done
	) &
	local sampler=$!
	run timeout 240 python3 "$BATS_TEST_DIRNAME/burst.py" --port "$MX_PORT" \
		--count 1000 --spread 1.8 --out "$s"
	touch "$s/done"; wait "$sampler"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	mx=$(sort -n "$s/instances" | tail -1)
	echo "# most session instances seen at once: $mx" >&3
	[ "$mx" -le 64 ]
	run ct systemctl show -p ActiveState --value smtp-session.socket
	assert_output active
	run ct systemctl show -p Result --value smtp-session.socket
	assert_output success
	# every 250 the client got is one file in the Maildir
	grep -rh '^Subject: burst-' "$(ct_path "$MD")/burst/new" | sed 's/^Subject: //' |
		sort > "$s/found"
	sort "$s/served" > "$s/served.sorted"
	n=$(wc -l < "$s/served.sorted")
	echo "# served: $n, files in the Maildir: $(wc -l < "$s/found")" >&3
	[ "$n" -gt 0 ]
	diff "$s/served.sorted" "$s/found"
	run ct journalctl --no-pager -q -u smtp-session.socket -g 'Too many incoming connections'
	echo "# journal: $(echo "$output" | grep -c 'from source') per-source and $(echo "$output" | grep -vc 'from source') total drops" >&3
	assert_output --partial 'Too many incoming connections'
	assert_output --partial 'from source'
	# and it still serves
	run sw --server "127.0.0.1:$MX_PORT" --to user@example.org --h-Subject after-burst
	assert_success
}

@test "cost of a connection through the units (informative; load-dependent)" {
	run timeout 120 python3 - "$MX_PORT" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), 30
t = time.monotonic()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb"); f.readline(); s.sendall(b"QUIT\r\n"); f.readline(); f.read(); s.close()
d = time.monotonic() - t
print(f"{n} sequential sessions (greeting, QUIT) in {d:.2f} s: {d / n * 1000:.0f} ms each")
PY
	echo "# $output; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&3
	assert_success
}

@test "the protocol through the MX unit: pipelining, BDAT, SMTPUTF8, SIZE, STARTTLS; GeoIP in the sandbox" {
	perl "$REPO/tests/mkmmdb.pl" "$SCRATCH/test.mmdb"
	ct mkdir -p /var/lib/GeoIP
	cp "$SCRATCH/test.mmdb" "$(ct_path /var/lib/GeoIP/test.mmdb)"
	echo 'SMTP_GEOIP_DB=/var/lib/GeoIP/test.mmdb' > "$(ct_path /etc/smtp-session/mx.env)"
	run timeout 60 python3 "$BATS_TEST_DIRNAME/features.py" "$MX_PORT"
	echo "$output" | sed 's/^/# /' >&3
	assert_success
	local t
	for t in features-pipelined features-bdat features-utf8 features-tls; do
		[ -n "$(delivered "$t")" ] || { echo "not delivered: $t"; false; }
	done
	run ct journalctl --no-pager -q -o cat SMTP_EVENT=accepted SMTP_COUNTRY=ZZ
	assert_output --partial 'country=ZZ'
	rm -f "$(ct_path /etc/smtp-session/mx.env)"
}

@test "certificates the Debian way: key in /etc/ssl/private, group ssl-cert, smtpd a member" {
	ct install -m 0640 -g ssl-cert /etc/smtp-session/key.pem /etc/ssl/private/check-systemd.pem
	ct usermod -a -G ssl-cert smtpd
	echo 'SMTP_TLS_KEY=/etc/ssl/private/check-systemd.pem' > "$(ct_path /etc/smtp-session/mx.env)"
	# --check-config as root checks as smtpd, with smtpd's groups
	run ct bash -c 'set -a; . /etc/smtp-session/smtp-session.env; . /etc/smtp-session/mx.env; smtp-session --check-config'
	assert_output 'smtp-session: configuration ok'
	# the session (PrivateUsers=yes: ssl-cert shows as nogroup inside) reads it
	run sw --server "127.0.0.1:$MX_PORT" --to user@example.org --tls --h-Subject ssl-cert-1
	assert_success
	[ -n "$(delivered ssl-cert-1)" ]
	rm -f "$(ct_path /etc/smtp-session/mx.env)"
	ct gpasswd -d smtpd ssl-cert >/dev/null
}

@test "the trigger limit the units turn off: with systemd's default a burst of 300 kills the socket" {
	local d=/etc/systemd/system/smtp-session.socket.d
	printf '[Socket]\nTriggerLimitIntervalSec=2s\nTriggerLimitBurst=200\n' \
		> "$(ct_path $d/zz-default-trigger-limit.conf)"
	ct systemctl daemon-reload
	ct systemctl restart smtp-session.socket
	mkdir -p "$SCRATCH/burst-tl"
	run timeout 120 python3 "$BATS_TEST_DIRNAME/burst.py" --port "$MX_PORT" \
		--count 300 --spread 0.5 --hold 0 --out "$SCRATCH/burst-tl"
	echo "$output" | sed 's/^/# default limit: /' >&3
	run ct systemctl show -p ActiveState --value smtp-session.socket
	local state=$output
	run ct systemctl show -p Result --value smtp-session.socket
	echo "# with the default trigger limit: $state/$output" >&3
	rm -f "$(ct_path $d/zz-default-trigger-limit.conf)"
	ct systemctl daemon-reload
	ct systemctl reset-failed smtp-session.socket
	ct systemctl restart smtp-session.socket
	[ "$state" = failed ] && [ "$output" = trigger-limit-hit ]
	run ct systemctl is-active smtp-session.socket
	assert_output active
}

@test "afterwards: no failed unit, no session killed by the sandbox, sockets still active" {
	run ct systemctl list-units --failed --no-legend --plain
	assert_output ''
	run ct journalctl --no-pager -q -g 'status=31/SYS|code=dumped|Bad system call|Operation not permitted|Permission denied' \
		_SYSTEMD_UNIT=init.scope -u 'smtp-session@*' -u 'smtp-submission@*' -u 'smtps-session@*' \
		-u smtp-session-ticket-keys.service
	assert_output ''
	run ct journalctl --no-pager -q -o cat SYSLOG_IDENTIFIER=smtp-session -p warning
	echo "$output" | head -20 | sed 's/^/# warning: /' >&3
	local u
	for u in smtp-session.socket smtp-submission.socket smtps-session.socket; do
		run ct systemctl is-active "$u"
		assert_output active
	done
}

@test "--check-config as root checks the files as smtpd: a root-only certbot key is a problem" {
	local env='set -a; . /etc/smtp-session/smtp-session.env; set +a'
	run ct bash -c "$env; SMTP_LOCKOUT_FILE=/var/lib/smtp-session/lockout.rootcheck smtp-session --check-config"
	assert_success
	assert_output 'smtp-session: configuration ok'
	# the lockout file it made belongs to smtpd, so sessions can use it
	run ct stat -c %U /var/lib/smtp-session/lockout.rootcheck
	assert_output smtpd
	ct rm -f /var/lib/smtp-session/lockout.rootcheck
	run ct bash -c "$env; SMTP_TLS_KEY=/etc/letsencrypt/live/mx.example.org/privkey.pem smtp-session --check-config"
	assert_failure
	assert_output --partial 'SMTP_TLS_KEY: /etc/letsencrypt/live/mx.example.org/privkey.pem: Permission denied'
}
