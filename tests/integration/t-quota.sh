#!/bin/bash
# t-quota.sh: what one client can make the server store.  An offline
# user's inbox fills to limits.inbox_max_messages / inbox_max_mib and then
# refuses with INBOX_FULL, losing nothing it acknowledged; a sender's bytes
# are held to limits.storage_mib_per_day; registrations and new rooms are
# counted per address prefix; rooms per user, members per room and rooms
# in total have caps, each refused with its own code.
. "$(dirname "$0")/lib.sh"
HOSTILE=$top_builddir/tests/integration/schostile
ensure_user
write_config "limits = { $ACCEPT_OPEN
  message_rate = 1000; message_burst = 1000;
  inbox_max_messages = 20; registrations_per_hour = 100; };"
start_daemon
H() { "$HOSTILE" -t 60 "$@"; }
RELOADS=0
reload() {
	RELOADS=$((RELOADS + 1))
	kill -HUP "$DPID"
	wait_for 10 sh -c "[ \$(grep -c 'configuration reloaded' '$TMP/daemon.log') -ge $RELOADS ]" ||
	    fail "no reload"
}

code_count() { echo "$1" | jq -r ".errors.$2 // 0"; }

# The inbox, by messages: 30 sent to an offline user, 20 stored.
H -u bob 127.0.0.1 "$PORT" login >/dev/null || fail "bob cannot register"
out=$(H -u mallory 127.0.0.1 "$PORT" fill bob 30 100)
echo "fill by count: $out"
[ "$(echo "$out" | jq .acked)" -eq 20 ] || fail "inbox took: $out"
[ "$(code_count "$out" INBOX_FULL)" -eq 10 ] || fail "not refused with INBOX_FULL: $out"
[ "$(echo "$out" | jq .first_refused)" -eq 20 ] || fail "refused out of order: $out"
out=$(H -u bob 127.0.0.1 "$PORT" inbox)
[ "$(echo "$out" | jq .direct)" -eq 20 ] || fail "bob got: $out"
pass "inbox quota by messages: 20 acknowledged and delivered, 10 refused INBOX_FULL"
log_has "inbox of bob full: refused a message from mallory" || fail "refusal not logged"

# The inbox, by bytes, and the sender's storage rate.
write_config "limits = { $ACCEPT_OPEN
  message_rate = 1000; message_burst = 1000;
  inbox_max_mib = 1; registrations_per_hour = 100; };"
reload
H -u carol 127.0.0.1 "$PORT" login >/dev/null || fail "carol cannot register"
out=$(H -u mallory2 127.0.0.1 "$PORT" fill carol 40 40000)
echo "fill by bytes: $out"
# 1 MiB holds 26 bodies of 40000 bytes.
[ "$(echo "$out" | jq .acked)" -eq 26 ] || fail "inbox took: $out"
[ "$(code_count "$out" INBOX_FULL)" -eq 14 ] || fail "not refused with INBOX_FULL: $out"
out=$(H -u carol 127.0.0.1 "$PORT" inbox)
[ "$(echo "$out" | jq .direct)" -eq 26 ] || fail "carol got: $out"
[ "$(echo "$out" | jq .bytes)" -eq 1040000 ] || fail "carol got: $out"
pass "inbox quota by bytes: 26 acknowledged and delivered, 14 refused INBOX_FULL"
# The storage rate: 1 MiB a day with a burst of 1 MiB holds 26 bodies of
# 40000 bytes; then the wait is that of 1 MiB a day.
write_config "limits = { $ACCEPT_OPEN
  message_rate = 1000; message_burst = 1000;
  storage_mib_per_day = 1; storage_burst_mib = 1;
  registrations_per_hour = 100; };"
reload
H -u dave 127.0.0.1 "$PORT" login >/dev/null || fail "dave cannot register"
out=$(H -u mallory3 127.0.0.1 "$PORT" fill dave 30 40000)
echo "storage rate: $out"
acked=$(echo "$out" | jq .acked)
[ "$acked" -eq 26 ] || fail "storage rate let through: $out"
[ "$(code_count "$out" RATE_LIMITED)" -ge 1 ] || fail "no RATE_LIMITED: $out"
[ "$(echo "$out" | jq .max_retry_ms)" -gt 60000 ] || fail "retry too soon for 1 MiB a day: $out"
out=$(H -u dave 127.0.0.1 "$PORT" inbox)
[ "$(echo "$out" | jq .direct)" -eq "$acked" ] || fail "dave got $out, $acked acknowledged"
log_has "security: rate limit: mallory3 from 127.0.0.1: bytes stored" ||
    fail "storage refusal not logged"
pass "storage rate: $acked of 30 stored, then RATE_LIMITED with a long wait; none lost"

# Registrations per address prefix: 5 an hour from 127.0.0.2 ...
write_config "limits = { $ACCEPT_OPEN
  registrations_per_hour = 5; ipv4_prefix = 32; };"
reload
out=$(H -s 127.0.0.2 127.0.0.1 "$PORT" register 12 flood)
echo "registration flood: $out"
[ "$(echo "$out" | jq .registered)" -eq 5 ] || fail "registered: $out"
[ "$(code_count "$out" RATE_LIMITED)" -eq 7 ] || fail "not RATE_LIMITED: $out"
# The refused connections are gone from the broker too, not held for the
# wait (up to 12 minutes here), which would cost it a descriptor each.
wait_for 15 sh -c "[ \$(grep -c '(127.0.0.2) detached' '$TMP/daemon.log') -ge 12 ]" ||
    fail "the broker kept refused registrations' links"
# ... not from 127.0.0.3, another /32 ...
out=$(H -s 127.0.0.3 127.0.0.1 "$PORT" register 1 other)
[ "$(echo "$out" | jq .registered)" -eq 1 ] || fail "127.0.0.3 was refused: $out"
# ... but with ipv4_prefix = 24 they are one network.
write_config "limits = { $ACCEPT_OPEN
  registrations_per_hour = 5; ipv4_prefix = 24; };"
reload
out=$(H -s 127.0.0.4 127.0.0.1 "$PORT" register 5 net)
[ "$(echo "$out" | jq .registered)" -eq 5 ] || fail "127.0.0.4: $out"
out=$(H -s 127.0.0.5 127.0.0.1 "$PORT" register 1 net5)
[ "$(code_count "$out" RATE_LIMITED)" -eq 1 ] || fail "127.0.0.5 in the same /24: $out"
log_has "security: rate limit: (not logged in) from 127.0.0.2: registration" ||
    fail "registration refusal not logged"
pass "registrations counted per address prefix (/32, then /24)"

# Rooms: creations per prefix, then the caps.
write_config "limits = { $ACCEPT_OPEN
  room_creates_per_hour = 10; max_rooms_per_user = 8;
  max_members_per_room = 3; max_rooms = 14; registrations_per_hour = 100; };"
reload
out=$(H -s 127.0.0.6 -u roomer 127.0.0.1 "$PORT" join 12 r)
echo "room flood: $out"
# 8 joined: the per-user cap stops it before the creation rate does.
[ "$(echo "$out" | jq .joined)" -eq 8 ] || fail "joined: $out"
[ "$(code_count "$out" TOO_MANY_ROOMS)" -eq 4 ] || fail "not TOO_MANY_ROOMS: $out"
out=$(H -s 127.0.0.6 -u roomer2 127.0.0.1 "$PORT" join 12 s)
echo "room flood 2: $out"
# The prefix had 10 creations: 8 went to roomer, 2 are left.
[ "$(echo "$out" | jq .joined)" -eq 2 ] || fail "joined: $out"
[ "$(code_count "$out" RATE_LIMITED)" -eq 10 ] || fail "not RATE_LIMITED: $out"
# Existing rooms can be joined whatever the creation rate; #r-1 fills up.
H -s 127.0.0.6 -u m3 127.0.0.1 "$PORT" join 1 r >/dev/null
out=$(H -s 127.0.0.6 -u m4 127.0.0.1 "$PORT" join 1 r)
echo "full room: $out"
[ "$(code_count "$out" ROOM_FULL)" -eq 0 ] || fail "#r-1 full too early: $out"
out=$(H -s 127.0.0.6 -u m5 127.0.0.1 "$PORT" join 1 r)
[ "$(code_count "$out" ROOM_FULL)" -eq 1 ] || fail "#r-1 not full with 3: $out"
pass "rooms: the per-user cap (TOO_MANY_ROOMS), the creation rate (RATE_LIMITED), members per room (ROOM_FULL)"
# Rooms in total: 10 so far, 14 at most.
write_config "limits = { $ACCEPT_OPEN
  room_creates_per_hour = 100; max_rooms = 14;
  registrations_per_hour = 100; };"
reload
out=$(H -s 127.0.0.7 -u total 127.0.0.1 "$PORT" join 6 t)
echo "total: $out"
[ "$(echo "$out" | jq .joined)" -eq 4 ] || fail "joined: $out"
[ "$(code_count "$out" TOO_MANY_ROOMS)" -eq 2 ] || fail "not TOO_MANY_ROOMS: $out"
pass "rooms in total: limits.max_rooms (TOO_MANY_ROOMS)"
# A room the operator deletes leaves a place.
"$top_builddir/daemon/securechatctl" -s "$TMP/run/securechat.sock" room delete '#t-1' \
    >/dev/null || fail "room delete"
out=$(H -s 127.0.0.7 -u total 127.0.0.1 "$PORT" join 6 t)
[ "$(echo "$out" | jq .joined)" -eq 1 ] || fail "after a room delete: $out"
[ "$(code_count "$out" TOO_MANY_ROOMS)" -eq 2 ] || fail "after a room delete: $out"
pass "a room deleted by the operator frees a place"

# A real client shows a refused JOIN and goes on.
client_start eve
client_wait eve '"event":"logged_in"'
client_say eve "/join #new-room"
client_wait_jq eve '.type=="error" and .code=="TOO_MANY_ROOMS" and .origin=="server"'
client_say eve "/join #r-2"
client_wait_jq eve '.type=="join" and .user=="eve" and .room=="#r-2"'
client_end eve || true
pass "the client shows TOO_MANY_ROOMS and carries on"
stop_daemon
