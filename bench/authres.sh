#!/bin/bash
# bench/authres.sh - what smtp-authres adds to the deliver chain per
# message (issue 14's "make bench shows the chain's cost per message with
# and without smtp-authres").  bench/run calls it last; alone:
#   bench/authres.sh            (as root, after make; SMTP_BUILD: another build)
#
# The chain is run exactly as smtp-session runs it after DATA (message on
# fd 0 as a regular file, envelope on fd 1, TCPREMOTEIP and SMTP_HELO
# set), RUNS times per variant, the variants alternating in BLOCKS blocks:
#   deliver          smtp-deliver alone (the floor of the chain)
#   authres          smtp-authres smtp-deliver, a message without DKIM
#                    signature (iprev, SPF, DMARC: 5 DNS queries)
#   authres+dkim     the same with one rsa-sha256 2048-bit signature made
#                    by dkimpy (one more query, one RSA verification)
#   authres, no dns  the signed message against a resolver that refuses
#                    at once (every verdict temperror): the cost of the
#                    process, libraries and sandbox without DNS
# DNS is dnsmasq in a network namespace (tests/dns.bash), on loopback, no
# cache in dnsmasq: each query is a real UDP round trip, answered in
# microseconds, so the figures are the program's own cost; a real
# resolver adds its latency (cached: well under a millisecond).
# Per variant: wall ms per message (the loop's time / RUNS, a fork+exec
# of the rusage wrapper included, the same for all variants), CPU ms per
# message (user+sys of the whole chain: smtp-authres, its checking child,
# smtp-deliver; from wait4 via bench/build/rusage) and the largest RSS.
# With valgrind installed, also the instructions (callgrind Ir) of
# smtp-authres for one message of each kind: the machine is shared and
# noisy, instruction counts are not.  callgrind reports the checking
# child, whose count includes everything its parent did before the fork
# (loader, header, suffix list); the parent's few steps after it end in
# execve(2), where callgrind reports nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SMTP_BUILD:-$top}
RUNS=${AUTHRES_RUNS:-200}
BLOCKS=4
PY=/usr/bin/python3
RU=$top/bench/build/rusage

[ "$(id -u)" = 0 ] || { echo "authres.sh: skipped (needs root for the network namespace)"; exit 0; }
for t in "$build/smtp-authres" "$build/smtp-deliver" "$RU"; do
	[ -x "$t" ] || { echo "authres.sh: no $t (make bench)" >&2; exit 2; }
done
command -v dnsmasq >/dev/null && "$PY" -c 'import dkim' 2>/dev/null ||
	{ echo "authres.sh: skipped (needs dnsmasq and python3-dkim: make deps)"; exit 0; }

T=$(mktemp -d /tmp/authres-bench.XXXXXX)
BATS_FILE_TMPDIR=$T
# shellcheck source=../tests/dns.bash
. "$top/tests/dns.bash"
trap 'dns_stop; rm -rf "$T"' EXIT

openssl genrsa -out "$T/key.pem" 2048 2>/dev/null
pub=$(openssl rsa -in "$T/key.pem" -pubout -outform DER 2>/dev/null | base64 -w0)
dns_txt a.test 'v=spf1 ip4:192.0.2.10 -all'
dns_txt sel._domainkey.a.test "v=DKIM1; k=rsa; p=$pub"
dns_txt _dmarc.a.test 'v=DMARC1; p=reject'
dns_host mx.a.test 192.0.2.10
dns_start

# a 4 KiB message, like bench/run's default
{
	printf 'From: Alice <alice@a.test>\nTo: bench@example.test\nSubject: bench\nMessage-ID: <1@a.test>\n\n'
	for _ in $(seq 64); do printf '%063d\n' 0; done
} >"$T/plain"
"$PY" - "$T/key.pem" "$T/plain" "$T/signed" <<'EOF'
import dkim, sys
key, src, dst = sys.argv[1:]
m = open(src, "rb").read()
s = dkim.sign(m, b"sel", b"a.test", open(key, "rb").read(),
              canonicalize=(b"relaxed", b"relaxed"),
              include_headers=[b"from", b"to", b"subject", b"message-id"])
open(dst, "wb").write(s + m)
EOF
printf 'Falice@a.test\0Tbench@example.test\0\0' >"$T/env"

export TCPREMOTEIP=192.0.2.10 SMTP_HELO=mx.a.test SMTP_HOSTNAME=mx.test \
	SMTP_DOMAINS=example.test MAILDIR_ROOT=$T/md SMTP_DMARC_DIR=$T/dmarc
unset SMTP_AUTH_USER RELAYCLIENT SMTP_AUTHRES_SPF_REJECT \
	SMTP_AUTHRES_DMARC_REJECT SMTP_AUTHRES_DMARC_QUARANTINE

# the verdicts must be the real ones, or the figures mean nothing
dns_run "$build/smtp-authres" "$build/smtp-deliver" <"$T/signed" 1<"$T/env" 2>"$T/check"
check=$(cat "$T/check")
case $check in
*"iprev=pass spf=pass smtp.mailfrom=a.test dkim=a.test:pass dmarc=pass"*) ;;
*) echo "authres.sh: unexpected verdicts: $check" >&2; exit 1 ;;
esac

# loop VARIANT N: N chains in the namespace; prints the wall ns of the loop
loop() {
	local v=$1 n=$2 msg=$T/signed resolv=$DNS_DIR/resolv.conf
	local cmd=("$build/smtp-authres" "$build/smtp-deliver")
	case $v in
	deliver) cmd=("$build/smtp-deliver") ;;
	authres) msg=$T/plain ;;
	nodns) resolv=$(dns_resolv_refused) ;;
	esac
	DNS_RESOLV=$resolv dns_run bash -c '
		ru=$1 out=$2 msg=$3 env=$4 n=$5; shift 5
		t0=$(date +%s%N)
		for ((i = 0; i < n; i++)); do
			"$ru" "$out" "$@" <"$msg" 1<"$env" 2>/dev/null
		done
		echo $(( $(date +%s%N) - t0 ))' \
		_ "$RU" "$T/ru.$v" "$msg" "$T/env" "$n" "${cmd[@]}"
	rm -rf "$T/md/example.test/bench/new"
}

declare -A wall
variants=(deliver authres dkim nodns)
for v in "${variants[@]}"; do wall[$v]=0; loop "$v" 5 >/dev/null; rm -f "$T/ru.$v"; done
per=$((RUNS / BLOCKS))
for ((b = 0; b < BLOCKS; b++)); do
	for v in "${variants[@]}"; do
		w=$(loop "$v" "$per")
		wall[$v]=$((wall[$v] + w))
	done
done

cpu_ms() { awk '{ s += $1 + $2; n++ } END { printf "%.3f", n ? s / n / 1000 : 0 }' "$1"; }
rss_kib() { awk '$3 > m { m = $3 } END { print m + 0 }' "$1"; }
n=$((per * BLOCKS))
base_w=$(awk -v w="${wall[deliver]}" -v n="$n" 'BEGIN { printf "%.3f", w / n / 1e6 }')
base_c=$(cpu_ms "$T/ru.deliver")
echo
echo "smtp-authres in the chain, $(date -u +%FT%TZ), $n messages per variant (4 KiB), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| chain | wall ms/msg | CPU ms/msg | max RSS KiB | wall − deliver alone | CPU − deliver alone |"
echo "|---|---:|---:|---:|---:|---:|"
label() {
	case $1 in
	deliver) echo "smtp-deliver alone" ;;
	authres) echo "smtp-authres → smtp-deliver, no signature" ;;
	dkim) echo "smtp-authres → smtp-deliver, 1 DKIM signature (RSA 2048)" ;;
	nodns) echo "the same, resolver refusing (all temperror)" ;;
	esac
}
for v in "${variants[@]}"; do
	w=$(awk -v w="${wall[$v]}" -v n="$n" 'BEGIN { printf "%.3f", w / n / 1e6 }')
	c=$(cpu_ms "$T/ru.$v")
	printf '| %s | %s | %s | %s | %s | %s |\n' "$(label "$v")" "$w" "$c" \
		"$(rss_kib "$T/ru.$v")" \
		"$(awk -v a="$w" -v b="$base_w" 'BEGIN { printf "%+.3f", a - b }')" \
		"$(awk -v a="$c" -v b="$base_c" 'BEGIN { printf "%+.3f", a - b }')"
done

command -v valgrind >/dev/null || exit 0
# ir VARIANT: callgrind's instruction count of the checking child
ir() {
	local msg=$T/signed resolv=$DNS_DIR/resolv.conf
	case $1 in
	authres) msg=$T/plain ;;
	nodns) resolv=$(dns_resolv_refused) ;;
	esac
	# stderr must be a pipe: the child may not write a regular file
	DNS_RESOLV=$resolv dns_run valgrind --tool=callgrind \
		--callgrind-out-file=/dev/null "$build/smtp-authres" /bin/true \
		<"$msg" 2>&1 1<"$T/env" | sed -n 's/^==\([0-9]*\)== Collected : //p' |
		sort -n | tail -1
}
echo
echo "| smtp-authres up to the hand-off (callgrind) | instructions |"
echo "|---|---:|"
for v in authres dkim nodns; do
	printf '| %s | %s |\n' "$(label "$v")" "$(ir "$v")"
done
