#!/usr/bin/env python3
"""auth_memscan.py SESSION INPUT SECRET... - are secrets left in memory?

Runs the session with INPUT (the client's lines, ending with a NOOP; its
stderr appended to $LOG), waits for the NOOP's reply while the connection
stays open, then searches every readable private mapping of the session
(heap, stack, static data: /proc/PID/maps and /proc/PID/mem, which needs
root or ptrace rights) for each SECRET.  Prints the session's replies,
then "found SECRET in MAPPING" for each hit, then QUITs.
"""
import os
import subprocess
import sys

CHUNK = 1 << 20
MAX_MAPPING = 1 << 30       # larger ones are address-space reservations
OVERLAP = 4096              # longer than any secret searched for

session, path, secrets = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(path, "rb") as f:
    data = f.read()
with open(os.environ["LOG"], "ab") as log:
    p = subprocess.Popen([session], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=log)
    p.stdin.write(data)
    p.stdin.flush()
    for raw in p.stdout:
        line = raw.decode().rstrip("\r\n")
        print(line)
        if line.startswith("250 2.0.0 Ok"):
            break
    hits = []
    with open(f"/proc/{p.pid}/maps") as maps, \
         open(f"/proc/{p.pid}/mem", "rb", 0) as mem:
        for m in maps:
            f = m.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            name = f[5] if len(f) > 5 else "[anon]"
            if "r" not in f[1] or name in ("[vvar]", "[vsyscall]"):
                continue
            if "w" not in f[1] and name != "[anon]":
                continue            # read-only file text: not ours
            if hi - lo > MAX_MAPPING:
                continue            # a sanitizer's shadow reservation
            tail = b""
            for at in range(lo, hi, CHUNK):
                try:
                    mem.seek(at)
                    chunk = tail + mem.read(min(CHUNK, hi - at))
                except OSError:
                    break
                for s in secrets:
                    hit = f"found {s} in {name}"
                    if s.encode() in chunk and hit not in hits:
                        hits.append(hit)
                tail = chunk[-OVERLAP:]
    for h in hits:
        print(h)
    p.stdin.write(b"QUIT\r\n")
    p.stdin.close()
    p.stdout.read()
    p.wait(timeout=30)
