#!/bin/bash
# t-hostile-skip.sh: a hostile server cannot make a client's state too
# large to write.  It invents 48 senders in a room, each with 5 chains,
# and sends each chain's room key and then its messages 1000 and 2000:
# the client holds 1998 skipped keys per chain, 17 MB of state, over the
# state file's bound.  The oldest receivers are dropped instead, with a
# notice, and the state is written and every event acknowledged.
# (Before: from then on the state could not be written, and no more
# DELIVERED went out.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
. "$(dirname "$0")/fake.sh"

# #s has no signed roster: the fetch its first event starts is answered
# with none, after the flood.  The keys wait for the answer, and are then
# taken as in any such room.
fake_start "wait PREKEY
rosters
skippers #s 1 48 5
event #z 1 1 carol"
client_start u --user u
client_wait_jq u '.type=="join" and .room=="#z"' 300
client_end u || true
client_has_jq u '.type=="error" and .code=="E2E_STATE"' &&
    fail "the state could not be written: $(grep E2E_STATE "$TMP/u.out" | head -n 1)"
client_has_jq u '.type=="notice" and .event=="keys_dropped"' ||
    fail "no receivers were dropped: $(tail -n 3 "$TMP/u.out")"
# 48 senders, 5 chains, 3 events a chain: seqs 1 to 720.
grep -q '"type":"DELIVERED","room":"#s","seq":720}' "$TMP/fake.out" ||
    fail "not every event was acknowledged: $(grep DELIVERED "$TMP/fake.out" | tail -n 1)"
pass "17 MB of skipped keys: the oldest dropped, the state written, all acknowledged"
fake_stop
