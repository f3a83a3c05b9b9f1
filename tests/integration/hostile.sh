# hostile.sh: the malicious operator, for the t-hostile-*.sh tests
# (issue 10).  Sourced after lib.sh.  The operator edits the database
# behind the broker's back and restarts the broker so that it believes
# its own tables; tests/integration/scfake.c plays a server that sends
# what no honest broker would.

DB=$TMP/state/securechat.db

# db_sql SQL: run SQL on the live database, as the operator would.
db_sql() {
	sqlite3 -cmd '.timeout 10000' "$DB" "$1"
}

# restart_broker: kill the broker; the master starts a new one, which
# reads the edited tables afresh.  Clients reconnect by themselves.
restart_broker() {
	local old
	old=$(broker_pid)
	[ -n "$old" ] || fail "no broker to restart"
	kill -KILL "$old"
	wait_for 30 sh -c "b=\$(pgrep -P $DPID -f -- '-x broker'); [ -n \"\$b\" ] && [ \"\$b\" != $old ]" ||
	    fail "the broker did not come back"
	wait_for 15 daemon_listens || fail "the daemon stopped listening"
}

# key_pub HOME USER: the Ed25519 public key (hex) in a plain key file.
key_pub() {
	awk '$1 == "sign-pub" { print $2 }' "$1/$2.key"
}

# The fingerprint the client's JSON gives a key: SHA256: and the hex of
# the SHA-256 of its 32 bytes.
key_fp() {
	echo "SHA256:$(perl -e 'print pack("H*", $ARGV[0])' "$1" |
	    sha256sum | cut -c1-64)"
}
