# tests/message.bash - helpers shared by data.bats and bdat.bats: the
# expected EHLO reply, message-id masking, and byte-exact body checks.

EHLO_REPLY='220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8'


# The replies with the message ids replaced by ID (the id is random).
masked() {
	sed -E 's/[0-9a-f]{16}\.([0-9]+)/ID.\1/g' <<<"$output"
}

# The one file delivered to $1; fails unless there is exactly one.
only_message() {
	local f
	f=$(delivered "$1")
	if [ -z "$f" ] || [ "$(printf '%s\n' "$f" | wc -l)" -ne 1 ]; then
		echo "expected one message for $1, found: ${f:-none}" >&2
		return 1
	fi
	printf '%s\n' "$f"
}

# The message of FILE after the lines smtp-deliver and our Received
# header add (everything up to the Received date line), byte for byte.
body_of() {
	local n
	n=$(LC_ALL=C grep -n -a -m1 $'^\t[A-Z][a-z][a-z], [0-9]' "$1" | cut -d: -f1)
	[ -n "$n" ] || { echo "no Received date line in $1" >&2; return 1; }
	tail -n +"$((n + 1))" "$1"
}

# want FORMAT: the expected body, written with printf(1) escapes.
want() {
	printf "$1" >"$BATS_TEST_TMPDIR/want"
}

# assert_body RCPT: the one message to RCPT holds exactly $BATS_TEST_TMPDIR/want.
assert_body() {
	local f got=$BATS_TEST_TMPDIR/got
	f=$(only_message "$1") || return 1
	body_of "$f" >"$got" || return 1
	if ! cmp -s "$BATS_TEST_TMPDIR/want" "$got"; then
		echo "message body differs; expected:" >&2
		od -c "$BATS_TEST_TMPDIR/want" | head -40 >&2
		echo "got:" >&2
		od -c "$got" | head -40 >&2
		return 1
	fi
}
