# Libraries loaded when first needed (dlib.c): libmaxminddb only with
# SMTP_GEOIP_DB, libcrypt only at AUTH.  A plain session maps neither; a
# library that is missing at run time is a log line and a sane reply,
# never a crash.  How a library is made "missing": LD_LIBRARY_PATH puts a
# directory first in which its SONAME is a file that is not a library
# (dlopen fails: "file too short") or an empty library (dlsym fails).
# This only works because smtp-session does not link them: a linked
# library that is missing would stop the loader before main().
load helper

setup() {
	common_setup
	unset SMTP_GEOIP_DB SMTP_AUTH SMTP_AUTH_PLAINTEXT SMTP_PASSWD \
		SMTP_CHECKPASSWORD SMTP_TLS_CERT SMTP_TLS_KEY SMTP_LOCKOUT_FILE \
		SMTP_COUNTRY_DENY SMTP_AUTH_COUNTRIES
	# LeakSanitizer cannot run under ptrace (check-asan)
	[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0
	TRACE=$BATS_TEST_TMPDIR/trace
}

geo() {
	perl "$BATS_TEST_DIRNAME/mkmmdb.pl" "$BATS_TEST_TMPDIR/geo.mmdb"
	export SMTP_GEOIP_DB=$BATS_TEST_TMPDIR/geo.mmdb
}

auth_on() {
	printf 'alice:%s\n' "$(printf '%s\n' 'Xq7-Secret-Alpha' | mkpasswd -s -m yescrypt)" \
		> "$BATS_TEST_TMPDIR/passwd"
	chmod 600 "$BATS_TEST_TMPDIR/passwd"
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	PLAIN=$(printf '\0alice\0Xq7-Secret-Alpha' | base64 -w0)
}

# The libraries the session opened (strace), one SONAME a line, sorted.
opened_libs() {
	grep -oE '/lib[a-z0-9_]+\.so\.[0-9]+", [^)]*\) = [0-9]+$' "$TRACE" |
		sed -E 's|^/||; s|", .*||' | sort -u
}

# What the binary itself needs (ldd; libc only, more under check-asan),
# plus the SONAMEs given, one a line, sorted.
expected_libs() {
	{ ldd "$SESSION" | sed -nE 's/^[[:space:]]*(lib[^ ]+\.so\.[0-9]+) .*/\1/p'
	  printf '%s\n' "$@"; } | sed '/^$/d' | sort -u
}

traced() {
	timeout 20 strace -f -e trace=open,openat -o "$TRACE" "$@"
}

@test "a plain session opens libc only; GeoIP opens libmaxminddb, AUTH libcrypt" {
	printf 'EHLO client.test\r\nQUIT\r\n' | traced "$SESSION" 2>>"$LOG" >/dev/null
	run opened_libs
	assert_output "$(expected_libs)"
	grep -q 'libc\.so\.6", .*= [0-9]*$' "$TRACE"   # strace saw the loader
	geo
	printf 'EHLO client.test\r\nQUIT\r\n' | traced "$SESSION" 2>>"$LOG" >/dev/null
	run opened_libs
	assert_output "$(expected_libs libmaxminddb.so.0)"
	unset SMTP_GEOIP_DB
	auth_on
	printf 'EHLO client.test\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$PLAIN" |
		traced "$SESSION" 2>>"$LOG" >/dev/null
	run opened_libs
	assert_output "$(expected_libs libcrypt.so.1)"
	grep -q ' auth .*user=alice result=ok' "$LOG"
	# the hash is checked in a child: libcrypt is opened once, before it
	[ "$(grep -c 'libcrypt\.so\.1", .*= [0-9]*$' "$TRACE")" = 1 ]
}

@test "libmaxminddb missing: the session goes on with country --, geoip_error logged; --check-config reports it" {
	local d=$BATS_TEST_TMPDIR/nommdb
	mkdir -p "$d"
	echo 'not a library' > "$d/libmaxminddb.so.0"
	geo
	export TCPREMOTEIP=10.1.2.3           # DE in the database
	run smtp <<<'QUIT'
	assert_success
	grep -q 'connect .*country=DE' "$LOG"
	: > "$LOG"
	LD_LIBRARY_PATH=$d run smtp <<'IN'
EHLO client.test
QUIT
IN
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index -1 '221 2.0.0 mx.test Bye'
	grep -qF "geoip_error id=" "$LOG"
	grep -qF "error=\"libmaxminddb.so.0 not available: $d/libmaxminddb.so.0: file too short\"" "$LOG"
	grep -q 'connect .*client=10.1.2.3 country=--' "$LOG"
	LD_LIBRARY_PATH=$d run "$SESSION" --check-config
	assert_failure 1
	assert_output --partial "libmaxminddb.so.0 not available: $d/libmaxminddb.so.0: file too short"
}

@test "libcrypt missing or incomplete: AUTH 454 4.7.0, logged, the session goes on; --check-config reports it" {
	local d=$BATS_TEST_TMPDIR/nocrypt d2=$BATS_TEST_TMPDIR/emptycrypt
	mkdir -p "$d" "$d2"
	echo 'not a library' > "$d/libcrypt.so.1"
	cc -shared -fPIC -nostdlib -o "$d2/libcrypt.so.1" -x c /dev/null
	auth_on
	LD_LIBRARY_PATH=$d run smtp <<IN
EHLO client.test
AUTH PLAIN $PLAIN
MAIL FROM:<a@sender.test>
QUIT
IN
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line '454 4.7.0 Temporary authentication failure'
	assert_line '250 2.1.0 Ok'
	assert_line --index -1 '221 2.0.0 mx.test Bye'
	grep -qF "result=tempfail reason=\"libcrypt.so.1 not available: $d/libcrypt.so.1: file too short\"" "$LOG"
	: > "$LOG"
	LD_LIBRARY_PATH=$d2 run smtp <<IN
EHLO client.test
AUTH PLAIN $PLAIN
QUIT
IN
	assert_line '454 4.7.0 Temporary authentication failure'
	grep -qF "result=tempfail reason=\"libcrypt.so.1 not available: $d2/libcrypt.so.1: undefined symbol: crypt_rn\"" "$LOG"
	LD_LIBRARY_PATH=$d run "$SESSION" --check-config
	assert_failure 1
	assert_output --partial "SMTP_PASSWD: libcrypt.so.1 not available: $d/libcrypt.so.1: file too short"
	# the control: with the real library the same AUTH succeeds
	run smtp <<IN
EHLO client.test
AUTH PLAIN $PLAIN
QUIT
IN
	assert_line '235 2.7.0 Authentication successful'
}
