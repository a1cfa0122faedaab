#!/usr/bin/env python3
"""auth_median.py SESSION ROUNDS LINE... - the median time of AUTH replies.

Each LINE is one AUTH command (e.g. "AUTH PLAIN <base64>").  For each of
ROUNDS rounds, one session per LINE runs at once (over pipes, stderr
appended to $LOG): greeting, EHLO, then the AUTH line; the time runs from
writing the AUTH line to reading its reply.  Prints one line per LINE:
    <median ms> <min ms> <max ms> <the reply>
and exits 1 if a LINE got different replies in different rounds."""
import os
import statistics
import subprocess
import sys
import threading
import time

session, rounds, auth_lines = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
times = [[] for _ in auth_lines]
replies = [set() for _ in auth_lines]


def read_reply(out):
    """The last line of one (possibly multi-line) reply."""
    while True:
        line = out.readline().decode("latin-1").rstrip("\r\n")
        if len(line) < 4 or line[3] != "-":
            return line


def one(i, log):
    p = subprocess.Popen([session], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=log)
    read_reply(p.stdout)                      # greeting
    p.stdin.write(b"EHLO client.test\r\n")
    p.stdin.flush()
    read_reply(p.stdout)
    start = time.monotonic()
    p.stdin.write(auth_lines[i].encode() + b"\r\n")
    p.stdin.flush()
    reply = read_reply(p.stdout)
    times[i].append((time.monotonic() - start) * 1000)
    replies[i].add(reply)
    p.stdin.write(b"QUIT\r\n")
    p.stdin.close()
    p.wait(30)


with open(os.environ["LOG"], "ab") as log:
    for _ in range(rounds):
        threads = [threading.Thread(target=one, args=(i, log))
                   for i in range(len(auth_lines))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)

status = 0
for i in range(len(auth_lines)):
    print("%.1f %.1f %.1f %s" % (statistics.median(times[i]), min(times[i]),
                                 max(times[i]), " | ".join(sorted(replies[i]))))
    if len(replies[i]) != 1:
        status = 1
sys.exit(status)
