# The log an admin greps (issue "admin"): one line per recipient per
# message with every field smtp-session(8), LOGGING, names; one line per
# refused RCPT; the grammar of smtp-session(8) holds for every line; the
# journal entries carry the same as fields.  tests/clients/logread.py is
# the reader a script would be: it fails on a line off the grammar.
load helper

READ=$BATS_TEST_DIRNAME/clients/logread.py

setup_file() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=mx.test -days 30 -keyout "$BATS_FILE_TMPDIR/key.pem" \
		-out "$BATS_FILE_TMPDIR/cert.pem" 2>/dev/null
}

setup() {
	common_setup
	export FAKE_OUT=$BATS_TEST_TMPDIR/relay
	export SMTP_RELAY_DELIVER=$FAKES/save
	SERVER_PID=
}

teardown() { stop_server; }

# field NAME: NAME's value in the JSON object on stdin (jq-free).
field() {
	python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

two_recipients() {
	smtp <<'IN'
EHLO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<bob@example.test>
RCPT TO:<nobody@elsewhere.test>
RCPT TO:<friend@far.example>
RCPT TO:bad syntax
DATA
Message-ID: <m1."odd\x"@example.test>
Subject: two

hello
.
QUIT
IN
}

@test "a local and a relayed recipient: one line each, every field; refused RCPTs logged with their codes" {
	export RELAYCLIENT=
	export SMTP_RECIPIENTS=$BATS_TEST_TMPDIR/rcpts
	printf 'bob@example.test\n' > "$SMTP_RECIPIENTS"
	# elsewhere.test is local here, nobody is unknown
	export SMTP_DOMAINS='example.test elsewhere.test'
	# the Message-ID with a quote, a backslash and an ESC (escaped in the log)
	run two_recipients
	assert_success
	assert_line --index 9 '250 2.1.5 Ok'
	assert_line --index 10 '550 5.1.1 Recipient address rejected: User unknown'
	assert_line --index 11 '250 2.1.5 Ok'
	assert_line --index 12 '501 5.5.4 Syntax: RCPT TO:<address>'
	qid=$(sed -n 's/^250 2\.0\.0 Ok: queued as //p' <<<"$output")
	[ -n "$qid" ]
	# every line of the log follows the grammar
	run "$READ" stderr "$LOG" -
	assert_success
	# grep, as an admin would
	run grep -c ' to=<bob@example\.test> ' "$LOG"
	assert_output 1
	run "$READ" stderr "$LOG" delivered to='<bob@example.test>'
	assert_success
	line=$output
	for kv in id="${qid%.*}" client=192.0.2.1 country=-- client_name=unknown \
		helo=client.test queue_id="$qid" from='<alice@example.test>' \
		to='<bob@example.test>' route=local part_status=0 code=250 \
		dsn=2.0.0 reply="Ok: queued as $qid"; do
		run field "${kv%%=*}" <<<"$line"
		assert_equal "$output" "${kv#*=}"
	done
	run field message_id <<<"$line"
	assert_output '<m1."odd\x"@example.test>'
	grep -qF 'message_id=<m1.\x22odd\x5cx\x22@example.test> ' "$LOG"
	run field size <<<"$line"
	assert_output --regexp '^[0-9]+$'
	[ "$output" -eq "$(grep -o ' size=[0-9]*' "$LOG" | head -1 | cut -d= -f2)" ]
	run field delay <<<"$line"
	assert_output --regexp '^[0-9]+\.[0-9]{3}$'
	run field _keys <<<"$line"
	assert_output "['client_name', 'helo', 'queue_id', 'message_id', 'from', 'to', 'size', 'route', 'part_status', 'code', 'dsn', 'reply', 'delay']"
	# the relayed one
	run "$READ" stderr "$LOG" delivered to='<friend@far.example>' route=relay code=250
	assert_success
	# the refused ones: unknown user, and a syntax error (the argument as sent)
	run "$READ" stderr "$LOG" rcpt_refused to='<nobody@elsewhere.test>' code=550 dsn=5.1.1 reason=unknown from='<alice@example.test>' helo=client.test
	assert_success
	run "$READ" stderr "$LOG" rcpt_refused to='TO:bad syntax' code=501 dsn=5.5.4 reason=syntax
	assert_success
	run grep -c ' rcpt_refused ' "$LOG"
	assert_output 2
}

@test "RCPT refused by the command table (before MAIL) is logged with reason=sequence" {
	run smtp <<'IN'
HELO client.test
RCPT TO:<bob@example.test>
QUIT
IN
	assert_line --index 2 '503 5.5.1 Error: need MAIL command'
	run "$READ" stderr "$LOG" rcpt_refused to='<bob@example.test>' code=503 dsn=5.5.1 reason=sequence from='<>'
	assert_success
}

@test "a failed delivery: not_delivered per recipient with the code the client got" {
	export SMTP_DELIVER="$FAKES/exit-status 71"
	run smtp <<'IN'
HELO client.test
MAIL FROM:<a@b.test>
RCPT TO:<bob@example.test>
RCPT TO:<carol@example.test>
DATA
x
.
QUIT
IN
	assert_line --index 6 '451 4.3.0 Mail server temporarily rejected the message'
	run "$READ" stderr "$LOG" not_delivered code=451 dsn=4.3.0 part_status=71
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	run "$READ" stderr "$LOG" delivered
	assert_failure 1
}

@test "STARTTLS and AUTH over a real socket: the delivered line carries tls= and user=" {
	export SMTP_TLS_CERT=$BATS_FILE_TMPDIR/cert.pem SMTP_TLS_KEY=$BATS_FILE_TMPDIR/key.pem
	export SMTP_AUTH=optional SMTP_PASSWD=$BATS_TEST_TMPDIR/passwd
	install -m 600 /dev/null "$SMTP_PASSWD"
	echo "alice:$(printf 'pw-alice\n' | mkpasswd -s -m sha512crypt)" > "$SMTP_PASSWD"
	unset TCPREMOTEIP
	start_inetd
	run timeout 20 python3 - "$PORT" <<'PY'
import smtplib, ssl, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), timeout=10)
s.starttls(context=ssl._create_unverified_context())
s.login('alice', 'pw-alice')
s.sendmail('alice@example.test', ['bob@example.test', 'friend@far.example'],
           b'Message-ID: <tls1@example.test>\r\nSubject: s\r\n\r\nbody\r\n')
s.quit()
PY
	assert_success
	sessions_done
	run "$READ" stderr "$LOG" delivered to='<friend@far.example>' route=relay user=alice message_id='<tls1@example.test>' client=127.0.0.1
	assert_success
	run field tls <<<"$output"
	assert_output --regexp '^TLS1\.[23] [A-Z0-9_-]+$'
	run "$READ" stderr "$LOG" delivered to='<bob@example.test>' route=local user=alice
	assert_success
}

# ---- the journal ------------------------------------------------------

# The session with $1 as its input, under a private mount namespace where
# a datagram socket at /run/systemd/journal/socket stands in for journald
# (tests/ops.bats does the same); each datagram becomes a file in $DG.
journal_session() {
	DG=$BATS_TEST_TMPDIR/dgrams
	mkdir -p "$DG"
	export IN=$1 DG SESSION
	run timeout 30 unshare -m --propagation private bash -c '
		mount -t tmpfs tmpfs /run || exit 97
		mkdir -p /run/systemd/journal
		python3 -c "
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/run/systemd/journal/socket\")
open(os.environ[\"DG\"] + \"/ready\", \"w\").close()
n = 0
s.settimeout(3)
try:
    while True:
        d = s.recv(65536)
        n += 1
        open(os.environ[\"DG\"] + \"/%d\" % n, \"wb\").write(d)
except socket.timeout:
    pass
" &
		rcv=$!
		for _ in $(seq 50); do [ -e "$DG/ready" ] && break; sleep 0.1; done
		rm -f "$DG/ready"
		sed "s/\$/\r/" "$IN" | SMTP_LOG=journal "$SESSION" >/dev/null 2>"$DG.stderr"
		wait $rcv'
}

@test "journal: field queries find the delivery (SYSLOG_FACILITY=2, SMTP_TO, SMTP_CODE), as journalctl would" {
	unshare -m --propagation private true 2>/dev/null || skip "no mount namespaces here"
	export RELAYCLIENT=
	cat > "$BATS_TEST_TMPDIR/in" <<'IN'
EHLO client.test
MAIL FROM:<alice@example.test>
RCPT TO:<bob@example.test>
RCPT TO:<friend@far.example>
DATA
Message-ID: <j1@example.test>

hi
.
QUIT
IN
	journal_session "$BATS_TEST_TMPDIR/in"
	assert_success
	[ ! -s "$DG.stderr" ]
	# journalctl SYSLOG_FACILITY=2 SYSLOG_IDENTIFIER=smtp-session SMTP_TO=<bob@example.test>
	run "$READ" journal "$DG" SYSLOG_FACILITY=2 SYSLOG_IDENTIFIER=smtp-session 'SMTP_TO=<bob@example.test>'
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	entry=$output
	for kv in SMTP_EVENT=delivered SMTP_CODE=250 SMTP_DSN=2.0.0 SMTP_ROUTE=local \
		'SMTP_FROM=<alice@example.test>' 'SMTP_MESSAGE_ID=<j1@example.test>' \
		SMTP_HELO=client.test PRIORITY=6; do
		run field "${kv%%=*}" <<<"$entry"
		assert_equal "$output" "${kv#*=}"
	done
	run field MESSAGE <<<"$entry"
	assert_output --regexp '^delivered id=[0-9a-f]{16} client=192\.0\.2\.1 .* to=<bob@example\.test> '
	run "$READ" journal "$DG" 'SMTP_TO=<friend@far.example>' SMTP_ROUTE=relay SMTP_CODE=250
	assert_success
	# every datagram has the facility
	[ "$(grep -L '^SYSLOG_FACILITY=2$' "$DG"/* | wc -l)" -eq 0 ]
}
