#!/bin/bash
# t-chain-rekey.sh: a client replaces its room chain once a random
# deadline in [rekey.min_seconds, rekey.max_seconds] has passed, taking the
# interval from the server's WELCOME; the others read the new chain.
. "$(dirname "$0")/lib.sh"
write_config 'rekey = { min_seconds = 2; max_seconds = 3; };'
start_daemon

for u in alice bob; do
	client_start "$u"
	client_wait "$u" '"event":"logged_in"'
	client_say "$u" "/join #r"
	client_wait_jq alice ".type==\"join\" and .user==\"$u\""
done

# status_chain NTH: the chain and rekeys of #r in alice's NTH status.
status_chain() {
	client_say alice "/status"
	wait_for 10 sh -c "[ \$(grep -c '\"type\":\"status\"' '$TMP/alice.out') -ge $1 ]" ||
	    fail "no status $1"
	jq -r 'select(.type=="status") | .rooms[] | select(.room=="#r") |
	    "\(.chain) \(.rekeys)"' "$TMP/alice.out" | tail -n 1
}

client_say alice "one"
client_wait_jq bob '.type=="message" and .text=="one"'
read -r c1 r1 <<<"$(status_chain 1)"
[ -n "$c1" ] && [ "$c1" != 0 ] || fail "no chain for #r: $(grep status "$TMP/alice.out")"
sleep 4
client_say alice "two"
client_wait_jq bob '.type=="message" and .text=="two"'
read -r c2 r2 <<<"$(status_chain 2)"
[ "$c2" != "$c1" ] || fail "chain $c1 still in use after the 3 s deadline"
[ "$r2" -gt "$r1" ] || fail "rekeys went from $r1 to $r2"
client_has_jq bob '.type=="undecryptable"' &&
    fail "bob could not read: $(grep undecryptable "$TMP/bob.out")"
pass "chain $c1 replaced by $c2 after the server's 2-3 s rekey interval; bob reads both"
for u in alice bob; do
	client_end "$u" || fail "$u exit"
done
stop_daemon
