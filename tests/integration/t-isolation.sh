#!/bin/bash
# t-isolation.sh: a crash only costs its own client.  Killing one worker
# leaves the others connected; killing the broker gets it respawned, its
# clients told to reconnect, and new connections served again.
. "$(dirname "$0")/lib.sh"
ensure_user
start_daemon

client_start a
client_start b
client_wait a '"event":"connected"'
client_wait b '"event":"connected"'
wait_for 5 workers_are 2 || fail "expected 2 workers"

set -- $(worker_pids)
victim=$1
survivor=$2
kill -KILL "$victim"
wait_for 5 log_has "killed by signal 9" || fail "master did not log the killed worker"
for c in a b; do
	client_say "$c" /ping
done
wait_for 10 sh -c "grep -q '\"type\":\"pong\"' '$TMP/a.out' && grep -q '\"type\":\"pong\"' '$TMP/b.out'" ||
    fail "a client did not answer after one worker was killed"
kill -0 "$survivor" || fail "the other client's worker died too"
# Exactly one client noticed, and came back by itself.
n=$(cat "$TMP/a.out" "$TMP/b.out" | grep -c '"event":"reconnected"' || true)
[ "$n" -eq 1 ] || fail "$n clients reconnected, expected exactly the one whose worker died"
pass "killing one worker cost only its own client a reconnect"

# A fresh client for the broker test.
client_start c
client_wait c '"event":"connected"'
old=$(broker_pid)
kill -KILL "$old"
wait_for 10 sh -c "[ -n \"\$(pgrep -P $DPID -f -- '-x broker')\" ] && [ \"\$(pgrep -P $DPID -f -- '-x broker')\" != $old ]" ||
    fail "broker was not respawned"
client_wait_jq c '.event=="reconnecting" and (.text | test("RESTARTING"))'
client_wait_jq c '.event=="reconnected"' 15
log_has "broker lost: restarting it" || fail "broker loss not logged"
pass "broker respawned; its clients were told to reconnect and did"

# New connections are served by the new broker.
client_start d
client_wait d '"event":"connected"' 15
client_say d /ping
client_wait d '"type":"pong"'
client_end d || fail "client d exit status"
pass "clients are back after reconnecting"

# SIGTERM: clients hear SHUTDOWN, every process ends within the bound.
client_start e
client_wait e '"event":"connected"'
kids=$(daemon_children)
start=$(date +%s)
stop_daemon
elapsed=$(($(date +%s) - start))
client_wait_jq e '(.code // "") == "SHUTDOWN" or ((.text // "") | test("SHUTDOWN"))'
for p in $kids; do
	kill -0 "$p" 2>/dev/null && fail "process $p survived SIGTERM"
done
[ "$elapsed" -le 10 ] || fail "shutdown took $elapsed s"
pass "SIGTERM ended everything in $elapsed s"
