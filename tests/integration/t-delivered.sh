#!/bin/bash
# t-delivered.sh: how often the client tells the server what it has shown
# (DELIVERED).  Every DELIVERED wakes the client's worker and the broker,
# so the client records what it showed in its .seen file often and tells
# the server less often (client/client.h: CLIENT_SEEN_*, CLIENT_DELIVERED_*):
# - 2000 events in a burst are told in a handful of DELIVERED, not one
#   per 64 events, and the last one names the last event;
# - an event with nothing after it is still told while the client runs
#   (the timer), and the .seen file has it;
# - what could not be recorded in the .seen file is not told: the server
#   would not send it again, and a restarted client would show it twice;
#   once the file can be written, the session's end tells it.
# A scripted server (scfake) sends the events and prints what the client
# sends back.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake.sh"

# delivered ROOM: the seqs of the client's DELIVERED for ROOM, in order.
delivered() {
	jq -r --arg r "$1" 'select(.type=="DELIVERED" and .room==$r) | .seq' \
	    "$TMP/fake.out" 2>/dev/null
}
told() {
	delivered "$1" | grep -qx "$2"
}

fake_start "events #a 1 2000
wait DELIVERED
event #b 1 1 bob
wait WHO
event #c 1 1 bob"
client_start u1 --user u
client_wait_jq u1 '.type=="join" and .room=="#a" and .seq==2000' 60
# While the client still runs: the burst's last event is told.
wait_for 15 told '#a' 2000 ||
    fail "the client never told seq 2000 of #a: $(delivered '#a' | tr '\n' ' ')"
n=$(delivered '#a' | wc -l)
# 2000 events: one DELIVERED per 256, and those the timer sends when a
# slow (sanitized) client takes seconds; one per 64 would be 31.
[ "$n" -ge 1 ] && [ "$n" -le 16 ] ||
    fail "2000 events told in $n DELIVERED (seqs $(delivered '#a' | tr '\n' ' '))"
pass "2000 events in a burst: $n DELIVERED, the last for seq 2000"

# One event and nothing after it: told by the timer, the client still
# running, and in the .seen file.
SEEN=$TMP/home-u1/u@127.0.0.1_$PORT.seen
client_wait_jq u1 '.type=="join" and .room=="#b" and .seq==1'
wait_for 15 told '#b' 1 || fail "the client never told #b's only event"
grep -qx '#b 1' "$SEEN" || fail ".seen: $(cat "$SEEN")"
kill -0 "$(client_pid u1)" 2>/dev/null || fail "the client exited early"
pass "a lone event is told while the client runs, and the .seen file has it"

# The .seen file cannot be replaced (a directory stands in its place, which
# root cannot rename a file over either); /who makes the fake send #c.
rm -f "$SEEN"
mkdir "$SEEN"
client_say u1 "/who #b"
client_wait_jq u1 '.type=="join" and .room=="#c" and .seq==1'
client_wait_jq u1 '.type=="error" and .code=="SEEN"' 15
# Told, it would be within the timer's second.
sleep 3
told '#c' 1 && fail "the client told #c's event, which its .seen file lacks"
rmdir "$SEEN"
client_end u1 || true
told '#c' 1 || fail "the client's last words did not tell #c's event"
grep -qx '#c 1' "$SEEN" || fail ".seen at exit: $(cat "$SEEN")"
pass "an event the .seen file could not record is told only once it is"
