#!/usr/bin/env python3
"""concurrent.py HOST PORT N - N smtplib clients at once (threads released
together by a barrier), each sending one message to bob@example.test with
Subject "concurrent I" and Message-ID <concurrent-I@sender.test>.
Prints "sent N" and exits 0 only if every message was accepted; each
failure is printed on stderr."""
import smtplib
import sys
import threading

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
barrier = threading.Barrier(n)
failures = []
lock = threading.Lock()


def client(i):
    try:
        barrier.wait(timeout=30)
        with smtplib.SMTP(host, port, local_hostname="client.test",
                          timeout=30) as s:
            msg = ("Subject: concurrent %d\r\n"
                   "Message-ID: <concurrent-%d@sender.test>\r\n"
                   "\r\n"
                   "message %d\r\n" % (i, i, i))
            refused = s.sendmail("alice@sender.test", ["bob@example.test"],
                                 msg)
            if refused:
                raise RuntimeError("refused: %r" % refused)
    except Exception as e:            # report every kind of failure
        with lock:
            failures.append("client %d: %r" % (i, e))


threads = [threading.Thread(target=client, args=(i,))
           for i in range(1, n + 1)]
for t in threads:
    t.start()
for t in threads:
    t.join(60)
for f in failures:
    print(f, file=sys.stderr)
alive = sum(t.is_alive() for t in threads)
if alive:
    print("%d clients still running" % alive, file=sys.stderr)
print("sent %d" % (n - len(failures) - alive))
sys.exit(1 if failures or alive else 0)
