#!/bin/bash
# t-scripting.sh: what scripts and settings rely on.  "@id=..." tags a
# command and every JSON event answering it carries "request_id"; key
# events carry user, fingerprint and state; forget-server removes a pinned
# server key and says what it removed (and what other spelling of the
# same machine it kept); the configuration file sets server and user;
# /help is aligned; NO_COLOR turns colours off; on a terminal an error
# that retrying cannot fix stops the retries, not the client.
. "$(dirname "$0")/lib.sh"
ensure_user
start_daemon

client_start bob
client_wait bob '"event":"logged_in"'
client_say bob "/join #ops"
client_wait_jq bob '.type=="join" and .user=="bob"'

client_start alice
client_wait alice '"event":"logged_in"'
client_say alice "@id=j1 /join #ops"
client_say alice "@id=p1 /ping"
client_say alice "@id=w1 /who"
client_say alice "@id=m1 hello ops"
client_say alice "@id=d1 /msg @bob psst"
client_say alice "@id=x1 /nonsense"
client_say alice "@id=r1 /rooms"
client_say alice "@id=i1 /info"
client_say alice "@id=j2 /join #ops"
client_wait_jq alice '.type=="join" and .user=="alice" and .request_id=="j1"'
client_wait_jq alice '.type=="pong" and .request_id=="p1"'
client_wait_jq alice '.type=="who" and .request_id=="w1"'
client_wait_jq alice '.type=="ack" and .room=="#ops" and .request_id=="m1"'
client_wait_jq alice '.type=="ack" and .to=="bob" and .request_id=="d1"'
client_wait_jq alice '.type=="error" and .code=="UNKNOWN_COMMAND" and .request_id=="x1"'
client_wait_jq alice '.type=="rooms" and .request_id=="r1"'
client_wait_jq alice '.type=="info" and .request_id=="i1"'
client_wait_jq alice '.type=="notice" and (.text|test("already in")) and .request_id=="j2"'
# Events nobody asked for carry none.
client_wait_jq bob '.type=="message" and .text=="hello ops"'
client_has_jq alice '.type=="message" and has("request_id")' &&
    fail "an event no command asked for carries a request id"
pass "every answer carries the request id of the command it answers"

# Leaving the current room: lines go to the room joined before it.
client_say alice "/join #side"
client_say alice "@id=pt /part"
client_wait_jq alice '.type=="part" and .room=="#side" and .request_id=="pt"'
client_say alice "@id=m2 where does this go"
client_wait_jq alice '.type=="ack" and .request_id=="m2" and .room=="#ops"'
pass "after /part of the current room, the room joined before it is current"

client_say alice "@id=bad! /ping"
client_wait_jq alice '.type=="error" and .code=="BAD_REQUEST_ID"'
pass "a malformed request id is refused"

# Key events: who, which key (fingerprint), in what state.
client_wait_jq alice '.type=="notice" and .event=="key_pinned" and .user=="bob" and .state=="pinned" and (.fingerprint|test("^SHA256:[0-9a-f]{64}$"))'
client_say alice "@id=v1 /verify @bob"
client_wait_jq alice '.type=="safety_number" and .request_id=="v1" and .user=="bob" and .state=="pinned" and (.fingerprint|test("^SHA256:"))'
N=$(jq -r 'select(.type=="safety_number") | .number' "$TMP/alice.out" | tail -n 1)
FP=$(jq -r 'select(.event=="key_pinned" and .user=="bob") | .fingerprint' "$TMP/alice.out")
client_say alice "@id=v2 /verify @bob $N"
client_wait_jq alice ".type==\"notice\" and .event==\"verified\" and .request_id==\"v2\" and .user==\"bob\" and .state==\"verified\" and .fingerprint==\"$FP\""
pass "key events carry user, fingerprint and state"

# The commands refused above make the exit status 1, as documented.
rc=0
client_end alice || rc=$?
[ "$rc" -eq 1 ] || fail "alice exited $rc"

# /help: one column for the descriptions, however long the usage.
printf '/help\n' | "$SC" --server "127.0.0.1:$PORT" --home "$TMP/home-alice" \
    --user alice --batch >"$TMP/help.out" 2>"$TMP/help.err" || fail "/help: $(cat "$TMP/help.err")"
grep '^  /' "$TMP/help.out" | sed 's/^[0-9:]* //' >"$TMP/help.lines" || true
[ "$(wc -l <"$TMP/help.lines")" -ge 15 ] || fail "no /help: $(cat "$TMP/help.out")"
cols=$(awk '{ match($0, /^  [^ ]+( [^ ]+)*  +/); print RLENGTH }' "$TMP/help.lines" | sort -u)
[ "$(echo "$cols" | wc -l)" -eq 1 ] || fail "/help columns differ: $cols
$(cat "$TMP/help.lines")"
pass "/help columns are aligned"

# forget-server: the pin goes, and it says which.
HOMEA="$TMP/home-alice"
grep -q "^127.0.0.1:$PORT " "$HOMEA/known_servers" || fail "no pin to forget"
echo "localhost:$PORT SHA256:$(printf '0%.0s' $(seq 64))" >>"$HOMEA/known_servers"
"$SC" --home "$HOMEA" --json forget-server "127.0.0.1:$PORT" >"$TMP/forget.out" ||
    fail "forget-server failed: $(cat "$TMP/forget.out")"
client_has_jq forget ".event==\"forgotten\" and .server==\"127.0.0.1:$PORT\" and
    (.fingerprint|test(\"^SHA256:\"))" || fail "forget-server did not say what it removed: $(cat "$TMP/forget.out")"
client_has_jq forget ".event==\"pinned_separately\" and .server==\"localhost:$PORT\"" ||
    fail "forget-server did not say localhost is pinned separately: $(cat "$TMP/forget.out")"
grep -q "^127.0.0.1:$PORT " "$HOMEA/known_servers" && fail "the pin is still there"
grep -q "^localhost:$PORT " "$HOMEA/known_servers" || fail "the other spelling was removed too"
rc=0
"$SC" --home "$HOMEA" forget-server "127.0.0.1:$PORT" >"$TMP/forget2.out" || rc=$?
[ "$rc" -eq 1 ] || fail "forgetting nothing exited $rc"
grep -q "no key pinned for 127.0.0.1" "$TMP/forget2.out" || fail "forgetting nothing: $(cat "$TMP/forget2.out")"
"$SC" --home "$HOMEA" forget-server localhost >"$TMP/forget3.out" || fail "forget localhost"
grep -q "removed localhost:$PORT" "$TMP/forget3.out" || fail "no port: every port: $(cat "$TMP/forget3.out")"
pass "forget-server removes a pin, says which, and names other spellings kept"

# The configuration file: server and user without options.
mkdir -p "$XDG_CONFIG_HOME/securechat"
cat >"$XDG_CONFIG_HOME/securechat/config" <<EOF
# written by t-scripting
server = 127.0.0.1:$PORT
user = carol
history_retention = 0
EOF
printf '/status\n' | timeout 60 "$SC" --home "$TMP/home-carol" --batch --json \
    >"$TMP/carol.out" 2>"$TMP/carol.err" || fail "carol: $(cat "$TMP/carol.err")"
client_has_jq carol '.type=="status" and .user=="carol" and .address=="127.0.0.1:'"$PORT"'"' ||
    fail "the configuration file was not used: $(cat "$TMP/carol.out")"
ls "$TMP/home-carol" | grep -q history && fail "history_retention = 0 still keeps a history"
# 0 days and not forever: no history; forever says so.
client_has_jq carol '.type=="status" and .history_retention_days==0 and .history_forever==false' ||
    fail "status: no history not told apart: $(cat "$TMP/carol.out")"
sed -i 's/^history_retention = 0$/history_retention = forever/' \
    "$XDG_CONFIG_HOME/securechat/config"
printf '/status\n' | timeout 60 "$SC" --home "$TMP/home-carol" --batch --json \
    >"$TMP/carol.out" 2>"$TMP/carol.err" || fail "carol: $(cat "$TMP/carol.err")"
client_has_jq carol '.type=="status" and .history_retention_days==0 and .history_forever==true' ||
    fail "status: history kept forever not told apart: $(cat "$TMP/carol.out")"
echo "colours = perhaps" >>"$XDG_CONFIG_HOME/securechat/config"
rc=0
"$SC" --batch </dev/null >/dev/null 2>"$TMP/bad.err" || rc=$?
[ "$rc" -eq 2 ] || fail "a bad configuration exited $rc"
grep -q "config:5: expected yes or no" "$TMP/bad.err" || fail "no file:line: $(cat "$TMP/bad.err")"
rm -f "$XDG_CONFIG_HOME/securechat/config"
pass "the configuration file sets server and user; mistakes name the line"

command -v tmux >/dev/null || { client_end bob; stop_daemon; exit 0; }
SOCK="$TMP/tmux.sock"
T() { tmux -S "$SOCK" "$@"; }
screen() { T capture-pane -p -t t 2>/dev/null; }
screen_has() { screen | grep -q -- "$1"; }

# A passphrase from a file: no prompt.
echo "dave's words" >"$TMP/davepass"
chmod 600 "$TMP/davepass"

# NO_COLOR: names without colour on a terminal (bold for mentions stays).
T new-session -d -s t -x 120 -y 20 "NO_COLOR=1 $SC --server 127.0.0.1:$PORT \
    --user dave --home $TMP/home-dave --passphrase-file $TMP/davepass 2>/dev/null; sleep 600"
wait_for 20 screen_has '| connected' || fail "dave did not connect: $(screen)"
T send-keys -t t '/join #ops' Enter
client_wait_jq bob '.type=="join" and .user=="dave"'
client_say bob "colourless"
wait_for 10 screen_has '<bob> colourless' || fail "no message: $(screen)"
T capture-pane -e -p -t t | grep -q $'\033\\[3[0-7]m' &&
    fail "colours with NO_COLOR: $(T capture-pane -e -p -t t | grep colourless | cat -v)"
pass "NO_COLOR: no colours"

# A changed server key: the retries stop, the client stays, and after
# forget-server, /reconnect pins the key again.
T respawn-pane -k -t t "sleep 600"
DPIN="$TMP/home-dave/known_servers"
sed -i "s/ SHA256:.*/ SHA256:$(printf 'a%.0s' $(seq 64))/" "$DPIN"
T respawn-pane -k -t t "$SC --server 127.0.0.1:$PORT --user dave \
    --home $TMP/home-dave --passphrase-file $TMP/davepass 2>/dev/null; sleep 600"
wait_for 20 screen_has 'not connected: ' || fail "no stop on a changed key: $(screen)"
screen_has "WARNING: the key of server 127.0.0.1:$PORT has changed" ||
    fail "no warning: $(screen)"
DP=$(pgrep -P "$(T display -p -t t '#{pane_pid}')" securechat) || fail "the client exited on a changed key"
T send-keys -t t '/status' Enter
wait_for 5 screen_has 'status: stopped' || fail "/status does not say stopped: $(screen)"
"$SC" --home "$TMP/home-dave" forget-server "127.0.0.1:$PORT" >/dev/null || fail "forget dave's pin"
T send-keys -t t '/reconnect' Enter
wait_for 20 screen_has '| connected' || fail "/reconnect did not connect: $(screen)"
kill -0 "$DP" || fail "dave exited"
pass "on a terminal a changed key stops the retries, not the client; /reconnect"
T kill-server 2>/dev/null || true

client_end bob || fail "bob exit"
stop_daemon
