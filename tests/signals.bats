# The signal state smtp-session starts from (smtp-session.c,
# signals_reset()): launchers leave ignored and blocked signals behind,
# exec keeps them, and neither the session nor its children may depend
# on them.  The launchers here are Perl one-liners: swaks --pipe does
# exactly the first one.
load helper

setup() {
	common_setup
	unset SMTP_TLS_CERT SMTP_TLS_KEY SMTP_TLS SMTP_TLS_IMPLICIT \
		SMTP_PASSWD SMTP_CHECKPASSWORD SMTP_LOCKOUT_FILE SMTP_GEOIP_DB \
		SMTP_AUTH_COUNTRIES SMTP_GREET_DELAY
	export FAKE_OUT=$BATS_TEST_TMPDIR/out
}

# Runs "$@" with SIGCHLD ignored, as swaks --pipe and some wrappers do.
ignore_sigchld() {
	perl -e '$SIG{CHLD} = "IGNORE"; exec { $ARGV[0] } @ARGV or die "exec: $!"' "$@"
}

# Runs "$@" with SIGCHLD, SIGALRM, SIGTERM blocked and SIGHUP, SIGINT
# ignored (as nohup and a shell's background jobs do).
# HUP and INT ignored; also 32 and 33, which glibc keeps to itself (its
# sigaction refuses them) but a launcher can leave ignored (GNU parallel
# does): only the raw system call sets them.
ODD_SIGNALS='
	$SIG{$_} = "IGNORE" for qw(HUP INT);
	require "syscall.ph";
	my $ign = pack("Q4", 1, 0, 0, 0);
	for my $sig (32, 33) {
		syscall(&SYS_rt_sigaction, $sig, $ign, 0, 8) == 0
			or die "rt_sigaction $sig: $!";
	}
	sigprocmask(SIG_BLOCK, POSIX::SigSet->new(SIGCHLD, SIGALRM, SIGTERM))
		or die "sigprocmask: $!";
	exec { $ARGV[0] } @ARGV or die "exec: $!"'
odd_signals() {
	perl -MPOSIX -e "$ODD_SIGNALS" "$@"
}

# smtp (helper.bash) with the session started by the launcher $1.
smtp_via() {
	sed 's/$/\r/' | "$1" "$SESSION" 2>>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[1]}"
}

# smtp_raw (helper.bash) with the session started by the launcher $1.
smtp_raw_via() {
	"$1" "$SESSION" 2>>"$LOG" | tr -d '\r'
	return "${PIPESTATUS[0]}"
}

MESSAGE='EHLO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: once

body
.
QUIT'

@test "SIGCHLD ignored by the launcher (swaks --pipe): 250 and exactly one message" {
	run smtp_via ignore_sigchld <<<"$MESSAGE"
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	run delivered_count
	assert_output 1
	run grep -c ' deliver_failed ' "$LOG"
	assert_output 0
	spool_is_empty
}

@test "swaks --pipe (which ignores SIGCHLD): 250 and exactly one message" {
	run timeout 20 swaks --pipe "$SESSION" --from alice@sender.test \
		--to bob@example.test --helo client.test
	assert_success
	assert_output --regexp '<-  250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1'
	refute_output --partial '<**'
	run delivered_count
	assert_output 1
}

@test "SIGCHLD ignored by the launcher: a checkpassword login gets 235" {
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_CHECKPASSWORD="$FAKES/checkpw-ok.sh"
	run smtp_via ignore_sigchld <<IN
EHLO client.test
AUTH PLAIN $(printf '\0carol\0Zz9-Checkpw-Gamma' | base64 -w0)
QUIT
IN
	assert_success
	assert_line --index 9 '235 2.7.0 Authentication successful'
	grep -q ' auth .*user=carol result=ok' "$LOG"
}

@test "blocked and ignored signals inherited: delivery, checkpassword, the children's signal state, the read timeout" {
	export SMTP_DELIVER="$FAKES/sig-state deliver" SMTP_RELAY_DELIVER="$FAKES/sig-state deliver"
	export SMTP_AUTH=optional SMTP_AUTH_PLAINTEXT=1
	export SMTP_CHECKPASSWORD="$FAKES/sig-state checkpw"
	run smtp_via odd_signals <<IN
EHLO client.test
AUTH PLAIN $(printf '\0carol\0Zz9-Checkpw-Gamma' | base64 -w0)
MAIL FROM:<alice@sender.test>
RCPT TO:<friend@elsewhere.test>
DATA
hi
.
QUIT
IN
	assert_success
	assert_line --index 9 '235 2.7.0 Authentication successful'
	assert_line --index 13 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	# neither child inherits a blocked or an ignored signal
	local f
	for f in deliver checkpw; do
		run cat "$FAKE_OUT.sig.$f"
		assert_output 'SigBlk:	0000000000000000
SigIgn:	0000000000000000'
	done
	# the read timeout is a poll() deadline: a blocked SIGALRM is no matter
	SECONDS=0
	export SMTP_TIMEOUT=1
	run smtp_raw_via odd_signals < <(printf 'EHLO client.test\r\n'; sleep 4)
	assert_success
	assert_line --index 9 '421 4.4.2 mx.test Timeout, closing connection'
	[ "$SECONDS" -le 3 ]
}

@test "SIGTERM blocked by the launcher: SIGTERM still ends a waiting session" {
	local in=$BATS_TEST_TMPDIR/in out=$BATS_TEST_TMPDIR/out.txt pid i
	mkfifo "$in"
	# not through the function: $! must be the session itself (perl execs)
	perl -MPOSIX -e "$ODD_SIGNALS" "$SESSION" <"$in" >"$out" 2>>"$LOG" &
	pid=$!
	exec 7>"$in"
	for i in $(seq 50); do
		grep -q '^220 ' "$out" && break
		sleep 0.1
	done
	grep -q '^220 ' "$out"
	kill -TERM "$pid"
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	run kill -0 "$pid"
	exec 7>&-
	assert_failure
	run wait "$pid"
	assert_equal "$status" 143
}
