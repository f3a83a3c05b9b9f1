#!/bin/bash
# t-chaos.sh: while three senders each send 200 numbered messages, the
# broker and random workers are killed.  Every message acknowledged to its
# sender reaches every member exactly once: nothing lost, nothing twice.
. "$(dirname "$0")/lib.sh"
ensure_user
# 20 messages a second per sender: 200 take about 10 s, long enough for
# the kills below to land in the middle of the traffic.
write_config 'limits = { message_rate = 20; message_burst = 10; };'
start_daemon

# r1 joins first, so it sees every later join; each waits for its own.
MEMBERS="r1 r2 s1 s2 s3"
for u in $MEMBERS; do
	client_start "$u" --user "$u"
	client_wait "$u" '"event":"logged_in"'
	client_say "$u" "/join #chaos"
	client_wait_jq "$u" ".type==\"join\" and .user==\"$u\""
done
for u in $MEMBERS; do
	client_wait_jq r1 ".type==\"join\" and .user==\"$u\""
done

# The senders write all their lines at once; their clients queue, resend
# after every reconnect, and exit once all 200 are acknowledged.
for s in s1 s2 s3; do
	for i in $(seq 1 200); do
		client_say "$s" "$s-$i"
	done
done
for s in s1 s2 s3; do
	eval "fd=\$CFD_$s"
	exec {fd}>&-
done

# Chaos: the broker twice, and a worker each round, while messages flow.
# The broker's kills are set by progress, not by the clock (a slow
# machine may take any time to start the traffic): the first once s1 has
# 30 acknowledged, the second once 30 more are.
want=30
for round in 1 2 3 4; do
	sleep 1
	ws=($(worker_pids))
	if [ "${#ws[@]}" -gt 0 ]; then
		kill -KILL "${ws[RANDOM % ${#ws[@]}]}" 2>/dev/null || true
	fi
	if [ "$round" -le 2 ]; then
		wait_for 120 acks_at_least s1 "$want" ||
		    fail "s1 never had $want messages acknowledged"
		a=$(client_acks s1)
		[ "$a" -lt 200 ] || fail "traffic was over before the broker was killed"
		echo "killing the broker with $a of s1's messages acknowledged"
		b=$(broker_pid)
		[ -n "$b" ] && kill -KILL "$b" || true
		want=$((a + 30))
	fi
done

for s in s1 s2 s3; do
	pid=$(client_pid "$s")
	wait_for 120 sh -c "! kill -0 $pid" || fail "sender $s did not finish"
	wait "$pid" || fail "sender $s exited with $? (not every message acknowledged)"
	acked=$(jq -r 'select(.type=="ack") | .id' "$TMP/$s.out" | sort -u | wc -l)
	[ "$acked" -eq 200 ] || fail "sender $s: $acked distinct acknowledgements, not 200"
done
pass "every sender had all 200 messages acknowledged"
log_has "broker lost: restarting it" || fail "the broker was never killed"

# Every member, readers and senders alike, sees all 600 exactly once.
for u in r1 r2; do
	client_wait_jq "$u" '.text=="s1-200"' 60
	client_wait_jq "$u" '.text=="s2-200"' 60
	client_wait_jq "$u" '.text=="s3-200"' 60
done
for u in r1 r2; do
	total=$(jq -r 'select(.type=="message") | .text' "$TMP/$u.out" | wc -l)
	distinct=$(jq -r 'select(.type=="message") | .text' "$TMP/$u.out" | sort -u | wc -l)
	[ "$distinct" -eq 600 ] || fail "$u saw $distinct distinct messages, not 600"
	[ "$total" -eq 600 ] || fail "$u was shown $total messages for 600 distinct (duplicates)"
	# Per sender, numbers arrive in order.
	for s in s1 s2 s3; do
		jq -r "select(.type==\"message\" and .from==\"$s\") | .text" "$TMP/$u.out" |
		    sed "s/^$s-//" | sort -n -c 2>/dev/null ||
		    fail "$u saw $s's messages out of order"
	done
done
pass "both readers saw all 600 messages exactly once, in order per sender"
for u in r1 r2; do
	client_end "$u" || fail "$u exit status"
done
stop_daemon
