# The systemd units: they verify, and each service's sandbox exposure
# (systemd-analyze security --offline) is at most 2.0.
load helper

setup() {
	common_setup
	UNITS=$BATS_TEST_TMPDIR/units
	mkdir -p "$UNITS"
	local f
	# ExecStart must name an executable file for verify to pass
	for f in "$BATS_TEST_DIRNAME"/../units/*.service \
		 "$BATS_TEST_DIRNAME"/../units/*.socket \
		 "$BATS_TEST_DIRNAME"/../units/*.timer; do
		sed -e "s|@SBINDIR@|$TEST_BUILD|g" -e "s|@SYSCONFDIR@|/etc|g" \
			"$f" > "$UNITS/${f##*/}"
	done
}

@test "units: systemd-analyze verify is clean" {
	cd "$UNITS"
	run systemd-analyze verify --man=no ./*.socket ./*.service ./*.timer
	assert_success
	assert_output ""
}

@test "units: every service's exposure is at most 2.0" {
	local s level
	cd "$UNITS"
	for s in smtp-session@.service smtp-submission@.service \
		 smtps-session@.service smtp-session-ticket-keys.service; do
		run systemd-analyze security --offline=true "./$s"
		assert_success
		level=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		[ -n "$level" ]
		echo "$s: $level"
		awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'
	done
}

@test "units: submission and smtps require TLS and AUTH; sockets use Accept=yes" {
	grep -qx 'Environment=SMTP_TLS=required SMTP_AUTH=required' "$UNITS/smtp-submission@.service"
	grep -qx 'Environment=SMTP_TLS_IMPLICIT=1 SMTP_AUTH=required' "$UNITS/smtps-session@.service"
	for s in smtp-session smtp-submission smtps-session; do
		grep -qx 'Accept=yes' "$UNITS/$s.socket"
		grep -qx 'StandardInput=socket' "$UNITS/$s@.service"
		grep -qx 'User=smtpd' "$UNITS/$s@.service"
	done
	grep -qx 'ListenStream=25' "$UNITS/smtp-session.socket"
	grep -qx 'ListenStream=587' "$UNITS/smtp-submission.socket"
	grep -qx 'ListenStream=465' "$UNITS/smtps-session.socket"
}

@test "units: smtp-session.env is valid for systemd's EnvironmentFile= and for a POSIX shell's . file alike" {
	# The subset both read the same way: NAME=value, a value without a
	# space, quote, $, ` or \, or one in double quotes without $, ` or \;
	# comment lines start with #.  Example lines (#SMTP_...=) count too.
	local env=$BATS_TEST_DIRNAME/../units/smtp-session.env bad
	bad=$(sed -n 's/^#\(SMTP_[A-Z_]*=\)/\1/; /^#/d; /^$/d; p' "$env" |
		grep -Ev '^[A-Z_][A-Z0-9_]*=([^ "'"'"'$`\\]*|"[^"$`\\]*")$' || true)
	[ -z "$bad" ] || { echo "not valid for both: $bad"; false; }
	# and a shell reads every value as written (quotes removed)
	run env -i sh -c 'set -a; . "$1"; env' sh <(sed 's/^#\(SMTP_[A-Z_]*=\)/\1/' "$env")
	assert_success
	assert_line 'SMTP_AUTH_COUNTRIES=DE AT CH'
	assert_line 'SMTP_RELAY_DELIVER=/usr/local/sbin/smtp-sendmail /usr/sbin/sendmail'
	assert_line 'SMTP_DOMAINS=example.org'
	# and --check-config knows every name in it
	run env -i sh -c 'set -a; . "$1"; exec "$2" --check-config' sh \
		<(sed 's/^#\(SMTP_[A-Z_]*=\)/\1/' "$env") "$SESSION"
	refute_output --partial 'warning'
}

@test "units: the Redis drop-in (contrib/redis) adds one address and keeps the sandbox" {
	local s d conf=$BATS_TEST_DIRNAME/../contrib/redis/lockout-redis.conf
	# exactly one allowed address, nothing lifted
	run grep -E '^(IPAddress|RestrictAddressFamilies|PrivateNetwork)' "$conf"
	assert_output "IPAddressAllow=192.0.2.10"
	cd "$UNITS"
	for s in smtp-session@ smtp-submission@ smtps-session@; do
		mkdir -p "$s.service.d"
		cp "$conf" "$s.service.d/"
	done
	run systemd-analyze verify --man=no ./smtp-session@.service \
		./smtp-submission@.service ./smtps-session@.service
	assert_success
	assert_output ""
	for s in smtp-session@ smtp-submission@ smtps-session@; do
		run systemd-analyze security --offline=true "./$s.service"
		assert_success
		# systemd read the drop-in: an allow list beyond localhost, the
		# deny still in place (a lifted deny reads "does not define")
		assert_output --partial "Service defines IP address allow list with non-localhost entries"
		d=$(printf '%s\n' "$output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		echo "$s: $d"
		awk -v l="$d" 'BEGIN { exit !(l <= 2.0) }'
	done
}
