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

# One ENVIRONMENT entry of smtp-session(8) as plain text: the lines after
# ".TP" ".B NAME" up to the next .TP, font macros and quotes dropped.
man_entry() {
	awk -v n="$1" '/^\.SH ENVIRONMENT/ { on = 1; next } /^\.SH / { on = 0 }
		on && prev == ".TP" && $0 == ".B " n { hit = 1; prev = $0; next }
		hit && (/^\.TP/ || !on) { exit }
		hit { sub(/^\.(B|I|BR|IR|RB|RI) /, ""); gsub(/"/, ""); printf "%s ", $0 }
		{ prev = $0 }' "$BATS_TEST_DIRNAME/../man/smtp-session.8"
}

# NAME|DEFAULT|RANGE for each row of config_schema[], as --help prints it.
help_rows() {
	"$SESSION" --help | awk '
		/^  [A-Z][A-Z0-9_]+ +default / { name = $1; def = $0
			sub(/^  [A-Z0-9_]+ +default /, "", def); next }
		name { r = ""
			if (match($0, /; [0-9]+ to [0-9]+$/)) r = substr($0, RSTART + 2)
			print name "|" def "|" r; name = "" }'
}

@test "docs: every default and range of config_schema[] (--help) is in smtp-session(8), word for word" {
	local name def range text want n=0
	while IFS='|' read -r name def range; do
		n=$((n + 1))
		text=$(man_entry "$name")
		[ -n "$text" ] || { echo "$name: no entry in smtp-session(8)" >&2; return 1; }
		case $def in
		'(empty)') want='Default: empty.' ;;
		unset) want='Default: unset' ;;
		'gethostname()') want='Default: the result of gethostname (2).' ;;
		# the path depends on PREFIX; the page names the program
		*/smtp-deliver) want='else the bundled smtp-deliver (8).' ;;
		*) want="Default: $def${range:+ ($range)}." ;;
		esac
		[[ $text == *"$want"* ]] ||
			{ echo "$name: smtp-session(8) lacks '$want' in: $text" >&2; return 1; }
	done < <(help_rows)
	[ "$n" -ge 30 ]
	# the ranges were found: one per number
	[ "$(help_rows | grep -c '|[0-9]* to [0-9]*$')" -ge 13 ]
}

@test "docs: smtp-lockout(8) gives the sessions' defaults of the SMTP_LOCKOUT_* numbers" {
	run help_rows
	assert_success
	local help page
	help=$(printf '%s\n' "$output" | awk -F'|' '$1 ~ /^SMTP_LOCKOUT_/ && $3 != "" { print $1, $2 }' | sort)
	[ "$(printf '%s\n' "$help" | wc -l)" -eq 6 ]
	# ".BR A , B" then "(defaults 1, 2)": the names in order, then the numbers
	page=$(awk '/^\.SH ENVIRONMENT/ { on = 1; next } /^\.SH / { on = 0 }
		on && prev == ".TP" { s = $0; sub(/^\.BR? /, "", s); gsub(/[",]/, " ", s)
			nn = split(s, names) }
		on && match($0, /\(defaults? [0-9, ]+\)/) {
			s = substr($0, RSTART, RLENGTH); gsub(/[^0-9 ]/, " ", s)
			if (split(s, v) != nn) { print "mismatch: " $0; exit }
			for (i = 1; i <= nn; i++) print names[i], v[i] }
		{ prev = $0 }' "$BATS_TEST_DIRNAME/../man/smtp-lockout.8" | sort)
	[ "$page" = "$help" ] || { printf 'page:\n%s\nhelp:\n%s\n' "$page" "$help" >&2; return 1; }
}

@test "docs: the man pages are lint clean" {
	local m
	for m in "$BATS_TEST_DIRNAME"/../man/*.8; do
		run groff -ww -z -t -man "$m"
		assert_success
		assert_output ""
	done
}
