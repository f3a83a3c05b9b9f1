#!/bin/bash
# t-hostile-replay.sh: a direct message replayed by the server is refused,
# however many envelopes came in between and across a restart (issue 10,
# 3).  The operator copies alice's first message to bob from the
# database, lets more than 4096 others through (the old count bound),
# then appends the copy to bob's inbox under a new seq and restarts the
# broker.  bob shows it as a replay, not as a new message.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
write_config 'limits = { message_rate = 100000; message_burst = 100000; };'
start_daemon

client_start bob
client_wait bob '"event":"logged_in"'
client_end bob || fail "bob: $(cat "$TMP/bob.err")"
mv "$TMP/bob.out" "$TMP/bob-0.out"
client_start alice
client_wait alice '"event":"logged_in"'
client_say alice "/msg @bob the first and only time"
client_wait_jq alice '.type=="ack" and .to=="bob"'
row=$(db_sql "SELECT sender_id || '|' || hex(body) FROM inbox_log l JOIN users u ON u.id = l.user_id WHERE u.name = 'bob' ORDER BY seq LIMIT 1")
[ -n "$row" ] || fail "the message is not in bob's inbox"
pass "the operator kept a copy of alice's message to bob"

client_start bob
client_wait_jq bob '.type=="direct" and .text=="the first and only time"'
N=4200
for i in $(seq 1 $N); do
	printf '/msg @bob filler %d\n' "$i"
done >"$TMP/filler"
client_feed alice "$TMP/filler"
client_wait_jq bob ".type==\"direct\" and .text==\"filler $N\"" 300
got=$(client_count bob '"type":"direct"')
[ "$got" -eq $((N + 1)) ] || fail "bob read $got of $((N + 1)) messages"
client_end bob || fail "bob: $(cat "$TMP/bob.err")"
mv "$TMP/bob.out" "$TMP/bob-1.out"
pass "bob read $N more direct messages and stopped"

# The replay: the same body, appended under a new seq.
sender=${row%%|*}
body=${row#*|}
db_sql "UPDATE users SET inbox_last = inbox_last + 1 WHERE name = 'bob';
    INSERT INTO inbox_log (user_id, seq, sender_id, client_msg_id, kind, ts, body)
    SELECT id, inbox_last, $sender, 424242, 0, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), X'$body'
    FROM users WHERE name = 'bob'"
restart_broker
client_start bob
client_wait_jq bob '.type=="undecryptable" and .from=="alice"' 30
client_has_jq bob '.type=="direct" and .text=="the first and only time"' &&
    fail "the replayed message was shown again"
jq -r 'select(.type=="undecryptable") | .reason' "$TMP/bob.out" | grep -q replayed ||
    fail "reason: $(grep undecryptable "$TMP/bob.out")"
pass "the replay after $N envelopes and a restart is refused as replayed"
for u in alice bob; do
	client_end "$u" || true
done
stop_daemon
