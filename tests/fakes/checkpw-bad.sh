#!/bin/sh
# checkpassword stub: reads fd 3 and refuses: exit 1 (bad credentials).
cat <&3 >/dev/null
exit 1
