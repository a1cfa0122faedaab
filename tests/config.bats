# Configuration and start-up (config.c, main): --version, --help,
# --check-config, bad values, root refusal, the peer address, the
# socket-activation variables.
load helper

setup() {
	common_setup
	export FAKE_OUT=$BATS_TEST_TMPDIR/out
	NOBODY_DIR=
}

teardown() {
	if [ -n "$NOBODY_DIR" ]; then rm -rf "$NOBODY_DIR"; fi
}

REFUSED_CONFIG='421 4.3.0 mx.test Service not available, configuration error'

# Every variable of DESIGN.md section 3 with the start of its default as
# --help must show it (a regular expression).
DESIGN_DEFAULTS='SMTP_HOSTNAME gethostname\(\)
SMTP_DOMAINS \(empty\)
RELAYCLIENT unset
SMTP_RECIPIENTS unset
SMTP_MAX_SIZE 26214400$
SMTP_MAX_RCPTS 100$
SMTP_MAX_ERRORS 10$
SMTP_BARE_LF normalize$
SMTP_TIMEOUT 300$
SMTP_SESSION_TIMEOUT 1800$
SMTP_SPOOL_DIR /var/spool/smtp-session$
SMTP_DELIVER /.*/smtp-deliver$
SMTP_DELIVER_TIMEOUT 600$
SMTP_TLS_CERT unset
SMTP_TLS_KEY unset
SMTP_TLS optional$
SMTP_TLS_IMPLICIT 0$
SMTP_TLS_TICKET_KEYS unset
SMTP_AUTH off$
SMTP_AUTH_PLAINTEXT 0$
SMTP_PASSWD unset
SMTP_CHECKPASSWORD unset
SMTP_LOCKOUT_FILE unset
SMTP_LOCKOUT_THRESHOLD 5$
SMTP_LOCKOUT_WINDOW 900$
SMTP_LOCKOUT_DURATION 900$
SMTP_LOCKOUT_V6_PREFIX 64$
SMTP_LOCKOUT_SLOTS 65536$
SMTP_GEOIP_DB unset
SMTP_COUNTRY_DENY \(empty\)
SMTP_AUTH_COUNTRIES \(empty
SMTP_GREET_DELAY 0$
SMTP_LOG auto$
SMTP_ALLOW_ROOT 0$'

# The configuration-error line of the log for problem $1 (exact text).
config_error_logged() {
	grep -qxF "config_error problem=\"$1\"" \
		< <(sed -n 's/^smtp-session\[[0-9]*\]: \(config_error\) id=[0-9a-f]\{16\} client=[^ ]* country=-- /\1 /p' "$LOG")
}

# VAR=VALUE is bad: --check-config names it (exit 1), a session answers
# only 421 4.3.0 (exit 1) and logs the problem, exactly $3.
bad_value() {
	export "$1=$2"
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	assert_output ''
	printf '%s\n' "$stderr" | grep -qxF "smtp-session: $3" ||
		{ echo "no line 'smtp-session: $3' in: $stderr" >&2; return 1; }
	run smtp <<<'EHLO client.test'
	assert_failure 1
	assert_output "$REFUSED_CONFIG"
	config_error_logged "$3" || { cat "$LOG" >&2; return 1; }
	grep -q ' refused id=[0-9a-f]\{16\} .* reason=config_error$' "$LOG"
}

# The session as uid/gid 65534 (nobody), no supplementary groups.
smtp_as_nobody() {
	sed 's/$/\r/' |
		setpriv --reuid=65534 --regid=65534 --clear-groups "$SESSION" 2>>"$LOG" |
		tr -d '\r'
	return "${PIPESTATUS[1]}"
}

# A directory nobody can use: $NOBODY_DIR with spool/ in it.
make_nobody_dir() {
	NOBODY_DIR=$(mktemp -d /tmp/smtp-config-bats.XXXXXX)
	chmod 755 "$NOBODY_DIR"
	mkdir "$NOBODY_DIR/spool"
	chown 65534:65534 "$NOBODY_DIR" "$NOBODY_DIR/spool"
}

# The log's connect line without its id, e.g.
# "connect client=192.0.2.1 country=-- port=4711 host=unknown".
connect_line() {
	sed -n 's/^smtp-session\[[0-9]*\]: connect id=[0-9a-f]\{16\} /connect /p' "$LOG"
}

# ---- command line -------------------------------------------------------

@test "--version" {
	run --separate-stderr "$SESSION" --version
	assert_success
	assert_output 'smtp-session 0.1.0'
	[ -z "$stderr" ]
}

@test "--help lists every variable of config_schema[] with its default" {
	run --separate-stderr "$SESSION" --help
	assert_success
	[ -z "$stderr" ]
	assert_line --index 0 --regexp '^usage: smtp-session \[--check-config \[--user NAME\] \| --help \|'
	local help=$output name def n=0
	while read -r name def; do
		n=$((n + 1))
		case $def in
		'""') def='(empty)' ;;
		\"*\") def=${def#\"}; def=${def%\"} ;;
		*) def= ;;     # a macro (DELIVER_DEFAULT): checked below
		esac
		printf '%s\n' "$help" | grep -q "^  $name  *default " ||
			{ echo "--help does not list $name" >&2; return 1; }
		if [ -n "$def" ]; then
			printf '%s\n' "$help" | grep -qxF "  $(printf '%-22s' "$name") default $def" ||
				{ echo "--help: $name not with default $def" >&2; return 1; }
		fi
	done < <(sed -n 's/^\t{ "\([A-Z_]*\)", \("[^"]*"\|[A-Z_]*\),.*/\1 \2/p' \
		"$BATS_TEST_DIRNAME/../config.c")
	[ "$n" -ge 15 ]   # the parse above found the table
}

@test "--help lists every DESIGN.md variable the code reads, with the DESIGN default" {
	run "$SESSION" --help
	assert_success
	local help=$output name def n=0
	while read -r name def; do
		# implemented = a row of config_schema[], the one place that
		# reads a variable
		grep -qE "^\s*\\{ \"$name\"," "$BATS_TEST_DIRNAME/../config.c" || continue
		n=$((n + 1))
		printf '%s\n' "$help" | grep -qE "^  $name +default $def" ||
			{ echo "--help: $name missing or its default is not /$def/" >&2; return 1; }
	done <<<"$DESIGN_DEFAULTS"
	[ "$n" -ge 15 ]
}

@test "unknown option: exit 2, usage on stderr, nothing on stdout" {
	run --separate-stderr "$SESSION" --bogus
	assert_failure 2
	assert_output ''
	[[ ${stderr%%$'\n'*} == 'usage: smtp-session [--check-config [--user NAME] | --help |'* ]]
	# the whole usage, as --help prints it on stdout
	[ "$stderr" = "$("$SESSION" --help)" ]
}

# ---- --check-config and bad values ---------------------------------------

@test "--check-config with a good configuration: exit 0, configuration ok" {
	run --separate-stderr "$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok'
	[ -z "$stderr" ]
}

@test "bad SMTP_MAX_SIZE=abc" {
	bad_value SMTP_MAX_SIZE abc "SMTP_MAX_SIZE: 'abc' is not a number from 1024 to 1099511627776"
}

@test "bad SMTP_MAX_SIZE=-1" {
	bad_value SMTP_MAX_SIZE -1 "SMTP_MAX_SIZE: '-1' is not a number from 1024 to 1099511627776"
}

@test "bad SMTP_MAX_SIZE=10k (trailing garbage)" {
	bad_value SMTP_MAX_SIZE 10k "SMTP_MAX_SIZE: '10k' is not a number from 1024 to 1099511627776"
}

@test "bad SMTP_MAX_RCPTS=0" {
	bad_value SMTP_MAX_RCPTS 0 "SMTP_MAX_RCPTS: '0' is not a number from 1 to 10000"
}

@test "bad SMTP_MAX_ERRORS=x" {
	bad_value SMTP_MAX_ERRORS x "SMTP_MAX_ERRORS: 'x' is not a number from 1 to 1000"
}

@test "bad SMTP_BARE_LF=maybe" {
	bad_value SMTP_BARE_LF maybe "SMTP_BARE_LF: 'maybe' is not one of the allowed values"
}

@test "bad SMTP_TIMEOUT=0" {
	bad_value SMTP_TIMEOUT 0 "SMTP_TIMEOUT: '0' is not a number from 1 to 86400"
}

@test "bad SMTP_SESSION_TIMEOUT=99999999999" {
	bad_value SMTP_SESSION_TIMEOUT 99999999999 "SMTP_SESSION_TIMEOUT: '99999999999' is not a number from 1 to 604800"
}

@test "bad SMTP_SESSION_TIMEOUT=99999999999999999999999 (overflows 64 bits)" {
	bad_value SMTP_SESSION_TIMEOUT 99999999999999999999999 "SMTP_SESSION_TIMEOUT: '99999999999999999999999' is not a number from 1 to 604800"
}

@test "bad SMTP_DELIVER_TIMEOUT=0" {
	bad_value SMTP_DELIVER_TIMEOUT 0 "SMTP_DELIVER_TIMEOUT: '0' is not a number from 1 to 86400"
}

@test "bad SMTP_DOMAINS='exa mple..test'" {
	bad_value SMTP_DOMAINS 'exa mple..test' "SMTP_DOMAINS: 'mple..test' is not a domain"
}

@test "bad SMTP_SPOOL_DIR=relative/path" {
	bad_value SMTP_SPOOL_DIR relative/path "SMTP_SPOOL_DIR: 'relative/path' is not an absolute path"
}

@test "bad SMTP_DELIVER=relative" {
	bad_value SMTP_DELIVER relative "SMTP_DELIVER: 'relative' is not an absolute path"
}

@test "bad QMAILQUEUE=relative when SMTP_DELIVER is unset" {
	unset SMTP_DELIVER
	# the admin set QMAILQUEUE: the message must name it, not SMTP_DELIVER
	bad_value QMAILQUEUE relative "QMAILQUEUE: 'relative' is not an absolute path"
}

@test "bad SMTP_ALLOW_ROOT=yes" {
	bad_value SMTP_ALLOW_ROOT yes "SMTP_ALLOW_ROOT: 'yes' must be 0 or 1"
}

@test "bad SMTP_LOG=syslog" {
	bad_value SMTP_LOG syslog "SMTP_LOG: 'syslog' is not one of the allowed values"
}

@test "bad SMTP_HOSTNAME='bad host': refused, and the bad name is not used in the reply" {
	export SMTP_HOSTNAME='bad host'
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	printf '%s\n' "$stderr" | grep -qxF "smtp-session: SMTP_HOSTNAME: 'bad host' is not a host name"
	run smtp <<<'EHLO client.test'
	assert_failure 1
	# one line, with a valid host name where the greeting name goes
	assert_output --regexp '^421 4\.3\.0 [A-Za-z0-9.-]+ Service not available, configuration error$'
	config_error_logged "SMTP_HOSTNAME: 'bad host' is not a host name"
}

@test "SMTP_HOSTNAME with CR LF cannot inject a reply line" {
	export SMTP_HOSTNAME=$'mx.test\r\n250 2.0.0 injected'
	run smtp <<<'EHLO client.test'
	assert_failure 1
	assert_output --regexp '^421 4\.3\.0 [A-Za-z0-9.-]+ Service not available, configuration error$'
	refute_output --partial injected
}

@test "several problems are all listed at once" {
	export SMTP_MAX_SIZE=abc SMTP_TIMEOUT=0 SMTP_LOG=syslog
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	assert_output ''
	run sort <<<"$stderr"
	assert_output "$(cat <<'OUT'
smtp-session: SMTP_LOG: 'syslog' is not one of the allowed values
smtp-session: SMTP_MAX_SIZE: 'abc' is not a number from 1024 to 1099511627776
smtp-session: SMTP_TIMEOUT: '0' is not a number from 1 to 86400
OUT
)"
	run smtp <<<'EHLO client.test'
	assert_failure 1
	assert_output "$REFUSED_CONFIG"
	[ "$(grep -c ' config_error ' "$LOG")" -eq 3 ]
	config_error_logged "SMTP_MAX_SIZE: 'abc' is not a number from 1024 to 1099511627776"
	config_error_logged "SMTP_TIMEOUT: '0' is not a number from 1 to 86400"
	config_error_logged "SMTP_LOG: 'syslog' is not one of the allowed values"
}

@test "--check-config: missing spool dir, non-executable deliver program, unreadable recipients file" {
	export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/no-spool
	export SMTP_DELIVER=$BATS_TEST_TMPDIR/deliver-not-x
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/no-recipients
	printf '#!/bin/sh\nexit 0\n' > "$SMTP_DELIVER"
	chmod 644 "$SMTP_DELIVER"
	run --separate-stderr "$SESSION" --check-config
	assert_failure 1
	assert_output ''
	run sort <<<"$stderr"
	assert_output "$(cat <<OUT
smtp-session: SMTP_DELIVER: $SMTP_DELIVER: Permission denied
smtp-session: SMTP_RECIPIENTS: $SMTP_RECIPIENTS: No such file or directory
smtp-session: SMTP_SPOOL_DIR: $SMTP_SPOOL_DIR: not a directory
OUT
)"
}

@test "--check-config as nobody: a recipients file only root can read is reported" {
	make_nobody_dir
	export SMTP_SPOOL_DIR=$NOBODY_DIR/spool SMTP_RECIPIENTS=$NOBODY_DIR/recipients
	unset SMTP_ALLOW_ROOT
	echo 'bob@example.test' > "$SMTP_RECIPIENTS"
	chmod 600 "$SMTP_RECIPIENTS"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$SESSION" --check-config
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_RECIPIENTS: $SMTP_RECIPIENTS: Permission denied" ]
	chmod 644 "$SMTP_RECIPIENTS"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok'
}

@test "--check-config warns about every unknown SMTP_* name, with the nearest known one; exit 0" {
	export SMTP_DOMIANS=example.test SMTP_TSL=required SMTP_RELAY_DELIVR=/bin/true \
		SMTP_ENTIRELY_MADE_UP_NAME=1
	run --separate-stderr "$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok, 4 warnings'
	run sort <<<"$stderr"
	assert_output "$(cat <<'OUT'
smtp-session: warning: SMTP_DOMIANS: not a variable of smtp-session (did you mean SMTP_DOMAINS?)
smtp-session: warning: SMTP_ENTIRELY_MADE_UP_NAME: not a variable of smtp-session
smtp-session: warning: SMTP_RELAY_DELIVR: not a variable of smtp-session (did you mean SMTP_RELAY_DELIVER?)
smtp-session: warning: SMTP_TSL: not a variable of smtp-session (did you mean SMTP_TLS?)
OUT
)"
}

@test "--check-config knows the names smtp-session sets for the deliver program and those the other programs read" {
	export SMTP_SESSION_ID=x SMTP_HELO=y SMTP_AUTH_USER=z SMTP_COUNTRY=DE MAILDIR_ROOT=/x RELAYCLIENT=
	# and those of smtp-authres, smtp-dkimsign and smtp-dmarc-report, from their own --help
	local v
	for v in $(for p in smtp-authres smtp-dkimsign smtp-dmarc-report; do
			"$TEST_BUILD/$p" --help; done | grep -oE '\bSMTP_[A-Z_]+' | sort -u); do
		"$SESSION" --help | grep -q "^  $v " || export "$v=1"
	done
	[ -n "${SMTP_DKIM_KEYS:-}" ] && [ -n "${SMTP_AUTHRES_SPF_REJECT:-}" ]
	run --separate-stderr "$SESSION" --check-config
	assert_success
	assert_output 'smtp-session: configuration ok'
	[ -z "$stderr" ]
}

@test "--check-config --user NAME checks the files as NAME (root only); a problem for NAME is one" {
	make_nobody_dir
	export SMTP_SPOOL_DIR=$NOBODY_DIR/spool SMTP_RECIPIENTS=$NOBODY_DIR/recipients
	echo 'bob@example.test' > "$SMTP_RECIPIENTS"
	chmod 600 "$SMTP_RECIPIENTS"
	# root (SMTP_ALLOW_ROOT=1) reads it, nobody does not
	run --separate-stderr "$SESSION" --check-config
	assert_success
	run --separate-stderr "$SESSION" --check-config --user nobody
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_RECIPIENTS: $SMTP_RECIPIENTS: Permission denied" ]
	chmod 644 "$SMTP_RECIPIENTS"
	run --separate-stderr "$SESSION" --check-config --user nobody
	assert_success
	assert_output 'smtp-session: configuration ok'
	run --separate-stderr "$SESSION" --check-config --user no-such-user-here
	assert_failure 1
	[ "$stderr" = "smtp-session: --user no-such-user-here: no such user" ]
	# only root can switch
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$SESSION" --check-config --user root
	assert_failure 1
	[ "$stderr" = "smtp-session: --user: only root can check the files as another user" ]
	run --separate-stderr "$SESSION" --check-config --user
	assert_failure 2
}

@test "--check-config: a spool dir nobody cannot write is reported" {
	make_nobody_dir
	export SMTP_SPOOL_DIR=$NOBODY_DIR/spool
	chown 0:0 "$SMTP_SPOOL_DIR"
	run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$SESSION" --check-config
	assert_failure 1
	[ "$stderr" = "smtp-session: SMTP_SPOOL_DIR: $SMTP_SPOOL_DIR: not writable" ]
}

@test "a missing spool dir does not stop the session: it answers 451 4.3.0 at DATA" {
	export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/no-spool
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250 mx.test
250 2.1.0 Ok
250 2.1.5 Ok
451 4.3.0 Local error: cannot create spool file
221 2.0.0 mx.test Bye
OUT
)"
}

# ---- root ---------------------------------------------------------------

@test "as root without SMTP_ALLOW_ROOT: 421 refusing to run as root, exit 1" {
	unset SMTP_ALLOW_ROOT
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	run smtp <<<'EHLO client.test'
	assert_failure 1
	assert_output '421 4.3.0 mx.test Service not available, refusing to run as root'
	grep -q '^smtp-session\[[0-9]*\]: refused id=[0-9a-f]\{16\} client=192\.0\.2\.1 country=-- reason=running_as_root$' "$LOG"
	run ! grep -q ' connect ' "$LOG"
}

@test "as root with SMTP_ALLOW_ROOT=0: refused as well" {
	export SMTP_ALLOW_ROOT=0
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	run smtp <<<'EHLO client.test'
	assert_failure 1
	assert_output '421 4.3.0 mx.test Service not available, refusing to run as root'
}

@test "as nobody without SMTP_ALLOW_ROOT: serves and delivers" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to switch to nobody"
	make_nobody_dir
	unset SMTP_ALLOW_ROOT
	export SMTP_SPOOL_DIR=$NOBODY_DIR/spool FAKE_OUT=$NOBODY_DIR/out
	export SMTP_DELIVER=$FAKES/save
	run smtp_as_nobody <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: from nobody
.
QUIT
IN
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_line --index 6 '221 2.0.0 mx.test Bye'
	printf 'Falice@sender.test\0Tbob@example.test\0\0' > "$BATS_TEST_TMPDIR/want.env"
	cmp "$BATS_TEST_TMPDIR/want.env" "$FAKE_OUT.env"
	# the deliver program ran as nobody too
	[ "$(stat -c %u "$FAKE_OUT.env")" = 65534 ]
	[ -z "$(ls -A "$SMTP_SPOOL_DIR")" ]
}

# ---- the peer address ------------------------------------------------------

@test "peer address: TCPREMOTEIP/TCPREMOTEPORT when stdin is not a socket" {
	export TCPREMOTEPORT=4711 TCPREMOTEHOST=client.example REMOTE_ADDR=198.51.100.7
	run smtp <<<'QUIT'
	assert_success
	run connect_line
	assert_output 'connect client=192.0.2.1 country=-- port=4711 host=client.example'
}

@test "peer address: REMOTE_ADDR/REMOTE_PORT when TCPREMOTEIP is unset; passed on as TCPREMOTEIP" {
	unset TCPREMOTEIP
	export REMOTE_ADDR=2001:db8::25 REMOTE_PORT=2525
	export SMTP_DELIVER=$FAKES/env-dump
	run smtp <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
x
.
QUIT
IN
	assert_success
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	run connect_line
	assert_output 'connect client=2001:db8::25 country=-- port=2525 host=unknown'
	tr '\0' '\n' < "$FAKE_OUT.environ" | grep -qx 'TCPREMOTEIP=2001:db8::25'
}

@test "peer address: an invalid TCPREMOTEIP is ignored (client=unknown)" {
	export TCPREMOTEIP='1.2.3.4; rm' TCPREMOTEPORT='25; rm' TCPREMOTEHOST='evil host'
	run smtp <<<'QUIT'
	assert_success
	assert_output "$(printf '220 mx.test ESMTP smtp-session\n221 2.0.0 mx.test Bye')"
	run connect_line
	assert_output 'connect client=unknown country=-- port= host=unknown'
	run ! grep -q 'rm' "$LOG"
}

@test "peer address: no address at all gives client=unknown" {
	unset TCPREMOTEIP
	run smtp <<<'QUIT'
	assert_success
	run connect_line
	assert_output 'connect client=unknown country=-- port= host=unknown'
}

@test "peer address: a TCP socket on stdin wins over TCPREMOTEIP" {
	export SESSION LOG
	run timeout 20 python3 - <<'PY'
import os, socket, subprocess
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname(), 5)
conn, _ = srv.accept()
p = subprocess.Popen([os.environ["SESSION"]], stdin=conn, stdout=conn,
                     stderr=open(os.environ["LOG"], "ab"))
conn.close()
cli.sendall(b"QUIT\r\n")
data = b""
while True:
    b = cli.recv(4096)
    if not b:
        break
    data += b
print(data.decode().replace("\r", ""), end="")
print("port=%d" % cli.getsockname()[1])
p.wait(10)
PY
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 1 '221 2.0.0 mx.test Bye'
	local port=${lines[2]#port=}
	run connect_line
	assert_output "connect client=127.0.0.1 country=-- port=$port host=unknown"
}

# ---- socket activation variables -------------------------------------------

@test "LISTEN_FDS/LISTEN_PID for another pid: ignored (stdin used), removed for the deliver program" {
	export LISTEN_FDS=1 LISTEN_PID=1 LISTEN_FDNAMES=connection
	export SMTP_DELIVER=$FAKES/env-dump
	run smtp 3</dev/null <<'IN'
HELO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
x
.
QUIT
IN
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	[ -s "$FAKE_OUT.environ" ]
	run ! grep -qz '^LISTEN_' "$FAKE_OUT.environ"
}

@test "LISTEN_FDS=1 with our own LISTEN_PID: the session talks on fd 3, not on stdin/stdout" {
	export SESSION LOG
	export SMTP_DELIVER=$FAKES/env-dump
	run timeout 20 python3 - <<'PY'
import os, socket, subprocess
a, b = socket.socketpair()
if a.fileno() == 3:            # fd 3 is for the child's end
    a2 = a.dup(); a.close(); a = a2
if b.fileno() != 3:
    os.dup2(b.fileno(), 3)
out = open(os.path.join(os.environ["BATS_TEST_TMPDIR"], "stdout"), "wb")
p = subprocess.Popen(
    ["sh", "-c", 'export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0"', os.environ["SESSION"]],
    stdin=subprocess.DEVNULL, stdout=out, stderr=open(os.environ["LOG"], "ab"),
    pass_fds=[3])
b.close()
if a.fileno() != 3:
    os.close(3)
a.sendall(b"HELO client.test\r\nMAIL FROM:<alice@sender.test>\r\n"
          b"RCPT TO:<bob@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")
data = b""
while True:
    c = a.recv(4096)
    if not c:
        break
    data += c
print(data.decode().replace("\r", ""), end="")
p.wait(10)
PY
	assert_success
	assert_line --index 0 '220 mx.test ESMTP smtp-session'
	assert_line --index 5 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	assert_line --index 6 '221 2.0.0 mx.test Bye'
	[ ! -s "$BATS_TEST_TMPDIR/stdout" ]
	run ! grep -qz '^LISTEN_' "$FAKE_OUT.environ"
}
