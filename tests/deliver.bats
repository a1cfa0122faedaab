#!/usr/bin/env bats
# Tests for smtp-deliver (the qmail-queue style Maildir deliverer).
# Run from /work/main: bats tests/deliver.bats
# TEST_BUILD (as tests/run-bats and check-asan set it) or
# TEST_DELIVER_BIN points the suite at another build (e.g. ASan).

bats_require_minimum_version 1.5.0
setup() {
  load '/usr/lib/bats/bats-support/load'
  load '/usr/lib/bats/bats-assert/load'
  DELIVER=${TEST_DELIVER_BIN:-${TEST_BUILD:-$BATS_TEST_DIRNAME/..}/smtp-deliver}
  export MAILDIR_ROOT=$BATS_TEST_TMPDIR/maildir
  # the local domains, as smtp-session passes them on; others are refused
  export SMTP_DOMAINS='example.test one.test two.test example.org' SMTP_HOSTNAME=mx.test
  T=$BATS_TEST_TMPDIR
  # A message with 8-bit octets, a bare CR and a lone dot line: all of
  # it must come out unchanged.
  printf 'Received: from client.test by mx.test\nSubject: test\n\nbody \xe9\xff\r bare CR\n.\nend\n' > "$T/msg"
}

# envelope SENDER RCPT... -> $T/env in qmail-queue(8) format.
envelope() {
  { printf 'F%s\0' "$1"; shift
    local r
    for r in "$@"; do printf 'T%s\0' "$r"; done
    printf '\0'; } > "$T/env"
}

# The deliverer exactly as smtp-session runs it: message on fd 0,
# envelope readable on fd 1; what is captured is stderr.
deliver() {
  "$DELIVER" < "$T/msg" 1< "$T/env"
}

# Prints the one file in directory $1; fails unless there is exactly one.
only_file() {
  local files=("$1"/*)
  if [ "${#files[@]}" -ne 1 ] || [ ! -f "${files[0]}" ]; then
    echo "expected exactly one file in $1, found: ${files[*]}" >&2
    return 1
  fi
  printf '%s\n' "${files[0]}"
}

empty_dir() {
  [ -d "$1" ] || { echo "$1 is not a directory" >&2; return 1; }
  [ -z "$(ls -A "$1")" ] || { echo "$1 is not empty: $(ls -A "$1")" >&2; return 1; }
}

# assert_copy DIR SENDER RCPT: DIR/new holds exactly the expected copy,
# DIR/tmp is empty.
assert_copy() {
  local f
  f=$(only_file "$1/new")
  { printf 'Return-Path: <%s>\nDelivered-To: %s\n' "$2" "$3"; cat "$T/msg"; } > "$T/expected"
  cmp "$T/expected" "$f"
  empty_dir "$1/tmp"
}

# Nothing at all may exist under the root (not even the root itself).
assert_untouched() {
  if [ -e "$MAILDIR_ROOT" ]; then
    echo "MAILDIR_ROOT was created:" >&2; find "$MAILDIR_ROOT" >&2
    return 1
  fi
}

assert_no_files() {
  local files
  files=$(find "$MAILDIR_ROOT" -type f)
  [ -z "$files" ] || { echo "files left: $files" >&2; return 1; }
}

# One diagnostic line, with the program's prefix.
assert_one_line() {
  [ "${#lines[@]}" -eq 1 ] || { echo "expected one stderr line, got: $output" >&2; return 1; }
  assert_output --regexp '^smtp-deliver: '
}

# refused ADDR TEXT: a good recipient plus ADDR is refused with 31 and
# TEXT in the reason; nothing is written (all-or-nothing).
refused() {
  envelope 'sender@client.test' 'good@example.test' "$1"
  run -31 deliver
  assert_one_line
  assert_output --partial "$2"
  assert_untouched
}

# ---- successful deliveries ------------------------------------------

@test "one recipient: byte-exact copy in new/, tmp/ empty, cur/ made" {
  envelope 'sender@client.test' 'user@example.test'
  run -0 deliver
  assert_output ''
  assert_copy "$MAILDIR_ROOT/example.test/user" 'sender@client.test' 'user@example.test'
  empty_dir "$MAILDIR_ROOT/example.test/user/cur"
}

@test "maildir(5) file name, modes 0600 and 0700" {
  envelope 'sender@client.test' 'user@example.test'
  run -0 deliver
  f=$(only_file "$MAILDIR_ROOT/example.test/user/new")
  host=$(hostname | sed -e 's,/,\\057,g' -e 's,:,\\072,g')
  name=${f##*/}
  [[ $name =~ ^[0-9]+\.M[0-9]+P[0-9]+Q1\.(.*)$ ]]
  [ "${BASH_REMATCH[1]}" = "$host" ]
  [ "$(stat -c %a "$f")" = 600 ]
  for d in "$MAILDIR_ROOT" "$MAILDIR_ROOT/example.test" \
           "$MAILDIR_ROOT/example.test/user" "$MAILDIR_ROOT/example.test/user/"{tmp,new,cur}; do
    [ "$(stat -c %a "$d")" = 700 ]
  done
}

@test "several recipients in different domains: one copy each" {
  envelope 'sender@client.test' 'a@one.test' 'b@two.test' 'c@two.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/one.test/a" 'sender@client.test' 'a@one.test'
  assert_copy "$MAILDIR_ROOT/two.test/b" 'sender@client.test' 'b@two.test'
  assert_copy "$MAILDIR_ROOT/two.test/c" 'sender@client.test' 'c@two.test'
  [ "$(find "$MAILDIR_ROOT" -type f | wc -l)" -eq 3 ]
}

@test "null sender gives Return-Path: <>" {
  envelope '' 'user@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/user" '' 'user@example.test'
  head -n 1 "$(only_file "$MAILDIR_ROOT/example.test/user/new")" > "$T/first"
  printf 'Return-Path: <>\n' | cmp - "$T/first"
}

@test "upper-case address lands in the lower-case path, Delivered-To keeps case" {
  envelope 'Sender@Client.TEST' 'User.Name@Example.TEST'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/user.name" 'Sender@Client.TEST' 'User.Name@Example.TEST'
  [ "$(find "$MAILDIR_ROOT" -type f | wc -l)" -eq 1 ]
}

@test "domain is after the last @" {
  envelope 's@client.test' 'a@b@Example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/a@b" 's@client.test' 'a@b@Example.test'
}

@test "8-bit (UTF-8) local part is delivered, not lower-cased beyond ASCII" {
  envelope 's@client.test' $'J\xc3\x96rg@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/"$'j\xc3\x96rg' 's@client.test' $'J\xc3\x96rg@example.test'
}

@test "two deliveries to one mailbox get two distinct names" {
  envelope 's@client.test' 'user@example.test' 'user@example.test'
  run -0 deliver
  run -0 deliver
  [ "$(ls "$MAILDIR_ROOT/example.test/user/new" | wc -l)" -eq 4 ]
  empty_dir "$MAILDIR_ROOT/example.test/user/tmp"
}

@test "5 MiB message is delivered byte-exact" {
  head -c 5242880 /dev/urandom > "$T/msg"
  envelope 's@client.test' 'a@one.test' 'b@two.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/one.test/a" 's@client.test' 'a@one.test'
  assert_copy "$MAILDIR_ROOT/two.test/b" 's@client.test' 'b@two.test'
}

@test "empty message gets the two header lines only" {
  : > "$T/msg"
  envelope 's@client.test' 'user@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/user" 's@client.test' 'user@example.test'
}

@test "bytes after the final NUL are ignored (qmail-queue stops there)" {
  envelope 's@client.test' 'user@example.test'
  printf 'garbage' >> "$T/env"
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/user" 's@client.test' 'user@example.test'
}

# ---- bad addresses: 31, nothing written ------------------------------

@test "refused: no @" { refused 'user' "has no '@'"; }
@test "refused: empty local part" { refused '@example.test' 'empty local part'; }
@test "refused: empty domain" { refused 'user@' 'empty domain part'; }
@test "refused: / in local part" { refused 'a/b@example.test' "local part contains '/'"; }
@test "refused: / in domain" { refused 'user@example.test/x' "domain part contains '/'"; }
@test "refused: local part starts with a dot" { refused '.user@example.test' 'local part starts with a dot'; }
@test "refused: domain starts with a dot" { refused 'user@.example.test' 'domain part starts with a dot'; }
@test "refused: local part is ." { refused '.@example.test' 'local part starts with a dot'; }
@test "refused: local part is .." { refused '..@example.test' 'local part starts with a dot'; }
@test "refused: domain is ." { refused 'user@.' 'domain part starts with a dot'; }
@test "refused: domain is .." { refused 'user@..' 'domain part starts with a dot'; }
@test "refused: ../ escape attempt" { refused '../../etc@example.test' 'local part starts with a dot'; }
@test "refused: backslash" { refused 'us\er@example.test' 'local part contains a backslash'; }
@test "refused: control character in local part, escaped on stderr" {
  refused $'us\x01er@example.test' 'recipient <us\x01er@example.test>: local part contains a control character'
}
@test "refused: LF in domain" { refused $'user@exa\nmple.test' 'recipient <user@exa\x0ample.test>: domain part contains a control character'; }
@test "refused: TAB in local part" { refused $'us\ter@example.test' 'local part contains a control character'; }
@test "refused: DEL" { refused $'us\x7fer@example.test' 'recipient <us\x7fer@example.test>: local part contains a control character'; }
@test "refused: sender with a CR (header injection)" {
  envelope $'s@client.test\r' 'user@example.test'
  run -31 deliver
  assert_one_line
  assert_output --partial 'sender contains a control character'
  assert_untouched
}

@test "NUL inside an address breaks the envelope format: 91" {
  printf 'Fs@client.test\0Tus\0er@example.test\0\0' > "$T/env"
  run -91 deliver
  assert_one_line
  assert_untouched
}

@test "more than 10000 recipients: 31, nothing written" {
  { printf 'Fs@client.test\0'
    seq -f 'Tu%g@example.test' 1 10001 | tr '\n' '\0'
    printf '\0'; } > "$T/env"
  run -31 deliver
  assert_one_line
  assert_output --partial 'more than 10000 recipients'
  assert_untouched
}

@test "exactly 10000 recipients are accepted" {
  { printf 'Fs@client.test\0'
    yes 'Tuser@example.test' | head -n 10000 | tr '\n' '\0'
    printf '\0'; } > "$T/env"
  run -0 deliver
  assert_output ''
  [ "$(ls "$MAILDIR_ROOT/example.test/user/new" | wc -l)" -eq 10000 ]
  empty_dir "$MAILDIR_ROOT/example.test/user/tmp"
}

# ---- length bounds -----------------------------------------------------

@test "recipient of 1003 octets: 11" {
  envelope 's@client.test' "$(printf 'a%.0s' {1..990})@example.test"   # 990+13 = 1003
  [ "$(wc -c < "$T/env")" -eq $((1 + 14 + 1 + 1003 + 1 + 1)) ]
  run -11 deliver
  assert_one_line
  assert_output --partial 'recipient address longer than 1002 octets'
  assert_untouched
}

@test "sender of 1003 octets: 11; of 1002 octets: delivered" {
  long=$(printf 's%.0s' {1..990})@client.test                        # 990+12 = 1002
  [ "${#long}" -eq 1002 ]
  envelope "${long}x" 'user@example.test'
  run -11 deliver
  assert_one_line
  assert_untouched
  envelope "$long" 'user@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/user" "$long" 'user@example.test'
}

@test "local part of 256 octets: 11; of 255: delivered" {
  l255=$(printf 'l%.0s' {1..255})
  envelope 's@client.test' "${l255}x@example.test"
  run -11 deliver
  assert_output --partial 'local part longer than 255 octets'
  assert_untouched
  envelope 's@client.test' "${l255}@example.test"
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/$l255" 's@client.test' "${l255}@example.test"
}

# ---- envelope format and reading -------------------------------------

@test "missing final NUL: 54" {
  printf 'Fs@client.test\0Tuser@example.test\0' > "$T/env"
  run -54 deliver
  assert_one_line
  assert_output --partial 'ends before its final NUL'
  assert_untouched
}

@test "EOF inside an address: 54" {
  printf 'Fs@client.test\0Tuser@exa' > "$T/env"
  run -54 deliver
  assert_one_line
  assert_untouched
}

@test "empty envelope: 54" {
  : > "$T/env"
  run -54 deliver
  assert_one_line
  assert_output --partial 'envelope is empty'
}

@test "bad first byte: 91" {
  printf 'Xs@client.test\0Tuser@example.test\0\0' > "$T/env"
  run -91 deliver
  assert_one_line
  assert_output --partial 'starts with \x58, not F'
  assert_untouched
}

@test "bad record type: 91" {
  printf 'Fs@client.test\0Tuser@example.test\0Xother@example.test\0\0' > "$T/env"
  run -91 deliver
  assert_one_line
  assert_untouched
}

@test "no recipients: 91" {
  printf 'Fs@client.test\0\0' > "$T/env"
  run -91 deliver
  assert_output --partial 'no recipients'
  assert_untouched
}

@test "fd 1 closed (no envelope): 54" {
  envelope 's@client.test' 'user@example.test'
  run -54 "$DELIVER" < "$T/msg" 1>&-
  assert_one_line
  assert_untouched
}

@test "message on a pipe (a filter in front): spooled once, a copy for every recipient, nothing left over" {
  # before: exit 54 "not a regular file", so `filter | smtp-deliver` failed
  envelope 'sender@client.test' 'user@example.test' 'other@example.org'
  run -0 bash -c 'cat "$1" | "$0" 1< "$2"' "$DELIVER" "$T/msg" "$T/env"
  assert_output ''
  assert_copy "$MAILDIR_ROOT/example.test/user" 'sender@client.test' 'user@example.test'
  assert_copy "$MAILDIR_ROOT/example.org/other" 'sender@client.test' 'other@example.org'
  # the spooled input had no name: only the two domains are in the root
  run ls -A "$MAILDIR_ROOT"
  assert_output "$(printf 'example.org\nexample.test')"
}

@test "a filter in the chain: what it writes is what is delivered" {
  envelope 'sender@client.test' 'user@example.test'
  run -0 bash -c 'sed "1i X-Filtered: yes" "$1" | "$0" 1< "$2"' "$DELIVER" "$T/msg" "$T/env"
  assert_output ''
  local f
  f=$(only_file "$MAILDIR_ROOT/example.test/user/new")
  run grep -c '^X-Filtered: yes$' "$f"
  assert_output 1
  run grep -c '^Subject: test$' "$f"
  assert_output 1
}

@test "message on a pipe that cannot be spooled (root is a file): 61, nothing written" {
  envelope 'sender@client.test' 'user@example.test'
  : > "$T/file"
  export MAILDIR_ROOT=$T/file/maildir
  run -61 bash -c 'cat "$1" | "$0" 1< "$2"' "$DELIVER" "$T/msg" "$T/env"
  assert_one_line
}

# ---- configuration and file system failures --------------------------

@test "relative MAILDIR_ROOT: 55" {
  envelope 's@client.test' 'user@example.test'
  MAILDIR_ROOT=relative/maildir run -55 deliver
  assert_one_line
  assert_output --partial 'MAILDIR_ROOT must be an absolute path'
  MAILDIR_ROOT= run -55 deliver
  assert_one_line
}

@test "root under a regular file: 61, nothing written" {
  : > "$T/file"
  export MAILDIR_ROOT=$T/file/maildir
  envelope 's@client.test' 'user@example.test'
  run -61 deliver
  assert_one_line
  assert_output --partial 'cannot create MAILDIR_ROOT'
  [ "$(find "$T" -path "$T/file*" | wc -l)" -eq 1 ]
  [ ! -s "$T/file" ]
}

@test "second recipient's domain is a file: 61, first copy removed from tmp/" {
  mkdir -p "$MAILDIR_ROOT"
  : > "$MAILDIR_ROOT/two.test"
  envelope 's@client.test' 'a@one.test' 'b@two.test'
  run -61 deliver
  assert_one_line
  assert_output --partial 'two.test'
  empty_dir "$MAILDIR_ROOT/one.test/a/tmp"
  empty_dir "$MAILDIR_ROOT/one.test/a/new"
  rm "$MAILDIR_ROOT/two.test"
  assert_no_files
}

@test "second recipient's new/ is a file: 61, nothing delivered" {
  mkdir -p "$MAILDIR_ROOT/two.test/b"
  : > "$MAILDIR_ROOT/two.test/b/new"
  envelope 's@client.test' 'a@one.test' 'b@two.test'
  run -61 deliver
  assert_one_line
  assert_output --partial 'two.test/b/new'
  empty_dir "$MAILDIR_ROOT/one.test/a/tmp"
  empty_dir "$MAILDIR_ROOT/one.test/a/new"
  rm "$MAILDIR_ROOT/two.test/b/new"
  assert_no_files
}

@test "write error (file size limit, EFBIG): 53, first copy removed from tmp/" {
  # RLIMIT_FSIZE stands in for a full disk: copy 1 (1951 octets) fits
  # under 2 KiB, copy 2 (its Delivered-To is longer) does not.
  head -c 1900 /dev/zero | tr '\0' 'x' > "$T/msg"
  long=$(printf 'b%.0s' {1..200})@two.test
  envelope 's@x.test' 'a@one.test' "$long"
  run -53 bash -c 'ulimit -f 2 && exec "$0" < "$1" 1< "$2"' "$DELIVER" "$T/msg" "$T/env"
  assert_one_line
  assert_output --partial "cannot write the copy for <$long>"
  empty_dir "$MAILDIR_ROOT/one.test/a/tmp"
  empty_dir "$MAILDIR_ROOT/one.test/a/new"
  assert_no_files
}

# ---- symbolic links inside the tree: 61, nothing written through them --
# A symlink planted in the Maildir tree must not send a delivery outside
# MAILDIR_ROOT: every component is opened with O_NOFOLLOW.  It is a
# broken tree (61, temporary: the client retries once it is repaired),
# named on stderr.

# symlinked LINK [RCPT...]: LINK (relative to the root) points at
# $T/elsewhere; delivering to RCPTs (default user@example.test) exits 61
# naming LINK, writes nothing there, leaves no file in the tree.
symlinked() {
  local link=$1; shift
  mkdir -p "$T/elsewhere" "$(dirname "$MAILDIR_ROOT/$link")"
  ln -s "$T/elsewhere" "$MAILDIR_ROOT/$link"
  envelope 's@client.test' "${@:-user@example.test}"
  run -61 deliver
  assert_one_line
  assert_output --partial "symbolic link $MAILDIR_ROOT/$link"
  [ -z "$(find "$T/elsewhere" -mindepth 1)" ] ||
    { echo "written through the link:" >&2; find "$T/elsewhere" >&2; return 1; }
  assert_no_files
}

@test "symlink: the domain directory" { symlinked example.test; }
@test "symlink: the mailbox directory" { symlinked example.test/user; }
@test "symlink: tmp/" {
  mkdir -p "$MAILDIR_ROOT/example.test/user/"{new,cur}
  symlinked example.test/user/tmp
}
@test "symlink: new/" {
  mkdir -p "$MAILDIR_ROOT/example.test/user/"{tmp,cur}
  symlinked example.test/user/new
}
@test "symlink: cur/" {
  mkdir -p "$MAILDIR_ROOT/example.test/user/"{tmp,new}
  symlinked example.test/user/cur
}
@test "symlink: the second recipient's domain; the first copy is removed" {
  symlinked two.test 'a@one.test' 'b@two.test'
  empty_dir "$MAILDIR_ROOT/one.test/a/tmp"
  empty_dir "$MAILDIR_ROOT/one.test/a/new"
}
@test "symlink: a dangling one is not created through" {
  mkdir -p "$MAILDIR_ROOT"
  ln -s "$T/nowhere" "$MAILDIR_ROOT/example.test"
  envelope 's@client.test' 'user@example.test'
  run -61 deliver
  assert_one_line
  assert_output --partial "symbolic link $MAILDIR_ROOT/example.test"
  [ ! -e "$T/nowhere" ]
}
@test "symlink: MAILDIR_ROOT itself (its parents may be links)" {
  mkdir -p "$T/real" "$T/parent"
  ln -s "$T/real" "$T/root"
  ln -s "$T/parent" "$T/plink"
  envelope 's@client.test' 'user@example.test'
  MAILDIR_ROOT=$T/root run -61 deliver
  assert_one_line
  assert_output --partial "symbolic link $T/root"
  [ -z "$(find "$T/real" -mindepth 1)" ]
  MAILDIR_ROOT=$T/plink/maildir run -0 deliver
  assert_copy "$T/parent/maildir/example.test/user" 's@client.test' 'user@example.test'
}

@test "disk full (ENOSPC)" {
  skip 'needs a small file system (tmpfs mount); done in a later issue'
}

# ---- local domains and loops -----------------------------------------

@test "a recipient outside SMTP_DOMAINS refuses the message (31), nothing written" {
  refused 'friend@far.example' 'recipient <friend@far.example>: domain not in SMTP_DOMAINS'
}

@test "SMTP_DOMAINS unset: every recipient is refused; .example.test matches subdomains" {
  unset SMTP_DOMAINS
  envelope 'sender@client.test' 'user@example.test'
  run -31 deliver
  assert_one_line
  assert_output --partial 'domain not in SMTP_DOMAINS'
  assert_untouched
  export SMTP_DOMAINS=.example.test
  envelope 'sender@client.test' 'user@sub.example.test' 'user@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/sub.example.test/user" 'sender@client.test' 'user@sub.example.test'
  assert_copy "$MAILDIR_ROOT/example.test/user" 'sender@client.test' 'user@example.test'
}

@test "postmaster@SMTP_HOSTNAME is local (the session's bare <postmaster>), other users there are not" {
  envelope 'sender@client.test' 'postmaster@MX.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/mx.test/postmaster" 'sender@client.test' 'postmaster@MX.test'
  envelope 'sender@client.test' 'root@mx.test'
  run -31 deliver
  assert_output --partial 'recipient <root@mx.test>: domain not in SMTP_DOMAINS'
}

@test "a bad SMTP_DOMAINS is a configuration problem: 55" {
  export SMTP_DOMAINS="$(printf 'a%d.test ' $(seq 1 2000))"
  envelope 'sender@client.test' 'user@example.test'
  run -55 deliver
  assert_one_line
  assert_output --partial 'SMTP_DOMAINS'
  assert_untouched
}

@test "Delivered-To: is written without angle brackets, Return-Path: with them" {
  envelope 'sender@client.test' 'User@Example.test'
  run -0 deliver
  f=$(only_file "$MAILDIR_ROOT/example.test/user/new")
  run head -n 2 "$f"
  assert_output "$(printf 'Return-Path: <sender@client.test>\nDelivered-To: User@Example.test')"
}

@test "loop: a message with our Delivered-To: for a recipient is refused (31, then 554 5.4.6), nothing written" {
  for line in 'Delivered-To: bob@example.test' 'delivered-to:   <BOB@Example.TEST>  ' $'Delivered-To:\tbob@example.test\r'; do
    printf 'Received: from a by b\n%s\nSubject: again\n\nbody\n' "$line" > "$T/msg"
    envelope 'sender@client.test' 'alice@example.test' 'bob@example.test'
    run -31 deliver
    [ "${#lines[@]}" -eq 2 ]
    assert_line --index 0 'smtp-deliver: mail loop: the message already has Delivered-To: bob@example.test'
    assert_line --index 1 '554 5.4.6 Mail loop: already delivered to <bob@example.test>'
    assert_untouched
  done
}

@test "loop: Delivered-To for another address, in the body, or as part of a longer name is no loop" {
  printf 'Delivered-To: carol@example.test\nX-Delivered-To: bob@example.test\nDelivered-To: bob@example.test.evil\n\nDelivered-To: bob@example.test\n' > "$T/msg"
  envelope 'sender@client.test' 'bob@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/bob" 'sender@client.test' 'bob@example.test'
}

@test "loop: a header line longer than any Delivered-To we write is skipped, not a loop, not an error" {
  { printf 'X-Long: %s\n' "$(head -c 5000 /dev/zero | tr '\0' x)"; printf 'Subject: s\n\nb\n'; } > "$T/msg"
  envelope 'sender@client.test' 'bob@example.test'
  run -0 deliver
  assert_copy "$MAILDIR_ROOT/example.test/bob" 'sender@client.test' 'bob@example.test'
}

# ---- options -----------------------------------------------------------

@test "--version" {
  run -0 --separate-stderr "$DELIVER" --version
  assert_output 'smtp-deliver 0.1.0'
  [ -z "$stderr" ]
}

@test "--help lists usage, MAILDIR_ROOT and every exit code" {
  run -0 --separate-stderr "$DELIVER" --help
  assert_line --index 0 'usage: smtp-deliver [--help | --version]'
  assert_output --partial 'MAILDIR_ROOT'
  assert_output --partial '/var/lib/smtp-session/Maildir'
  for code in 0 11 31 51 53 54 55 61 81 91; do
    assert_line --regexp "^ +$code  "
  done
  [ -z "$stderr" ]
}

@test "unknown argument: 55" {
  run -55 "$DELIVER" --bogus
  assert_one_line
  assert_output --partial 'unexpected argument "--bogus"'
}
