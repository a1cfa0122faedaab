#!/bin/sh
# Saves the message (fd 0) to $FAKE_OUT.msg and the deliver environment's SMTP_TLS to $FAKE_OUT.tls ("unset" if unset); exits 0.
cat > "$FAKE_OUT.msg" || exit 54
cat <&1 > /dev/null
if [ "${SMTP_TLS+set}" = set ]; then
	printf '%s\n' "$SMTP_TLS" > "$FAKE_OUT.tls"
else
	echo unset > "$FAKE_OUT.tls"
fi
exit 0
