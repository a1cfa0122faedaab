#!/usr/bin/env python3
"""rawsmtp.py HOST PORT MODE - raw-socket SMTP clients for tests/sockets.bats.

Prints every line the server sends (CR removed), then "EOF" when the
server closes the connection.  Any wait is bounded (10 s); a timeout
prints "TIMEOUT" and exits 1.

MODE
  close     connect and close at once, reading and sending nothing
  rst-data  EHLO, MAIL, RCPT, DATA, half a message, then an RST (SO_LINGER 0)
  pipeline  EHLO, MAIL, two RCPTs and DATA in one send(); the message
            and QUIT in a second send(); read to EOF
  idle      read the greeting, then send nothing: read until the server
            closes; prints "elapsed=SECONDS" last
  busy      like idle, but a NOOP every 0.5 s
"""
import socket
import struct
import sys
import time

TIMEOUT = 10.0


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), TIMEOUT)
        self.buf = b""

    def line(self):
        """One line without CRLF, or None at EOF."""
        while b"\n" not in self.buf:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                print("TIMEOUT", flush=True)
                sys.exit(1)
            except ConnectionResetError:
                data = b""
            if not data:
                if self.buf:
                    out, self.buf = self.buf, b""
                    return out
                return None
            self.buf += data
        out, self.buf = self.buf.split(b"\n", 1)
        return out

    def show(self, line):
        sys.stdout.buffer.write(line.replace(b"\r", b"") + b"\n")
        sys.stdout.flush()

    def reply(self):
        """Reads and prints one whole (multi-line) reply; its code."""
        while True:
            line = self.line()
            if line is None:
                print("EOF", flush=True)
                sys.exit(1)
            self.show(line)
            if len(line) < 4 or line[3:4] != b"-":
                return line[:3]

    def to_eof(self):
        while True:
            line = self.line()
            if line is None:
                print("EOF", flush=True)
                return
            self.show(line)


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    start = time.monotonic()
    c = Conn(host, port)
    if mode == "close":
        c.sock.close()
        return
    c.reply()                                   # greeting
    if mode == "rst-data":
        c.sock.sendall(b"EHLO client.test\r\n")
        c.reply()
        for cmd in (b"MAIL FROM:<alice@sender.test>",
                    b"RCPT TO:<bob@example.test>", b"DATA"):
            c.sock.sendall(cmd + b"\r\n")
            c.reply()
        c.sock.sendall(b"Subject: cut short\r\n\r\nfirst line\r\nsecond")
        time.sleep(0.2)                         # let the server read it
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        c.sock.close()                          # RST, not FIN
    elif mode == "pipeline":
        c.sock.send(b"EHLO client.test\r\n"
                    b"MAIL FROM:<alice@sender.test>\r\n"
                    b"RCPT TO:<bob@example.test>\r\n"
                    b"RCPT TO:<eve@elsewhere.test>\r\n"
                    b"DATA\r\n")
        for _ in range(5):
            code = c.reply()
        if code != b"354":
            sys.exit(1)
        c.sock.send(b"Subject: pipelined\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n")
        c.to_eof()
    elif mode in ("idle", "busy"):
        if mode == "busy":
            c.sock.settimeout(0.5)
            while time.monotonic() - start < TIMEOUT:
                try:
                    c.sock.sendall(b"NOOP\r\n")
                except OSError:
                    break
                try:
                    data = c.sock.recv(4096)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    data = b""
                if not data:
                    break
                c.buf += data
                time.sleep(0.5)
            c.sock.settimeout(TIMEOUT)
        c.to_eof()
        print("elapsed=%.1f" % (time.monotonic() - start), flush=True)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
