#!/bin/bash
# t-ratelimit.sh: a burst past limits.message_burst gets RATE_LIMITED with
# a retry time; the client holds the messages and sends them when allowed:
# all arrive, in order, nothing dropped.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { message_rate = 5; message_burst = 10; };'
start_daemon

client_start fast --user fast
client_start reader --user reader
client_wait fast '"event":"logged_in"'
client_wait reader '"event":"logged_in"'
client_say reader "/join #rl"
client_wait_jq reader '.type=="join" and .user=="reader"'
client_say fast "/join #rl"
client_wait_jq reader '.type=="join" and .user=="fast"'
for i in $(seq 1 30); do
	client_say fast "burst-$i"
done
client_wait_jq fast '.type=="error" and .code=="RATE_LIMITED"'
retry=$(jq -r 'select(.type=="error" and .code=="RATE_LIMITED") | .retry_after_ms' "$TMP/fast.out" | head -1)
[ "$retry" -gt 0 ] && [ "$retry" -le 1000 ] || fail "retry_after_ms is $retry"
pass "RATE_LIMITED with retry_after_ms $retry"
client_wait_jq reader '.text=="burst-30"' 30
got=$(jq -r 'select(.type=="message") | .text' "$TMP/reader.out" | tr '\n' ' ')
want=$(for i in $(seq 1 30); do printf 'burst-%s ' "$i"; done)
[ "$got" = "$want" ] || fail "reader got: $got"
log_has "security: rate limit: fast" || fail "rate limiting not logged"
client_end fast || fail "a rate-limited client must still exit 0 once all is sent"
pass "all 30 delivered in order after waiting"

# Not a line per refusal: the first in full, then one summary per window.
refused=$(jq -r 'select(.type=="error" and .code=="RATE_LIMITED") | .code' "$TMP/fast.out" | wc -l)
wait_for 15 log_has "security: rate limit: [0-9]* times in [0-9]* s for fast" ||
    fail "no summary of the rate-limit events"
lines=$(grep -c "security: rate limit: fast from" "$TMP/daemon.log")
[ "$refused" -gt 3 ] && [ "$lines" -le 3 ] ||
    fail "$refused refusals gave $lines full rate-limit lines"
pass "$refused refusals: $lines full line(s) and a summary ($(grep -o 'rate limit: [0-9]* times in [0-9]* s' "$TMP/daemon.log" | head -1))"

# Reconnecting does not refill the bucket.  At 1 message a second (a
# reload) it holds a few tokens when fast is back; with a refill it would
# hold 10, enough for the room key and 8 messages without a wait.
write_config 'limits = { message_rate = 1; message_burst = 10; };'
kill -HUP "$DPID"
wait_for 10 log_has "configuration reloaded" || fail "no reload"
client_start fast2 --user fast --home "$TMP/home-fast"
client_wait fast2 '"event":"logged_in"'
client_say fast2 "/join #rl"
for i in $(seq 1 8); do
	client_say fast2 "again-$i"
done
client_wait_jq reader '.text=="again-8"' 30
client_has_jq fast2 '.type=="error" and .code=="RATE_LIMITED"' ||
    fail "a reconnect refilled the rate bucket"
client_end fast2 || fail "fast2 exit"
pass "a reconnect does not refill the rate bucket"
client_end reader || fail "reader exit"
stop_daemon
