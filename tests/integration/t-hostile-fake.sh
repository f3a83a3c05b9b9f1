#!/bin/bash
# t-hostile-fake.sh: a scripted hostile server (scfake) sends what no
# honest broker would; the client stays usable (issue 10):
# - a seq of 2^64 - 1 is refused, not recorded: later events still show;
# - 100,001 rooms do not stop the client from starting again;
# - thousands of unasked KEYS pin nothing; a flood of new senders' keys
#   pins at most a bounded number;
# - bidirectional controls in server text do not reach the terminal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
. "$(dirname "$0")/fake.sh"

# 1. A seq of 2^64 - 1, then seq 5; after a restart, seq 6.
fake_start "event #a 18446744073709551615 1 bob
event #a 5 1 bob
next
event #a 6 1 carol"
client_start u1 --user u
client_wait_jq u1 '.type=="error" and .code=="BAD_SEQ"'
client_wait_jq u1 '.type=="join" and .user=="bob" and .seq==5'
client_end u1 || true
grep -q '"type":"DELIVERED","room":"#a","seq":18446744073709551615' "$TMP/fake.out" &&
    fail "the client acknowledged seq 2^64 - 1"
grep -qx '#a 5' "$TMP/home-u1/u@127.0.0.1_$PORT.seen" ||
    fail ".seen: $(cat "$TMP/home-u1/u@127.0.0.1_$PORT.seen")"
client_start u1b --user u --home "$TMP/home-u1"
client_wait_jq u1b '.type=="join" and .user=="carol" and .seq==6'
client_end u1b || true
pass "a seq of 2^64 - 1 is refused; the room is not silenced"

# An older client may have saved such a seq: the client still starts.
echo "#a 18446744073709551615" >>"$TMP/home-u1/u@127.0.0.1_$PORT.seen"
client_start u1c --user u --home "$TMP/home-u1"
client_wait_jq u1c '.type=="notice" and .event=="seen_skipped"'
client_wait u1c '"event":"logged_in"'
client_end u1c || true
fake_stop
pass "a .seen line above the bound is skipped, not fatal"

# 2. 100,001 rooms, then the client starts again.
fake_start "rooms #r 100001
next
event #b 1 1 carol"
client_start u2 --user u
client_wait_jq u2 '.type=="error" and .code=="TOO_MANY_ROOMS" and .origin==null' 120
client_wait u2 '"room":"#r100000"' 180
client_end u2 || true
n=$(wc -l <"$TMP/home-u2/u@127.0.0.1_$PORT.seen")
[ "$n" -le 10000 ] || fail ".seen holds $n rooms"
client_start u2b --user u --home "$TMP/home-u2"
client_wait_jq u2b '.type=="join" and .room=="#b"' 60
client_end u2b || true
fake_stop
pass "100,001 rooms from the server: the client keeps $n and starts again"

# 3. 5000 unasked KEYS: nothing pinned, known_users not rewritten for them.
fake_start "keys k 5000
event #c 1 1 carol"
client_start u3 --user u
client_wait_jq u3 '.type=="join" and .room=="#c"' 60
client_end u3 || true
client_has_jq u3 '.event=="key_pinned"' && fail "an unasked key was pinned"
[ ! -e "$TMP/home-u3/known_users" ] || ! grep -q ' k[0-9]' "$TMP/home-u3/known_users" ||
    fail "known_users holds unasked keys"
fake_stop
pass "unasked KEYS pin nothing"

# 4. 300 direct messages from 300 new senders, each with its own key.
fake_start "wait PREKEY
dms 300
event #d 1 1 carol"
client_start u4 --user u
client_wait_jq u4 '.type=="join" and .room=="#d"' 60
client_end u4 || true
pins=$(client_count u4 '"event":"key_pinned"')
[ "$pins" -le 110 ] || fail "$pins keys pinned from one burst"
client_has_jq u4 '.type=="error" and .code=="TOO_MANY_KEYS"' || fail "the flood was not reported"
lines=$(grep -c ' d[0-9]' "$TMP/home-u4/known_users" || true)
[ "$lines" -eq "$pins" ] || fail "known_users holds $lines of the $pins pinned keys"
fake_stop
pass "a flood of new keys pins at most a burst ($pins of 300)"

# 5. Bidirectional controls in a server notice (U+202E): shown as '?'.
fake_start "notice 706179e280ae30303031
next
notice 706179e280ae30303031"
mkfifo "$TMP/h.in"
(close_client_fds; exec "$SC" --server "127.0.0.1:$PORT" --home "$TMP/home-h" \
    --user u --batch) <"$TMP/h.in" >"$TMP/h.out" 2>"$TMP/h.err" &
hpid=$!
exec {hfd}>"$TMP/h.in"
wait_for 20 grep -q 'notice: pay' "$TMP/h.out" || fail "no notice: $(cat "$TMP/h.out" "$TMP/h.err")"
exec {hfd}>&-
wait "$hpid" || true
grep -q $'\xe2\x80\xae' "$TMP/h.out" && fail "U+202E reached the terminal"
grep -q 'notice: pay?0001' "$TMP/h.out" || fail "notice: $(grep notice "$TMP/h.out")"
client_start u5 --user u
client_wait_jq u5 '.type=="notice" and .text=="pay\u202e0001"'
grep -q 'pay\\u202e0001' "$TMP/u5.out" || fail "--json did not escape U+202E"
client_end u5 || true
fake_stop
pass "server text with U+202E: '?' for people, escaped exactly in --json"

# 6. A join whose roster entry is ahead of the roster held (index 5 of a
# room the client has not fetched) is not called signed before the fetch
# verifies it.  The server's roster is empty: the entry it relayed is in
# no roster it gives, so the join is shown unverified, with a warning.
# (Before: "signed":true at once, and nothing said after the fetch.)
fake_start "rosters
aheadjoin #h 1 mallory 5
event #h 2 1 carol"
client_start u6 --user u
client_wait_jq u6 '.type=="join" and .user=="carol"' 20
client_wait_jq u6 '.type=="join" and .user=="mallory"' 20
client_has_jq u6 '.type=="join" and .user=="mallory" and .signed==true' &&
    fail "a join with an entry nobody verified was called signed: $(grep mallory "$TMP/u6.out")"
client_has_jq u6 '.type=="roster" and .event=="roster_mismatch" and .room=="#h"' ||
    fail "no roster_mismatch for the unverified entry: $(grep roster "$TMP/u6.out")"
client_end u6 || true
fake_stop
pass "a join whose entry is ahead of the roster: shown after the fetch, unsigned"

# The same, the fetch answered with ERROR STORAGE: the fetch is over, and
# the join is shown, unsigned, not held for good.
fake_start "rosters storage
aheadjoin #s 1 mallory 5
event #s 2 1 carol"
client_start u6s --user u
client_wait_jq u6s '.type=="join" and .user=="mallory" and .signed==false' 20
client_end u6s || true
fake_stop
pass "a fetch refused with STORAGE ends: the join it held is shown, unsigned"

# A real roster of 100 entries; the joins of entries 10 to 20 come first,
# ahead of the empty roster the client holds: held, then verified by the
# fetch, which brings all 100.  The client remembers only the last 64
# entries' hashes, so the verdict is taken as each entry is applied.
# (Before: the 11 joins were shown unsigned, with roster_mismatch.)
fake_start "chain #c 100
chainjoins 1 10 20
event #c 12 1 carol"
client_start u6c --user u
client_wait_jq u6c '.type=="join" and .user=="carol"' 20
client_wait_jq u6c '.type=="join" and .user=="c20"' 20
client_end u6c || true
n=$(jq -s '[.[] | select(.type=="join" and .room=="#c" and .signed==true)] | length' "$TMP/u6c.out")
[ "$n" -eq 11 ] || fail "$n of the 11 held joins verified: $(grep -E 'roster|"join"' "$TMP/u6c.out" | head -n 5)"
client_has_jq u6c '.type=="roster"' &&
    fail "a warning for a roster that verifies: $(grep '"roster"' "$TMP/u6c.out" | head -n 3)"
fake_stop
pass "11 joins ahead of the roster held, then verified by a fetch of 100 entries"

# A script whose input ends while joins are held for a fetch ends once
# the fetch has shown them, not at the 60 s watchdog: the answer that
# frees them also says the script may be done.
fake_start "chain #d 5
chainjoins 1 2 4"
rc=0
printf '/ping\n' | (close_client_fds; exec timeout 50 "$SC" \
    --server "127.0.0.1:$PORT" --home "$TMP/home-u6d" --user u --batch \
    --json) >"$TMP/u6d.out" 2>"$TMP/u6d.err" || rc=$?
[ "$rc" -eq 0 ] || fail "the script did not end (status $rc): $(tail -n 3 "$TMP/u6d.out")"
n=$(jq -s '[.[] | select(.type=="join" and .room=="#d" and .signed==true)] | length' "$TMP/u6d.out")
[ "$n" -eq 3 ] || fail "$n of the 3 held joins shown signed"
fake_stop
pass "a script ends once the joins it saw held are shown"

# A fetch the server never answers, and the client stopped meanwhile:
# the join it held is shown, unverified, not lost with the client (its
# seq is marked shown already).
fake_start "aheadjoin #x 1 mallory 5
event #x 2 1 carol"
client_start u6x --user u
client_wait_jq u6x '.type=="join" and .user=="carol"' 20
kill -TERM "$(client_pid u6x)"
client_end u6x || true
client_has_jq u6x '.type=="join" and .user=="mallory" and .signed==false' ||
    fail "the held join was lost when the client stopped: $(grep mallory "$TMP/u6x.out")"
client_has_jq u6x '.type=="roster" and .event=="roster_mismatch" and .room=="#x"' ||
    fail "no warning for the join shown unverified"
fake_stop
pass "a join held for a fetch never answered is shown when the client stops"

# A room with a signed roster (c0 created it, c1 and c2 joined): the room
# key of a sender it does not list is refused, whether it comes during the
# fetch (held until the fetch says who the members are) or after, and so
# is a member's name under another key than its entry binds.  A member's
# is taken, during the fetch too, and during a second fetch (dave's join
# ahead of the roster starts it).  (Before: mallory and eve, accounts of
# the server's that no entry names, wrote in #m like members.)
fake_start "wait PREKEY
chain #m 3
speak #m 1 c1
speak #m 3 mallory
wait ROSTER_GET
speak #m 5 eve
speak #m 7 c0 other
speak #m 9 c2
aheadjoin #m 11 dave 10
speak #m 12 c1"
client_start u6m --user u
client_wait_jq u6m '.type=="message" and .from=="c1" and .seq==13' 20
client_end u6m || true
client_has_jq u6m '.type=="message" and .from=="c1" and .text=="from c1"' ||
    fail "a member's message during the fetch was not shown: $(grep c1 "$TMP/u6m.out" | head -n 3)"
client_has_jq u6m '.type=="message" and .from=="c0"' &&
    fail "c0 wrote in #m under another key than its entry binds"
client_has_jq u6m '.type=="undecryptable" and .from=="c0" and (.reason | contains("not the one its roster entry binds"))' ||
    fail "c0's room key under another key not refused: $(grep c0 "$TMP/u6m.out" | head -n 3)"
for who in mallory eve; do
	client_has_jq u6m ".type==\"message\" and .from==\"$who\"" &&
	    fail "$who, whom the roster does not list, wrote in #m"
	client_has_jq u6m ".type==\"roster\" and .event==\"roster_outsider\" and .room==\"#m\" and (.text | contains(\"key of $who in\"))" ||
	    fail "no roster_outsider for $who: $(grep "$who" "$TMP/u6m.out" | head -n 3)"
	client_has_jq u6m ".type==\"undecryptable\" and .from==\"$who\" and (.reason | contains(\"signed roster does not list\"))" ||
	    fail "$who's room key not refused as an outsider's: $(grep "$who" "$TMP/u6m.out" | head -n 3)"
done
fake_stop
pass "a room key from a sender the signed roster does not list is refused, during its fetch too"

# Catching up: c1's room key and message come while the roster is
# fetched, and the fetch brings c1's join and then its part.  c1 was a
# member under that key: shown.  (Judged by the final roster alone, it
# was refused as an outsider's.)
fake_start "wait PREKEY
chain #p 3 part
speak #p 1 c1
wait ROSTER_GET
speak #p 3 c2"
client_start u6p --user u
client_wait_jq u6p '.type=="message" and .from=="c2"' 20
client_end u6p || true
client_has_jq u6p '.type=="message" and .from=="c1" and .text=="from c1"' ||
    fail "the message of a member who left after it was not shown: $(grep c1 "$TMP/u6p.out" | head -n 3)"
client_has_jq u6p '.type=="roster" and .event=="roster_outsider"' &&
    fail "a member who left was called an outsider"
fake_stop
# The same with c1 removed by c0 instead: refused.
fake_start "wait PREKEY
chain #r 3 remove
speak #r 1 c1
wait ROSTER_GET
speak #r 3 c2"
client_start u6r --user u
client_wait_jq u6r '.type=="message" and .from=="c2"' 20
client_end u6r || true
client_has_jq u6r '.type=="message" and .from=="c1"' &&
    fail "a member removed by an admin wrote in #r"
client_has_jq u6r '.type=="roster" and .event=="roster_outsider" and (.text | contains("key of c1 in"))' ||
    fail "no roster_outsider for the removed c1: $(grep c1 "$TMP/u6r.out" | head -n 3)"
fake_stop
pass "a member's message held for a fetch that brings its join and its part is shown, not after a removal"

# A fetch of three pages: c5's room key is held, and c5's message comes
# once the first page has made c5 a member.  It waits behind the key.
# (Opened before it, it had no key.)
fake_start "wait PREKEY
chain #q 400
speak #q 1 c5 wait
speak #q 3 c6"
client_start u6q --user u
client_wait_jq u6q '.type=="message" and .from=="c6"' 20
client_end u6q || true
client_has_jq u6q '.type=="message" and .from=="c5" and .text=="from c5"' ||
    fail "a message after its held key was opened before it: $(grep c5 "$TMP/u6q.out" | head -n 3)"
[ "$(grep -c '"ROSTER_GET"' "$TMP/fake.out")" -ge 3 ] ||
    fail "the roster was not fetched in pages"
fake_stop
pass "a message that follows a held key waits behind it, its sender listed by then"

# 7. known_users nearly full (89,990 entries): keys the server shows
# unasked are pinned up to 90,000 entries and no further, so that the
# last 10,000 stay for the users one writes to.  (Before: a server showing
# one new key a second filled all 100,000 in 28 hours, and no contact
# could be pinned after that.)
fake_start "wait PREKEY
dms 20
event #k 1 1 carol"
mkdir -m 700 "$TMP/home-u7"
zero=0000000000000000000000000000000000000000000000000000000000000000
awk -v hp="127.0.0.1:$PORT" -v k="$zero" 'BEGIN {
	for (i = 0; i < 89990; i++) printf "%s f%06d %s pinned\n", hp, i, k }' \
    >"$TMP/home-u7/known_users"
chmod 600 "$TMP/home-u7/known_users"
client_start u7 --user u
client_wait_jq u7 '.type=="join" and .room=="#k"' 60
client_end u7 || true
pins=$(client_count u7 '"event":"key_pinned"')
[ "$pins" -eq 10 ] || fail "$pins keys pinned past 89,990 entries, not 10"
client_has_jq u7 '.type=="error" and .code=="TOO_MANY_KEYS"' ||
    fail "the full store was not reported"
fake_stop
pass "unasked keys stop at 90,000 pinned: 10 of 20 taken"

# The rest is for the users one names: at 90,000 entries, /verify @zed
# still pins zed's key.
fake_start "answerkeys"
client_start u7b --user u --home "$TMP/home-u7"
client_wait u7b '"event":"logged_in"' 20
client_say u7b "/verify @zed"
client_wait_jq u7b '.event=="key_pinned" and .user=="zed"' 20
client_end u7b || true
fake_stop
pass "at 90,000 entries a user one names is still pinned"
