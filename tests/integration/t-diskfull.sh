#!/bin/bash
# t-diskfull.sh: a full disk is an error, not a crash.  With the state
# directory on a small tmpfs filled to the last byte, a new message is
# refused with ERROR STORAGE and not acknowledged; the broker lives on,
# connected users keep working, and a user who logs in gets what was
# stored.  Once space returns the client's resend is stored, and every
# acknowledged message reaches every member exactly once.
. "$(dirname "$0")/lib.sh"
need_root
ensure_user
mkdir -p "$TMP/state"
mount -t tmpfs -o size=8m,mode=0700 tmpfs "$TMP/state" 2>"$TMP/mount.err" ||
    skip "cannot mount a tmpfs for the state directory: $(cat "$TMP/mount.err")"
unmount_state() {
	if [ -n "$DPID" ]; then
		kill -KILL $(daemon_children) "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
		DPID=
	fi
	umount "$TMP/state" 2>/dev/null || umount -l "$TMP/state" 2>/dev/null || true
	cleanup
}
trap unmount_state EXIT
write_config 'limits = { message_rate = 1000; message_burst = 1000; };'
start_daemon
broker=$(broker_pid)

# carol joins and leaves: what is said meanwhile waits for her on disk.
client_start carol
client_wait carol '"event":"logged_in"'
client_say carol "/join #d"
client_wait_jq carol '.type=="join" and .user=="carol"'
client_start alice
client_start bob
client_wait alice '"event":"logged_in"'
client_wait bob '"event":"logged_in"'
client_say alice "/join #d"
client_wait_jq alice '.type=="join" and .user=="alice"'
client_say bob "/join #d"
client_wait_jq alice '.type=="join" and .user=="bob"'
client_wait_jq carol '.type=="join" and .user=="bob"'
client_end carol || fail "carol exit status"
for i in 1 2 3; do
	client_say alice "m$i"
done
client_wait_jq bob '.type=="message" and .text=="m3"'
acks=$(client_count alice '"type":"ack"')
pass "three messages stored and delivered before the disk fills"

# Fill the file system the database is on.
dd if=/dev/zero of="$TMP/state/filler" bs=64k status=none 2>/dev/null || true
[ "$(df --output=avail "$TMP/state" | tail -n 1)" -eq 0 ] || fail "the tmpfs is not full"

client_say alice "f1"
client_wait_jq alice '.type=="error" and .code=="STORAGE"' 20
id=$(jq -r 'select(.type=="error" and .code=="STORAGE") | .id' "$TMP/alice.out" | head -n 1)
[ -n "$id" ] && [ "$id" != null ] || fail "ERROR STORAGE without the message's id"
wait_for 20 log_has "storage: commit failed" || fail "the failed commit was not logged"
jq -r 'select(.type=="ack") | .id' "$TMP/alice.out" | grep -q -x "$id" &&
    fail "f1 was acknowledged although it could not be stored"
[ "$(broker_pid)" = "$broker" ] || fail "the broker did not survive the full disk"
pass "a message on a full disk: ERROR STORAGE, no ACK, the broker lives"

# Reads go on: a connected user is served, and a user who logs in now is
# sent what was stored before the disk filled.
client_still_works bob "a full disk"
client_say bob "/who #d"
client_wait bob '"type":"who"'
client_start carol
client_wait_jq carol '.type=="message" and .text=="m3"' 20
client_has_jq carol '.type=="message" and .text=="f1"' && fail "carol got a message never stored"
pass "a user logging in on a full disk gets what was stored"

# Space returns: the client's resend of f1 is stored, acknowledged, delivered.
rm -f "$TMP/state/filler"
client_wait_jq alice ".type==\"ack\" and .id==\"$id\"" 30
client_wait_jq bob '.type=="message" and .text=="f1"' 20
client_wait_jq carol '.type=="message" and .text=="f1"' 20
wait_for 10 log_has "storage: writing again" || fail "recovery not logged"
stats=$("$top_builddir/daemon/securechatctl" -s "$TMP/run/securechat.sock" stats)
errors=$(echo "$stats" | sed -n 's/^storage_errors //p')
[ -n "$errors" ] && [ "$errors" -ge 1 ] || fail "stats: $stats"
[ "$(broker_pid)" = "$broker" ] || fail "the broker was restarted"
pass "writes resume by themselves once space returns"

client_say alice "after"
client_wait_jq bob '.type=="message" and .text=="after"' 20
for u in bob carol; do
	for t in m1 m2 m3 f1 after; do
		[ "$u" = carol ] && [ "$t" = after ] && continue
		n=$(jq -r "select(.type==\"message\" and .text==\"$t\") | .text" "$TMP/$u.out" | wc -l)
		[ "$n" -eq 1 ] || fail "$u was shown $t $n times"
	done
done
client_end alice || fail "alice exit status (every message acknowledged)"
client_end bob || fail "bob exit status"
client_end carol || true	# its prekey could not be published: an error
pass "every acknowledged message reached every member exactly once"

# The database is whole: the broker opens it again (quick_check).
stop_daemon
start_daemon
client_start dave
client_wait dave '"event":"logged_in"'
client_end dave || fail "dave exit status"
pass "the database passes its checks after the full disk"
stop_daemon
