#!/bin/bash
# t-corrupt.sh: a damaged page that PRAGMA quick_check does not see (an
# index entry that points at no row) fails the requests that read it, not
# the broker.  The user whose inbox it is gets an error and cannot log in;
# everyone else goes on, and the broker is never restarted.
. "$(dirname "$0")/lib.sh"
ensure_user
start_daemon
DB=$TMP/state/securechat.db

# victim registers (and publishes its prekey), then leaves; sender writes
# it a direct message, which waits in its inbox.
client_once victim "$TMP/home-victim" || fail "victim's first session"
client_start sender
client_start reader
client_wait sender '"event":"logged_in"'
client_wait reader '"event":"logged_in"'
client_say sender "/msg @victim waiting for you"
client_wait_jq sender '.type=="ack" and .to=="victim"' 20
client_say sender "/join #ok"
client_wait_jq sender '.type=="join" and .user=="sender"'
client_say reader "/join #ok"
client_wait_jq sender '.type=="join" and .user=="reader"'
client_end sender || fail "sender exit status"
client_end reader || fail "reader exit status"
stop_daemon
[ ! -e "$DB-wal" ] || [ ! -s "$DB-wal" ] || fail "the WAL was not checkpointed"

# The inbox index's entry for the message now names row 0, which does not
# exist.  The b-trees stay well formed: the quick check at open passes.
pg=$(sqlite3 "$DB" "SELECT pageno FROM dbstat WHERE
    name = 'sqlite_autoindex_inbox_log_1' AND pagetype = 'leaf'")
rm -f "$DB-wal" "$DB-shm"
[ -n "$pg" ] || fail "no leaf page for the inbox index"
off=$(((pg - 1) * 4096))
byte() { od -A n -t u1 -j "$1" -N 1 "$DB" | tr -d ' '; }
poke() { printf "\\$(printf %03o "$2")" | dd of="$DB" bs=1 seek="$1" conv=notrunc status=none; }
cell=$((off + $(byte $((off + 8))) * 256 + $(byte $((off + 9)))))
# payload size, header size, serial types of user_id, seq and rowid
[ "$(byte $((cell + 1)))" -eq 4 ] || fail "unexpected index record header"
size() { case $1 in 8|9) echo 0 ;; 1) echo 1 ;; 2) echo 2 ;; *) fail "serial type $1" ;; esac; }
t3=$(byte $((cell + 4)))
case $t3 in
9) poke $((cell + 4)) 8 ;;
1) poke $((cell + 5 + $(size "$(byte $((cell + 2)))") + $(size "$(byte $((cell + 3)))"))) 0 ;;
*) fail "rowid of serial type $t3" ;;
esac
[ "$(sqlite3 "$DB" 'PRAGMA quick_check')" = ok ] || fail "quick_check sees the damage"
rm -f "$DB-wal" "$DB-shm"
pass "an inbox index entry points at no row; quick_check still passes"

start_daemon
broker=$(broker_pid)
# Others are served.
client_start reader
client_wait reader '"event":"logged_in"'
client_start sender
client_wait sender '"event":"logged_in"'
# The victim's session fails on its inbox, with an error, each time.
for i in 1 2 3; do
	rc=0
	client_once victim "$TMP/home-victim" || rc=$?
	[ "$rc" -ne 0 ] || fail "victim's login read a damaged inbox and succeeded"
	grep -q '"code":"INTERNAL"' "$TMP/victim.out" ||
	    fail "victim got no error: $(cat "$TMP/victim.out")"
	grep -q 'cannot read your direct messages' "$TMP/victim.out" ||
	    fail "the error does not say what failed: $(cat "$TMP/victim.out")"
done
[ "$(broker_pid)" = "$broker" ] || fail "the broker did not survive"
log_has "broker lost" && fail "the broker was restarted"
log_has "storage: cannot read your direct messages for victim" ||
    fail "the damage was not logged"
pass "three logins of the victim fail with an error; the broker lives"

client_say sender "/join #ok"
client_say sender "still here"
client_wait_jq reader '.type=="message" and .text=="still here"' 20
client_end sender || fail "sender exit status"
client_end reader || fail "reader exit status"
pass "everyone else goes on"
stop_daemon
