#!/bin/bash
# t-storage.sh: the database is ours and whole, or the broker does not
# start: an empty file, another program's SQLite file and a damaged one
# are refused (the master stops, with the reason) and left as they are.
# A database made anew has a new identity (the epoch in WELCOME): clients
# reset their marks of what was shown, and hide nothing of it.
. "$(dirname "$0")/lib.sh"
ensure_user
start_daemon
DB=$TMP/state/securechat.db

client_start alice
client_start bob
client_wait alice '"event":"logged_in"'
client_wait bob '"event":"logged_in"'
client_say alice "/join #r"
client_wait_jq alice '.type=="join" and .user=="alice"'
client_say bob "/join #r"
client_wait_jq alice '.type=="join" and .user=="bob"'
client_say bob "one"
client_wait_jq alice '.type=="message" and .text=="one"'
client_wait_jq bob '.type=="ack"'
client_end alice || fail "alice exit status"
client_end bob || fail "bob exit status"
mark=$(sed -n 's/^#r \([0-9]*\)$/\1/p' "$TMP/home-alice/alice@127.0.0.1_$PORT.seen")
[ -n "$mark" ] && [ "$mark" -ge 3 ] ||
    fail "alice's marks: $(cat "$TMP/home-alice/alice@127.0.0.1_$PORT.seen")"
grep -q '^epoch [0-9a-f]\{32\}$' "$TMP/home-alice/alice@127.0.0.1_$PORT.seen" ||
    fail "alice's marks do not say which database they count in"
pass "marks saved with the database's epoch"
stop_daemon
cp "$DB" "$TMP/good.db"

# start_refused WHY: the daemon must stop by itself, non-zero, saying WHY.
start_refused() {
	: >"$TMP/daemon.log"
	daemon_must_stop "on a database it should refuse"
	[ "$DAEMON_RC" -ne 0 ] || fail "the daemon exited 0"
	log_has "stopping: the broker failed to start" || fail "no stop logged"
	log_has "$1" || { daemon_log >&2; fail "the reason is not '$1'"; }
}

# An existing empty file is not replaced by a new, empty database.
: >"$DB"
rm -f "$DB-wal" "$DB-shm"
start_refused "exists but is empty: refusing to make a new database"
[ ! -s "$DB" ] || fail "the empty file was written to"
pass "an empty database file is refused and left empty"

# Another program's database is neither migrated into nor served.
rm -f "$DB"
sqlite3 "$DB" "CREATE TABLE notes (x); INSERT INTO notes VALUES ('mine');" ||
    fail "sqlite3"
chown "$SC_USER" "$DB"
sum=$(sha256sum <"$DB")
start_refused "not a securechat database"
[ "$(sha256sum <"$DB")" = "$sum" ] || fail "the foreign database was changed"
pass "another program's SQLite file is refused and left unchanged"

# A damaged page is found at open by PRAGMA quick_check.  A page of the
# room log: the schema's own pages (the last ones, once it outgrew the
# first) would fail to be read before the check.
cp "$TMP/good.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
page=$(sqlite3 "$DB" "SELECT rootpage FROM sqlite_master WHERE name = 'room_log'") ||
    fail "sqlite3"
[ "$page" -ge 2 ] || fail "room_log at page '$page'"
head -c 4096 /dev/urandom | dd of="$DB" bs=4096 seek=$((page - 1)) \
    conv=notrunc status=none
start_refused "fails PRAGMA quick_check"
pass "a damaged database fails its quick check at open"

# A database made anew: a new epoch, and the marks start again from
# nothing.  Without that, alice would hide her own join (seq 1) and bob's
# next message, whose seqs she has "shown" before.
rm -f "$DB" "$DB-wal" "$DB-shm"
: >"$TMP/daemon.log"
start_daemon
client_start alice
client_wait alice '"event":"logged_in"'
client_start bob
client_wait bob '"event":"logged_in"'
client_say alice "/join #r"
client_wait_jq alice '.type=="join" and .user=="alice" and .seq==1'
client_say bob "/join #r"
client_say bob "two"
client_wait_jq alice ".type==\"message\" and .text==\"two\" and .seq<=$mark"
client_has alice '"event":"database_changed"' || fail "alice was not told"
# Her verified roster of #r would look rolled back: it is said, and the
# new one verified from the start (a server can do this: it is loud).
client_has_jq alice '.type=="roster" and .event=="roster_reset" and .room=="#r"' ||
    fail "alice was not told that the roster of #r starts again"
client_end alice || fail "alice exit status"
client_end bob || fail "bob exit status"
pass "a new database's messages are shown although their seqs were seen before"
stop_daemon
