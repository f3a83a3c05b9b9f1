#!/bin/bash
# t-hostile-client.sh: the client survives what others send it (issue 10).
# - It runs clean under valgrind, a start-up error included (the seen
#   table was once written through a freed file name).
# - A prekey made while the clock was a week ahead, which the server
#   refused, does not stop the client from starting at the right time.
# - C1 controls (raw and encoded), invalid UTF-8 and bidirectional
#   overrides in a message reach people as '?', and scripts exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/hostile.sh"
write_config 'limits = { message_rate = 100; message_burst = 100; };'
start_daemon

# Under valgrind, or (sanitizer build) under ASan, which valgrind cannot run.
VG=
if [ "${SC_SANITIZERS:-no}" = yes ] || ldd "$SC" 2>/dev/null | grep -q libasan; then
	echo "sanitizer build: ASan checks the client instead of valgrind"
elif command -v valgrind >/dev/null; then
	VG="valgrind -q --error-exitcode=99 --leak-check=no"
else
	skip "valgrind is not installed"
fi
memcheck_ok() {	# FILE: no report from valgrind, ASan or UBSan in it
	! grep -Eq '^==[0-9]+== (Invalid|Conditional|Use of uninit|Syscall param)|ERROR: AddressSanitizer|runtime error:' "$1"
}

# A start-up error after the seen table is loaded: known_users damaged.
mkdir -p "$TMP/home-uaf"
chmod 700 "$TMP/home-uaf"
printf '#lobby 3\n' >"$TMP/home-uaf/uaf@127.0.0.1_$PORT.seen"
printf 'garbage\n' >"$TMP/home-uaf/known_users"
chmod 600 "$TMP/home-uaf"/*
rc=0
$VG "$SC" --server "127.0.0.1:$PORT" --home "$TMP/home-uaf" --user uaf --batch \
    --json </dev/null >"$TMP/uaf.out" 2>"$TMP/uaf.err" || rc=$?
[ "$rc" -eq 1 ] || fail "start-up error: exit $rc: $(cat "$TMP/uaf.err")"
memcheck_ok "$TMP/uaf.err" || fail "memory error at a start-up error: $(cat "$TMP/uaf.err")"
grep -q KNOWN_USERS "$TMP/uaf.out" || fail "no start-up error: $(cat "$TMP/uaf.out")"
grep -qx '#lobby 3' "$TMP/home-uaf/uaf@127.0.0.1_$PORT.seen" ||
    fail "the seen table was not kept"
pass "a start-up error is clean under ${VG:-ASan} and keeps the seen table"

# A whole session under valgrind: register, join, talk, direct message.
client_start bob
client_wait bob '"event":"logged_in"'
client_say bob "/join #vg"
client_wait_jq bob '.type=="join" and .user=="bob"'
mkfifo "$TMP/vg.in"
(close_client_fds; exec $VG "$SC" --server "127.0.0.1:$PORT" --home "$TMP/home-vg" \
    --user vg --batch --json) <"$TMP/vg.in" >"$TMP/vg.out" 2>"$TMP/vg.err" &
vgpid=$!
exec {vgfd}>"$TMP/vg.in"
wait_for 60 grep -q '"logged_in"' "$TMP/vg.out" || fail "vg: $(cat "$TMP/vg.err")"
printf '/join #vg\nhello from valgrind\n/msg @bob direct from valgrind\n/verify @bob\n/status\n' >&"$vgfd"
client_wait_jq bob '.type=="message" and .text=="hello from valgrind"' 60
client_wait_jq bob '.type=="direct" and .text=="direct from valgrind"' 60
client_say bob "reply to valgrind"
wait_for 60 grep -q 'reply to valgrind' "$TMP/vg.out" || fail "vg did not read bob"
exec {vgfd}>&-
wait_for 60 sh -c "! kill -0 $vgpid" || fail "vg did not exit"
rc=0; wait "$vgpid" || rc=$?
[ "$rc" -ne 99 ] || fail "valgrind: $(cat "$TMP/vg.err")"
memcheck_ok "$TMP/vg.err" || fail "memory errors: $(cat "$TMP/vg.err")"
pass "a chat session is clean under ${VG:-ASan} (exit $rc)"

# Text that would move a terminal: C1 encoded (CSI 2J) and raw, U+202E,
# invalid UTF-8.  bob reads --json; carol reads as a person would.
mkfifo "$TMP/carol.in"
(close_client_fds; exec "$SC" --server "127.0.0.1:$PORT" --home "$TMP/home-carol" \
    --user carol --batch) <"$TMP/carol.in" >"$TMP/carol.out" 2>"$TMP/carol.err" &
cpid=$!
exec {cfd}>"$TMP/carol.in"
wait_for 20 grep -q 'logged in as carol' "$TMP/carol.out" || fail "carol: $(cat "$TMP/carol.err")"
printf '/join #vg\n' >&"$cfd"
client_wait_jq bob '.type=="join" and .user=="carol"'
evil=$'pay \xe2\x80\xae0001$ \xc2\x9b2J \x9b2J \xff end'
client_say bob "$evil"
wait_for 20 grep -q ' end$' "$TMP/carol.out" || fail "carol: $(cat "$TMP/carol.out" "$TMP/carol.err")"
line=$(grep ' end$' "$TMP/carol.out")
case "$line" in
*$'\xe2\x80\xae'* | *$'\xc2\x9b'* | *$'\x9b'* | *$'\xff'*)
	fail "a control reached the terminal: $(printf '%s' "$line" | od -c | head)";;
esac
echo "$line" | grep -qF 'pay ?0001$ ?2J ?2J ? end' || fail "carol saw: $line"
client_wait_jq bob '.type=="message" and (.text | endswith(" end"))'
text=$(grep '"type":"message"' "$TMP/bob.out" | grep ' end"' | tail -n 1)
echo "$text" | grep -qF 'pay \u202e0001$ \u009b2J \ufffd2J \ufffd end' || fail "bob's JSON: $text"
hex=$(echo "$text" | jq -r .text_hex)
[ "$hex" = "$(printf '%s' "$evil" | od -An -tx1 | tr -d ' \n')" ] || fail "text_hex: $hex"
pass "controls, bidi overrides and invalid UTF-8: '?' for people, exact for scripts"
exec {cfd}>&-
wait "$cpid" || true

# bob's clock a week ahead: the server refuses his new prekey.
FAKETIME_LIB=
for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1; do
	[ -e "$f" ] && FAKETIME_LIB=$f && break
done
if [ -n "$FAKETIME_LIB" ]; then
	client_end bob || true
	mv "$TMP/bob.out" "$TMP/bob-1.out"
	rm -f "$TMP/home-bob/bob.prekeys"
	LD_PRELOAD=$FAKETIME_LIB FAKETIME=+7d FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	    client_once bob "$TMP/home-bob" && fail "a prekey a week ahead was accepted"
	grep -q BAD_SIGNATURE "$TMP/bob.out" || fail "ahead: $(cat "$TMP/bob.out" "$TMP/bob.err")"
	client_start bob
	client_wait bob '"event":"logged_in"'
	client_wait_jq bob '.type=="notice" and .event=="prekey_dropped"'
	client_say bob "/status"
	client_wait_jq bob '.type=="status" and .prekeys==1'
	client_end bob || fail "bob: $(cat "$TMP/bob.err")"
	pass "a prekey from a clock a week ahead is dropped; the client starts"
else
	echo "libfaketime not installed: the clock case is not run"
fi
stop_daemon
