#!/usr/bin/env python3
"""tests/systemd/features.py PORT - one MX session through the units that
uses most of the protocol: EHLO keywords, a pipelined transaction, BDAT,
SMTPUTF8, SIZE, VRFY/HELP/NOOP/RSET, an unknown command, then STARTTLS and
a second transaction.  Prints each exchange; exits 1 on the first reply
that is not the expected one."""
import socket
import ssl
import sys

port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port), timeout=30)
f = s.makefile("rb")


def replies(n=1):
    out = []
    for _ in range(n):
        lines = []
        while True:
            ln = f.readline()
            if not ln:
                raise SystemExit("EOF")
            lines.append(ln.decode("utf-8", "replace").rstrip("\r\n"))
            if ln[3:4] != b"-":
                break
        out.append(lines)
    return out


def expect(send, *codes):
    if send is not None:
        s.sendall(send)
    got = replies(len(codes))
    for want, lines in zip(codes, got):
        print(f"{send!r:.60} -> {lines[-1]}")
        if not lines[-1].startswith(want):
            print("unexpected:", lines)
            sys.exit(1)
    return got


expect(None, "220")
ehlo = expect(b"EHLO features.test\r\n", "250")[0]
for kw in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
           "CHUNKING", "STARTTLS"):
    if not any(l[4:].startswith(kw) for l in ehlo):
        print("EHLO lacks", kw, ehlo)
        sys.exit(1)
# one pipelined group, answered in order
expect(b"MAIL FROM:<p@client.test>\r\nRCPT TO:<user@example.org>\r\nDATA\r\n",
       "250", "250", "354")
expect(b"Subject: features-pipelined\r\n\r\n..dot\r\n.\r\n", "250")
expect(b"MAIL FROM:<b@client.test> BODY=8BITMIME\r\n", "250")
expect(b"RCPT TO:<user@example.org>\r\n", "250")
body = b"Subject: features-bdat\r\n\r\nchunked \xc3\xa4\r\n"
expect(b"BDAT %d LAST\r\n" % len(body) + body, "250")
expect("MAIL FROM:<jö@client.test> SMTPUTF8\r\n".encode(), "250")
expect(b"RCPT TO:<user@example.org>\r\n", "250")
expect(b"DATA\r\n", "354")
expect("Subject: features-utf8 ö\r\n\r\nö\r\n.\r\n".encode(), "250")
expect(b"MAIL FROM:<big@client.test> SIZE=99999999999\r\n", "552")
expect(b"VRFY user\r\n", "252")
expect(b"HELP\r\n", "214")
expect(b"NOOP\r\n", "250")
expect(b"RSET\r\n", "250")
expect(b"XYZZY\r\n", "500")
expect(b"STARTTLS\r\n", "220")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(s, server_hostname="mx.example.org")
f = s.makefile("rb")
print("TLS:", s.version(), s.cipher()[0])
expect(b"EHLO features.test\r\n", "250")
expect(b"MAIL FROM:<t@client.test>\r\nRCPT TO:<user@example.org>\r\nDATA\r\n",
       "250", "250", "354")
expect(b"Subject: features-tls\r\n\r\nx\r\n.\r\n", "250")
expect(b"QUIT\r\n", "221")
print("all as expected")
