#!/bin/bash
# t-interactive.sh: the client on a real terminal (tmux): tab completion of
# commands and user names, the current room in the prompt, and a message
# arriving while a line is half typed is shown above it without garbling it.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
ensure_user
start_daemon

SOCK="$TMP/tmux.sock"
T() { tmux -S "$SOCK" "$@"; }
screen() { T capture-pane -p -t t | grep -v '^$'; }
screen_has() { screen | grep -q -- "$1"; }

# bob exists and is in #lobby before alice arrives.
client_start bob
client_wait bob '"event":"logged_in"'
client_say bob "/join #lobby"
client_wait_jq bob '.type=="join" and .user=="bob"'

T new-session -d -s t -x 150 -y 30 \
    "$SC --line --server 127.0.0.1:$PORT --user alice --home $TMP/home-alice; sleep 60"
wait_for 10 screen_has "Passphrase for alice" || fail "no passphrase prompt: $(screen)"
T send-keys -t t Enter
# Echo goes off again for the second prompt, flushing what was typed ahead.
wait_for 10 screen_has "Again:" || fail "no second passphrase prompt: $(screen)"
T send-keys -t t Enter
wait_for 10 screen_has "logged in as alice" || fail "alice did not log in: $(screen)"

T send-keys -t t '/jo' Tab
wait_for 5 sh -c "tmux -S '$SOCK' capture-pane -p -t t | grep -q 'securechat> /join *$'" ||
    fail "/jo was not completed to /join: $(screen)"
T send-keys -t t '#lobby' Enter
wait_for 5 screen_has '^#lobby>' || fail "the prompt does not name the room: $(screen)"
pass "command completion and the current room in the prompt"

T send-keys -t t 'half typed'
client_say bob "hello from bob"
wait_for 5 screen_has '<bob> hello from bob' || fail "bob's message not shown: $(screen)"
last=$(screen | tail -n 1)
[ "$last" = "#lobby> half typed" ] || fail "the line being typed was garbled: '$last'"
screen | grep -- '<bob> hello from bob' | grep -q 'half typed' &&
    fail "the message was mixed into the input line"
pass "an incoming message leaves the half-typed line intact"

T send-keys -t t C-u '/msg @b' Tab
wait_for 5 sh -c "tmux -S '$SOCK' capture-pane -p -t t | grep -v '^\$' | tail -n 1 | grep -q '/msg @bob'" ||
    fail "@b was not completed to @bob: $(screen)"
T send-keys -t t ' psst' Enter
client_wait_jq bob '.type=="direct" and .from=="alice" and .text=="psst"'
pass "user name completion; the completed command works"

T send-keys -t t 'to be dropped'
wait_for 5 sh -c "tmux -S '$SOCK' capture-pane -p -t t | grep -v '^\$' | tail -n 1 | grep -q 'to be dropped'" ||
    fail "typing does not show: $(screen)"
T send-keys -t t C-c
wait_for 5 sh -c "[ \"\$(tmux -S '$SOCK' capture-pane -p -t t | grep -v '^\$' | tail -n 1)\" = '#lobby>' ]" ||
    fail "Ctrl-C did not drop the line: $(screen)"
T send-keys -t t 'still here' Enter
client_wait_jq bob '.type=="message" and .from=="alice" and .text=="still here"'
pass "Ctrl-C drops the line being typed and the client goes on"
T send-keys -t t '/quit' Enter

# A terminal without cursor addressing gets the line-based interface.
T respawn-pane -k -t t "TERM=dumb $SC --server 127.0.0.1:$PORT --user alice \
    --home $TMP/home-alice; sleep 60"
wait_for 10 screen_has 'reconnected\|logged in as alice' || true
wait_for 10 sh -c "tmux -S '$SOCK' capture-pane -p -t t | grep -q '^#lobby> *\$'" ||
    fail "TERM=dumb did not give the line-based interface: $(screen)"
pass "TERM=dumb: the line-based interface, back in the room it was in"
T send-keys -t t '/quit' Enter
T kill-server 2>/dev/null || true
client_end bob || fail "bob exit"
stop_daemon
