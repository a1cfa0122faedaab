# The libFuzzer targets of fuzz/: each one is built and run briefly
# (fuzz/run smoke: the committed seeds, then 20000 mutated inputs) and
# must end without a crash, a sanitizer report or a broken invariant
# (each target's header comment says which).  Long runs: make fuzz.
# Skipped when clang or its libFuzzer runtime (libclang-rt-14-dev) is
# missing.
load helper

setup_file() {
	cd "$BATS_TEST_DIRNAME/.." || return 1
	FUZZ_SKIP=$(./fuzz/run check 2>&1 >/dev/null) && FUZZ_SKIP=
	export FUZZ_SKIP
}

# $1: the target.  The fuzzers carry their own sanitizer runtime: the
# suite's ASAN_OPTIONS (check-asan: reports to files) are not for them.
smoke() {
	[ -z "$FUZZ_SKIP" ] || skip "$FUZZ_SKIP"
	cd "$BATS_TEST_DIRNAME/.." || return 1
	run env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS \
		timeout 300 ./fuzz/run smoke "$1"
	assert_success
	assert_output --regexp "^$1 +runs 20000 +execs/s [0-9]+ +secs [0-9]+ +ok\$"
}

@test "fuzz: path (parse_path, next_param)" { smoke path; }
@test "fuzz: data (DATA/BDAT decoder against a reference)" { smoke data; }
@test "fuzz: cmdline (io_getline, io_read)" { smoke cmdline; }
@test "fuzz: sasl (base64 and the PLAIN message, sasl.c alone)" { smoke sasl; }
@test "fuzz: auth (PLAIN and LOGIN through the cmd_auth exchange)" { smoke auth; }
@test "fuzz: config (config_load from the environment)" { smoke config; }
@test "fuzz: deliver_path (smtp-deliver address to Maildir path)" { smoke deliver_path; }
@test "fuzz: msgid (the Message-ID header, streamed, against a reference)" { smoke msgid; }
@test "fuzz: sha256 (sha256.c against OpenSSL)" { smoke sha256; }
@test "fuzz: dkim_keys (smtp-dkimsign's key table)" { smoke dkim_keys; }
@test "fuzz: dmarc (the DMARC store's lines, the report's XML text)" { smoke dmarc; }
@test "fuzz: sendmail_env (smtp-sendmail envelope to sendmail command line)" { smoke sendmail_env; }
@test "fuzz: authres_header (smtp-authres header split, unfolding, forged-field stripping, From domain)" { smoke authres_header; }
