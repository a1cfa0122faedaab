#!/usr/bin/env python3
"""tests/systemd/burst.py - a burst of SMTP connections for check-systemd.

Opens --count connections to 127.0.0.1:--port, started evenly over
--spread seconds, from many loopback source addresses (most from a
spread of 127.0.1.x; the first 20 and every tenth from the single address 127.0.2.1, so the
per-source limit is exercised too).  A connection that gets the 220
greeting sends one message with a unique token and QUITs, after holding
the session a moment so that sessions overlap.  A connection closed
before the greeting was dropped by the socket's limits.

Writes OUT/served (one token per 250) and prints a summary.  Exits 1 if
any connection that was greeted did not end with 250 and 221 (a session
broken midway: that would be mail lost or refused without reason), or
if the client-side overlap of greeted sessions broke the limits.
"""
import argparse
import asyncio
import os
import resource
import sys
import time

MAX_TOTAL = 64
MAX_SOURCE = 8


async def one(i, src, port, hold, res):
    tok = f"burst-{os.getpid()}-{i}"
    t0 = time.monotonic()
    try:
        r, w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(src, 0)), 20)
    except Exception as e:  # noqa: BLE001
        res.append(("connect_error", src, tok, 0, 0, repr(e)))
        return
    try:
        line = await asyncio.wait_for(r.readline(), 60)
        if not line:
            res.append(("dropped", src, tok, 0, 0, ""))
            return
        tg = time.monotonic()
        if not line.startswith(b"220"):
            res.append(("bad_greeting", src, tok, 0, 0, line.decode(errors="replace")))
            return
        await asyncio.sleep(hold)

        async def cmd(c, want):
            w.write(c)
            await w.drain()
            while True:
                ln = await asyncio.wait_for(r.readline(), 60)
                if not ln:
                    raise EOFError(f"EOF after {c[:20]!r}")
                if ln[3:4] != b"-":
                    break
            if not ln.startswith(want):
                raise ValueError(f"{c[:20]!r} -> {ln!r}")
            return ln

        await cmd(b"EHLO burst.test\r\n", b"250")
        await cmd(b"MAIL FROM:<burst@client.test>\r\n", b"250")
        await cmd(b"RCPT TO:<burst@example.org>\r\n", b"250")
        await cmd(b"DATA\r\n", b"354")
        await cmd(f"Subject: {tok}\r\nMessage-ID: <{tok}@client.test>\r\n\r\n{tok}\r\n.\r\n"
                  .encode(), b"250")
        # 250 received: this message must be in the Maildir from now on
        served = ["served", src, tok, tg, 0, ""]
        res.append(served)
        await cmd(b"QUIT\r\n", b"221")
        await asyncio.wait_for(r.read(), 30)
        served[4] = time.monotonic()
    except Exception as e:  # noqa: BLE001
        res.append(("broken", src, tok, 0, 0, repr(e)))
    finally:
        w.close()


def overlap(iv):
    ev = sorted([(a, 1) for a, b in iv] + [(b, -1) for a, b in iv],
                key=lambda x: (x[0], x[1]))
    cur = mx = 0
    for _, d in ev:
        cur += d
        mx = max(mx, cur)
    return mx


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--spread", type=float, default=1.8)
    ap.add_argument("--hold", type=float, default=0.3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    res = []
    tasks = []
    t0 = time.monotonic()
    for i in range(a.count):
        src = "127.0.2.1" if i < 20 or i % 10 == 0 else f"127.0.1.{1 + i % 150}"
        at = t0 + a.spread * i / a.count
        d = at - time.monotonic()
        if d > 0:
            await asyncio.sleep(d)
        tasks.append(asyncio.create_task(one(i, src, a.port, a.hold, res)))
    started = time.monotonic() - t0
    await asyncio.gather(*tasks)
    took = time.monotonic() - t0
    kinds = {}
    for k, *_ in res:
        kinds[k] = kinds.get(k, 0) + 1
    served = [x for x in res if x[0] == "served"]
    with open(os.path.join(a.out, "served"), "w") as f:
        for x in served:
            f.write(x[2] + "\n")
    iv = [(x[3], x[4]) for x in served if x[4]]
    tot = overlap(iv)
    per = max([overlap([(x[3], x[4]) for x in served if x[4] and x[1] == s])
               for s in {x[1] for x in served}] or [0])
    print(f"connections started in {started:.2f} s, all done in {took:.1f} s")
    print("outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(kinds.items())))
    print(f"client-side overlap of greeted sessions: {tot} in all, {per} from one source")
    bad = [x for x in res if x[0] not in ("served", "dropped")]
    for x in bad[:10]:
        print("problem:", x)
    ok = (not bad and len(res) == a.count and started <= 2.0 and served
          and kinds.get("dropped", 0) > 0 and tot <= MAX_TOTAL and per <= MAX_SOURCE)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
