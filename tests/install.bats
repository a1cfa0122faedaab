# make install / make uninstall into a DESTDIR: the exact tree, modes,
# the units' @SBINDIR@/@SYSCONFDIR@ filled in (and still verifying), the
# environment file installed only as an example, and uninstall removing
# exactly what install put there.  The binaries installed are the build
# under test ($TEST_BUILD, O= in the Makefile); -o keeps make from
# rebuilding them while the suite runs.
load helper

REPO=$BATS_TEST_DIRNAME/..

setup() {
	common_setup
	ROOT=$BATS_TEST_TMPDIR/root
}

# make -C $REPO TARGET VAR=... with the build under test, never rebuilt.
mk() {
	make -s -C "$REPO" O="$TEST_BUILD" -o "$TEST_BUILD/smtp-session" \
		-o "$TEST_BUILD/smtp-deliver" -o "$TEST_BUILD/smtp-lockout" \
		-o "$TEST_BUILD/smtp-dmarc-report" -o "$TEST_BUILD/smtp-dkimsign" \
		-o "$TEST_BUILD/tests/tools/dmarc-append" \
		-o "$TEST_BUILD/smtp-sendmail" -o "$TEST_BUILD/smtp-authres" \
		DESTDIR="$ROOT" "$@"
}

# Every file and symlink under $ROOT: "MODE path", sorted.
tree() {
	(cd "$ROOT" && find . \( -type f -o -type l \) -printf '%m %P\n' | sort -k2)
}

# The unit names shipped in units/, sorted.
unit_names() {
	(cd "$REPO/units" && ls -1 ./*.socket ./*.service ./*.timer | sed 's|^\./||' | sort)
}

# The tree install must produce for unit directory $1 (no leading /),
# sbin $2, man $3, sysconfdir $4, lib $5.
expected_tree() {
	local u
	{
		echo "644 $4/smtp-session/smtp-session.env.example"
		for u in $(unit_names); do
			echo "644 $1/$u"
		done
		echo "644 $5/sysusers.d/smtp-session.conf"
		echo "644 $5/tmpfiles.d/smtp-session.conf"
		echo "755 $2/smtp-authres"
		echo "644 $3/man8/smtp-authres.8"
		echo "755 $2/smtp-deliver"
		echo "755 $2/smtp-lockout"
		echo "755 $2/smtp-sendmail"
		echo "755 $2/smtp-session"
		echo "644 $3/man8/smtp-deliver.8"
		echo "644 $3/man8/smtp-lockout.8"
		echo "644 $3/man8/smtp-sendmail.8"
		echo "644 $3/man8/smtp-session.8"
		# issue 14, signing side
		echo "755 $2/smtp-dmarc-report"
		echo "644 $3/man8/smtp-dmarc-report.8"
		echo "755 $2/smtp-dkimsign"
		echo "644 $3/man8/smtp-dkimsign.8"
	} | sort -k2
}

@test "install: PREFIX=/usr puts every file in place with the right mode and contents" {
	run mk install PREFIX=/usr
	assert_success
	run tree
	assert_output "$(expected_tree usr/lib/systemd/system usr/sbin usr/share/man etc usr/lib)"
	[ "$(stat -c %a "$ROOT/etc/smtp-session")" = 750 ]
	local p u
	for p in smtp-session smtp-deliver smtp-lockout smtp-sendmail; do
		cmp "$TEST_BUILD/$p" "$ROOT/usr/sbin/$p"
	done
	for p in smtp-session smtp-deliver smtp-lockout smtp-sendmail; do
		cmp "$REPO/man/$p.8" "$ROOT/usr/share/man/man8/$p.8"
	done
	cmp "$REPO/units/smtp-session.sysusers" "$ROOT/usr/lib/sysusers.d/smtp-session.conf"
	cmp "$REPO/units/smtp-session.tmpfiles" "$ROOT/usr/lib/tmpfiles.d/smtp-session.conf"
	cmp "$REPO/units/smtp-session.env" "$ROOT/etc/smtp-session/smtp-session.env.example"
	# units: the placeholders filled in, nothing else changed
	for u in $(unit_names); do
		sed -e 's|@SBINDIR@|/usr/sbin|g' -e 's|@SYSCONFDIR@|/etc|g' "$REPO/units/$u" |
			cmp - "$ROOT/usr/lib/systemd/system/$u"
	done
	run grep -rlE '@(SBINDIR|SYSCONFDIR|PREFIX)@' "$ROOT"
	assert_output ''
	run grep -h '^ExecStart=' "$ROOT/usr/lib/systemd/system/smtp-session@.service" \
		"$ROOT/usr/lib/systemd/system/smtp-submission@.service" \
		"$ROOT/usr/lib/systemd/system/smtps-session@.service"
	assert_output "$(printf 'ExecStart=/usr/sbin/smtp-session\n%.0s' 1 2 3)"
	run grep -h '^EnvironmentFile=' "$ROOT/usr/lib/systemd/system/smtp-session@.service"
	assert_output "EnvironmentFile=/etc/smtp-session/smtp-session.env
EnvironmentFile=-/etc/smtp-session/mx.env"
}

@test "install: the installed units verify once their binaries exist at ExecStart=" {
	run mk install PREFIX=/usr
	assert_success
	# systemd-analyze verify needs ExecStart= to name an executable file;
	# point /usr/sbin into the DESTDIR (a copy, the installed units stay)
	local v=$BATS_TEST_TMPDIR/verify u
	mkdir -p "$v"
	for u in $(unit_names); do
		sed "s|=/usr/sbin/|=$ROOT/usr/sbin/|" "$ROOT/usr/lib/systemd/system/$u" > "$v/$u"
	done
	grep -q "^ExecStart=$ROOT/usr/sbin/smtp-session\$" "$v/smtp-session@.service"
	cd "$v"
	run systemd-analyze verify --man=no ./*.socket ./*.service ./*.timer
	assert_success
	assert_output ''
}

@test "install: default PREFIX is /usr/local; SYSCONFDIR and UNITDIR can be set" {
	run mk install
	assert_success
	run tree
	assert_output "$(expected_tree usr/local/lib/systemd/system usr/local/sbin \
		usr/local/share/man etc usr/local/lib)"
	run grep -h '^ExecStart=' "$ROOT/usr/local/lib/systemd/system/smtp-session@.service"
	assert_output 'ExecStart=/usr/local/sbin/smtp-session'
	run mk uninstall
	assert_success
	run tree
	assert_output ''

	run mk install PREFIX=/opt/smtp SYSCONFDIR=/opt/smtp/etc UNITDIR=/etc/systemd/system
	assert_success
	run tree
	assert_output "$(expected_tree etc/systemd/system opt/smtp/sbin opt/smtp/share/man \
		opt/smtp/etc opt/smtp/lib)"
	run grep -h '^ExecStart=\|^EnvironmentFile=' "$ROOT/etc/systemd/system/smtp-session@.service"
	assert_output "ExecStart=/opt/smtp/sbin/smtp-session
EnvironmentFile=/opt/smtp/etc/smtp-session/smtp-session.env
EnvironmentFile=-/opt/smtp/etc/smtp-session/mx.env"
	run mk uninstall PREFIX=/opt/smtp SYSCONFDIR=/opt/smtp/etc UNITDIR=/etc/systemd/system
	assert_success
	run tree
	assert_output ''
}

@test "uninstall: removes exactly what install put there; a real env file and foreign files stay" {
	mkdir -p "$ROOT/etc/smtp-session" "$ROOT/usr/sbin" "$ROOT/usr/lib/systemd/system"
	echo 'SMTP_HOSTNAME=real.example.org' > "$ROOT/etc/smtp-session/smtp-session.env"
	echo 'other' > "$ROOT/usr/sbin/other-tool"
	echo '[Unit]' > "$ROOT/usr/lib/systemd/system/other.service"
	run mk install PREFIX=/usr
	assert_success
	run mk install PREFIX=/usr       # again: idempotent
	assert_success
	run cat "$ROOT/etc/smtp-session/smtp-session.env"
	assert_output 'SMTP_HOSTNAME=real.example.org'
	run mk uninstall PREFIX=/usr
	assert_success
	run tree
	assert_output "644 etc/smtp-session/smtp-session.env
644 usr/lib/systemd/system/other.service
644 usr/sbin/other-tool"
	run cat "$ROOT/etc/smtp-session/smtp-session.env"
	assert_output 'SMTP_HOSTNAME=real.example.org'
	# without foreign files nothing but empty directories is left
	rm "$ROOT/etc/smtp-session/smtp-session.env" "$ROOT/usr/sbin/other-tool" \
	   "$ROOT/usr/lib/systemd/system/other.service"
	run mk install PREFIX=/usr
	assert_success
	run mk uninstall PREFIX=/usr
	assert_success
	run find "$ROOT" ! -type d
	assert_output ''
	[ ! -e "$ROOT/etc/smtp-session" ]
}
