#!/usr/bin/env python3
"""auth_timing.py SESSION INPUT... - timing and memory of one AUTH.

Runs the session once per INPUT file (its stderr appended to $LOG).  The
file holds the client's lines up to and including a final NOOP; the
connection stays open until the NOOP's reply, then the peak RSS of the
session (VmHWM: this process image only, not the forking Python) is read
from /proc, and QUIT ends it.  One line per run:
    <seconds> <VmHWM in KiB> <the AUTH reply, or the NOOP's without AUTH>
<seconds> runs from the start of the process to that reply.
"""
import os
import subprocess
import sys
import time


def vm_hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return -1


session = sys.argv[1]
with open(os.environ["LOG"], "ab") as log:
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            data = f.read()
        t0 = time.monotonic()
        p = subprocess.Popen([session], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=log)
        p.stdin.write(data)
        p.stdin.flush()
        shown, elapsed = None, None
        for raw in p.stdout:
            line = raw.decode().rstrip("\r\n")
            if line[:3] in ("235", "454", "535"):
                shown, elapsed = line, time.monotonic() - t0
            if line.startswith("250 2.0.0 Ok"):
                if shown is None:
                    shown, elapsed = line, time.monotonic() - t0
                break
        hwm = vm_hwm(p.pid)
        p.stdin.write(b"QUIT\r\n")
        p.stdin.close()
        p.stdout.read()
        p.wait(timeout=30)
        print(f"{elapsed:.3f} {hwm} {shown}", flush=True)
