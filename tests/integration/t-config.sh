#!/bin/bash
# t-config.sh: securechatd -n accepts the shipped sample and the man page's
# example, and refuses a bad file naming its file, line and option.

. "$(dirname "$0")/lib.sh"

[ -x "$SCD" ] || skip "securechatd not built"

# check_ok FILE: -n exits 0 and says so.
check_ok() {
	"$SCD" -n -f "$1" >"$TMP/out" 2>"$TMP/err" ||
	    fail "$1 refused: $(cat "$TMP/err")"
	grep -q '^configuration OK' "$TMP/out" ||
	    fail "$1: no 'configuration OK': $(cat "$TMP/out")"
	[ ! -s "$TMP/err" ] || fail "$1: stderr: $(cat "$TMP/err")"
}

# check_bad FILE MESSAGE: -n exits 1 and prints MESSAGE on stderr.
check_bad() {
	rc=0
	"$SCD" -n -f "$1" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$1: exit $rc, want 1"
	grep -qF -- "$2" "$TMP/err" ||
	    fail "$1: want '$2' on stderr, got: $(cat "$TMP/err")"
	! grep -q 'configuration OK' "$TMP/out" || fail "$1: said OK"
}

check_ok "$top_srcdir/etc/securechat.conf"
pass "the sample etc/securechat.conf is valid"

: >"$TMP/empty.conf"
check_ok "$TMP/empty.conf"
pass "an empty file is valid"

# The EXAMPLES block of securechat.conf(5) must be a working file.
awk '/^\.Sh EXAMPLES/ { ex = 1 } ex && /^\.Ed/ { exit }
    ex && lit { print } ex && /^\.Bd -literal/ { lit = 1 }' \
    "$top_srcdir/man/securechat.conf.5" >"$TMP/example.conf"
[ -s "$TMP/example.conf" ] || fail "no example in securechat.conf.5"
check_ok "$TMP/example.conf"
pass "the example in securechat.conf(5) is valid"

printf 'limits = {\n\tmax_clients = 10;\n\tmax_client = 5;\n};\n' \
    >"$TMP/unknown.conf"
check_bad "$TMP/unknown.conf" \
    "$TMP/unknown.conf:3: unknown option 'limits.max_client'"
pass "an unknown option is refused with its line"

printf '\nlisten = ( { address = "localhost"; } );\n' >"$TMP/addr.conf"
check_bad "$TMP/addr.conf" \
    "$TMP/addr.conf:2: listen[0].address: 'localhost' is not a numeric IP address"
pass "a host name is refused as a listen address"

printf 'limits = { max_clients = 0; };\n' >"$TMP/range.conf"
check_bad "$TMP/range.conf" \
    "$TMP/range.conf:1: limits.max_clients: 0 is out of range (1..65535)"
pass "an out-of-range value is refused"

printf 'user = "_securechat";\nlog = { level "info"; };\nrekey = { };\n' >"$TMP/syntax.conf"
check_bad "$TMP/syntax.conf" "$TMP/syntax.conf:2: syntax error: "
pass "a syntax error is refused with its line"

check_bad "$TMP/missing.conf" "$TMP/missing.conf: cannot open: "
pass "a missing -f file is an error"

# A port another program holds: start fails, and the log says why (the
# reason after the colon was empty with GNU strerror_r).
start_daemon
sed -e "s|\"$TMP/state\"|\"$TMP/state2\"|" -e "s|\"$TMP/run\"|\"$TMP/run2\"|" \
    -e "s|\"$TMP/empty\"|\"$TMP/empty2\"|" "$TMP/sc.conf" >"$TMP/second.conf"
rc=0
timeout 30 "$SCD" -d -f "$TMP/second.conf" >"$TMP/second.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] ||
    fail "a second daemon on port $PORT: exit $rc: $(cat "$TMP/second.log")"
grep -q "fatal: bind 127.0.0.1 port $PORT: Address already in use$" \
    "$TMP/second.log" ||
    fail "no 'Address already in use' in: $(cat "$TMP/second.log")"
stop_daemon
pass "a taken port: the daemon exits with 'Address already in use'"
