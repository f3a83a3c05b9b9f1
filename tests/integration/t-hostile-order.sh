#!/bin/bash
# t-hostile-order.sh: dropped and reordered messages are reported (issue
# 10, 4).  While bob is away, alice writes "m1 I agree", "m2 NOT",
# "m3 to the deal" in #room; the operator deletes m2 and swaps m1 and
# m3 in the database.  bob is told that messages are missing and that m1
# comes out of order.  A drop at the end of a chain is noticed by the
# next chain's key, and direct messages carry counters that say the same.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
write_config 'limits = { message_rate = 1000; message_burst = 1000; };'
start_daemon

for u in alice bob carol; do
	client_start "$u"
	client_wait "$u" '"event":"logged_in"'
done
for u in alice bob; do
	client_say "$u" "/join #room"
	client_wait_jq alice ".type==\"join\" and .user==\"$u\""
done
client_say bob "/msg @alice hello"
client_wait_jq alice '.type=="direct" and .text=="hello"'
client_end bob || true
mv "$TMP/bob.out" "$TMP/bob-0.out"

for m in "m1 I agree" "m2 NOT" "m3 to the deal" "m4" "m5 the last"; do
	client_say alice "$m"
done
client_wait_jq alice '.type=="message" and .text=="m5 the last"'
client_say carol "/join #room"
client_wait_jq alice '.type=="join" and .user=="carol"'
client_say alice "m6 after the new key"
for m in d1 d2 d3; do
	client_say alice "/msg @bob $m"
done
client_wait_jq alice '.type=="ack" and .to=="bob"'
wait_for 10 sh -c "[ \$(grep -c '\"type\":\"ack\"' '$TMP/alice.out') -ge 9 ]" ||
    fail "alice: $(grep ack "$TMP/alice.out")"
# alice's acknowledgements, in order: m1..m6 in the room, d1..d3 to bob.
mapfile -t seq < <(jq -r 'select(.type=="ack" and .room=="#room") | .seq' "$TMP/alice.out")
mapfile -t dseq < <(jq -r 'select(.type=="ack" and .to=="bob") | .seq' "$TMP/alice.out")
[ "${#seq[@]}" -eq 6 ] && [ "${#dseq[@]}" -eq 3 ] || fail "acks: ${seq[*]} / ${dseq[*]}"
room_id=$(db_sql "SELECT id FROM rooms WHERE name = '#room'")
bob_id=$(db_sql "SELECT id FROM users WHERE name = 'bob'")
db_sql "DELETE FROM room_log WHERE room_id = $room_id AND seq IN (${seq[1]}, ${seq[4]});
    UPDATE room_log SET seq = -1 WHERE room_id = $room_id AND seq = ${seq[0]};
    UPDATE room_log SET seq = ${seq[0]} WHERE room_id = $room_id AND seq = ${seq[2]};
    UPDATE room_log SET seq = ${seq[2]} WHERE room_id = $room_id AND seq = -1;
    DELETE FROM inbox_log WHERE user_id = $bob_id AND seq = ${dseq[1]};
    UPDATE inbox_log SET seq = -1 WHERE user_id = $bob_id AND seq = ${dseq[0]};
    UPDATE inbox_log SET seq = ${dseq[0]} WHERE user_id = $bob_id AND seq = ${dseq[2]};
    UPDATE inbox_log SET seq = ${dseq[2]} WHERE user_id = $bob_id AND seq = -1;"
restart_broker
pass "the operator dropped m2 and m5, swapped m1 and m3, dropped d2, swapped d1 and d3"

client_start bob
client_wait_jq bob '.type=="message" and .text=="m6 after the new key"' 30
client_wait_jq bob '.type=="direct" and .text=="d1"' 30
client_wait_jq bob '.type=="direct" and .text=="d3"' 30
jq -c 'select(.type=="message" or .type=="missing" or .type=="direct")
    | {type, text, count, at_end, out_of_order}' "$TMP/bob.out" >"$TMP/bob.seq"
cat "$TMP/bob.seq"
grep -n . "$TMP/bob.seq" | grep -q '^1:{"type":"missing","text":"2 messages from alice in #room are missing","count":2' ||
    fail "m3 was not preceded by the report of 2 missing"
sed -n 2p "$TMP/bob.seq" | grep -q '"text":"m3 to the deal"' || fail "m3 is not second"
sed -n 3p "$TMP/bob.seq" | grep -q '"text":"m1 I agree".*"out_of_order":true' ||
    fail "m1 is not shown as out of order"
pass "m2 dropped and m1/m3 swapped: 2 missing, then m3, then m1 out of order"

sed -n 4p "$TMP/bob.seq" | grep -q '"text":"m4"' || fail "m4 is not fourth"
sed -n 5p "$TMP/bob.seq" | grep -q '"type":"missing".*"count":1,"at_end":true' ||
    fail "the drop of m5 at the chain's end was not noticed"
sed -n 6p "$TMP/bob.seq" | grep -q '"text":"m6 after the new key"' || fail "m6 is not sixth"
pass "m5 dropped at the end of a chain: the next chain's key says so"

grep -q '"type":"missing","text":"2 direct messages from alice are missing","count":2' "$TMP/bob.seq" ||
    fail "d3 was not preceded by 2 missing"
grep -q '"type":"direct","text":"d1".*"out_of_order":true' "$TMP/bob.seq" ||
    fail "d1 is not shown as out of order"
client_has_jq bob '.type=="direct" and .text=="d2"' && fail "d2 came back?"
pass "direct messages: d2 dropped, d1/d3 swapped: reported"
for u in alice bob carol; do
	client_end "$u" || true
done
stop_daemon
