#!/usr/bin/python3
"""tests/clients/dkim_verify.py - verifies every DKIM-Signature of a message
with dkimpy (Debian python3-dkim), an implementation independent of
libopendkim.  No DNS: the public keys are given on the command line.

  dkim_verify.py MESSAGE NAME=TXT...

NAME is the key's DNS name (sel._domainkey.example.org), TXT its record
("v=DKIM1; k=rsa; p=...").  The message's LF line ends become CRLF first
(what the next SMTP hop sends).  One line per signature, in header order:
  <index> d=<domain> s=<selector> a=<algorithm> <pass|fail> h=<fields> [(why)]
Exit 0 when there is at least one signature and every one passes, else 1.
"""
import re
import sys

import dkim


def main():
    msg = open(sys.argv[1], 'rb').read()
    msg = re.sub(rb'\r?\n', b'\r\n', msg)
    keys = {}
    for arg in sys.argv[2:]:
        name, txt = arg.split('=', 1)
        keys[name.encode()] = txt.encode()

    def dnsfunc(name, timeout=5):
        return keys.get(name.rstrip(b'.'))

    d = dkim.DKIM(msg)
    sigs = [i for i, (k, v) in enumerate(d.headers) if k.lower() == b'dkim-signature']
    ok = len(sigs) > 0
    for n in range(len(sigs)):
        why = ''
        try:
            res = dkim.DKIM(msg).verify(idx=n, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            res, why = False, ' (%s)' % e
        tags = dkim.util.parse_tag_value(re.sub(rb'\s+', b'', d.headers[sigs[n]][1]))
        print('%d d=%s s=%s a=%s %s h=%s%s' % (
            n, tags[b'd'].decode(), tags[b's'].decode(), tags[b'a'].decode(),
            'pass' if res else 'fail', tags[b'h'].decode(), why))
        ok = ok and res
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
