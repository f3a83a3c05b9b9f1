#!/bin/sh
# t-docs.sh: every configuration key in daemon/conf.c is documented in
# securechat.conf(5), every securechatctl command in daemon/securechatctl.c
# in securechatctl(8), and nothing documented there is missing from the
# code.
. "$(dirname "$0")/lib.sh"

# compare WHAT CODE DOCS: two sorted lists, equal.
compare() {
	sort -u "$2" >"$2.s"
	sort -u "$3" >"$3.s"
	[ -s "$2.s" ] || fail "no $1 found in the code"
	missing=$(comm -23 "$2.s" "$3.s" | tr '\n' ' ')
	extra=$(comm -13 "$2.s" "$3.s" | tr '\n' ' ')
	[ -z "$missing" ] || fail "$1 not documented: $missing"
	[ -z "$extra" ] || fail "$1 documented but not in the code: $extra"
}

# The option table of conf.c, groups left out (they only hold options).
awk '/^static const struct opt conf_opts\[\] = \{/ { t = 1; next }
    t && /^\};/ { exit }
    t && /\{ "/ && !/OPT_GROUP/ { split($0, a, "\""); print a[2] }' \
    "$top_srcdir/daemon/conf.c" >"$TMP/keys.code"

# The man page: ".It Ic name" items, nested in the ".It Ic group No = Brq"
# they belong to, give dotted names.
awk '/^\.Ss Options/ { on = 1 }
    on && /^\.Sh/ { exit }
    !on { next }
    /^\.Bl/ { depth++; next }
    /^\.El/ { if (grp[depth - 1] != "") grp[depth - 1] = ""; depth--; next }
    /^\.It Ic [a-z_0-9]+ No = Brq/ { grp[depth] = $3; next }
    /^\.It Ic [a-z_0-9]+/ {
	p = ""
	for (d = 1; d < depth; d++)
		if (grp[d] != "")
			p = p grp[d] "."
	print p $3
    }' "$top_srcdir/man/securechat.conf.5" >"$TMP/keys.doc"
compare "configuration keys" "$TMP/keys.code" "$TMP/keys.doc"
pass "every configuration key is in securechat.conf(5), and only those"

awk '/^static const struct command \{/ { t = 1; next }
    t && /^\};/ { exit }
    t && /^\t\{ "/ { split($0, a, "\""); print a[2] }' \
    "$top_srcdir/daemon/securechatctl.c" >"$TMP/cmds.code"
# The command list's own items: the words after ".It Cm" up to a macro.
awk '/^The commands are as follows:/ { on = 1; next }
    !on { next }
    /^\.Bl/ { depth++; next }
    /^\.El/ { depth--; if (depth == 0) exit; next }
    depth == 1 && /^\.It Cm / {
	n = ""
	for (i = 3; i <= NF && $i ~ /^[a-z][a-z-]*$/; i++)
		n = n (n == "" ? "" : " ") $i
	print n
    }' "$top_srcdir/man/securechatctl.8" >"$TMP/cmds.doc"
compare "securechatctl commands" "$TMP/cmds.code" "$TMP/cmds.doc"
pass "every securechatctl command is in securechatctl(8), and only those"

# Every man page has examples.
for m in "$top_srcdir"/man/*.[158]; do
	grep -q '^\.Sh EXAMPLES' "$m" || fail "$(basename "$m") has no EXAMPLES"
done
pass "every man page has EXAMPLES"
