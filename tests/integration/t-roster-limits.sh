#!/bin/bash
# t-roster-limits.sh: the limits of issue 11 hold for signed rosters too.
# Clients of protocol 2 join through roster entries (ROSTER_PUT), so a
# CREATE meets limits.max_rooms_per_user, the creation rate of its address
# prefix and makes no room when refused; a JOIN entry meets
# limits.max_members_per_room; an admin's INVITE counts against the rooms
# of the invited user, also when that user is offline.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { message_rate = 1000; message_burst = 1000;
  registrations_per_hour = 100; room_creates_per_hour = 6;
  max_rooms_per_user = 2; max_members_per_room = 2; };'
start_daemon
CTL() { "$top_builddir/daemon/securechatctl" -s "$TMP/run/securechat.sock" "$@"; }

for u in alice bob carol; do
	client_start "$u"
	client_wait "$u" '"event":"logged_in"'
done

# Rooms per user: alice's third CREATE is refused, and makes no room.
client_say alice "/join #a"
client_wait_jq alice '.type=="join" and .user=="alice" and .room=="#a" and .signed==true' 30
client_say alice "/join #b"
client_wait_jq alice '.type=="join" and .user=="alice" and .room=="#b"' 30
client_say alice "/join #c"
client_wait_jq alice '.type=="error" and .code=="TOO_MANY_ROOMS" and .origin=="server" and .room=="#c"' 30
CTL room list | grep -q '#c' && fail "a refused CREATE made #c: $(CTL room list)"
pass "a roster CREATE past limits.max_rooms_per_user: TOO_MANY_ROOMS, no room made"

# Members per room: #a takes bob, then is full for carol's JOIN entry.
client_say bob "/join #a"
client_wait_jq bob '.type=="join" and .user=="bob" and .room=="#a" and .signed==true' 30
client_say carol "/join #a"
client_wait_jq carol '.type=="error" and .code=="ROOM_FULL" and .room=="#a"' 30
client_has_jq alice '.type=="join" and .user=="carol"' && fail "carol got into #a"
pass "a roster JOIN past limits.max_members_per_room: ROOM_FULL"

# The client goes on after a refusal: alice leaves #b and may create again.
client_say alice "/part #b"
client_wait_jq alice '.type=="part" and .user=="alice" and .room=="#b"' 30
client_say alice "/join #secret invite-only"
client_wait_jq alice '.type=="join" and .user=="alice" and .room=="#secret"' 30
pass "after TOO_MANY_ROOMS the client creates a room again"

# An INVITE counts against the invited: bob, offline, is in 2 rooms.
client_say bob "/join #x"
client_wait_jq bob '.type=="join" and .user=="bob" and .room=="#x"' 30
client_end bob || true
client_say alice "/invite @bob #secret"
client_wait_jq alice '.type=="error" and .code=="TOO_MANY_ROOMS" and .room=="#secret"' 30
[ "$(CTL room list | grep '#secret' | grep -c '1')" -eq 1 ] ||
    fail "#secret: $(CTL room list)"
pass "an admin's INVITE of an offline user at limits.max_rooms_per_user: TOO_MANY_ROOMS"

# Room creations per address prefix: #a, #b, #secret (alice), #x (bob)
# and #d, #e (carol) are the six of the hour; the seventh CREATE waits.
client_say carol "/join #d"
client_wait_jq carol '.type=="join" and .user=="carol" and .room=="#d"' 30
client_say carol "/part #d"
client_wait_jq carol '.type=="part" and .user=="carol" and .room=="#d"' 30
client_say carol "/join #e"
client_wait_jq carol '.type=="join" and .user=="carol" and .room=="#e"' 30
client_say carol "/join #f"
client_wait_jq carol '.type=="error" and .code=="RATE_LIMITED" and .room=="#f" and .retry_after_ms > 0' 30
CTL room list | grep -q '#f' && fail "a rate-limited CREATE made #f: $(CTL room list)"
pass "a roster CREATE past limits.room_creates_per_hour: RATE_LIMITED, no room made"
# Held until the hour is up: it does not wait for that.
kill -KILL "$(client_pid carol)" 2>/dev/null || true
client_end alice || true
stop_daemon
