# tests/systemd/deb.bats - run by tests/systemd/run (make check-systemd)
# against a fresh booted Debian 12 root: the package from `make deb`
# ($SCRATCH/smtp-session_*.deb) is installed with dpkg, must create the
# user, the directories and the first ticket key and start nothing; the
# README's steps then work with it as written; remove and purge clean up.
bats_require_minimum_version 1.5.0

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	load lib
	provision_admin
}

setup() {
	load '/usr/lib/bats/bats-support/load'
	load '/usr/lib/bats/bats-assert/load'
	load lib
}

deb() {
	local d
	d=$(ls "$SCRATCH"/smtp-session_*.deb)
	echo "/scratch/${d##*/}"
}

@test "deb: lintian is clean (make deb fails on errors and warnings)" {
	run grep -E '^[EW]: ' "$SCRATCH/lintian.txt"
	assert_output ''
}

@test "deb: dpkg -i installs it; Depends are met by a minimal Debian 12" {
	run ct dpkg -i "$(deb)"
	echo "$output"
	assert_success
	run ct dpkg-query -W -f '${Status} ${Depends}' smtp-session
	assert_output --partial 'install ok installed'
	assert_output --partial 'libssl3'
	run ct ldd /usr/sbin/smtp-session
	refute_output --partial 'not found'
	refute_output --partial 'libssl'            # dlopen()ed when TLS is used
}

@test "deb: it made the user, the directories and the first ticket key, and started nothing" {
	run ct id -u smtpd
	assert_success
	[ "$output" -lt 1000 ]
	run ct stat -c '%n %U:%G %a' /etc/smtp-session /var/spool/smtp-session \
		/var/lib/smtp-session /var/lib/smtp-session/Maildir /var/lib/smtp-session/ticket.keys
	assert_output "/etc/smtp-session root:smtpd 750
/var/spool/smtp-session smtpd:smtpd 700
/var/lib/smtp-session smtpd:smtpd 700
/var/lib/smtp-session/Maildir smtpd:smtpd 700
/var/lib/smtp-session/ticket.keys smtpd:smtpd 600"
	local u
	for u in smtp-session.socket smtp-submission.socket smtps-session.socket \
		 smtp-session-ticket-keys.timer; do
		run ct systemctl is-active "$u"
		assert_output inactive
		run ct systemctl is-enabled "$u"
		assert_output disabled
	done
	run ct ls /etc/smtp-session
	assert_output smtp-session.env.example
	run ct test -f /usr/share/man/man8/smtp-session.8.gz
	assert_success
}

@test "deb: the README's steps work with the package as written" {
	readme_steps > "$SCRATCH/steps.sh"
	run ct env EDITOR=/scratch/editor bash -c 'cd /src && bash -ex /scratch/steps.sh' \
		< "$SCRATCH/alice.pw"
	echo "$output"
	assert_success
	assert_output --partial 'smtp-session: configuration ok'
	run ct systemctl is-active smtp-session.socket smtp-submission.socket smtps-session.socket
	assert_output $'active\nactive\nactive'
}

@test "deb: mail is delivered through the packaged units (default deliver /usr/sbin/smtp-deliver)" {
	run sw --server "127.0.0.1:$MX_PORT" --to user@example.org --tls --h-Subject deb-mx-1
	assert_success
	[ -n "$(delivered deb-mx-1)" ]
	run sw --server "127.0.0.1:$SMTPS_PORT" --tlsc --to user@example.org \
		--auth PLAIN --auth-user alice --auth-password alice-pw-7Q --h-Subject deb-smtps-1
	assert_success
	[ -n "$(delivered deb-smtps-1)" ]
}

@test "deb: dpkg -r stops the sockets the admin started; purge removes the package's state, keeps mail" {
	run ct dpkg -r smtp-session
	echo "$output"
	assert_success
	run ct systemctl is-active smtp-session.socket smtp-submission.socket smtps-session.socket \
		smtp-session-ticket-keys.timer
	refute_line active
	run ct test -e /usr/sbin/smtp-session
	assert_failure
	run ct dpkg --purge smtp-session
	echo "$output"
	assert_success
	run ct dpkg-query -W smtp-session
	assert_failure
	local f
	for f in /var/lib/smtp-session/ticket.keys /var/lib/smtp-session/lockout \
		 /etc/smtp-session/smtp-session.env.example /lib/systemd/system/smtp-session.socket \
		 /usr/lib/sysusers.d/smtp-session.conf /var/spool/smtp-session; do
		run ct test -e "$f"
		assert_failure
	done
	# mail stays
	[ -n "$(delivered deb-mx-1)" ]
	run ct systemctl list-units --failed --no-legend --plain
	assert_output ''
	# what the admin's `systemctl enable` left behind (dangling links)
	run ct find /etc/systemd/system -xtype l -name 'smtp*'
	echo "$output" | sed 's/^/# left: /' >&3
}
