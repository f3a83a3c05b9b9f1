#!/bin/bash
# t-slowreader.sh: a reader that stops reading while 10,000 messages are
# sent costs the broker bounded memory, and gets all of them, in order,
# when it resumes.
. "$(dirname "$0")/lib.sh"
ensure_user
# Rekeys every 1 to 2 s: those that find the worker's write to a stopped
# reader pending must wait for it, not end the session.
write_config 'limits = { message_rate = 100000; message_burst = 100000; };
  rekey = { min_seconds = 1; max_seconds = 2; };'
start_daemon

client_start reader --user reader
client_start writer --user writer
client_wait reader '"event":"logged_in"'
client_wait writer '"event":"logged_in"'
client_say reader "/join #big"
client_wait_jq reader '.type=="join" and .user=="reader"'
client_say writer "/join #big"
client_wait_jq reader '.type=="join" and .user=="writer"'

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$(broker_pid)/status"; }
before=$(rss)
kill -STOP "$(client_pid reader)"
N=10000
for i in $(seq 1 "$N"); do
	echo "big-$i"
done >"$TMP/lines"
client_feed writer "$TMP/lines"
wait_for 180 acks_at_least writer "$N" ||
    fail "the writer's $N messages were not all acknowledged"
peak=$(rss)
growth=$((peak - before))
echo "broker VmRSS: ${before} kB before, ${peak} kB with the reader stopped"
[ "$growth" -lt 32768 ] || fail "broker grew by $growth kB while the reader was stopped"
pass "broker memory bounded while a reader stalls (+$growth kB for $N messages)"

kill -CONT "$(client_pid reader)"
client_wait_jq reader ".text==\"big-$N\"" 120
got=$(jq -r 'select(.type=="message") | .text' "$TMP/reader.out" | sed 's/^big-//')
[ "$(echo "$got" | wc -l)" -eq "$N" ] || fail "reader got $(echo "$got" | wc -l) of $N"
echo "$got" | sort -n -c || fail "reader got them out of order"
[ "$(echo "$got" | sort -u | wc -l)" -eq "$N" ] || fail "reader got duplicates"
pass "the reader got all $N, in order, once"

# More than the kernel's socket buffers hold (a new reader, whose receive
# buffer has not grown): the worker's direct TLS write is refused part-way,
# the rest waits in its output and goes when the reader reads again.
client_start slow --user slow
client_wait slow '"event":"logged_in"'
client_say slow "/join #big"
client_wait_jq slow '.type=="join" and .user=="slow"'
kill -STOP "$(client_pid slow)"
M=4000
pad=$(head -c 3000 /dev/zero | tr '\0' x)
seq -f "wide-%.0f $pad" 1 "$M" >"$TMP/wide"
client_feed writer "$TMP/wide"
wait_for 180 acks_at_least writer $((N + M)) ||
    fail "the writer's $M wide messages were not all acknowledged"
sleep 5		# rekeys come while the write waits
kill -CONT "$(client_pid slow)"
client_wait_jq slow ".text | startswith(\"wide-$M \")" 180
got=$(jq -r 'select(.type=="message" and (.text | startswith("wide-"))) |
    .text' "$TMP/slow.out")
[ "$(echo "$got" | wc -l)" -eq "$M" ] || fail "slow got $(echo "$got" | wc -l) of $M"
echo "$got" | grep -qv " $pad\$" && fail "slow got a damaged message"
echo "$got" | sed 's/^wide-//; s/ .*//' | sort -n -c ||
    fail "slow got them out of order"
pass "a reader stopped past the socket buffers got all $M (12 MB), in order"
[ "$(grep -c '"event":"connected"' "$TMP/slow.out")" -eq 1 ] ||
    fail "slow was disconnected: $(grep '"event":"disconnected"' "$TMP/slow.out")"
log_has "SSL_key_update failed" && fail "a rekey ended a stopped reader's session"
pass "rekeys waited for the stopped reader's pending write"
client_end slow || fail "slow exit"
client_end reader || fail "reader exit"
client_end writer || fail "writer exit"
stop_daemon
