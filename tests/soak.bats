# Kill -9 soak: 16 client threads send messages over a real listener
# (systemd-socket-activate --inetd, one session per connection) while a
# killer loop SIGKILLs random smtp-session and smtp-deliver processes of
# this test (copies of the binaries under $BATS_TEST_TMPDIR, so pgrep -f
# can never match another test's processes).  Afterwards: every message
# that got a 250 is in the Maildir; every file in new/ is a whole message
# that was fully sent, byte for byte; the spool is empty.
# Default 2000 messages (a few seconds here); SOAK_FULL=1 runs 20000.
load helper

PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

setup() {
	common_setup
	export SMTP_TIMEOUT=10 SMTP_SESSION_TIMEOUT=60
	BIN=$BATS_TEST_TMPDIR/bin
	mkdir -p "$BIN"
	cp "$SESSION" "$DELIVER" "$BIN/"
	SESSION=$BIN/smtp-session
	export SMTP_DELIVER=$BIN/smtp-deliver
	SERVER_PID= KILLER_PID=
}

teardown() {
	[ -z "$KILLER_PID" ] || kill "$KILLER_PID" 2>/dev/null || true
	stop_server
}

@test "soak: random SIGKILLs of sessions and deliver programs lose no 250'd message and leave no partial one" {
	local total=2000
	[ "${SOAK_FULL:-}" = 1 ] && total=20000
	start_inetd
	# the killer: every 20-90 ms (plus pgrep's time) one random process of
	# this test's copies
	(
		set +e
		end=$((SECONDS + 230))
		while [ $SECONDS -lt $end ]; do
			sleep "0.0$(( RANDOM % 8 + 2 ))"
			mapfile -t pids < <(pgrep -f "^$BIN/smtp-(session|deliver)( |$)")
			[ ${#pids[@]} -gt 0 ] || continue
			kill -9 "${pids[RANDOM % ${#pids[@]}]}" 2>/dev/null
			echo kill >>"$BATS_TEST_TMPDIR/kills"
		done
	) &
	KILLER_PID=$!
	local t0=$SECONDS
	run timeout 240 "$PYTHON" - "$PORT" "$total" "$BATS_TEST_TMPDIR/ok" <<'PY'
import socket, sys, threading

port, total, okfile = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
THREADS, PER_CONN = 16, 5
ok, lock = [], threading.Lock()
stats = {"fail": 0, "conn": 0}

def body(mid):
    lines = ["Message-ID: <%s@soak.test>" % mid, "Subject: soak %s" % mid, ""]
    lines += ["%s line %d %s" % (mid, i, "y" * (i % 60)) for i in range(40)]
    lines.append("END %s" % mid)
    return "\r\n".join(lines).encode() + b"\r\n"

class Gone(Exception):
    pass

def session(ids):
    """Sends ids over one connection; returns how many were attempted."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    f = s.makefile("rb")
    def reply():
        while True:
            l = f.readline()
            if not l:
                raise Gone()
            if l[3:4] != b"-":
                return l[:3]
    done = 0
    try:
        if reply() != b"220":
            return 0
        s.sendall(b"EHLO soak.test\r\n")
        reply()
        for mid in ids:
            done += 1
            s.sendall(b"MAIL FROM:<soak@sender.test>\r\n")
            if reply() != b"250":
                continue
            s.sendall(b"RCPT TO:<bob@example.test>\r\n")
            if reply() != b"250":
                s.sendall(b"RSET\r\n"); reply(); continue
            s.sendall(b"DATA\r\n")
            if reply() != b"354":
                continue
            s.sendall(body(mid) + b".\r\n")
            if reply() == b"250":
                with lock:
                    ok.append(mid)
        s.sendall(b"QUIT\r\n")
        reply()
    except (Gone, OSError):
        pass
    finally:
        s.close()
    return done

def worker(t):
    ids = ["m%d-%d" % (t, i) for i in range(total // THREADS)]
    while ids:
        try:
            n = session(ids[:PER_CONN])
        except OSError:
            n = 0
        with lock:
            stats["conn"] += 1
        ids = ids[max(n, 1):]

ts = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
for t in ts: t.start()
for t in ts: t.join()
with open(okfile, "w") as o:
    o.write("".join(m + "\n" for m in ok))
print("sent=%d ok=%d connections=%d" % (total // THREADS * THREADS, len(ok), stats["conn"]))
PY
	kill "$KILLER_PID" 2>/dev/null || true
	wait "$KILLER_PID" 2>/dev/null || true
	KILLER_PID=
	assert_success
	local summary=$output
	sessions_done || fail "sessions left over"
	# the check: every 250 delivered, every file whole and as sent
	run "$PYTHON" - "$BATS_TEST_TMPDIR/ok" "$MAILDIR_ROOT/example.test/bob" <<'PY'
import os, re, sys
okfile, box = sys.argv[1], sys.argv[2]
def body(mid):
    lines = ["Message-ID: <%s@soak.test>" % mid, "Subject: soak %s" % mid, ""]
    lines += ["%s line %d %s" % (mid, i, "y" * (i % 60)) for i in range(40)]
    lines.append("END %s" % mid)
    return "\n".join(lines).encode() + b"\n"
ok = set(open(okfile).read().split())
seen, bad = {}, []
for name in sorted(os.listdir(os.path.join(box, "new"))):
    data = open(os.path.join(box, "new", name), "rb").read()
    m = re.search(rb"^Message-ID: <([^@]+)@soak\.test>$", data, re.M)
    if not m:
        bad.append(name); continue
    mid = m.group(1).decode()
    i = data.find(b"\nMessage-ID: ")
    if not data.endswith(body(mid)) or data[i + 1:] != body(mid):
        bad.append(name); continue
    seen[mid] = seen.get(mid, 0) + 1
missing = sorted(ok - set(seen))
dups = sum(n - 1 for n in seen.values())
tmp = len(os.listdir(os.path.join(box, "tmp")))
print("ok=%d files=%d delivered_without_250=%d duplicates=%d tmp_left=%d bad=%s missing=%s"
      % (len(ok), sum(seen.values()), len(set(seen) - ok), dups, tmp, bad[:5], missing[:5]))
sys.exit(1 if bad or missing else 0)
PY
	echo "# $summary kills=$(wc -l <"$BATS_TEST_TMPDIR/kills" 2>/dev/null || echo 0) $output seconds=$((SECONDS - t0))" >&3
	assert_success
	# every session killed mid-message left nothing: O_TMPFILE spool
	spool_is_empty
	# and the soak did kill something, and most messages still got through
	[ "$(wc -l <"$BATS_TEST_TMPDIR/kills")" -ge 10 ]
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ok")" -ge $((total / 4)) ]
}
