#!/bin/sh
# checkpassword stub that records its interface: fd 3's octets go to
# $CHECKPW_DUMP.fd3; where fd 0 and fd 1 point, and its arguments, to
# $CHECKPW_DUMP.  Exits 0 only if fd 3 held exactly
# "carol\0Zz9-Checkpw-Gamma\0\0" and fd 0 and fd 1 are /dev/null, else 1.
dump=${CHECKPW_DUMP:?}
fd0=$(readlink /proc/$$/fd/0)
fd1=$(readlink /proc/$$/fd/1)
head -c 600 <&3 > "$dump.fd3"
printf 'fd0=%s\nfd1=%s\nargs=%s\n' "$fd0" "$fd1" "$*" > "$dump"
printf 'carol\0Zz9-Checkpw-Gamma\0\0' | cmp -s - "$dump.fd3" || exit 1
[ "$fd0" = /dev/null ] && [ "$fd1" = /dev/null ] || exit 1
exit 0
