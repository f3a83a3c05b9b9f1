#!/bin/bash
# t-tui.sh: the full-screen interface on a real terminal (tmux): one window
# per room, switched with Alt-N, /win N and /join of a room already joined;
# unread counts and a highlight (with the bell) in the status line; Ctrl-C
# clears the line; it reconnects after being stopped for longer than the
# server's idle timeout and finds what was said meanwhile; PgUp scrolls
# back; the history survives a restart, sealed, and /search finds in it.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || skip "tmux is not installed"
ensure_user
# The shortest idle timeout the server allows, so a stop outlasts it.
write_config 'limits = { idle_timeout = 10; };'
start_daemon

SOCK="$TMP/tmux.sock"
T() { tmux -S "$SOCK" "$@"; }
screen() { T capture-pane -p -t t 2>/dev/null; }
screen_has() { screen | grep -q -- "$1"; }
status_line() { screen | tail -n 2 | head -n 1; }
status_has() { status_line | grep -q -- "$1"; }
input_line() { screen | tail -n 1; }
bell() { T display -p -t t '#{window_bell_flag}'; }
show() { echo "--- screen:"; screen; echo "--- status: $(status_line)"; }

printf 'correct horse\n' >"$TMP/pass"
chmod 600 "$TMP/pass"
# TERM as tmux sets it; a small screen, so scrolling is needed.  The
# client is not the pane's first process: tmux continues stopped ones.
alice() {
	local cmd="$SC --server 127.0.0.1:$PORT --user alice \
	    --home $TMP/home-alice --passphrase-file $TMP/pass \
	    2>>$TMP/alice.err; sleep 600"

	if T has-session -t t 2>/dev/null; then
		T respawn-pane -k -t t "$cmd"
	else
		T new-session -d -s t -x 100 -y 20 "$cmd"
	fi
	wait_for 20 status_has "| connected" || fail "alice did not connect: $(show)"
	APID=$(pgrep -P "$(T display -p -t t '#{pane_pid}')" securechat)
	[ -n "$APID" ] || fail "cannot find alice's pid"
}

client_start bob
client_wait bob '"event":"logged_in"'
client_say bob "/join #lobby"
client_say bob "/join #ops"
client_wait_jq bob '.type=="join" and .room=="#ops" and .user=="bob"'

alice
T send-keys -t t '/join #lobby' Enter
wait_for 10 status_has '\[2:#lobby\]' || fail "no window for #lobby: $(show)"
T send-keys -t t '/join #ops' Enter
wait_for 10 status_has '\[3:#ops\]' || fail "no window for #ops: $(show)"
client_wait_jq bob '.type=="join" and .room=="#ops" and .user=="alice"'
pass "a window per room joined, the current one in brackets"

T send-keys -t t M-2
wait_for 5 status_has '\[2:#lobby\] 3:#ops' || fail "Alt-2 did not switch: $(show)"
T send-keys -t t '/win 3' Enter
wait_for 5 status_has '2:#lobby \[3:#ops\]' || fail "/win 3 did not switch: $(show)"
T send-keys -t t '/join #lobby' Enter
wait_for 5 status_has '\[2:#lobby\] 3:#ops' ||
    fail "/join of a room already joined did not switch to it: $(show)"
pass "Alt-N, /win N and /join of a joined room switch windows"

# bob writes in #ops while alice looks at #lobby.
[ "$(bell)" = 0 ] || fail "the bell rang before anything happened"
client_say bob "/join #ops"
client_say bob "deploy done"
client_say bob "rollback plan ready"
wait_for 10 status_has '3:#ops(2)' || fail "no unread count for #ops: $(show)"
[ "$(bell)" = 0 ] || fail "the bell rang for lines that do not mention alice"
screen_has 'deploy done' && fail "#ops lines shown in the #lobby window"
pass "unread lines counted in the status line, in their own window only"

client_say bob "alice: can you look at the deploy?"
wait_for 10 status_has '3:#ops(3!)' || fail "the mention is not marked: $(show)"
wait_for 5 sh -c "[ \"\$(tmux -S '$SOCK' display -p -t t '#{window_bell_flag}')\" = 1 ]" ||
    fail "a mention in a hidden window did not ring the bell"
T send-keys -t t M-3
wait_for 5 status_has '2:#lobby \[3:#ops\] |' || fail "the count stayed after Alt-3: $(show)"
screen_has '<bob> deploy done' || fail "#ops does not show its lines: $(show)"
# The mention is drawn bold (and reversed), whatever the colours.
T capture-pane -e -p -t t | grep -- 'can you look' | grep -q $'\033\\[1' ||
    fail "the mention is not highlighted: $(T capture-pane -e -p -t t | grep -- 'can you look' | cat -v)"
pass "a mention is highlighted, marked with ! and rings the bell when hidden"

T send-keys -t t 'half typed'
wait_for 5 sh -c "tmux -S '$SOCK' capture-pane -p -t t | tail -n 1 | grep -q 'half typed'" ||
    fail "typing does not show: $(show)"
T send-keys -t t C-c
wait_for 5 sh -c "[ \"\$(tmux -S '$SOCK' capture-pane -p -t t | tail -n 1)\" = '[#ops]' ]" ||
    fail "Ctrl-C did not clear the line: '$(input_line)'"
screen_has 'connected' || fail "Ctrl-C ended the client: $(show)"
pass "Ctrl-C clears the input line and leaves the client running"

# Thirty more lines in #ops: the first ones scroll off a 20-line screen.
for i in $(seq -w 1 30); do client_say bob "scroll line $i"; done
wait_for 10 screen_has 'scroll line 30' || fail "lines did not arrive: $(show)"
screen_has 'scroll line 05' && fail "the screen is taller than expected: $(show)"
T send-keys -t t PPage
wait_for 5 screen_has 'scroll line 1[0-9]' || fail "PgUp did not scroll back: $(show)"
T send-keys -t t PPage PPage
wait_for 5 screen_has 'scroll line 05' || fail "PgUp did not reach older lines: $(show)"
status_has 'more' || fail "scrolled back, but the status line does not say so: $(show)"
T send-keys -t t NPage NPage NPage NPage
wait_for 5 screen_has 'scroll line 30' || fail "PgDn did not come back: $(show)"
pass "PgUp and PgDn scroll through a window's lines"

# Stopped (a suspended laptop, Ctrl-Z) for longer than idle_timeout: the
# server gives up on alice; she comes back and finds what she missed.
T send-keys -t t M-1
wait_for 5 status_has '\[1:status\]' || fail "Alt-1 did not switch: $(show)"
kill -STOP "$APID"
client_say bob "/join #lobby"
client_say bob "said while alice slept"
wait_for 25 log_has "idle for 10 s: closing" || {
	kill -CONT "$APID"
	fail "the server did not time alice out"
}
sleep 2
kill -CONT "$APID"
wait_for 30 screen_has 'reconnected to' || fail "alice did not reconnect: $(show)"
wait_for 10 status_has '| connected' || fail "not connected after the stop: $(show)"
wait_for 10 status_has '2:#lobby(1' ||
    fail "what was said meanwhile is not unread in #lobby: $(show)"
kill -0 "$APID" || fail "alice exited"
T send-keys -t t '/status' Enter
wait_for 5 screen_has 'status: connected to .* 1 reconnects' ||
    fail "/status does not show the reconnect: $(show)"
T send-keys -t t M-2
wait_for 5 screen_has 'said while alice slept' || fail "the missed line is not in #lobby: $(show)"
pass "after a stop longer than the idle timeout it reconnects and shows what was missed"

# A restart: the windows come back, with their lines, from the history.
T send-keys -t t '/quit' Enter
wait_for 10 sh -c "! kill -0 $APID" || fail "/quit did not end alice"
grep -a -q 'deploy done' "$TMP"/home-alice/alice@*.history* &&
    fail "the history holds readable text"
grep -a -q '#ops' "$TMP"/home-alice/alice@*.history* &&
    fail "the history holds a readable room name"
alice
wait_for 10 status_has '2:#lobby 3:#ops' || fail "the windows did not come back: $(show)"
T send-keys -t t M-3
wait_for 10 screen_has 'scroll line 30' || fail "#ops has no history after a restart: $(show)"
T send-keys -t t PPage PPage PPage PPage
wait_for 5 screen_has '<bob> deploy done' || fail "scrolling back does not reach older history: $(show)"
T send-keys -t t NPage NPage NPage NPage NPage
pass "windows and their lines survive a restart; nothing readable on disk"

T send-keys -t t '/search ROLLBACK' Enter
wait_for 5 screen_has 'search: .* #ops <bob> rollback plan ready' ||
    fail "/search did not find the line: $(show)"
wait_for 5 screen_has 'search: 1 match for' || fail "/search did not count: $(show)"
pass "/search finds in the history, case folded"

T send-keys -t t '/clear' Enter
wait_for 5 screen_has 'local history erased' || fail "/clear did not say so: $(show)"
T send-keys -t t '/search rollback' Enter
wait_for 5 screen_has 'search: 0 matches' || fail "the history survived /clear: $(show)"
pass "/clear erases the history"

T send-keys -t t C-d
wait_for 10 sh -c "! kill -0 $APID 2>/dev/null" ||
    fail "Ctrl-D on an empty line did not leave: $(show)"
pass "Ctrl-D on an empty line leaves"
T kill-server 2>/dev/null || true
client_end bob || fail "bob exit"
stop_daemon
