#!/bin/bash
# t-chat.sh: three users chat in two rooms and by direct message; the
# first connection registers each user; order is kept per room; joins are
# announced; /rooms, /who and /info answer.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { message_rate = 1000; message_burst = 1000; };'
start_daemon

for u in alice bob carol; do
	client_start "$u" --user "$u"
	client_wait "$u" '"event":"logged_in"'
done
grep -q '"registered":true' "$TMP/alice.out" || fail "first login did not register"
pass "three users registered on first connection"

for u in alice bob carol; do
	client_say "$u" "/join #lobby"
	client_wait_jq "$u" ".type==\"join\" and .room==\"#lobby\" and .user==\"$u\""
done
client_say alice "/join #dev"
client_wait_jq alice '.type=="join" and .room=="#dev" and .user=="alice"'
client_say carol "/join #dev"
client_wait_jq alice '.type=="join" and .room=="#dev" and .user=="carol"'
client_wait_jq alice '.type=="join" and .room=="#lobby" and .user=="carol"'
pass "joins announced to members"

# Each sender speaks in its current room: alice and carol in #dev, bob in #lobby.
for i in $(seq 1 20); do
	client_say bob "lobby-$i"
	client_say alice "dev-a-$i"
	client_say carol "dev-c-$i"
done
client_wait_jq alice '.text=="lobby-20"'
client_wait_jq carol '.text=="lobby-20"'
client_wait_jq bob '.text=="lobby-20"'
client_wait_jq carol '.text=="dev-a-20"'
client_wait_jq alice '.text=="dev-c-20"'
for u in alice carol; do
	got=$(jq -r 'select(.type=="message" and .room=="#lobby") | .text' "$TMP/$u.out" | tr '\n' ' ')
	want=$(for i in $(seq 1 20); do printf 'lobby-%s ' "$i"; done)
	[ "$got" = "$want" ] || fail "$u saw #lobby as: $got"
done
got=$(jq -r 'select(.type=="message" and .room=="#dev" and .from=="alice") | .text' "$TMP/carol.out" | tr '\n' ' ')
want=$(for i in $(seq 1 20); do printf 'dev-a-%s ' "$i"; done)
[ "$got" = "$want" ] || fail "carol saw alice in #dev as: $got"
client_has bob '"room":"#dev"' && fail "bob, not a member, received #dev"
[ "$(jq -r 'select(.type=="ack") | .seq' "$TMP/bob.out" | wc -l)" -eq 20 ] || fail "bob did not get 20 acks"
pass "messages delivered in order per room, only to members, each acknowledged"

# Direct messages reach only the recipient.
client_say bob "/msg @carol psst-carol"
client_wait_jq carol '.type=="direct" and .from=="bob" and .to=="carol" and .text=="psst-carol"'
sleep 0.5
client_has alice 'psst-carol' && fail "alice saw a direct message to carol"
pass "direct message"

client_say alice "/rooms"
client_wait alice '"type":"rooms"'
[ "$(jq -r 'select(.type=="rooms") | .rooms[] | select(.room=="#lobby") | .members' "$TMP/alice.out")" = 3 ] || fail "/rooms #lobby count"
[ "$(jq -r 'select(.type=="rooms") | .rooms[] | select(.room=="#dev") | .members' "$TMP/alice.out")" = 2 ] || fail "/rooms #dev count"
client_say alice "/who #lobby"
client_wait alice '"type":"who"'
[ "$(jq -r 'select(.type=="who") | [.members[] | select(.online) | .user] | sort | join(",")' "$TMP/alice.out")" = "alice,bob,carol" ] ||
    fail "/who #lobby: $(grep '"type":"who"' "$TMP/alice.out")"
client_say alice "/info"
client_wait alice '"type":"info"'
[ "$(json_field alice '"type":"info"' users_online)" = 3 ] || fail "/info users_online"
pass "/rooms, /who, /info"

client_say carol "/part #dev"
client_wait_jq alice '.type=="part" and .room=="#dev" and .user=="carol"'
client_say alice "after-part"
client_wait_jq alice '.text=="after-part"'
sleep 0.5
client_has carol 'after-part' && fail "carol got #dev after leaving"
pass "part announced; a member who left gets nothing more"

for u in alice bob carol; do
	client_end "$u" || fail "$u exit status $?"
done
stop_daemon
