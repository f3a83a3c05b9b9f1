#!/bin/bash
# t-lists.sh: ROOM_LIST and WHO_LIST come in bounded pages (F_NEXT, F_AFTER)
# and the client follows them: /rooms and /who show every item, once.
. "$(dirname "$0")/lib.sh"
HOSTILE=$top_builddir/tests/integration/schostile
ensure_user
# Small frames make small pages: 768 bytes, some 45 to 65 lines.
write_config "limits = { $ACCEPT_OPEN
  max_frame_bytes = 1024; room_creates_per_hour = 1000;
  request_burst = 1000; registrations_per_hour = 1000; };"
start_daemon
H() { "$HOSTILE" -t 120 "$@"; }

out=$(H -u lister 127.0.0.1 "$PORT" join 120 room)
[ "$(echo "$out" | jq .joined)" -eq 120 ] || fail "joined: $out"
for i in $(seq 1 60); do
	H -u "member$i" 127.0.0.1 "$PORT" join 1 big >/dev/null ||
	    fail "member$i could not join"
done
# #big-1 is new (member1 made it): 121 rooms in all.
out=$(H -u lister 127.0.0.1 "$PORT" list rooms)
echo "rooms: $out"
[ "$(echo "$out" | jq .items)" -eq 121 ] || fail "rooms listed: $out"
[ "$(echo "$out" | jq .pages)" -ge 2 ] || fail "rooms not paged: $out"
out=$(H -u lister 127.0.0.1 "$PORT" list 'who:#big-1')
echo "who: $out"
[ "$(echo "$out" | jq .items)" -eq 60 ] || fail "members listed: $out"
[ "$(echo "$out" | jq .pages)" -ge 2 ] || fail "members not paged: $out"
pass "lists are paged by size"

# The client asks for every page and shows one list.
client_start viewer
client_wait viewer '"event":"logged_in"'
client_say viewer "/rooms"
client_wait_jq viewer '.type=="rooms"'
n=$(jq -s '[.[] | select(.type=="rooms")][0].rooms | length' "$TMP/viewer.out")
u=$(jq -s '[.[] | select(.type=="rooms")][0].rooms | map(.room) | unique | length' "$TMP/viewer.out")
[ "$n" -eq 121 ] && [ "$u" -eq 121 ] || fail "/rooms showed $n rooms ($u different)"
[ "$(jq -s '[.[] | select(.type=="rooms")] | length' "$TMP/viewer.out")" -eq 1 ] ||
    fail "/rooms showed more than one list"
client_say viewer "/who #big-1"
client_wait_jq viewer '.type=="who"'
n=$(jq -s '[.[] | select(.type=="who")][0].members | map(.user) | unique | length' "$TMP/viewer.out")
[ "$n" -eq 60 ] || fail "/who showed $n members"
client_end viewer || fail "viewer exit"
pass "the client follows the pages: /rooms shows 121 rooms, /who 60 members"
stop_daemon

# Pages also end at 500 lines, whatever the frame size.
rm -rf "$TMP/state" "$TMP/daemon.log"
PORT=
write_config "limits = { $ACCEPT_OPEN
  room_creates_per_hour = 1000; request_burst = 1000;
  max_rooms_per_user = 1000; };"
start_daemon
out=$(H -u lister 127.0.0.1 "$PORT" join 600 r)
[ "$(echo "$out" | jq .joined)" -eq 600 ] || fail "joined: $out"
out=$(H -u lister 127.0.0.1 "$PORT" list rooms)
echo "rooms: $out"
[ "$(echo "$out" | jq .items)" -eq 600 ] && [ "$(echo "$out" | jq .pages)" -eq 2 ] ||
    fail "600 rooms: $out"
pass "a page holds at most 500 lines"
stop_daemon
