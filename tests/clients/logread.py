#!/usr/bin/env python3
"""logread.py - reads smtp-session's log as a script would, by the grammar
of smtp-session(8), LOGGING, and fails on any line that does not follow it.

  logread.py stderr FILE [EVENT] [KEY=VALUE ...]
      parses every line of FILE (stderr format); prints the lines of
      EVENT (any event when "-") whose fields match, one JSON object
      each, values unescaped to bytes shown as latin-1.
  logread.py journal DIR [KEY=VALUE ...]
      the datagrams in DIR (one file each, FIELD=value lines, as the
      native journal protocol sends them), matched like journalctl
      FIELD=VALUE matches (all must hold); prints each as JSON.
Exit 0 when at least one entry matched, 1 when none, 2 on a bad line.
"""
import json, os, re, sys

ESC = r'\\x[0-9a-fA-F]{2}'
TOKEN = r'(?:[\x21\x23-\x5b\x5d-\x7e]|' + ESC + r')*'
TEXT = r'(?:[\x20\x21\x23-\x5b\x5d-\x7e]|' + ESC + r')*'
VALUE = r'(?:"' + TEXT + r'"|' + TOKEN + r')'
PAIR = r' ([a-z_]+)=(' + VALUE + r')'
LINE = re.compile(r'^smtp-session\[([0-9]+)\]: ([a-z_]+) id=(' + VALUE +
                  r') client=(' + VALUE + r') country=(' + VALUE + r')((?:' +
                  PAIR + r')*)$')


def unescape(v):
    if v.startswith('"'):
        assert v.endswith('"') and len(v) >= 2, v
        v = v[1:-1]
    return re.sub(ESC, lambda m: chr(int(m.group(0)[2:], 16)), v)


def parse(line):
    m = LINE.match(line)
    if not m:
        return None
    fields = {'pid': m.group(1), 'event': m.group(2), 'id': unescape(m.group(3)),
              'client': unescape(m.group(4)), 'country': unescape(m.group(5))}
    keys = []
    for k, v in re.findall(PAIR, m.group(6)):
        if k in fields:
            raise SystemExit('repeated key %s in: %s' % (k, line))
        keys.append(k)
        fields[k] = unescape(v)
    fields['_keys'] = keys
    return fields


def matches(entry, conds):
    for c in conds:
        k, _, v = c.partition('=')
        if entry.get(k) != v:
            return False
    return True


def stderr_mode(path, event, conds):
    hit = 0
    with open(path, encoding='latin-1') as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip('\n')
            if line.startswith('smtp-session['):
                e = parse(line)
                if e is None:
                    print('line %d does not follow the grammar: %r' % (n, line),
                          file=sys.stderr)
                    sys.exit(2)
                if event in ('-', e['event']) and matches(e, conds):
                    print(json.dumps(e))
                    hit += 1
    return hit


def journal_mode(d, conds):
    hit = 0
    for name in sorted(os.listdir(d), key=lambda x: int(x) if x.isdigit() else 0):
        entry = {}
        with open(os.path.join(d, name), encoding='latin-1') as f:
            for raw in f:
                line = raw.rstrip('\n')
                k, sep, v = line.partition('=')
                if not sep or not re.match(r'^[A-Z][A-Z0-9_]*$', k):
                    print('bad journal field in %s: %r' % (name, line), file=sys.stderr)
                    sys.exit(2)
                entry[k] = v
        if matches(entry, conds):
            print(json.dumps(entry))
            hit += 1
    return hit


def main():
    mode, src = sys.argv[1], sys.argv[2]
    if mode == 'stderr':
        event = sys.argv[3] if len(sys.argv) > 3 else '-'
        hit = stderr_mode(src, event, sys.argv[4:])
    else:
        hit = journal_mode(src, sys.argv[3:])
    sys.exit(0 if hit else 1)


if __name__ == '__main__':
    main()
