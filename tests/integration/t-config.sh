#!/bin/bash
# t-config.sh: securechatd -n accepts the shipped sample and the man page's
# example, and refuses a bad file naming its file, line and option.  -n
# checks everything a start checks (account, directories and owners, the
# TLS files) and says what a start would make; -V prints the version.

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

# -n looks at the files a configuration names: put them in $TMP.
mkdir -p "$TMP/tls" "$TMP/etc"
openssl req -x509 -newkey ed25519 -nodes -subj /CN=t -days 2 \
    -keyout "$TMP/tls/privkey.pem" -out "$TMP/tls/fullchain.pem" 2>/dev/null ||
    fail "openssl req"
chmod 600 "$TMP/tls/privkey.pem"
localize() {
	sed -e "s|/etc/securechat/|$TMP/tls/|g" \
	    -e "s|^#\{0,1\}state_dir = .*|state_dir = \"$TMP/state\";|" \
	    -e "s|^#\{0,1\}runtime_dir = .*|runtime_dir = \"$TMP/run\";|" \
	    -e "s|^#\{0,1\}empty_dir = .*|empty_dir = \"$TMP/run/empty\";|" \
	    -e "s|^\([ \t]*\)#\(certificate = \).*|\1\2\"$TMP/tls/fullchain.pem\";|" \
	    -e "s|^\([ \t]*\)#\(private_key = \).*|\1\2\"$TMP/tls/privkey.pem\";|" "$1"
}

localize "$top_srcdir/etc/securechat.conf" >"$TMP/sample.conf"
check_ok "$TMP/sample.conf"
pass "the sample etc/securechat.conf is valid"

printf 'state_dir = "%s";\nruntime_dir = "%s";\nempty_dir = "%s";\ntls = { certificate = "%s"; private_key = "%s"; };\n' \
    "$TMP/state" "$TMP/run" "$TMP/run/empty" "$TMP/tls/fullchain.pem" \
    "$TMP/tls/privkey.pem" >"$TMP/paths.conf"
check_ok "$TMP/paths.conf"
pass "a file with only the paths is valid: everything else has a default"

# The EXAMPLES block of securechat.conf(5) must be a working file.
awk '/^\.Sh EXAMPLES/ { ex = 1 } ex && /^\.Ed/ { exit }
    ex && lit { print } ex && /^\.Bd -literal/ { lit = 1 }' \
    "$top_srcdir/man/securechat.conf.5" | localize /dev/stdin >"$TMP/example.conf"
[ -s "$TMP/example.conf" ] || fail "no example in securechat.conf.5"
printf 'state_dir = "%s";\nruntime_dir = "%s";\nempty_dir = "%s";\n' \
    "$TMP/state" "$TMP/run" "$TMP/run/empty" >>"$TMP/example.conf"
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

"$SCD" -V | grep -q '^securechat [0-9]' || fail "-V: $("$SCD" -V 2>&1)"
pass "-V prints the version"

# What start checks, -n checks, naming the path.  (Root: the account and
# the owners are what a start as root would look at.)
[ "$(id -u)" -eq 0 ] || { echo "not root: the checks of users and owners are skipped"; exit 0; }
ensure_user
base() {
	printf 'user = "%s";\nstate_dir = "%s";\nruntime_dir = "%s";\nempty_dir = "%s";\ntls = { certificate = "%s"; private_key = "%s"; %s };\n' \
	    "${U:-$SC_USER}" "${STATE:-$TMP/state}" "$TMP/run" "$TMP/run/empty" \
	    "${CERT:-$TMP/tls/fullchain.pem}" "${KEY:-$TMP/tls/privkey.pem}" "${GEN:-}"
}
U=nosuchuser_sc base >"$TMP/c.conf"
check_bad "$TMP/c.conf" "user 'nosuchuser_sc' does not exist"
pass "-n: an account that does not exist"
: >"$TMP/statefile"
STATE=$TMP/statefile base >"$TMP/c.conf"
check_bad "$TMP/c.conf" "state_dir $TMP/statefile is not a directory"
pass "-n: a state_dir that is a file"
CERT=$TMP/tls/missing.pem KEY=$TMP/tls/missing.key GEN="generate = false;" base >"$TMP/c.conf"
check_bad "$TMP/c.conf" "$TMP/tls/missing.pem is missing and tls.generate is false"
pass "-n: a missing certificate with generate = false"
CERT=$TMP/tlss/server.crt KEY=$TMP/tlss/server.key base >"$TMP/c.conf"
check_bad "$TMP/c.conf" "tls.certificate $TMP/tlss/server.crt is missing and its directory $TMP/tlss does not exist"
rc=0
"$SCD" -d -f "$TMP/c.conf" >"$TMP/start.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "start with a mistyped certificate path: exit $rc"
grep -q "$TMP/tlss does not exist" "$TMP/start.out" || fail "start did not name the path: $(cat "$TMP/start.out")"
[ ! -e "$TMP/tlss" ] || fail "a mistyped path made a directory"
pass "a mistyped certificate path fails -n and start, naming it; no key is made"
openssl req -x509 -newkey ed25519 -nodes -subj /CN=other -days 2 \
    -keyout "$TMP/tls/other.key" -out "$TMP/tls/other.crt" 2>/dev/null
chmod 600 "$TMP/tls/other.key"
KEY=$TMP/tls/other.key base >"$TMP/c.conf"
check_bad "$TMP/c.conf" "$TMP/tls/fullchain.pem"
pass "-n: a key that is not the certificate's"
chmod 644 "$TMP/tls/other.key"
CERT=$TMP/tls/other.crt KEY=$TMP/tls/other.key base >"$TMP/c.conf"
check_bad "$TMP/c.conf" "$TMP/tls/other.key: mode 0644"
pass "-n: a private key others may read"

# certbot: live/ holds links into archive/.
mkdir -p "$TMP/le/archive/x" "$TMP/le/live/x"
cp "$TMP/tls/fullchain.pem" "$TMP/le/archive/x/fullchain1.pem"
cp -p "$TMP/tls/privkey.pem" "$TMP/le/archive/x/privkey1.pem"
ln -s ../../archive/x/fullchain1.pem "$TMP/le/live/x/fullchain.pem"
ln -s ../../archive/x/privkey1.pem "$TMP/le/live/x/privkey.pem"
CERT=$TMP/le/live/x/fullchain.pem KEY=$TMP/le/live/x/privkey.pem GEN="generate = false;" base >"$TMP/c.conf"
check_ok "$TMP/c.conf"
pass "-n: certbot's symbolic links are followed"

rm -rf "$TMP/state" "$TMP/run"
base >"$TMP/c.conf"
"$SCD" -n -f "$TMP/c.conf" >"$TMP/out" 2>&1 || fail "-n: $(cat "$TMP/out")"
grep -q "would create state_dir $TMP/state (owner $SC_USER, mode 0710)" "$TMP/out" &&
    grep -q "would create runtime_dir $TMP/run" "$TMP/out" ||
    fail "-n does not say what it would create: $(cat "$TMP/out")"
[ ! -e "$TMP/state" ] || fail "-n made the state directory"
pass "-n says what a start would create, and creates nothing"

# The broken second start of the issue: a database root owns.
install -d -o "$SC_USER" -g root -m 0710 "$TMP/state"
: >"$TMP/state/securechat.db"
check_bad "$TMP/c.conf" "$TMP/state/securechat.db: $SC_USER cannot write it, so the broker could not"
pass "-n: a database file the broker could not write"
