# The documentation says what the code does: every variable that --help
# lists is in smtp-session(8) and the other way round; the man pages are
# lint clean.
load helper

man_vars() {
	# ENVIRONMENT section entries: ".TP" then ".B NAME"
	awk '/^\.SH ENVIRONMENT/ { on = 1; next } /^\.SH / { on = 0 }
	     on && prev == ".TP" && $1 == ".B" { print $2 } { prev = $0 }' \
		"$BATS_TEST_DIRNAME/../man/smtp-session.8" | sort -u
}

help_vars() {
	"$SESSION" --help | awk '/^  [A-Z][A-Z0-9_]+ +default / { print $1 }' | sort -u
}

@test "docs: --help and smtp-session(8) list the same variables" {
	run help_vars
	assert_success
	local help=$output
	[ "$(printf '%s\n' "$help" | wc -l)" -ge 30 ]
	run man_vars
	assert_output "$help"
}

@test "docs: each default in --help appears in the man page entry" {
	local name def
	while read -r name def; do
		case "$def" in unset|"(empty)"|"gethostname()"|/usr/local/sbin/smtp-deliver) continue ;; esac
		awk -v n="$name" '/^\.SH ENVIRONMENT/ { on = 1 } on && $0 == ".B " n { hit = 1; next }
			hit && /^Default:/ { print; exit }' "$BATS_TEST_DIRNAME/../man/smtp-session.8" |
			grep -qF "$def" || { echo "$name: default $def not in man page"; return 1; }
	done < <("$SESSION" --help | awk '/^  [A-Z][A-Z0-9_]+ +default / { print $1, $3 }')
}

@test "docs: the man pages are lint clean" {
	local m
	for m in "$BATS_TEST_DIRNAME"/../man/*.8; do
		run groff -ww -z -t -man "$m"
		assert_success
		assert_output ""
	done
}
