# The DMARC store (dmarc-store.c) and smtp-dmarc-report: concurrent
# appenders, a torn line, hostile fields, the RFC 7489 appendix C XML
# (parsed by python3's xml.etree, validated by xmllint against the
# schema in tests/data/).  Records are appended by tests/tools/dmarc-append,
# which calls dmarc_store_append() as smtp-authres does.
load helper

REPORT=$TEST_BUILD/smtp-dmarc-report
PY=/usr/bin/python3
APPEND=$TEST_BUILD/tests/tools/dmarc-append
XSD=$BATS_TEST_DIRNAME/data/rfc7489-feedback.xsd
# 2025-12-02 00:00:00 UTC
DAY=1764633600

setup() {
	common_setup
	STORE=$BATS_TEST_TMPDIR/dmarc
	export SMTP_DMARC_DIR=$STORE
	unset SMTP_DMARC_ORG SMTP_DMARC_EMAIL
}

# rec WHEN IP FROM MAILFROM SPFDOM SPF DKIMDOMS DKIM DMARC P DISP
#     [SPFAL DKIMAL ADKIM ASPF SP PCT]: one dmarc-append input line
rec() {
	local IFS=$'\t'
	local f=("$@")
	while [ ${#f[@]} -lt 17 ]; do f+=(""); done
	echo "${f[*]}"
}

report() {
	"$REPORT" --domain "$1" --from 2025-12-02 --to 2025-12-02 \
		--org "Test Org" --email dmarc@mx.test --report-id r1 "${@:2}"
}

@test "dmarc store: 20 concurrent appenders x 200 records: every record readable, none torn" {
	local i
	for i in $(seq 1 20); do
		rec $((DAY + i)) "192.0.2.$i" example.org example.org example.org pass \
			"example.org,p$i.test" "pass,fail" pass none none pass pass r r none 100 |
			"$APPEND" "$STORE" 200 &
	done
	wait
	run "$REPORT" --dump --from 2025-12-02 --to 2025-12-02
	assert_success
	[ "${#lines[@]}" -eq 4000 ]
	# each writer's 200, intact (its own dkim domain with its own address)
	for i in $(seq 1 20); do
		[ "$(grep -c " ip=192.0.2.$i from=example.org .*dkim.domains=example.org,p$i.test dkim=pass,fail " <<<"$output")" -eq 200 ]
	done
	# one file, 4000 lines, every one well formed
	[ "$(ls "$STORE")" = 2025-12-02 ]
	[ "$(wc -l <"$STORE/2025-12-02")" -eq 4000 ]
	[ "$(grep -cvE '^!1 [0-9]+ ([^ ]* ){16}[0-9a-f]{8}$' "$STORE/2025-12-02")" -eq 0 ]
}

@test "dmarc store: a torn last line is skipped and reported; the next append after it is read" {
	rec $DAY 192.0.2.1 example.org example.org example.org pass "" "" pass none none |
		"$APPEND" "$STORE" 3
	truncate -s -7 "$STORE/2025-12-02"
	run --separate-stderr "$REPORT" --dump --from 2025-12-02 --to 2025-12-02
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$stderr" = "smtp-dmarc-report: skipped 1 damaged line(s) in $STORE, 0 record(s) without a source address" ]
	# a crash mid-write, then another writer: its record lands on the
	# torn line's end and is still read; the torn part is counted
	rec $((DAY + 5)) 192.0.2.9 example.org example.org example.org pass "" "" pass none none |
		"$APPEND" "$STORE"
	[ "$(wc -l <"$STORE/2025-12-02")" -eq 3 ]
	run --separate-stderr "$REPORT" --dump --from 2025-12-02 --to 2025-12-02
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	assert_line --index 2 --partial " ip=192.0.2.9 "
	[ "$stderr" = "smtp-dmarc-report: skipped 1 damaged line(s) in $STORE, 0 record(s) without a source address" ]
}

@test "dmarc store: a changed octet fails the checksum; the record is skipped and reported" {
	rec $DAY 192.0.2.1 example.org example.org example.org pass "" "" pass none none |
		"$APPEND" "$STORE" 2
	sed -i '1s/192.0.2.1/192.0.2.7/' "$STORE/2025-12-02"
	run --separate-stderr "$REPORT" --dump --from 2025-12-02 --to 2025-12-02
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	assert_output --partial " ip=192.0.2.1 "
	[ "$stderr" = "smtp-dmarc-report: skipped 1 damaged line(s) in $STORE, 0 record(s) without a source address" ]
}

@test "dmarc store: a hostile domain cannot forge a field or a record" {
	# a newline, a forged record with a valid-looking layout, spaces, '!'
	local evil='x.test\x0a!1 1764633600 6.6.6.6 example.org example.org example.org pass   pass none none     100 00000000 \x21'
	rec $DAY 192.0.2.1 "$evil" "$evil" "" pass "" "" fail none none | "$APPEND" "$STORE"
	[ "$(wc -l <"$STORE/2025-12-02")" -eq 1 ]
	run "$REPORT" --dump --from 2025-12-02 --to 2025-12-02
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	assert_output "2025-12-02T00:00:00Z ip=192.0.2.1 from=x.test\\x0a!1\\x201764633600\\x206.6.6.6\\x20example.org\\x20example.org\\x20example.org\\x20pass\\x20\\x20\\x20pass\\x20none\\x20none\\x20\\x20\\x20\\x20\\x20100\\x2000000000\\x20! mailfrom=x.test\\x0a!1\\x201764633600\\x206.6.6.6\\x20example.org\\x20example.org\\x20example.org\\x20pass\\x20\\x20\\x20pass\\x20none\\x20none\\x20\\x20\\x20\\x20\\x20100\\x2000000000\\x20! spf.domain= spf=pass dkim.domains= dkim= dmarc=fail p=none disposition=none spf.aligned= dkim.aligned= adkim= aspf= sp= pct=-1"
	run "$REPORT" --domain example.org --from 2025-12-02 --to 2025-12-02
	[ "$status" -eq 1 ]
}

@test "dmarc store: a field longer than its limit is refused (EINVAL); 60 dkim signatures are cut to fit one line" {
	local long
	long=$(printf 'a%.0s' $(seq 1 256))
	run "$APPEND" "$STORE" < <(rec $DAY 192.0.2.1 "$long" "" "" pass "" "" pass none none)
	assert_failure
	assert_output "dmarc-append: line 1: Invalid argument"
	local doms="" res="" i
	for i in $(seq 1 60); do
		doms+="${doms:+,}signer-number-$i-with-a-rather-long-name-to-fill-the-line.example"
		res+="${res:+,}pass"
	done
	rec $DAY 192.0.2.1 example.org example.org example.org pass "$doms" "$res" pass none none |
		"$APPEND" "$STORE"
	[ "$(wc -c <"$STORE/2025-12-02")" -le 4000 ]
	run "$REPORT" --dump --from 2025-12-02 --to 2025-12-02
	assert_success
	# whole entries only, both lists alike
	[[ "$output" =~ dkim.domains=([^ ]*)\ dkim=([^ ]*)\  ]]
	local d=${BASH_REMATCH[1]} r=${BASH_REMATCH[2]}
	[ "$(tr ',' '\n' <<<"$d" | grep -cv '^signer-number-[0-9]*-with-a-rather-long-name-to-fill-the-line.example$')" -eq 0 ]
	[ "$(tr ',' '\n' <<<"$d" | wc -l)" -eq "$(tr ',' '\n' <<<"$r" | wc -l)" ]
	[ "$(tr ',' '\n' <<<"$d" | wc -l)" -gt 20 ]
	[ "$(tr ',' '\n' <<<"$d" | wc -l)" -lt 60 ]
}

@test "smtp-dmarc-report: the RFC 7489 XML: rows grouped by address, disposition and results, with counts; valid against the schema" {
	{
		rec $DAY 192.0.2.1 example.org example.org example.org pass example.org pass pass reject none pass pass r r quarantine 100
		rec $((DAY + 60)) 192.0.2.1 example.org example.org example.org pass example.org pass pass reject none pass pass r r quarantine 100
		rec $((DAY + 120)) 192.0.2.1 example.org example.org example.org pass example.org pass pass reject none pass pass r r quarantine 100
		rec $((DAY + 180)) 2001:db8::25 example.org forger.test forger.test fail "" "" fail reject reject fail fail r r quarantine 100
		rec $((DAY + 240)) 2001:db8::25 example.org forger.test forger.test fail "" "" fail reject reject fail fail r r quarantine 100
		rec $((DAY + 300)) ::ffff:198.51.100.7 example.org "" helo.test none "example.org,list.test" "fail,pass" fail reject quarantine fail fail r r quarantine 100
		# another domain, and another day: not in the report
		rec $((DAY + 300)) 192.0.2.1 other.test other.test other.test pass "" "" pass none none
		rec $((DAY + 86400)) 192.0.2.1 example.org example.org example.org pass "" "" pass none none
	} | "$APPEND" "$STORE"
	report example.org >"$BATS_TEST_TMPDIR/r.xml"
	run xmllint --noout --schema "$XSD" "$BATS_TEST_TMPDIR/r.xml"
	assert_success
	run python3 - "$BATS_TEST_TMPDIR/r.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
m = root.find('report_metadata')
print(root.tag, root.findtext('version'), m.findtext('org_name'), m.findtext('email'),
      m.findtext('report_id'), m.findtext('date_range/begin'), m.findtext('date_range/end'))
pp = root.find('policy_published')
print(' '.join(pp.findtext(t) for t in ('domain', 'adkim', 'aspf', 'p', 'sp', 'pct', 'fo')))
for r in root.findall('record'):
    row = r.find('row')
    pe = row.find('policy_evaluated')
    dk = ['%s=%s' % (d.findtext('domain'), d.findtext('result')) for d in r.findall('auth_results/dkim')]
    sp = ['%s/%s=%s' % (s.findtext('domain'), s.findtext('scope'), s.findtext('result')) for s in r.findall('auth_results/spf')]
    print(row.findtext('source_ip'), row.findtext('count'), pe.findtext('disposition'),
          pe.findtext('dkim'), pe.findtext('spf'), r.findtext('identifiers/envelope_from'),
          r.findtext('identifiers/header_from'), ' '.join(dk), ' '.join(sp))
EOF
	assert_success
	assert_output "feedback 1.0 Test Org dmarc@mx.test r1 1764633600 1764719999
example.org r r reject quarantine 100 0
192.0.2.1 3 none pass pass example.org example.org example.org=pass example.org/mfrom=pass
198.51.100.7 1 quarantine fail fail  example.org example.org=fail list.test=pass helo.test/helo=none
2001:db8:0:0:0:0:0:25 2 reject fail fail forger.test example.org  forger.test/mfrom=fail"
}

@test "smtp-dmarc-report: markup, control octets and invalid UTF-8 in a domain still give well-formed XML" {
	local hostile='a<b>&c"d.example'
	rec $DAY 192.0.2.1 "$hostile" 'e\x01v\xffil.test' 'x\x0a]]>y' pass "${hostile}" pass pass none none |
		"$APPEND" "$STORE"
	report "$hostile" >"$BATS_TEST_TMPDIR/r.xml"
	run xmllint --noout --schema "$XSD" "$BATS_TEST_TMPDIR/r.xml"
	assert_success
	run python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot().find("record")
print(r.findtext("identifiers/header_from"), ascii(r.findtext("identifiers/envelope_from")),
      ascii(r.findtext("auth_results/spf/domain")), r.findtext("auth_results/dkim/domain"))' "$BATS_TEST_TMPDIR/r.xml"
	assert_success
	assert_output "a<b>&c\"d.example 'e\\ufffdv\\ufffdil.test' 'x\\ufffd]]>y' a<b>&c\"d.example"
}

@test "smtp-dmarc-report: derives the aligned verdicts when the verifier recorded none (relaxed: subdomains align)" {
	{
		rec $DAY 192.0.2.1 example.org bounce.example.org bounce.example.org pass "mail.example.org" pass pass reject none
		rec $DAY 192.0.2.2 example.org other.test other.test pass "other.test" pass fail reject reject
		rec $DAY 192.0.2.3 example.org bounce.example.org bounce.example.org pass "" "" fail reject reject "" "" s s
	} | "$APPEND" "$STORE"
	run report example.org
	assert_success
	run python3 -c '
import sys, xml.etree.ElementTree as ET
for r in ET.fromstring(sys.stdin.read()).findall("record"):
    pe = r.find("row/policy_evaluated")
    print(r.findtext("row/source_ip"), pe.findtext("dkim"), pe.findtext("spf"))' <<<"$output"
	assert_output "192.0.2.1 pass pass
192.0.2.2 fail fail
192.0.2.3 fail fail"
}

@test "smtp-dmarc-report: no record in the period: exit 1, nothing on stdout (no empty report)" {
	run --separate-stderr report example.org
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "$stderr" = "smtp-dmarc-report: no record for example.org in the period" ]
}

@test "smtp-dmarc-report: usage errors exit 2; --help lists the variables" {
	run "$REPORT" --from 2025-12-02
	[ "$status" -eq 2 ]
	run "$REPORT" --domain example.org --from 2025-02-30
	[ "$status" -eq 2 ]
	run "$REPORT" --domain example.org --from 2025-12-03 --to 2025-12-02
	[ "$status" -eq 2 ]
	run "$REPORT" --domain example.org --from 2025-1-02
	[ "$status" -eq 2 ]
	run "$REPORT" --help
	assert_success
	assert_line "  SMTP_DMARC_DIR     default \"/var/lib/smtp-session/dmarc\""
	assert_line --partial "  SMTP_DMARC_ORG "
	assert_line --partial "  SMTP_DMARC_EMAIL "
}

@test "smtp-dmarc-report: an unreadable store is exit 3 with the reason" {
	mkdir -p "$STORE"
	mkdir "$STORE/2025-12-02"	# a directory where the day file should be
	run --separate-stderr report example.org
	[ "$status" -eq 3 ]
	[ "$stderr" = "smtp-dmarc-report: $STORE: Is a directory" ]
}

# man page NAME: every "  VAR  default "X"" line of PROG --help has its
# entry in the ENVIRONMENT section: the name, then "default X" ("default
# empty" for ""), white space collapsed.
env_documented() {
	local prog=$1 page=$2 text var def
	text=$(MANWIDTH=1000 groff -man -Tutf8 -P-c -P-b -P-u -rLL=1000n "$page" 2>/dev/null |
		sed -n '/^ENVIRONMENT/,/^[A-Z]/p' | tr -s ' \n' ' ')
	while read -r var def; do
		def=${def#default \"}; def=${def%\"}
		[[ "$text" == *" $var default ${def:-empty}"* ]] ||
			{ echo "$page: $var default ${def:-empty} missing"; return 1; }
	done < <("$prog" --help | sed -n 's/^  \(SMTP_[A-Z_]*\) *\(default ".*"\)$/\1 \2/p')
}

@test "docs: smtp-dmarc-report(8) and smtp-dkimsign(8) give every variable of --help with its default" {
	run env_documented "$REPORT" "$BATS_TEST_DIRNAME/../man/smtp-dmarc-report.8"
	assert_success
	run env_documented "$TEST_BUILD/smtp-dkimsign" "$BATS_TEST_DIRNAME/../man/smtp-dkimsign.8"
	assert_success
	[ "$("$REPORT" --help | grep -c '^  SMTP_')" -eq 4 ]
	[ "$("$TEST_BUILD/smtp-dkimsign" --help | grep -c '^  SMTP_')" -eq 2 ]
}

@test "smtp-dmarc-report: --subdomains takes the From domains below D too; --extra-contact and the environment's org and email" {
	{
		rec $DAY 192.0.2.1 example.org example.org example.org pass "" "" pass none none
		rec $DAY 192.0.2.2 news.example.org news.example.org news.example.org pass "" "" pass none none
		rec $DAY 192.0.2.3 badexample.org badexample.org badexample.org pass "" "" pass none none
	} | "$APPEND" "$STORE"
	export SMTP_DMARC_ORG="Env Org" SMTP_DMARC_EMAIL=env@mx.test
	run "$REPORT" --domain example.org --from 2025-12-02 --to 2025-12-02
	assert_success
	run "$PY" -c '
import sys, xml.etree.ElementTree as ET
r = ET.fromstring(sys.stdin.read())
m = r.find("report_metadata")
print(m.findtext("org_name"), m.findtext("email"), m.findtext("extra_contact_info"),
      [x.findtext("identifiers/header_from") for x in r.findall("record")])' <<<"$output"
	assert_output "Env Org env@mx.test None ['example.org']"
	run "$REPORT" --domain example.org --from 2025-12-02 --to 2025-12-02 --subdomains \
		--extra-contact 'https://mx.test/dmarc' --org 'Opt Org'
	assert_success
	run "$PY" -c '
import sys, xml.etree.ElementTree as ET
r = ET.fromstring(sys.stdin.read())
m = r.find("report_metadata")
print(m.findtext("org_name"), m.findtext("email"), m.findtext("extra_contact_info"),
      [x.findtext("identifiers/header_from") for x in r.findall("record")])' <<<"$output"
	assert_output "Opt Org env@mx.test https://mx.test/dmarc ['example.org', 'news.example.org']"
}
