#!/bin/bash
# t-demo.sh: the README's first command, scripts/demo.sh, on this build and
# a free port: the daemon starts with its built-in defaults, the users
# chat, carol gets what she missed, and the database holds no plaintext.
. "$(dirname "$0")/lib.sh"
ensure_user
port=$(free_port)
# The daemon's log is kept as $TMP/daemon.log, which lib.sh's cleanup
# searches for sanitizer reports.
if ! DEMO_BUILD=$top_builddir DEMO_PORT=$port DEMO_DAEMON_LOG=$TMP/daemon.log \
    timeout 180 \
    "$top_srcdir/scripts/demo.sh" >"$TMP/demo.out" 2>&1; then
	sed 's/^/    /' "$TMP/demo.out" >&2
	fail "scripts/demo.sh failed"
fi
grep -q "starting securechatd on 127.0.0.1:$port" "$TMP/demo.out" ||
    fail "the demo did not start its daemon on port $port"
pass "scripts/demo.sh ran to its end"
grep -q "#lobby <alice> hello bob, carol is away" "$TMP/demo.out" ||
    fail "no room message in the demo's output"
grep -q "\[bob -> alice\] psst: a direct message" "$TMP/demo.out" ||
    fail "no direct message in the demo's output"
# carol's own session, after she came back, holds what alice said.
sed -n '/carol comes back/,/what the server.s database holds/p' "$TMP/demo.out" |
    grep -q "#lobby <alice> hello bob, carol is away" ||
    fail "carol did not get what she missed"
grep -q "Demo done" "$TMP/demo.out" || fail "the demo did not say it was done"
pass "the demo's users chatted: room, direct message, offline delivery"
grep -q "(no plaintext of the conversation in the database or its WAL)" \
    "$TMP/demo.out" || fail "the demo did not show the database free of plaintext"
pass "the demo's database holds no plaintext"
