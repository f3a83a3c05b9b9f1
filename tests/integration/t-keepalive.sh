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

# alice herself is stopped (Ctrl-Z, a suspended laptop) past idle_timeout,
# twice, each time just after a message came, so that the first thing she
# does on waking is write (its DELIVERED) to a server that has closed.
P=$(client_pid alice)
for round in 1 2; do
	client_say alice "@id=r$round before stop $round"
	client_wait_jq alice ".type==\"message\" and .text==\"before stop $round\""
	timeouts=$(daemon_log | grep -c "idle for 10 s: closing" || true)
	more_timeouts() {
		[ "$(daemon_log | grep -c "idle for 10 s: closing")" -gt "$timeouts" ]
	}
	seen=$(client_count alice 'TIMEOUT: idle timeout')
	kill -STOP "$P"
	wait_for 30 more_timeouts || {
		kill -CONT "$P"
		fail "the server did not time the stopped client out"
	}
	kill -CONT "$P"
	# It read the server's ERROR TIMEOUT and took it for what it is: a
	# reason to come back.  Writing first to the closed connection would
	# draw a reset that ends it with the ERROR unread.
	said_timeout() {
		[ "$(client_count alice 'TIMEOUT: idle timeout')" -gt "$seen" ]
	}
	wait_for 30 said_timeout ||
	    fail "round $round: no TIMEOUT: $(client_out alice | grep reconnecting | tail -1)"
	reconnects() {
		[ "$(client_count alice '"event":"reconnected"')" -ge $((round + 1)) ]
	}
	wait_for 30 reconnects || fail "no reconnect: $(client_out alice | tail -5)"
done
client_say alice "@id=m2 after the stop"
client_wait_jq alice '.type=="ack" and .request_id=="m2"' 20
kill -0 "$P" || fail "alice exited"
pass "a client stopped longer than the idle timeout reconnects and goes on"

client_end alice || fail "alice exit"
stop_daemon
