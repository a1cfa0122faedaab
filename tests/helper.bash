# tests/helper.bash - shared setup for the bats suite.
#
# Most tests are transcripts: the client's lines in (LF is turned into
# CRLF), the server's replies out (CR removed), compared exactly.
#
#   run smtp <<'EOF'          # client lines
#   EHLO client.test
#   QUIT
#   EOF
#   assert_output "$(cat <<'EOF'  # expected replies
#   220 mx.test ESMTP smtp-session
#   ...
#   EOF
#   )"
#
# smtp_raw sends its stdin byte for byte (for bare LF/CR tests).
# The binaries under test are in $TEST_BUILD (check-asan points it at the
# sanitizer build).  Each test gets its own spool, Maildir and log under
# $BATS_TEST_TMPDIR.

bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${TEST_BUILD:=$BATS_TEST_DIRNAME/..}"
SESSION=$TEST_BUILD/smtp-session
DELIVER=$TEST_BUILD/smtp-deliver
FAKES=$BATS_TEST_DIRNAME/fakes

# The replies every transcript starts and ends with (RFC 2034: no
# enhanced code in the greeting or the EHLO reply).
GREETING='220 mx.test ESMTP smtp-session'
EHLO_REPLY='250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8'
# ... with AUTH offered (over TLS, or SMTP_AUTH_PLAINTEXT=1)
EHLO_AUTH='250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-AUTH PLAIN LOGIN
250-CHUNKING
250 SMTPUTF8'
BYE='221 2.0.0 mx.test Bye'

# smtp and smtp_raw with the message id in "queued as <id>" made constant.
smtp_ids() {
	smtp | sed -E 's/queued as [0-9a-f]{16}\./queued as ID./'
	return "${PIPESTATUS[0]}"
}

smtp_raw_ids() {
	smtp_raw | sed -E 's/queued as [0-9a-f]{16}\./queued as ID./'
	return "${PIPESTATUS[0]}"
}

# $1 copies of the letter $2 (default a).
rep() {
	local s
	printf -v s '%*s' "$1" ''
	printf '%s' "${s// /${2:-a}}"
}

common_setup() {
	export SMTP_ALLOW_ROOT=1            # the suite runs as root in CI
	export SMTP_HOSTNAME=mx.test
	export SMTP_DOMAINS=example.test
	export SMTP_SPOOL_DIR=$BATS_TEST_TMPDIR/spool
	export SMTP_DELIVER=$DELIVER
	export MAILDIR_ROOT=$BATS_TEST_TMPDIR/maildir
	export SMTP_LOG=stderr
	export TCPREMOTEIP=192.0.2.1
	export SMTP_TIMEOUT=10 SMTP_SESSION_TIMEOUT=60
	unset RELAYCLIENT SMTP_RECIPIENTS QMAILQUEUE SMTP_RELAY_DELIVER SMTP_MAX_SIZE \
		SMTP_MAX_RCPTS SMTP_MAX_ERRORS SMTP_BARE_LF SMTP_DELIVER_TIMEOUT \
		LISTEN_FDS LISTEN_PID JOURNAL_STREAM
	LOG=$BATS_TEST_TMPDIR/log
	mkdir -p "$SMTP_SPOOL_DIR"
}

# The session with stdin's lines as CRLF lines; replies without CR.
smtp() {
	sed 's/$/\r/' | "$SESSION" 2>>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[1]}"
}

# The session with stdin sent as it is; replies without CR.
smtp_raw() {
	"$SESSION" 2>>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[0]}"
}

# Relayed recipients (SMTP_RELAY_DELIVER) into the Maildir tree too, for
# tests that read relayed mail back: tests/fakes/relay-maildir, with the
# domains in $@ (default elsewhere.test) taken as local by smtp-deliver.
relay_to_maildir() {
	export SMTP_RELAY_DELIVER=$FAKES/relay-maildir FAKE_DELIVER=$DELIVER
	export FAKE_DOMAINS="${*:-elsewhere.test}"
}

# The files delivered to one mailbox (new/), one path a line.
delivered() {
	local dom=${1#*@} loc=${1%@*}
	find "$MAILDIR_ROOT/$dom/$loc/new" -type f 2>/dev/null | sort
}

# Number of messages under the whole Maildir root.
delivered_count() {
	find "$MAILDIR_ROOT" -path '*/new/*' -type f 2>/dev/null | wc -l
}

# The one message delivered to $1, without the Received header (5 lines)
# smtp-deliver's Return-Path and Delivered-To lines: the body as sent.
delivered_body() {
	local f
	f=$(delivered "$1")
	[ "$(printf '%s\n' "$f" | grep -c .)" -eq 1 ] || return 1
	awk 'body { print; next } /^\t[A-Z][a-z][a-z], / { body = 1 }' "$f"
}

spool_is_empty() {
	[ -z "$(ls -A "$SMTP_SPOOL_DIR")" ]
}

# ---- a real listener: systemd-socket-activate, one session per connection

# Waits (at most 5 s) until something listens on TCP port $1, without
# connecting (a probe connection would start a session of its own).
wait_listen() {
	local hex i
	hex=$(printf ':%04X' "$1")
	for i in $(seq 50); do
		awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
			END { exit !f }' /proc/net/tcp /proc/net/tcp6 && return 0
		sleep 0.1
	done
	return 1
}

# Starts "$@" in the background as the server (its stdout in $OUT, its
# stderr and the sessions' logs in $LOG) and waits until port $PORT listens.
start_server() {
	"$@" </dev/null >"${OUT:-/dev/null}" 2>>"$LOG" 3>&- &
	SERVER_PID=$!
	wait_listen "$PORT" || fail "nothing listens on port $PORT"
}

# systemd-socket-activate passes its children only the variables named
# with -E: every SMTP_* one, smtp-deliver's MAILDIR_ROOT, the fakes'
# FAKE_*, the sanitizers'.
sd_env() {
	local v
	SD_ENV=()
	for v in $(compgen -e); do
		case $v in
		SMTP_*|MAILDIR_ROOT|FAKE_*|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS)
			SD_ENV+=(-E "$v") ;;
		esac
	done
}

# One connection per session on fd 0/1 on 127.0.0.1:$PORT, as the shipped
# units give it.  Extra arguments go to systemd-socket-activate.
start_inetd() {
	PORT=$(free_port)
	sd_env
	start_server systemd-socket-activate -l "127.0.0.1:$PORT" -a --inetd \
		"${SD_ENV[@]}" "$@" "$SESSION"
}

# Kills the server and its sessions (for teardown); at most 5 s.
stop_server() {
	local p i
	[ -n "${SERVER_PID:-}" ] || return 0
	for p in $(pgrep -P "$SERVER_PID"); do
		kill "$p" 2>/dev/null
	done
	kill "$SERVER_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
}

# No session process left under the launcher (at most 5 s).
sessions_done() {
	local i
	for i in $(seq 50); do
		[ -z "$(pgrep -P "$SERVER_PID")" ] && return 0
		sleep 0.1
	done
	return 1
}

# A free TCP port on loopback (the kernel picks; tiny race accepted).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until a TCP port accepts connections (at most 5 s).
wait_port() {
	local i
	for i in $(seq 50); do
		python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
