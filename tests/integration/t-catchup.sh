#!/bin/bash
# t-catchup.sh: a member catching up is sent the room's recent events from
# the broker's memory, without reading the database again; a backlog longer
# than the memory holds comes from the database first, then from memory,
# with nothing lost, nothing twice, and in order across the boundary.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { message_rate = 100000; message_burst = 100000; };'
start_daemon

stat() {
	"$top_builddir/daemon/securechatctl" -s "$TMP/run/securechat.sock" \
	    stats | sed -n "s/^$1 //p"
}

# send_while_away PREFIX N: alice sends N messages while bob is offline.
send_while_away() {
	local acks
	acks=$(client_acks alice)
	for i in $(seq 1 "$2"); do
		echo "$1-$i"
	done >"$TMP/lines"
	client_feed alice "$TMP/lines"
	wait_for 180 acks_at_least alice $((acks + $2)) ||
	    fail "alice's $2 messages were not all acknowledged"
}

# bob_catches_up PREFIX N: bob logs in and gets the N, in order, once.
bob_catches_up() {
	local got want
	client_start bob --user bob
	client_wait_jq bob ".text==\"$1-$2\"" 120
	got=$(jq -r 'select(.type=="message") | .text' "$TMP/bob.out" | md5sum)
	want=$(seq 1 "$2" | sed "s/^/$1-/" | md5sum)
	[ "$got" = "$want" ] ||
	    fail "bob's catch-up of $2 is not 1 to $2 once in order: $(jq -r 'select(.type=="message") | .text' "$TMP/bob.out" | head -n 5 | tr '\n' ' ')..."
	client_end bob || fail "bob exit"
	mv "$TMP/bob.out" "$TMP/bob-$1.out"
}

client_start alice --user alice
client_start bob --user bob
client_wait alice '"event":"logged_in"'
client_wait bob '"event":"logged_in"'
client_say alice "/join #room"
client_wait_jq alice '.type=="join" and .user=="alice"'
client_say bob "/join #room"
client_wait_jq alice '.type=="join" and .room=="#room" and .user=="bob"'
client_end bob || fail "bob exit"
mv "$TMP/bob.out" "$TMP/bob-0.out"

[ -n "$(stat catchup_memory)" ] && [ -n "$(stat catchup_store)" ] &&
    [ -n "$(stat room_cache_bytes)" ] || fail "stats has no catch-up counters"
[ "$(stat room_cache_bytes)" -gt 0 ] || fail "no room events kept in memory"

# A short backlog: all of it from memory.
send_while_away small 100
mem0=$(stat catchup_memory)
store0=$(stat catchup_store)
bob_catches_up small 100
mem1=$(stat catchup_memory)
store1=$(stat catchup_store)
[ "$store1" -eq "$store0" ] ||
    fail "the database was read for a backlog memory holds ($store0 -> $store1)"
[ $((mem1 - mem0)) -ge 100 ] || fail "catch-up from memory: $mem0 -> $mem1"
pass "a backlog of 100 is sent from memory; the database is not read"

# Longer than the ring (1024 events at most): the oldest from the database.
send_while_away big 3000
bob_catches_up big 3000
mem2=$(stat catchup_memory)
store2=$(stat catchup_store)
[ $((store2 - store1)) -ge 1976 ] ||
    fail "the database gave $((store2 - store1)) of a backlog of 3000"
[ "$mem2" -gt "$mem1" ] || fail "no part of the backlog came from memory"
echo "catch-up of 3000: $((store2 - store1)) from the database, $((mem2 - mem1)) from memory"
pass "a backlog of 3000: the database, then memory; all, in order, once"

# A broker that starts again has nothing in memory: all from the database.
send_while_away after 10
client_end alice || fail "alice exit"
stop_daemon
start_daemon
bob_catches_up after 10
[ "$(stat catchup_store)" -ge 10 ] ||
    fail "after a restart: $(stat catchup_store) from the database"
[ "$(stat catchup_memory)" -eq 0 ] ||
    fail "after a restart, memory gave $(stat catchup_memory)"
pass "after a restart the backlog comes from the database"
stop_daemon
