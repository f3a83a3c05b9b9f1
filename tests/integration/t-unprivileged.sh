#!/bin/bash
# t-unprivileged.sh: started as a normal user, the daemon says loudly that
# it cannot drop privileges, and still serves clients from workers under
# seccomp and no_new_privs; its template, refused an autogroup write as
# too soon (no CAP_SYS_ADMIN), tries again.
. "$(dirname "$0")/lib.sh"
RUNNER=
if [ "$(id -u)" -eq 0 ]; then
	NORMAL=sctest
	id "$NORMAL" >/dev/null 2>&1 || useradd --no-create-home \
	    --home-dir /nonexistent --shell /usr/sbin/nologin "$NORMAL"
	chown "$NORMAL" "$TMP"
	RUNNER="setpriv --reuid=$NORMAL --regid=$NORMAL --clear-groups --"
	uid=$(id -u "$NORMAL")
else
	uid=$(id -u)
fi
write_config
chown -R "${NORMAL:-$(id -un)}" "$TMP"
start_daemon $RUNNER

log_has "WARNING: not started as root" || fail "master did not warn"
client_start a
client_wait a '"event":"connected"'
wait_for 5 workers_are 1 || fail "no worker"
w=$(worker_pids)
log_has "WARNING: workers run as uid $uid without chroot" ||
    fail "the worker template did not warn"
st=$(cat "/proc/$w/status")
echo "$st" | grep -q -P "^Uid:\t$uid\t" || fail "worker uid"
echo "$st" | grep -q -P '^Seccomp:\t2$' || fail "worker without seccomp"
echo "$st" | grep -q -P '^NoNewPrivs:\t1$' || fail "worker without no_new_privs"
client_say a /ping
client_wait a '"type":"pong"'
client_end a || fail "client exit status"
pass "unprivileged daemon serves clients with seccomp and no_new_privs"

# Without CAP_SYS_ADMIN the kernel takes one write of a session's autogroup
# nice value a tenth of a second, host-wide, and refuses the others as too
# soon: the template tries again.  As root, this test writes another
# session's value every 20 ms, so that the new template of a reload is
# refused, until it is seen sleeping between its tries (in
# /proc/PID/wchan, which some kernels leave empty: then not tested).
sleep 2 &
sleeper=$!
wait_for 2 grep -q nanosleep "/proc/$sleeper/wchan" && wchan=1 || wchan=0
kill "$sleeper" 2>/dev/null || true
if [ "$(id -u)" -eq 0 ] && [ -w /proc/self/autogroup ] && [ "$wchan" = 1 ]; then
	want=$(($(awk '{ print $19 }' "/proc/$DPID/stat") + 10))
	[ "$want" -gt 19 ] && want=19
	setsid sleep 60 &
	other=$!
	wait_for 5 sh -c "[ \"\$(cat /proc/$other/comm)\" = sleep ]" ||
	    fail "no session to write the autogroup of"
	rm -f "$TMP/hammer.stop"
	(for ((i = 0; i < 1000; i++)); do
		[ -e "$TMP/hammer.stop" ] && exit 0
		echo 0 >"/proc/$other/autogroup"
		sleep 0.02
	done) &
	hammer=$!
	sleep 0.3
	old=$(template_pid)
	ready_before=$(grep -c 'worker template ready' "$TMP/daemon.log")
	kill -HUP "$DPID"
	slept=0
	for ((i = 0; i < 1000; i++)); do
		new=$(template_pid | grep -vx "$old" || true)
		if [ -n "$new" ] && grep -q nanosleep "/proc/$new/wchan" 2>/dev/null; then
			slept=1
			break
		fi
		[ "$(grep -c 'worker template ready' "$TMP/daemon.log")" -gt "$ready_before" ] &&
		    break
		sleep 0.01
	done
	touch "$TMP/hammer.stop"
	wait "$hammer" || true
	kill "$other" 2>/dev/null || true
	wait_for 10 sh -c "[ \$(grep -c 'worker template ready' '$TMP/daemon.log') -gt $ready_before ]" ||
	    fail "no new template after the reload"
	new=$(grep -o 'worker template ready (pid [0-9]*)' "$TMP/daemon.log" |
	    tail -n 1 | tr -dc '0-9')
	read -r group nice_word group_nice <"/proc/$new/autogroup"
	[ "$nice_word $group_nice" = "nice $want" ] ||
	    fail "template $new in $group at $nice_word $group_nice, not nice $want"
	log_has "/proc/self/autogroup: nice" && fail "an autogroup write failed"
	[ "$slept" = 1 ] || echo "# the template was not seen waiting to try again"
	pass "a template refused as too soon tries again: $group at nice $want"
else
	echo "# not root, no autogroups or no wchan: the autogroup retry not tested"
fi
stop_daemon
