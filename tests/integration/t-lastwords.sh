#!/bin/bash
# t-lastwords.sh: what a client sends just before it hangs up is relayed,
# not lost with its worker.  Its last frames and its close_notify come in
# one write: cut into records of many sizes, the server's reads end at
# many places.  Then a bad frame ends a session while the worker still
# holds frames the (stopped) broker has not taken.
. "$(dirname "$0")/lib.sh"
HOSTILE=$top_builddir/tests/integration/schostile
ensure_user
write_config "limits = { $ACCEPT_OPEN
  max_frame_bytes = 2048; message_rate = 100000; message_burst = 100000;
  inbox_max_messages = 100000; inbox_max_mib = 64;
  storage_mib_per_day = 1024; storage_burst_mib = 1024; };"
start_daemon
H() { "$HOSTILE" -t 30 "$@"; }

H -u bob 127.0.0.1 "$PORT" login >/dev/null || fail "bob cannot register"

# Frames past limits.max_frame_bytes in one TLS record: the worker takes
# them all at once, not the first few and the rest with the next record.
out=$(H -t 10 -u carol 127.0.0.1 "$PORT" fill bob 40 1000)
echo "one burst: $out"
[ "$(echo "$out" | jq .acked)" -eq 40 ] || fail "a burst in one record stalled: $out"
pass "40 frames of 1 KB in 16 KiB records, with 2 KiB frames, all acknowledged"
H -u bob 127.0.0.1 "$PORT" inbox ack >/dev/null || fail "bob cannot read"

sent=0
for rec in 0 61 97 150 211 256 333 400 512 640 777 900 1000 1023 1500 2047; do
	out=$(H -u alice 127.0.0.1 "$PORT" lastwords bob 12 300 "$rec" |
	    tail -n 1)
	[ "$(echo "$out" | jq .server_closed)" = true ] || fail "no close: $out"
	sent=$((sent + 12))
	echo "records of $rec bytes: $(H -u bob 127.0.0.1 "$PORT" inbox |
	    jq .direct) of $sent in bob's inbox"
done
out=$(H -u bob 127.0.0.1 "$PORT" inbox ack)
echo "bob: $out"
[ "$(echo "$out" | jq .direct)" -eq "$sent" ] || fail "bob got: $out"
pass "$sent messages sent with the close_notify all reached the inbox"

# 300 frames of 1000 bytes: the broker's socket takes some 200 KiB, the
# worker keeps the rest until the broker reads again.  The bad frame that
# follows ends the session meanwhile: the worker must wait for the broker
# (it reads 64 KiB frames a turn now), not exit with what it holds.
write_config "limits = { $ACCEPT_OPEN
  max_frame_bytes = 65536; message_rate = 100000; message_burst = 100000;
  inbox_max_messages = 100000; inbox_max_mib = 64;
  storage_mib_per_day = 1024; storage_burst_mib = 1024; };"
kill -HUP "$DPID"
wait_for 10 log_has 'configuration reloaded' || fail "no reload"
H -u bob 127.0.0.1 "$PORT" inbox ack >/dev/null || fail "bob cannot read"
H -W "$TMP/go" -u alice 127.0.0.1 "$PORT" lastwords bob 300 1000 0 bad \
    >"$TMP/bad.out" &
hpid=$!
wait_for 10 grep -q logged_in "$TMP/bad.out" || fail "alice did not log in"
b=$(broker_pid)
kill -STOP "$b"
touch "$TMP/go"
wait_for 10 log_has 'TOO_LARGE' || { kill -CONT "$b"; fail "no bad frame seen"; }
kill -CONT "$b"
wait "$hpid" || fail "lastwords failed: $(cat "$TMP/bad.out")"
log_has 'not taken by the broker' && fail "the worker gave up on the broker"
out=$(H -u bob 127.0.0.1 "$PORT" inbox)
echo "bob: $out"
[ "$(echo "$out" | jq .direct)" -eq 300 ] || fail "bob got: $out"
pass "300 messages before a bad frame, held for a stopped broker, all stored"
