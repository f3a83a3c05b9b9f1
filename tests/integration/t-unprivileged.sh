#!/bin/bash
# t-unprivileged.sh: started as a normal user, the daemon says loudly that
# it cannot drop privileges, and still serves clients from workers under
# seccomp and no_new_privs.
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
stop_daemon
