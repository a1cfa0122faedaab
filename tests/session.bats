# Basic session transcripts: greeting, HELO/EHLO, simple commands.
load helper

setup() { common_setup; }

@test "greeting, EHLO advertises the extensions, QUIT" {
	run smtp <<'IN'
EHLO client.test
QUIT
IN
	assert_success
	assert_output "$(cat <<'OUT'
220 mx.test ESMTP smtp-session
250-mx.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-CHUNKING
250 SMTPUTF8
221 2.0.0 mx.test Bye
OUT
)"
}

@test "a message to a local domain is delivered byte-exact" {
	run smtp <<'IN'
EHLO client.test
MAIL FROM:<alice@sender.test>
RCPT TO:<bob@example.test>
DATA
Subject: hello

..leading dot
body
.
QUIT
IN
	assert_success
	assert_line --index 11 --regexp '^250 2\.0\.0 Ok: queued as [0-9a-f]{16}\.1$'
	run delivered_body bob@example.test
	assert_output "$(printf 'Subject: hello\n\n.leading dot\nbody')"
	spool_is_empty
}
