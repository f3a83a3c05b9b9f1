#!/bin/bash
# t-amplify.sh: reply amplification.  A user in 1000 rooms sends 100,000
# ROOMS requests and never reads an answer.  The broker stops reading that
# link while its answers are not read, so its memory stays bounded and
# another user still logs in; then every request kind is paced by
# limits.request_rate / request_burst.
. "$(dirname "$0")/lib.sh"
HOSTILE=$top_builddir/tests/integration/schostile
ensure_user
# Only back-pressure here: the request rate is out of the way.
write_config "limits = { $ACCEPT_OPEN
  max_rooms_per_user = 1000; room_creates_per_hour = 1000;
  request_rate = 100000; request_burst = 100000; };"
start_daemon

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$(broker_pid)/status"; }

"$HOSTILE" -t 60 -u other 127.0.0.1 "$PORT" login >/dev/null ||
    fail "other user cannot log in"
out=$("$HOSTILE" -t 120 -u attacker 127.0.0.1 "$PORT" join 1000 a)
[ "$(echo "$out" | jq .joined)" -eq 1000 ] || fail "attacker joined: $out"
sleep 1
before=$(rss)

"$HOSTILE" -t 120 -u attacker 127.0.0.1 "$PORT" amplify rooms 100000 20 \
    >"$TMP/amplify.json" &
apid=$!
peak=$before
# While the attacker holds on (20 s), and another user logs in.
(sleep 3; "$HOSTILE" -t 60 -u other 127.0.0.1 "$PORT" relogin 3 >"$TMP/other.json") &
lpid=$!
for i in $(seq 1 300); do
	r=$(rss)
	[ "$r" -gt "$peak" ] && peak=$r
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.2
done
wait "$lpid" || fail "another user could not log in during the flood: $(cat "$TMP/other.json")"
wait "$apid" || true
growth=$((peak - before))
echo "broker VmRSS ${before} kB before, peak ${peak} kB during the flood"
echo "attacker: $(cat "$TMP/amplify.json")"
echo "other's logins during the flood: $(cat "$TMP/other.json")"
[ "$growth" -lt 16384 ] ||
    fail "the broker grew by $growth kB answering requests nobody reads"
pass "broker memory bounded under reply amplification (+$growth kB)"
max=$(jq .max_ms "$TMP/other.json")
# Generous: the target is 0.5 s (bench/abuse.sh); the flaw cost 13-20 s.
[ "$max" -lt 5000 ] || fail "another user's login took $max ms during the flood"
pass "another user logs in during the flood (slowest of 3: $max ms)"
[ -n "$(broker_pid)" ] || fail "the broker died"

# Pacing: 60 INFO at once with 10 a second and a burst of 20: the last
# 40 wait for tokens, so the answers take at least 4 s (the requests are
# delayed, not refused: every one is answered).
write_config "limits = { $ACCEPT_OPEN
  request_rate = 10; request_burst = 20; };"
kill -HUP "$DPID"
wait_for 10 log_has "configuration reloaded" || fail "no reload"
sleep 3		# the attacker's bucket refills up to the new burst
out=$("$HOSTILE" -t 60 -u pacer 127.0.0.1 "$PORT" burst info 60)
echo "60 INFO: $out"
[ "$(echo "$out" | jq .answers)" -eq 60 ] || fail "not all answered: $out"
[ "$(echo "$out" | jq .elapsed_ms)" -ge 3500 ] ||
    fail "60 requests were not paced by limits.request_rate: $out"
wait_for 10 log_has "security: rate limit: pacer from 127.0.0.1: requests" ||
    fail "pacing not logged as a security event"
pass "every request kind is paced, none refused or lost"
stop_daemon
