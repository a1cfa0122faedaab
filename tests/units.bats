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
		sed -e "s|@SBINDIR@|$SMTP_BUILD|g" -e "s|@SYSCONFDIR@|/etc|g" \
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
