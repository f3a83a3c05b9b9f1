#!/bin/bash
# t-abuse.sh: garbage, a 1 GiB length claim, bad frames, a handshake that
# never finishes and 200 connections from one address each end only their
# own connection, while a connected client keeps working.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { handshake_timeout = 2; max_clients_per_ip = 16; };'
start_daemon

client_start good
client_wait good '"event":"connected"'
good_works() { client_still_works good "$1"; }

# Non-TLS garbage: the handshake fails, only that worker ends.
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" garbage 4096)
echo "$out" | grep -q '"closed":true' || fail "garbage: $out"
wait_for 5 log_has "TLS handshake failed" || fail "garbage not logged"
good_works "4 KiB of garbage"

# A frame header claiming 1 GiB: ERROR TOO_LARGE after 8 bytes, then close.
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" send 4000000000010000)
echo "$out" | grep -q '"code":"TOO_LARGE"' || fail "1 GiB frame: $out"
echo "$out" | grep -q '"closed":true' || fail "1 GiB frame: not closed: $out"
good_works "a 1 GiB length claim"

# Unknown type, a frame before HELLO, a truncated field, a bad version.
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" send 0000000a000300000003000000041a2b3c4d)
echo "$out" | grep -q '"code":"NOT_ALLOWED"' || fail "message before HELLO: $out"
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" send 0000000800010000000100000004aabb)
echo "$out" | grep -q '"code":"PROTOCOL"' || fail "truncated field: $out"
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" send 0000000800010000000100000002 0009)
echo "$out" | grep -q '"code":"VERSION"' || fail "bad version: $out"
echo "$out" | grep -qi 'speaks version 2' || fail "VERSION error does not name the versions: $out"
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" send 0000000800010000000100000002000200000000007700000000)
echo "$out" | grep -q '"code":"UNKNOWN_TYPE"' || fail "unknown type after HELLO: $out"
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" hello)
echo "$out" | grep -q '"type":"WELCOME"' || fail "HELLO not welcomed: $out"
good_works "malformed frames"
log_has "security: client 127.0.0.1: TOO_LARGE" || fail "oversized frame not logged as a security event"

# A handshake that never finishes is cut at limits.handshake_timeout.
out=$("$PROBE" -t 10 127.0.0.1 "$PORT" stall)
echo "$out" | grep -q '"closed":true' || fail "stalled handshake not closed: $out"
after=$(echo "$out" | jq -r .after_ms)
[ "$after" -ge 1500 ] && [ "$after" -le 6000 ] || fail "stall closed after $after ms"
log_has "no TLS handshake within 2 s" || fail "handshake timeout not logged"
good_works "a stalled handshake"

# 200 connections from 127.0.0.2: the per-address limit closes the excess.
out=$("$PROBE" -s 127.0.0.2 -t 20 127.0.0.1 "$PORT" flood 200 3)
opened=$(echo "$out" | jq -r .opened)
closed=$(echo "$out" | jq -r .closed_by_server)
[ "$opened" -eq 200 ] || fail "flood opened $opened"
[ "$closed" -ge 184 ] || fail "only $closed of 200 closed by the server"
log_has "refused 127.0.0.2: limits.max_clients_per_ip (16) reached" ||
    fail "per-address refusal not logged as a security event"
good_works "200 connections from one address"
wait_for 15 workers_are 1 || fail "flood workers did not all end ($(count_workers) left)"
pass "flood workers ended, one worker left"

client_end good || fail "good client exit status"
stop_daemon
