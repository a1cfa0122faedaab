#!/usr/bin/env python3
"""smuggle_send.py PORT MODE PAYLOAD - SMTP smuggling probes over a real socket.

PAYLOAD has backslash escapes (\\r \\n \\x00).  MODE:
  data       EHLO, MAIL, RCPT, DATA (each reply read), then PAYLOAD in one
             write, then QUIT; prints every line until the server closes
  data-drip  like data, but PAYLOAD is written one octet per write
             (TCP_NODELAY, 2 ms apart): the look-alike spans many reads
  bdat       EHLO, MAIL, RCPT, then "BDAT <len> LAST" + PAYLOAD, QUIT
Every line the server sends is printed without CR; "EOF" at the end.
Every wait is bounded (10 s): "TIMEOUT" and exit 1.
"""
import socket
import sys
import time


def unescape(s):
    return s.encode("latin-1").decode("unicode_escape").encode("latin-1")


def main():
    port, mode, payload = int(sys.argv[1]), sys.argv[2], unescape(sys.argv[3])
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""

    def reply():
        nonlocal buf
        while True:
            while b"\n" not in buf:
                try:
                    d = s.recv(4096)
                except socket.timeout:
                    print("TIMEOUT", flush=True)
                    sys.exit(1)
                if not d:
                    print("EOF", flush=True)
                    sys.exit(1)
                buf += d
            line, buf = buf.split(b"\n", 1)
            line = line.rstrip(b"\r")
            sys.stdout.buffer.write(line + b"\n")
            sys.stdout.flush()
            if len(line) < 4 or line[3:4] != b"-":
                return

    reply()
    for cmd in (b"EHLO client.test", b"MAIL FROM:<alice@sender.test>",
                b"RCPT TO:<bob@example.test>"):
        s.sendall(cmd + b"\r\n")
        reply()
    if mode == "bdat":
        s.sendall(b"BDAT %d LAST\r\n" % len(payload) + payload + b"QUIT\r\n")
    else:
        s.sendall(b"DATA\r\n")
        reply()
        if mode == "data-drip":
            for i in range(len(payload)):
                s.sendall(payload[i:i + 1])
                time.sleep(0.002)
        else:
            s.sendall(payload)
        s.sendall(b"QUIT\r\n")
    s.shutdown(socket.SHUT_WR)
    while True:
        try:
            d = s.recv(4096)
        except socket.timeout:
            print("TIMEOUT", flush=True)
            sys.exit(1)
        except ConnectionResetError:
            d = b""
        if not d:
            break
        buf += d
    for line in buf.split(b"\n"):
        if line:
            sys.stdout.buffer.write(line.rstrip(b"\r") + b"\n")
    print("EOF", flush=True)


main()
