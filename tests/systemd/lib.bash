# tests/systemd/lib.bash - shared by tests/systemd/run and its .bats files:
# the container's PID 1 and how to run commands inside it.
#
# Safety: every command meant for the container goes through ct(), which
# refuses unless $CT_PID1 is a systemd running in its own PID and mount
# namespaces (the container booted by tests/systemd/run), so nothing can
# land in this machine's own namespaces by mistake.

CT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ct_check() {
	local p=${CT_PID1:-}
	[[ $p =~ ^[0-9]+$ ]] || { echo "ct: CT_PID1 unset" >&2; return 1; }
	[ -e "/proc/$p/ns/pid" ] || { echo "ct: no process $p" >&2; return 1; }
	[ "$(readlink "/proc/$p/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] &&
	[ "$(readlink "/proc/$p/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
	[ "$(cat "/proc/$p/comm")" = systemd ] || {
		echo "ct: $p is not a container's systemd; refusing" >&2
		return 1
	}
}

# ct CMD... : runs CMD inside the container as its root, clean environment.
ct() {
	ct_check || return 97
	nsenter -t "$CT_PID1" -a -- env -i PATH="$CT_PATH" HOME=/root \
		LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

# ct_sh SCRIPT : runs a bash script (a string) inside the container.
ct_sh() {
	ct bash -c "$1"
}

# The container's root directory, seen from here (the same files).
ct_path() {
	printf '%s%s\n' "$CT_ROOT" "$1"
}

# What an admin has before the README's steps: a certbot lineage as
# certbot leaves it (a chain, leaf then issuer, and a key readable by
# root only), an $EDITOR (/scratch/editor: records that it ran, keeps the
# example as it is: mx.example.org, example.org, the paths it names) and
# the password mkpasswd will read (/scratch/alice.pw).
provision_admin() {
	local r=$CT_ROOT
	# A certbot lineage as certbot leaves it: a chain (leaf, then the
	# issuer) and a key, readable by root only.
	local le=$r/etc/letsencrypt live=$r/etc/letsencrypt/live/mx.example.org
	mkdir -p "$live" "$le/renewal-hooks/deploy"
	chmod 0700 "$le/live"
	(
		cd "$SCRATCH" || exit 1
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -days 30 -subj /CN=check-systemd-ca 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout leaf.key -out leaf.csr -subj /CN=mx.example.org 2>/dev/null
		printf 'subjectAltName=DNS:mx.example.org\n' > ext
		openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out leaf.pem -days 30 -extfile ext 2>/dev/null
	) || return 1
	cat "$SCRATCH/leaf.pem" "$SCRATCH/ca.pem" > "$live/fullchain.pem"
	install -m 0600 "$SCRATCH/leaf.key" "$live/privkey.pem"
	chmod 0644 "$live/fullchain.pem"
	# The admin's editor: records that it ran, keeps the example as it is
	# (mx.example.org, example.org, the paths it names).
	printf '#!/bin/sh\necho "$@" >> /scratch/editor.ran\n' > "$SCRATCH/editor"
	chmod 755 "$SCRATCH/editor"
	echo 'alice-pw-7Q' > "$SCRATCH/alice.pw"
}

# README.md's steps between the check-systemd markers, the ```sh blocks.
readme_steps() {
	awk '/<!-- check-systemd: begin -->/ { on = 1; next }
	     /<!-- check-systemd: end -->/ { on = 0 }
	     on && /^```sh$/ { b = 1; next }
	     on && /^```$/ { b = 0; next }
	     on && b' "$REPO/README.md"
}


MD=/var/lib/smtp-session/Maildir/example.org

# swaks against one of the ports, with a 30 s bound.
sw() {
	timeout 60 swaks --hide-informational --from sender@client.test \
		--helo client.test "$@"
}

# our Received header of Maildir file $1, unfolded
received() {
	awk '/^Received: / { r = 1; printf "%s", $0; next }
	     r && /^[ \t]/ { printf " %s", $0; next } r { exit }' "$1"
}

# the Maildir files (in the container) that contain $1
delivered() {
	grep -rlF -- "$1" "$(ct_path "$MD")" 2>/dev/null
}

