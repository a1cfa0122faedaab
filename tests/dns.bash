# tests/dns.bash - a private DNS for the tests: a network namespace of
# its own with only lo up, a real dnsmasq on 127.0.0.1:53 inside it
# serving the records the test file names, and the programs under test
# run in that namespace with a private mount namespace in which
# /etc/resolv.conf is a bind mount of "nameserver 127.0.0.1".  Nothing
# here touches the host's /etc/resolv.conf or sends a packet outside
# the namespace (it has no interface but lo).
#
#   setup_file() {
#     dns_txt a.test 'v=spf1 ip4:192.0.2.1 -all'      # TXT, split at 255
#     dns_host mx.a.test 192.0.2.1                    # A/AAAA (+PTR)
#     dns_ptr 192.0.2.9 name.test                     # PTR only
#     dns_start                                       # netns + dnsmasq
#   }
#   teardown_file() { dns_stop; }
#   @test ... { run dns_run ./smtp-authres ...; }
#
# dns_run runs "$@" in the namespace (dns_exec: without a subshell).  DNS_RESOLV names another
# resolv.conf for one call (dns_resolv_dead: a server that never
# answers, for the time budget; dns_resolv_refused: nothing listens).
# Needs root (unshare, nsenter, mount), dnsmasq (Debian: dnsmasq-base),
# iproute2, python3.

DNS_ARGS=()

# dns_txt NAME TEXT: a TXT record; TEXT longer than 255 octets is cut
# into character-strings of 255 (RFC 1035 3.3.14), as DKIM keys need.
# dnsmasq takes the strings comma-separated and keeps quotes as they
# are (there is no shell here), so TEXT may not hold a comma.
dns_txt() {
	local text=$2 arg="--txt-record=$1"
	while [ ${#text} -gt 255 ]; do
		arg+=",${text:0:255}"
		text=${text:255}
	done
	DNS_ARGS+=("$arg,$text")
}

# dns_host NAME ADDR: A (or AAAA) record and the PTR back to NAME.
dns_host() { DNS_ARGS+=("--host-record=$1,$2"); }

# dns_ptr ADDR NAME: a PTR record only (no forward record).
dns_ptr() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	DNS_ARGS+=("--ptr-record=$d.$c.$b.$a.in-addr.arpa,$2")
}

# dns_zone DOMAIN: names under DOMAIN that are not listed are NXDOMAIN
# (.test and the reverse zones are already; dnsmasq has no upstream).
dns_zone() { DNS_ARGS+=("--local=/$1/"); }

# dns_a NAME ADDR: an A record without the PTR dns_host adds.
dns_a() { DNS_ARGS+=("--address=/$1/$2"); }

dns_start() {
	DNS_DIR=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/dns.XXXXXX")
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
		>"$DNS_DIR/resolv.conf"
	# unshare execs sh in the new namespace: $! is its process.
	unshare -n sh -c 'ip link set lo up && exec sleep 100000' \
		</dev/null >/dev/null 2>&1 3>&- &
	DNS_HOLDER=$!
	local i
	for i in $(seq 50); do
		[ "$(readlink "/proc/$DNS_HOLDER/ns/net")" != \
		  "$(readlink /proc/self/ns/net)" ] &&
			nsenter -t "$DNS_HOLDER" -n ip -o link show lo up |
			grep -q LOOPBACK && break
		sleep 0.05
	done
	# --local=/test/ ...: names of these zones that are not listed are
	# NXDOMAIN, not REFUSED (there is no upstream server).
	nsenter -t "$DNS_HOLDER" -n dnsmasq -C /dev/null --no-resolv \
		--no-hosts --port 53 --listen-address 127.0.0.1 \
		--bind-interfaces --keep-in-foreground --user=root \
		--pid-file="$DNS_DIR/dnsmasq.pid" --cache-size=0 \
		--local=/test/ --local=/in-addr.arpa/ --local=/ip6.arpa/ \
		--log-facility="$DNS_DIR/dnsmasq.log" --log-queries \
		"${DNS_ARGS[@]}" </dev/null >/dev/null 2>"$DNS_DIR/dnsmasq.err" 3>&- &
	DNS_PID=$!
	for i in $(seq 100); do
		nsenter -t "$DNS_HOLDER" -n ss -Hlun 'sport = :53' | grep -q . &&
			break
		sleep 0.05
	done
	nsenter -t "$DNS_HOLDER" -n ss -Hlun 'sport = :53' | grep -q . || {
		echo "dnsmasq did not start: $(cat "$DNS_DIR/dnsmasq.err")" >&2
		return 1
	}
	# A server that takes queries and never answers (the dead-resolver
	# case) on 127.0.0.2:53 in the namespace.
	nsenter -t "$DNS_HOLDER" -n python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 53))
while True:
    s.recv(4096)
' </dev/null >/dev/null 2>&1 3>&- &
	DNS_SINK=$!
	printf 'nameserver 127.0.0.2\noptions timeout:1 attempts:1\n' \
		>"$DNS_DIR/resolv.dead"
	printf 'nameserver 127.0.0.3\noptions timeout:1 attempts:1\n' \
		>"$DNS_DIR/resolv.refused"
	export DNS_DIR DNS_HOLDER DNS_PID DNS_SINK
}

dns_resolv_dead() { echo "$DNS_DIR/resolv.dead"; }
dns_resolv_refused() { echo "$DNS_DIR/resolv.refused"; }

# dns_exec CMD...: replaces the calling shell with CMD in the namespace,
# /etc/resolv.conf bound to ours (or $DNS_RESOLV) in a mount namespace
# of its own; `dns_exec server &` makes $! the server's own pid.
dns_exec() {
	exec nsenter -t "$DNS_HOLDER" -n unshare -m --propagation private \
		sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
		"${DNS_RESOLV:-$DNS_DIR/resolv.conf}" "$@"
}

# dns_run CMD...: the same in a subshell; returns CMD's status.
dns_run() {
	(dns_exec "$@")
}

dns_stop() {
	local p
	for p in "${DNS_SINK:-}" "${DNS_PID:-}" "${DNS_HOLDER:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "${DNS_SINK:-}" "${DNS_PID:-}" "${DNS_HOLDER:-}"; do
		[ -n "$p" ] && while kill -0 "$p" 2>/dev/null; do sleep 0.02; done
	done
	return 0
}
