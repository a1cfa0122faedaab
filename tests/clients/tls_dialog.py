#!/usr/bin/env python3
"""tls_dialog.py PORT STEP... - a scripted SMTP client that can switch to TLS.

Prints every reply line it reads (without CRLF) and a line for each TLS
event, so a bats test can compare the transcript exactly.  Steps:

  <            read one (possibly multi-line) reply and print it
  >TEXT        send TEXT + CRLF (in its own write)
  =TEXT        send TEXT as it is, after backslash escapes (\\r \\n \\x00);
               one write, e.g. '=STARTTLS\\r\\nRSET\\r\\n' (injection test)
  tls          wrap the socket in TLS (no certificate check); prints
               "TLS <version>"
  raw=HEX      write these octets on the TCP socket (under TLS too)
  drip=HEX,SEC write the octets one at a time, SEC apart, until the peer
               closes; prints "DRIPPED <n>" (octets written)
  close        close the socket at once (no close_notify)
  eof          wait for the server to close; prints "EOF close_notify"
               (TLS closed properly), "EOF" (plain, or TLS without
               close_notify) or "TIMEOUT"
  sleep=SEC    pause

Every read waits at most 10 s (TIMEOUT printed, exit 1).  --implicit:
TLS from the first octet (RFC 8314).  --tls12: TLS 1.2 only.
"""
import select
import socket
import ssl
import sys
import time


def main():
    args = sys.argv[1:]
    implicit = "--implicit" in args
    tls12 = "--tls12" in args
    args = [a for a in args if a not in ("--implicit", "--tls12")]
    port, steps = int(args[0]), args[1:]
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    buf = b""
    is_tls = False

    def wrap(s):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        t = ctx.wrap_socket(s, server_hostname="mx.test",
                            suppress_ragged_eofs=False)
        print("TLS", t.version())
        return t

    def recv():
        """Data; b"" at a plain EOF (or TLS without close_notify); None
        after the peer's close_notify."""
        try:
            data = sock.recv(65536)
        except ssl.SSLZeroReturnError:
            return None
        except ssl.SSLEOFError:          # suppress_ragged_eofs=False
            return b""
        except (ConnectionResetError, BrokenPipeError):
            return b""
        if data == b"" and is_tls:       # Python: close_notify seen
            return None
        return data

    def read_line():
        nonlocal buf
        while b"\n" not in buf:
            data = recv()
            if not data:
                return None
            buf += data
        line, buf = buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    if implicit:
        sock = wrap(sock)
        is_tls = True
    for step in steps:
        try:
            if step == "<":
                while True:
                    line = read_line()
                    if line is None:
                        print("EOF")
                        return 1
                    print(line)
                    if len(line) < 4 or line[3] != "-":
                        break
            elif step.startswith(">"):
                sock.sendall(step[1:].encode() + b"\r\n")
            elif step.startswith("="):
                sock.sendall(step[1:].encode().decode("unicode_escape")
                             .encode("latin-1"))
            elif step == "tls":
                if buf:
                    print("UNREAD", repr(buf))
                sock = wrap(sock)
                is_tls = True
            elif step.startswith("raw="):
                raw = sock if not is_tls else socket.socket(fileno=sock.fileno())
                raw.sendall(bytes.fromhex(step[4:]))
                if is_tls:
                    raw.detach()
            elif step.startswith("drip="):
                hexs, gap = step[5:].split(",")
                n = 0
                for b in bytes.fromhex(hexs):
                    r, _, _ = select.select([sock], [], [], float(gap))
                    if r:
                        break            # the peer closed (or spoke)
                    try:
                        sock.sendall(bytes([b]))
                    except OSError:
                        break
                    n += 1
                print("DRIPPED", n)
            elif step == "close":
                s = socket.socket(fileno=sock.detach()) if is_tls else sock
                s.close()
                return 0
            elif step == "eof":
                while True:
                    data = recv()
                    if data is None:
                        print("EOF close_notify")
                        break
                    if data == b"":
                        print("EOF")
                        break
                    buf += data
                if buf:
                    print("UNREAD", repr(buf))
            elif step.startswith("sleep="):
                time.sleep(float(step[6:]))
            else:
                print("bad step", step, file=sys.stderr)
                return 2
        except socket.timeout:
            print("TIMEOUT")
            return 1
        except ssl.SSLError as e:
            print("TLS ERROR", e.reason)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
