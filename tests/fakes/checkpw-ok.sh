#!/bin/sh
# checkpassword stub: reads fd 3 (user\0pass\0timestamp\0) and accepts anyone: exit 0.
cat <&3 >/dev/null
exit 0
