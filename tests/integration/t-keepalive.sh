#!/bin/bash
# t-keepalive.sh: staying connected.  A frozen server (its worker stopped)
# is noticed by the keepalive's deadline and the client reconnects; a
# client stopped for longer than the server's idle timeout reconnects when
# it continues; /status says the connection's state; nothing is lost.
. "$(dirname "$0")/lib.sh"
ensure_user
write_config 'limits = { idle_timeout = 10; };'
start_daemon

client_start alice
client_wait alice '"event":"logged_in"'
client_say alice "/join #ops"
client_wait_jq alice '.type=="join" and .user=="alice"'
client_say alice "@id=s0 /status"
client_wait_jq alice '.type=="status" and .request_id=="s0" and .state=="connected" and .reconnects==0'
pass "/status says connected"

# The worker serving alice freezes: nothing answers, nothing closes.
W=$(worker_pids)
[ "$(echo "$W" | wc -w)" -eq 1 ] || fail "expected one worker, got: $W"
kill -STOP "$W"
client_wait_jq alice '.type=="notice" and .event=="reconnecting" and (.text|test("no answer from"))' 40
client_wait_jq alice '.type=="notice" and .event=="reconnected"' 30
kill -CONT "$W" 2>/dev/null || true
client_say alice "@id=m1 after the freeze"
client_wait_jq alice '.type=="ack" and .request_id=="m1"' 20
client_wait_jq alice '.type=="message" and .text=="after the freeze"'
client_say alice "@id=s1 /status"
client_wait_jq alice '.type=="status" and .request_id=="s1" and .state=="connected" and .reconnects==1'
pass "a frozen server is noticed within the keepalive's deadline; it reconnects"

# alice herself is stopped (Ctrl-Z, a suspended laptop) past idle_timeout.
P=$(client_pid alice)
kill -STOP "$P"
wait_for 30 log_has "idle for 10 s: closing" || {
	kill -CONT "$P"
	fail "the server did not time the stopped client out"
}
kill -CONT "$P"
# It read the server's ERROR TIMEOUT (it did not write first to a closed
# connection) and took it for what it is: a reason to come back.
client_wait_jq alice '.type=="notice" and .event=="reconnecting" and (.text|test("TIMEOUT: idle timeout"))' 30
reconnects() { [ "$(client_count alice '"event":"reconnected"')" -ge 2 ]; }
wait_for 30 reconnects || fail "no second reconnect: $(client_out alice | tail -5)"
client_say alice "@id=m2 after the stop"
client_wait_jq alice '.type=="ack" and .request_id=="m2"' 20
kill -0 "$P" || fail "alice exited"
pass "a client stopped longer than the idle timeout reconnects and goes on"

client_end alice || fail "alice exit"
stop_daemon
