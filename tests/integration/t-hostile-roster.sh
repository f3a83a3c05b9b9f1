#!/bin/bash
# t-hostile-roster.sh: who reads a room is what its members signed, not
# what the server says (issue 10, 2).  The operator plays the server:
# - adds a ghost row to members and restarts the broker: the ghost is
#   warned about and gets no room key, the members read on;
# - cuts an entry out of a roster and lets another in its place: the
#   members are told the server shows them different views;
# - an invite-only room admits only whom an admin invited;
# - a room from before rosters is shown unverified, and migrated as soon
#   as a member writes to it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
write_config 'limits = { message_rate = 1000; message_burst = 1000; };'
start_daemon

for u in alice bob mallory; do
	client_start "$u"
	client_wait "$u" '"event":"logged_in"'
done
client_say alice "/join #room"
client_wait_jq alice '.type=="join" and .user=="alice" and .signed==true'
client_say bob "/join #room"
client_wait_jq alice '.type=="join" and .user=="bob" and .signed==true'
client_say alice "before the ghost"
client_wait_jq bob '.type=="message" and .text=="before the ghost"'
client_say alice "/status"
client_wait_jq alice '.type=="status" and (.rosters[] | select(.room=="#room" and .roster=="verified" and .members==2 and .entries==2))'
pass "#room has a signed roster of alice and bob"

# The ghost: a members row for mallory, who never joined; the broker
# restarted so that it believes its table.
room_id=$(db_sql "SELECT id FROM rooms WHERE name = '#room'")
mal_id=$(db_sql "SELECT id FROM users WHERE name = 'mallory'")
db_sql "INSERT INTO members (room_id, user_id, cursor, joined)
    SELECT $room_id, $mal_id, last_seq, 0 FROM rooms WHERE id = $room_id"
restart_broker
for u in alice bob mallory; do
	client_wait_jq "$u" '.event=="reconnected"' 30
done
# A new chain: alice's client starts afresh.
client_end alice || true
mv "$TMP/alice.out" "$TMP/alice-1.out"
client_start alice
client_wait alice '"event":"logged_in"'
client_say alice "/join #room"
client_wait_jq alice '.event=="already_in_roster"'
client_say alice "/who #room"
client_wait_jq alice '.type=="who" and (.members | map(.user) | index("mallory"))'
client_say alice "the secret after the ghost"
client_wait_jq bob '.type=="message" and .text=="the secret after the ghost"' 30
client_wait_jq alice '.type=="roster" and .event=="roster_mismatch" and (.text | test("mallory"))'
client_wait_jq mallory '.type=="undecryptable" and .room=="#room"' 30
client_has_jq mallory '.type=="message" and (.text | test("secret"))' &&
    fail "the ghost read the room"
pass "the ghost in WHO is warned about and gets no room key; bob reads on"

# Different views: bob away, carol's join cut from the roster, dave's
# put in its place.
for u in carol dave; do
	client_start "$u"
	client_wait "$u" '"event":"logged_in"'
done
client_end bob || true
mv "$TMP/bob.out" "$TMP/bob-1.out"
client_say carol "/join #room"
client_wait_jq alice '.type=="join" and .user=="carol" and .signed==true'
car_id=$(db_sql "SELECT id FROM users WHERE name = 'carol'")
db_sql "DELETE FROM roster WHERE room_id = $room_id AND idx = 2;
    DELETE FROM room_log WHERE room_id = $room_id AND kind = 1 AND sender_id = $car_id;
    DELETE FROM members WHERE room_id = $room_id AND user_id IN ($car_id, $mal_id)"
restart_broker
client_wait_jq alice '.event=="reconnected"' 30
client_wait_jq dave '.event=="reconnected"' 30
client_say dave "/join #room"
client_wait_jq dave '.type=="join" and .user=="dave"' 30
client_wait_jq alice '.type=="roster" and .event=="roster_fork"' 30
pass "alice is told the server shows another roster entry in its place"

client_start bob
client_wait bob '"event":"logged_in"'
client_wait_jq bob '.type=="join" and .user=="dave" and .signed==true' 30
client_say alice "after the fork"
client_wait_jq bob '.type=="roster" and .event=="roster_differs" and (.text | test("alice"))' 30
pass "bob is told alice saw another roster: the server shows different views"

# Invite-only: mallory cannot join; bob gets in by alice's invitation.
client_say alice "/join #secret invite-only"
client_wait_jq alice '.type=="join" and .user=="alice" and .room=="#secret"'
client_say mallory "/join #secret"
client_wait_jq mallory '.type=="error" and .code=="NOT_INVITED"' 30
client_say alice "/invite @bob #secret"
client_wait_jq bob '.type=="join" and .user=="bob" and .room=="#secret" and .signed==true' 30
client_say alice "only for the invited"
client_wait_jq bob '.type=="message" and .room=="#secret" and .text=="only for the invited"' 30
client_has_jq mallory '.room=="#secret" and .type=="message"' && fail "mallory read #secret"
pass "an invite-only room admits only whom an admin signed in"

# Rooms from before rosters: made by the operator as an older broker
# would have.  bob hears of #legacy and sees it unverified; a member
# writing to #old migrates it, and the others follow.
bob_id=$(db_sql "SELECT id FROM users WHERE name = 'bob'")
ali_id=$(db_sql "SELECT id FROM users WHERE name = 'alice'")
db_sql "INSERT INTO rooms (name, created, last_seq) VALUES ('#legacy', 0, 1), ('#old', 0, 2);
    INSERT INTO members (room_id, user_id, cursor, joined)
        SELECT id, $bob_id, 0, 0 FROM rooms WHERE name IN ('#legacy', '#old');
    INSERT INTO members (room_id, user_id, cursor, joined)
        SELECT id, $ali_id, 0, 0 FROM rooms WHERE name = '#old';
    INSERT INTO room_log (room_id, seq, sender_id, client_msg_id, kind, ts, body)
        SELECT id, 1, $bob_id, 0, 1, 0, CAST('bob' AS BLOB) FROM rooms WHERE name IN ('#legacy', '#old');
    INSERT INTO room_log (room_id, seq, sender_id, client_msg_id, kind, ts, body)
        SELECT id, 2, $ali_id, 0, 1, 0, CAST('alice' AS BLOB) FROM rooms WHERE name = '#old'"
restart_broker
client_wait_jq bob '.type=="join" and .room=="#legacy" and .signed==false' 30
# The join is shown at once; its roster's fetch may still be under way.
legacy='.type=="status" and (.rosters[] | select(.room=="#legacy" and .roster=="unverified"))'
for i in $(seq 1 20); do
	client_say bob "/status"
	wait_for 1 client_has_jq bob "$legacy" && break
done
client_wait_jq bob "$legacy"
pass "a room from before rosters is shown unverified"
client_wait_jq alice '.type=="join" and .room=="#old" and .user=="alice"' 30
client_say alice "/join #old"
client_say alice "hello old room"
client_wait_jq bob '.type=="join" and .room=="#old" and .user=="bob" and .signed==true' 30
client_say bob "/status"
client_wait_jq bob '.type=="status" and (.rosters[] | select(.room=="#old" and .roster=="verified" and .members==2))' 30
pass "a member's write migrates it: both members are in its signed roster"
for u in alice bob carol dave mallory; do
	client_end "$u" || true
done
stop_daemon
