#!/bin/bash
# t-broker-health.sh: the master notices a broker that stopped answering
# (SIGSTOP), says so, and starts a new one, to which clients come back;
# the same for the key process and the worker template, which clients
# need too; a broker that cannot start makes the master stop, non-zero,
# with the broker's reason, instead of respawning it for ever with the
# port open.
. "$(dirname "$0")/lib.sh"
ensure_user
start_daemon

client_start a
client_wait a '"event":"logged_in"'
client_say a "/join #health"
client_wait_jq a '.type=="join" and .user=="a"'

# stopped_and_killed WHAT PID: the master's deadline caught the process
# stopped with SIGSTOP, and killed it.
stopped_and_killed() {
	wait_for 40 log_has "$1 pid $2 has not answered for" ||
	    fail "a stopped $1 went unnoticed"
	wait_for 15 sh -c "! kill -0 $2 2>/dev/null" ||
	    fail "the stopped $1 was not killed"
}

# A stopped broker answers nothing; the master's deadline catches it.
old=$(broker_pid)
[ -n "$old" ] || fail "no broker"
kill -STOP "$old"
stopped_and_killed broker "$old"
ready_twice() { [ "$(grep -c 'broker ready' "$TMP/daemon.log")" -ge 2 ]; }
wait_for 15 ready_twice || fail "no new broker"
new=$(broker_pid)
[ -n "$new" ] && [ "$new" != "$old" ] || fail "no new broker process ($new)"
pass "a broker stopped with SIGSTOP was killed and replaced"

# The client is told to reconnect, and works with the new broker.
client_wait a 'server RESTARTING' 15
client_wait_jq a '.event=="reconnected"' 30
client_say a "after the restart"
client_wait_jq a '.type=="ack"' 20
client_end a || fail "client a exit status"
pass "the client came back and its message was acknowledged"

# A stopped key process signs no handshake, and its channel fills with
# the master's KEY_ATTACHes: the master must not wait on it, and must
# replace it.  (Before, nothing noticed: every handshake timed out, and
# a full channel blocked the master in sendmsg.)
old=$(keyproc_pid)
[ -n "$old" ] || fail "no key process"
kill -STOP "$old"
"$PROBE" -t 10 127.0.0.1 "$PORT" flood 400 1 >"$TMP/flood.out" 2>&1 || true
stopped_and_killed "key process" "$old"
started_twice() { [ "$(grep -c 'key process started' "$TMP/daemon.log")" -ge 2 ]; }
wait_for 15 started_twice || fail "no new key process"
client_start b
client_wait b '"event":"logged_in"' 30
client_end b || fail "client b exit status"
pass "a key process stopped with SIGSTOP was killed and replaced; clients log in"

# A stopped worker template forks nothing: replaced the same way.
old=$(template_pid)
[ -n "$old" ] || fail "no worker template"
kill -STOP "$old"
stopped_and_killed "worker template" "$old"
client_start c
client_wait c '"event":"logged_in"' 30
client_end c || fail "client c exit status"
pass "a worker template stopped with SIGSTOP was killed and replaced; clients log in"
stop_daemon

# A broker stopped a few seconds, well within its deadline, while 400
# clients connect: the master's channel to it fills (278 ATTACHes on
# Linux 6.18), and the rest wait in the master until it reads again.
# (Before, each one that did not fit was dropped: "cannot attach worker",
# a worker with a dead link, its client told to reconnect.)
write_config "limits = { max_clients_per_ip = 1000; max_clients_per_prefix = 1000;
  $ACCEPT_OPEN };"
: >"$TMP/daemon.log"
start_daemon
old=$(broker_pid)
kill -STOP "$old"
"$PROBE" -t 20 127.0.0.1 "$PORT" flood 400 4 >"$TMP/flood2.out" 2>&1 || true
kill -CONT "$old"
grep -q '"opened":400' "$TMP/flood2.out" || fail "flood: $(cat "$TMP/flood2.out")"
log_has "has not answered for" && fail "the broker was judged hung within its deadline"
log_has "cannot attach worker" &&
    fail "$(grep -c 'cannot attach worker' "$TMP/daemon.log") workers lost their broker link"
[ "$(broker_pid)" = "$old" ] || fail "the broker was replaced"
pass "400 ATTACHes to a broker stopped 4 s: none lost"
stop_daemon

# A database the broker cannot open: a few tries, then the master stops.
printf 'not a database, but not empty either\n' >"$TMP/state/securechat.db"
: >"$TMP/daemon.log"
daemon_must_stop "respawning a broker that cannot start"
rc=$DAEMON_RC
[ "$rc" -ne 0 ] || fail "the master exited 0 after the broker failed to start"
log_has "stopping: the broker failed to start 3 times in a row: database" ||
    fail "no reason given"
log_has "file is not a database" || fail "the reason does not say what is wrong"
port_open && fail "the port is still open"
pass "a broker that cannot start stops the master (status $rc), with the reason"
