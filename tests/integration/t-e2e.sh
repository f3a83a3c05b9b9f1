#!/bin/bash
# t-e2e.sh: the server relays ciphertext it cannot read.  Three clients
# chat in a room and by direct message, every message carrying a unique
# marker; the markers appear nowhere in the database, its WAL, the logs or
# a core of the broker taken while it relays, yet every client reads them.
# Safety numbers match on both sides; a user's key change is shown to the
# others and blocks sending to it until it is trusted.
. "$(dirname "$0")/lib.sh"
command -v gcore >/dev/null || skip "gcore (gdb) is not installed"
write_config 'limits = { message_rate = 1000; message_burst = 1000; };'
start_daemon

TAG=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mark() { printf 'MARK%s-%s' "$TAG" "$1"; }

for u in alice bob carol; do
	client_start "$u"
	client_wait "$u" '"event":"logged_in"'
done
# Joins in a known order: a member sees only what follows its own join.
for u in alice bob carol; do
	client_say "$u" "/join #room"
	client_wait_jq alice ".type==\"join\" and .user==\"$u\""
done

n=0
for round in 1 2 3; do
	for u in alice bob carol; do
		n=$((n + 1))
		client_say "$u" "$(mark "room-$u-$round")"
	done
done
client_say alice "/msg @bob $(mark dm-alice-bob)"
client_say bob "/msg @carol $(mark dm-bob-carol)"
client_say carol "/msg @alice $(mark dm-carol-alice)"
for u in alice bob carol; do
	for v in alice bob carol; do
		client_wait_jq "$u" ".type==\"message\" and .text==\"$(mark "room-$v-3")\""
	done
done
client_wait_jq bob ".type==\"direct\" and .text==\"$(mark dm-alice-bob)\""
client_wait_jq carol ".type==\"direct\" and .text==\"$(mark dm-bob-carol)\""
client_wait_jq alice ".type==\"direct\" and .text==\"$(mark dm-carol-alice)\""
for u in alice bob carol; do
	got=$(jq -r 'select(.type=="message") | .text' "$TMP/$u.out" | grep -c "^MARK$TAG-room-" || true)
	[ "$got" -eq 9 ] || fail "$u read $got of the 9 room messages"
	jq -e 'select(.type=="undecryptable")' "$TMP/$u.out" >/dev/null &&
	    fail "$u could not decrypt something: $(grep undecryptable "$TMP/$u.out")"
done
pass "three clients read every room and direct message in plaintext"

# The client holds the keys that open all this: it cannot dump core.
grep -Eq '^Max core file size +0 +0 ' "/proc/$(client_pid alice)/limits" ||
    fail "the client may dump core: $(grep core "/proc/$(client_pid alice)/limits")"
pass "the client runs with no core dumps"

# A core of the broker while clients are connected and traffic flows.
# ASan maps terabytes of shadow memory: its core would fill the disk, so
# the sanitizer build leaves this part to the normal one.  The file size
# limit makes sure no core can, whatever the build.
client_say alice "$(mark while-core)"
core=
if grep -aq AddressSanitizer "$SCD"; then
	echo "sanitizer build: no core of the broker (the normal build takes one)"
elif [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" -ge 3 ]; then
	# Yama mode 3 forbids every attach, root's included, until reboot.
	echo "this kernel forbids ptrace (yama ptrace_scope 3): no core of the" \
	    "broker; the database, WAL and log are still checked"
else
	bp=$(broker_pid)
	[ -n "$bp" ] || fail "no broker"
	(ulimit -f 2097152; gcore -o "$TMP/broker.core" "$bp") >"$TMP/gcore.log" 2>&1 ||
	    fail "gcore failed: $(cat "$TMP/gcore.log")"
	core=$(ls "$TMP"/broker.core.* | head -n 1)
	[ -s "$core" ] || fail "empty core"
fi
client_wait_jq bob ".text==\"$(mark while-core)\""

db=$TMP/state/securechat.db
[ -f "$db" ] || db=$(ls "$TMP"/state/*.db | head -n 1)
rows=$(sqlite3 "file:$db?mode=ro" 'SELECT count(*) FROM room_log WHERE kind = 0' 2>/dev/null || echo 0)
[ "$rows" -ge 10 ] || fail "the database holds $rows room messages: the check would prove nothing"
for f in "$db" "$db-wal" "$TMP/daemon.log" $core; do
	[ -e "$f" ] || continue
	if grep -a -q "MARK$TAG" "$f"; then
		fail "a plaintext marker is in $f"
	fi
done
rm -f "$TMP"/broker.core.*
# The same check finds a marker that is there: it is not blind.
grep -a -q "MARK$TAG" "$TMP/alice.out" || fail "the marker check is blind"
pass "no marker in the database, its WAL, the daemon's log or a core of the broker (${core:-no core}, $rows rows)"

# /status: per room, our chain and the members' keys.
client_say alice "/status"
client_wait_jq alice '.type=="status" and (.rooms | length) >= 1'
jq -e 'select(.type=="status") | .rooms[] | select(.room=="#room")
    | select(.chain > 0 and .chain_messages >= 3 and .rekeys >= 1)
    | .members[] | select(.user=="bob" and .key=="pinned")' \
    "$TMP/alice.out" >/dev/null || fail "status: $(grep '"status"' "$TMP/alice.out" | tail -n 1)"
pass "/status shows the room's chain, its use and the members' pinned keys"

# Safety numbers: the same on both sides; verifying marks the key.
client_say alice "/verify @bob"
client_say bob "/verify @alice"
client_wait_jq alice '.type=="safety_number" and .user=="bob"'
client_wait_jq bob '.type=="safety_number" and .user=="alice"'
na=$(jq -r 'select(.type=="safety_number") | .number' "$TMP/alice.out" | tail -n 1)
nb=$(jq -r 'select(.type=="safety_number") | .number' "$TMP/bob.out" | tail -n 1)
[ "$na" = "$nb" ] || fail "safety numbers differ: $na / $nb"
echo "$na" | grep -Eq '^([0-9]{5} ){11}[0-9]{5}$' || fail "safety number format: $na"
client_say alice "/verify @bob 00000 $na"
client_wait_jq alice '.type=="error" and .code=="BAD_NUMBER"'
client_say alice "/verify @bob $na"
client_wait_jq alice '.type=="notice" and .event=="verified"'
pass "safety numbers match on both sides and /verify records it"

# bob restarts in the middle of alice's chain and still reads it.
client_end bob || true
mv "$TMP/bob.out" "$TMP/bob-1.out"
client_say alice "$(mark after-bob-left)"
client_wait_jq alice ".type==\"ack\""
client_start bob
client_wait_jq bob ".type==\"message\" and .text==\"$(mark after-bob-left)\"" 15
pass "a restarted client keeps the chains it learnt (state file)"

# carol loses her key; the operator resets it, which ends the session
# still open with the old key; she registers a new one with the code.
"$top_builddir/daemon/securechatctl" -s "$TMP/run/securechat.sock" reset-key carol \
    >"$TMP/ctl.out" 2>&1 || fail "reset-key: $(cat "$TMP/ctl.out")"
code=$(cat "$TMP/ctl.out")
echo "$code" | grep -Eq '^[0-9a-f]{20}$' || fail "reset-key printed: $code"
client_wait_jq carol '.type=="error" and .code=="KEY_RESET"'
rc=0; client_end carol || rc=$?
[ "$rc" -ne 0 ] || fail "carol's old session ended with status 0"
mv "$TMP/carol.out" "$TMP/carol-1.out"

client_once old "$TMP/home-carol" --user carol &&
    fail "the old key registered again"
client_has_jq old '.type=="error" and .code=="INVITE_REQUIRED"' ||
    fail "old key: $(cat "$TMP/old.out" "$TMP/old.err")"
client_once wrong "$TMP/home-carol-new" --user carol \
    --invite 0123456789abcdef0123 &&
    fail "a wrong reset code was accepted"
client_has_jq wrong '.type=="error" and .code=="INVITE_INVALID"' ||
    fail "wrong code: $(cat "$TMP/wrong.out" "$TMP/wrong.err")"
pass "a key reset ends the old key's session; only the code registers anew"

client_start carol --home "$TMP/home-carol-new" --invite "$code"
client_wait_jq carol '.event=="logged_in"'
client_say carol "/join #room"
client_say carol "$(mark after-reset)"
client_wait_jq carol '.type=="ack" and .room=="#room"'
for u in alice bob; do
	client_wait_jq "$u" '.type=="key_changed" and .user=="carol"'
	client_wait_jq "$u" '.type=="undecryptable" and .from=="carol" and .room=="#room"'
	grep -q "MARK$TAG-after-reset" "$TMP/$u.out" &&
	    fail "$u showed a message from carol's new, untrusted key"
done
grep -q 'identity key of carol has changed' "$TMP/alice.err" ||
    fail "alice was not warned on stderr"
pass "carol's new key is announced to the others, her messages withheld"

client_say alice "/msg @carol $(mark blocked)"
client_wait_jq alice '.type=="error" and .code=="KEY_CHANGED"'
client_say alice "/trust @carol"
client_wait_jq alice '.type=="notice" and .event=="trusted"'
client_say alice "/msg @carol $(mark after-trust)"
client_wait_jq carol ".type==\"direct\" and .text==\"$(mark after-trust)\""
grep -q "MARK$TAG-blocked" "$TMP/carol.out" && fail "carol got a message sent before trust"
client_say carol "$(mark after-trust-room)"
client_wait_jq alice ".type==\"message\" and .text==\"$(mark after-trust-room)\""
pass "nothing goes to a changed key until /trust; then both ways work"

# bob accepts carol's new key only with the safety number she reads him.
client_say carol "/verify @bob"
client_wait_jq carol '.type=="safety_number" and .user=="bob"'
nc=$(jq -r 'select(.type=="safety_number" and .user=="bob") | .number' "$TMP/carol.out" | tail -n 1)
d=${nc:0:1}
wrong="$(( (d + 1) % 10 ))${nc:1}"
client_say bob "/verify @carol $nc"
client_wait_jq bob '.type=="error" and .code=="KEY_CHANGED"'
client_say bob "/trust @carol $wrong"
client_wait_jq bob '.type=="error" and .code=="MISMATCH"'
client_has_jq bob '.type=="notice" and .event=="trusted"' &&
    fail "bob accepted carol's key with a wrong number"
client_say bob "/trust @carol $nc"
client_wait_jq bob '.type=="notice" and .event=="verified" and (.text | test("carol"))'
client_has_jq bob '.type=="notice" and .event=="trusted"' ||
    fail "bob's /trust with the number did not accept the key"
client_say bob "/msg @carol $(mark bob-after-number)"
client_wait_jq carol ".type==\"direct\" and .text==\"$(mark bob-after-number)\""
pass "/trust with the safety number accepts only that key, verified"

for u in alice bob carol; do
	client_end "$u" || true
done
for f in "$db" "$db-wal" "$TMP/daemon.log"; do
	[ -e "$f" ] || continue
	grep -a -q "MARK$TAG" "$f" && fail "a plaintext marker is in $f at the end"
done
stop_daemon
pass "end: still no marker on the server"
