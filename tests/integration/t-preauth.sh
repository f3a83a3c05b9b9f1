#!/bin/bash
# t-preauth.sh: before login, a connection costs the server little and
# not for long.  A login deadline that PINGs do not extend; a rate of new
# connections per address and per prefix, refused by the master before it
# forks; a bound on clients per prefix; and refusals logged as security
# events without a flood of log lines.  127.0.0.0/8 is all loopback: the
# tests speak from several /24s of it (limits.ipv4_prefix = 24), away from
# 127.0.0.1, whose few tokens lib.sh's checks and the good client spend.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = {
	login_timeout = 3; idle_timeout = 10; handshake_timeout = 5;
	max_clients_per_ip = 2; max_clients_per_prefix = 3; ipv4_prefix = 24;
	accept_rate = 2; accept_burst = 4;
	accept_rate_per_prefix = 3; accept_burst_per_prefix = 10;
};'
start_daemon
# lib.sh's checks of the port, accepted once the broker is ready, hold
# workers for a moment; max_clients_per_ip is 2 here.
wait_for 20 workers_are 0 || fail "workers of the port checks did not end"

client_start good
client_wait good '"event":"logged_in"'
good_works() { client_still_works good "$1"; }

# HELLO, then a PING every half second: the login deadline still ends it,
# long before the idle timeout the PINGs keep resetting.
out=$("$PROBE" -s 127.0.4.1 -t 20 127.0.0.1 "$PORT" holdping 500)
echo "$out" | grep -q '"type":"WELCOME"' || fail "no WELCOME: $out"
echo "$out" | grep -q '"code":"TIMEOUT"' || fail "no TIMEOUT: $out"
echo "$out" | grep -q 'login timeout' || fail "not the login deadline: $out"
last=$(echo "$out" | tail -n 1)
[ "$(echo "$last" | jq -r .closed)" = true ] || fail "not closed: $out"
pings=$(echo "$last" | jq -r .pings)
[ "$pings" -ge 3 ] || fail "only $pings PINGs were sent before the close"
log_has "security: client 127.0.4.1: not logged in within 3 s" ||
    fail "login deadline not logged as a security event"
pass "PINGs do not extend the login deadline ($pings PINGs, then closed)"
good_works "a PING-only client"

# Connect-and-close from one address: beyond the burst and the rate the
# master refuses without forking.  Workers forked = debug lines.
spawned() { grep -c "client $1: worker pid" "$TMP/daemon.log" || true; }
out=$("$PROBE" -s 127.0.3.1 -t 30 127.0.0.1 "$PORT" churn 60)
ms=$(echo "$out" | jq -r .ms)
[ "$(echo "$out" | jq -r .connected)" -eq 60 ] || fail "churn: $out"
n=$(spawned 127.0.3.1)
bound=$((4 + 2 * (ms / 1000 + 1)))
[ "$n" -le "$bound" ] || fail "60 connections in $ms ms forked $n workers (burst 4, 2 a second: at most $bound)"
log_has "security: refused 127.0.3.1: limits.accept_rate (2 a second, burst 4) exceeded" ||
    fail "accept rate refusal not logged"
pass "connect-and-close flood: $n of 60 forked in $ms ms"
good_works "a connect-and-close flood"

# Refusals are logged, but not one line each.
refused=$((60 - n))
lines=$(grep -c "security: refused 127.0.3.1" "$TMP/daemon.log" || true)
[ "$lines" -lt "$refused" ] || fail "$refused refusals took $lines log lines"
wait_for 5 log_has "more connections in the last second (limits.accept_rate), not logged one by one" ||
    fail "no summary of the refusals not logged"
pass "$refused refusals, $lines log lines and a summary"

# The same from six addresses of one /24: the prefix's rate applies to all.
total=0
start=$(date +%s%N)
for i in 1 2 3 4 5 6; do
	"$PROBE" -s "127.0.1.$i" -t 30 127.0.0.1 "$PORT" churn 10 >/dev/null
done
ms=$((($(date +%s%N) - start) / 1000000))
for i in 1 2 3 4 5 6; do
	total=$((total + $(spawned "127.0.1.$i")))
done
bound=$((10 + 3 * (ms / 1000 + 1)))
[ "$total" -le "$bound" ] || fail "6 addresses of a /24 forked $total workers in $ms ms (prefix burst 10, 3 a second: at most $bound)"
log_has "limits.accept_rate_per_prefix (3 a second, burst 10) exceeded by 127.0.1.0/24" ||
    fail "prefix rate refusal not logged"
pass "six addresses of one prefix: $total of 60 forked in $ms ms"

# Held connections: two from each of four addresses of one /24, within
# every rate, but at most three for the prefix at once.
for i in 1 2 3 4; do
	"$PROBE" -s "127.0.2.$i" -t 10 127.0.0.1 "$PORT" flood 2 2 >"$TMP/hold$i.out" &
	eval "hold$i=\$!"
done
closed=0
for i in 1 2 3 4; do
	eval "wait \$hold$i" || fail "flood from 127.0.2.$i failed"
	closed=$((closed + $(jq -r .closed_by_server "$TMP/hold$i.out")))
done
[ "$closed" -ge 5 ] || fail "8 connections of one /24, at most 3 at once: only $closed refused"
log_has "limits.max_clients_per_prefix (3) reached by 127.0.2.0/24" ||
    fail "per-prefix refusal not logged"
pass "eight connections from one prefix: $closed refused at once"
good_works "floods from one prefix"

client_end good || fail "good client exit status"
stop_daemon
