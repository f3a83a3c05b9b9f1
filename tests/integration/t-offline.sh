#!/bin/bash
# t-offline.sh: a member who is offline while others talk gets every
# message, in order, at its next login, and only once, even across
# restarts of its client.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { message_rate = 1000; message_burst = 1000; };'
start_daemon

client_start alice --user alice
client_start bob --user bob
client_wait alice '"event":"logged_in"'
client_wait bob '"event":"logged_in"'
# Joins in a known order: a member sees only what follows its own join.
client_say alice "/join #room"
client_wait_jq alice '.type=="join" and .user=="alice"'
client_say bob "/join #room"
client_wait_jq alice '.type=="join" and .room=="#room" and .user=="bob"'
client_end bob || fail "bob exit"
mv "$TMP/bob.out" "$TMP/bob-1.out"

for i in $(seq 1 50); do
	client_say alice "offline-$i"
done
client_say alice "/msg @bob direct-while-away"
wait_for 20 sh -c "[ \$(grep -c '\"type\":\"ack\"' '$TMP/alice.out') -ge 51 ]" ||
    fail "alice's messages were not all acknowledged"
pass "50 room messages and a direct message stored while bob is away"

client_start bob --user bob
client_wait_jq bob '.text=="offline-50"' 15
client_wait_jq bob '.text=="direct-while-away"'
got=$(jq -r 'select(.type=="message") | .text' "$TMP/bob.out" | tr '\n' ' ')
want=$(for i in $(seq 1 50); do printf 'offline-%s ' "$i"; done)
[ "$got" = "$want" ] || fail "bob's catch-up: $got"
client_end bob || fail "bob exit"
pass "bob got all 50, in order, once, and the direct message"

# A third login of bob shows none of it again.
mv "$TMP/bob.out" "$TMP/bob-2.out"
client_start bob --user bob
client_wait bob '"event":"logged_in"'
client_say bob "/ping"
client_wait bob '"type":"pong"'
sleep 1
client_has bob 'offline-' && fail "bob was shown old messages again"
client_has bob 'direct-while-away' && fail "bob was shown the direct message again"
client_end bob || fail "bob exit"
pass "nothing is shown twice across logins"
client_end alice || fail "alice exit"
stop_daemon
