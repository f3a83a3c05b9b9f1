#!/bin/bash
# t-bye.sh: a server's last words reach the client.  The server sends
# notices, an ERROR and its close_notify in one write, in records of many
# sizes, so that the client's reads end at many places; the client must
# show the ERROR it was sent, not a connection that merely closed.  (The
# worker lost a client's last frames this way, t-lastwords; the client
# keeps them because its bufferevent defers its callbacks, which this
# test fails without.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/fake.sh"

SIZES="0 61 97 150 211 256 333 400 512 640 777 900 1000 1023 1500 4095"
script=
for rec in $SIZES; do
	script="$script${script:+
next
}bye 1 400 $rec"
done
fake_start "$script"
i=0
for rec in $SIZES; do
	i=$((i + 1))
	client_start "b$i" --user bye
	client_wait_jq "b$i" '.type=="error"' 30
	client_end "b$i" || true
	first=$(jq -r 'select(.type=="error") | .code' "$TMP/b$i.out" | head -n 1)
	[ "$first" = PROTOCOL ] ||
	    fail "records of $rec bytes: the client said $first, not the server's ERROR: $(grep error "$TMP/b$i.out" | head -n 2)"
done
pass "the server's ERROR shown, whatever the records it came in"
fake_stop
