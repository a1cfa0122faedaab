#!/bin/sh
# Deliver stub: saves the message (fd 0) to $FAKE_OUT.msg, the envelope
# (fd 1, a read end) to $FAKE_OUT.env and SMTP_AUTH_USER (or "unset")
# to $FAKE_OUT.user; exits 0.
cat > "$FAKE_OUT.msg" || exit 54
cat <&1 > "$FAKE_OUT.env" || exit 54
printf '%s\n' "${SMTP_AUTH_USER-unset}" > "$FAKE_OUT.user"
exit 0
