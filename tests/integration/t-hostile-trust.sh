#!/bin/bash
# t-hostile-trust.sh: a server that shows a false key once and then the
# real one again cannot get /trust to pin the false key (issue 10, 1).
# The operator edits alice's key in the database: bob is warned of key E,
# then shown alice's real key K again.  The pending change is forgotten,
# /trust refuses, and the attacker who logs in as alice with E is not
# shown to bob as alice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
start_daemon

client_start alice
client_wait alice '"event":"logged_in"'
client_start bob
client_wait bob '"event":"logged_in"'
client_say bob "/verify @alice"
client_wait_jq bob '.type=="safety_number" and .user=="alice" and .key=="pinned"'
client_say alice "/verify @bob"
client_wait_jq alice '.type=="safety_number" and .user=="bob"'
real=$(jq -r 'select(.type=="safety_number") | .number' "$TMP/alice.out" | tail -n 1)
client_end alice || fail "alice: $(cat "$TMP/alice.err")"
K=$(key_pub "$TMP/home-alice" alice)
[ ${#K} -eq 64 ] || fail "no key for alice: $K"

# The attacker's key E for the name alice: a key file whose login fails.
client_once evil "$TMP/home-evil" --user alice && fail "E logged in as alice"
E=$(key_pub "$TMP/home-evil" alice)
[ ${#E} -eq 64 ] || fail "no attacker key: $E"
KF=$(key_fp "$K")
EF=$(key_fp "$E")

# 1. The server shows E once.  bob is warned; E is pending.
db_sql "UPDATE users SET sign_pub = X'$E' WHERE name = 'alice'"
client_say bob "/verify @alice"
client_wait_jq bob ".type==\"key_changed\" and .user==\"alice\" and .key==\"$E\""
client_wait_jq bob ".type==\"safety_number\" and .key==\"changed\" and .fingerprint==\"$EF\""
client_has_jq bob ".type==\"safety_number\" and .key==\"pinned\" and .pending==true and .fingerprint==\"$KF\"" ||
    fail "/verify did not show the pinned key's number beside the new one"
pass "with a change pending, /verify shows both numbers, labelled"

# A client started afresh has not been shown E: /trust alone refuses.
client_end bob || true
mv "$TMP/bob.out" "$TMP/bob-1.out"
client_start bob
client_wait bob '"event":"logged_in"'
client_say bob "/trust @alice"
client_wait_jq bob '.type=="error" and .code=="NOT_SHOWN"'
pass "/trust refuses a pending key the user was not shown"

# 2. The server shows alice's real key K again.
db_sql "UPDATE users SET sign_pub = X'$K' WHERE name = 'alice'"
client_say bob "/verify @alice"
client_wait_jq bob '.type=="notice" and .event=="key_change_withdrawn"'
client_wait_jq bob ".type==\"safety_number\" and .key==\"pinned\" and .fingerprint==\"$KF\""
shown=$(jq -r 'select(.type=="safety_number") | .number' "$TMP/bob.out" | tail -n 1)
[ "$shown" = "$real" ] || fail "bob was shown $shown, alice reads $real"
client_has_jq bob '.type=="safety_number" and .key=="changed"' &&
    fail "a withdrawn key was still shown as pending"
pass "the real key again forgets the pending change"

# bob types /trust @alice, as before the fix the client suggested.
client_say bob "/trust @alice"
client_wait_jq bob '.type=="error" and .code=="NOT_CHANGED"'
# known_users is written within a second of a change.
wait_for 10 grep -i "alice $K pinned\$" "$TMP/home-bob/known_users" ||
    fail "known_users: $(grep alice "$TMP/home-bob/known_users")"
pass "/trust pins nothing: alice's real key K stays pinned"

# 3. The attacker logs in as alice with E and writes to bob.
db_sql "UPDATE users SET sign_pub = X'$E' WHERE name = 'alice'"
client_start mallory --home "$TMP/home-evil" --user alice
client_wait mallory '"event":"logged_in"'
client_say mallory "/msg @bob send the money to mallory"
client_wait_jq mallory '.type=="ack"'
client_wait_jq bob '.type=="undecryptable" and .from=="alice"'
client_has_jq bob '.type=="direct" and (.text|test("money"))' &&
    fail "bob was shown the attacker's message as alice's"
client_wait_jq bob ".type==\"key_changed\" and .user==\"alice\""
pass "the attacker's message is not shown as alice's"
for u in mallory bob; do
	client_end "$u" || true
done
stop_daemon
