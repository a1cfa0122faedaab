#!/usr/bin/env python3
"""auth_race.py HOST PORT N MODE USER WRONG RIGHT [SOURCE...]

The brute-force race against the lockout: N connections to HOST:PORT each
say EHLO, AUTH LOGIN and the user name, and stop at the password prompt.
Then the passwords go: WRONG on every connection but the last, RIGHT on
the last.  MODE "seq" answers the connections one by one, each waiting
for its verdict; MODE "burst" sends all N passwords at once (threads
released by a barrier).  SOURCE addresses, if given, are bound in turn
as the client side of the connections (several addresses of one /64).

Prints one line:
  verified=V ok=K bad=B refused=R early=E
V = 535s + 235s (passwords the server verified), K = 235s, B = 535s,
R = 421s in answer to a password (refused without verification),
E = connections refused before the password prompt.  Exit 0 unless a
connection saw something unexpected (printed on stderr)."""
import base64
import socket
import sys
import threading

host, port, n, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
user, wrong, right = sys.argv[5], sys.argv[6], sys.argv[7]
sources = sys.argv[8:]
errors = []


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Conn:
    def __init__(self, i):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        if sources:
            self.sock.bind((sources[i % len(sources)], 0))
        self.sock.connect((host, port))
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                return ""
            self.buf += data
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out.decode("latin-1")

    def reply(self):
        """The last line of one reply (multi-line replies skipped)."""
        while True:
            text = self.line()
            if len(text) < 4 or text[3] != "-":
                return text

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")


def to_prompt(i):
    """Returns the connection at the password prompt, or None (refused)."""
    c = Conn(i)
    steps = [(None, "220"), ("EHLO client.test", "250"),
             ("AUTH LOGIN", "334"), (b64(user), "334")]
    for cmd, want in steps:
        if cmd:
            c.send(cmd)
        r = c.reply()
        if r.startswith("421"):
            c.sock.close()
            return None
        if not r.startswith(want):
            errors.append("connection %d: %r after %r" % (i, r, cmd))
            c.sock.close()
            return None
    return c


def verdict(c, pw):
    c.send(b64(pw))
    r = c.reply()
    c.sock.close()
    return r[:3]


conns = [to_prompt(i) for i in range(n)]
early = sum(1 for c in conns if c is None)
results = [None] * n
if mode == "seq":
    for i, c in enumerate(conns):
        if c:
            results[i] = verdict(c, right if i == n - 1 else wrong)
else:
    barrier = threading.Barrier(n - early)

    def run(i, c):
        barrier.wait(timeout=30)
        results[i] = verdict(c, right if i == n - 1 else wrong)
    threads = [threading.Thread(target=run, args=(i, c))
               for i, c in enumerate(conns) if c]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

codes = [r for r in results if r is not None]
for r in codes:
    if r not in ("235", "535", "421"):
        errors.append("unexpected verdict %r" % r)
ok, bad, refused = codes.count("235"), codes.count("535"), codes.count("421")
print("verified=%d ok=%d bad=%d refused=%d early=%d"
      % (ok + bad, ok, bad, refused, early))
for e in errors:
    print(e, file=sys.stderr)
sys.exit(1 if errors else 0)
