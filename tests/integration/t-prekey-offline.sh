#!/bin/bash
# t-prekey-offline.sh: a direct message sealed to a prekey that turns 14
# days old while its owner is offline is still read when the owner comes
# back; the expired private half is erased once the backlog is in.
#
# libfaketime moves bob's wall clock (not the monotonic one): he publishes
# his prekey "13.5 days ago", alice seals to it now (still within 14
# days), and bob comes back "18 hours from now", when it is 14.25 days
# old.  18 hours keeps his new prekey within the day of clock skew the
# broker believes.
. "$(dirname "$0")/lib.sh"
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && FAKETIME_LIB=$f && break
done
[ -n "$FAKETIME_LIB" ] || skip "libfaketime (package faketime) is not installed"
start_daemon

# bob_start NAME OFFSET_SECONDS: bob's client with its clock moved.
bob_start() {
	LD_PRELOAD=$FAKETIME_LIB FAKETIME="$2" FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    FAKETIME_NO_CACHE=1 \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	    client_start "$1" --user bob --home "$TMP/home-bob"
}

bob_start bob1 -1166400
client_wait bob1 '"event":"logged_in"'
client_say bob1 "/status"
client_wait_jq bob1 '.type=="status" and .prekeys==1'
client_end bob1 || fail "bob's first session ended with an error"

client_start alice
client_wait alice '"event":"logged_in"'
client_say alice "/msg @bob sealed while you were away"
client_wait_jq alice '.type=="ack"'
client_end alice || fail "alice could not send: $(cat "$TMP/alice.err")"

bob_start bob2 +64800
client_wait bob2 '"event":"logged_in"'
client_wait_jq bob2 '.type=="direct" or .type=="undecryptable"'
client_has_jq bob2 '.type=="direct" and .text=="sealed while you were away"' ||
    fail "bob lost the message sealed to his expired prekey: $(cat "$TMP/bob2.out" "$TMP/bob2.err")"
pass "a message sealed to a prekey that expired offline is read"

# Caught up: the expired private half is gone, only the new one is held.
for i in $(seq 1 20); do
	client_say bob2 "/status"
	wait_for 5 client_has_jq bob2 ".type==\"status\"" || true
	client_has_jq bob2 '.type=="status" and .prekeys==1' && break
	sleep 0.25
done
client_has_jq bob2 '.type=="status" and .prekeys==1' ||
    fail "bob still holds the expired prekey: $(grep status "$TMP/bob2.out")"
client_end bob2 || fail "bob's second session ended with an error"
pass "the expired prekey is erased once the backlog is read"
