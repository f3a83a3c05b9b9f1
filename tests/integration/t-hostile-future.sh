#!/bin/bash
# t-hostile-future.sh: a hostile server cannot switch off a client's
# direct messages by pushing its replay memory's floor into the future.
# It sends more envelopes than the memory holds (65,536), all of one
# sender it invented, each really sealed and signed but stamped 2^62 ms;
# then a stranger's ordinary message.  Envelopes stamped far ahead of the
# client's clock are refused and not remembered, so the floor stays put
# and the ordinary message is shown.  (Before: the flood was remembered,
# the floor rose to 2^62, and every later envelope was refused as too
# old, for good: the floor is saved with the state.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
. "$(dirname "$0")/fake.sh"

N=65600	# one more than the memory holds starts its eviction
fake_start "wait PREKEY
futuredms $N 4611686018427387904
dms 1
event #f 1 1 carol"
client_start u --user u
client_wait_jq u '.type=="join" and .room=="#f"' 600
client_end u || true
client_has_jq u '.type=="direct" and .from=="d0" and .text=="hi"' ||
    fail "the ordinary message after the flood was not shown: $(grep '"d0"' "$TMP/u.out" | tail -n 3)"
client_has_jq u '.type=="direct" and .from=="f"' &&
    fail "an envelope stamped 2^62 ms was shown as a message"
pass "$N envelopes stamped 2^62 ms refused; the next message shown"
fake_stop
