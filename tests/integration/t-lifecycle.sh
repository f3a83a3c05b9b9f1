#!/bin/bash
# t-lifecycle.sh: SIGHUP reloads what can change and reports what cannot;
# a worker template that cannot start is retried with a growing delay
# instead of spinning, and accepting resumes afterwards.
. "$(dirname "$0")/lib.sh"
need_root
ensure_user
start_daemon

# Reload: a new log level applies, a new listen address is reported and kept.
sed -i 's/level = "debug"/level = "info"/; s/address = "127.0.0.1"/address = "127.0.0.3"/' "$TMP/sc.conf"
kill -HUP "$DPID"
wait_for 5 log_has "configuration reloaded" || fail "no reload"
log_has "reload: listen: 127.0.0.1:$PORT -> 127.0.0.3:$PORT: cannot change while running, keeping 127.0.0.1:$PORT" ||
    fail "listen change not reported with its old and new value"
log_has 'reload: log.level: "debug" -> "info"' || fail "a changed value not logged old and new"
daemon_listens || fail "the running listener was not kept"
client_start a
client_wait a '"event":"connected"'
client_end a || fail "client after reload"
pass "SIGHUP: listen reported and kept, clients still served"

# A broken reload keeps the running configuration.
echo 'bogus_option = 1;' >>"$TMP/sc.conf"
kill -HUP "$DPID"
wait_for 5 log_has "reload failed, keeping the running configuration" ||
    fail "a bad reload was not refused"
grep "reload failed" "$TMP/daemon.log" | grep -q "bogus_option" || fail "reload error does not name the option"
pass "a bad configuration on SIGHUP is refused and named"

# A worker template that cannot start (its chroot is gone) stops
# accepting, is retried with a growing delay, and accepting resumes once
# one starts.  Killing the running one also shows it is replaced.
rmdir "$TMP/empty"
kill -KILL "$(template_pid)"
wait_for 10 log_has "worker template lost: starting another in" ||
    fail "the lost template was not replaced"
wait_for 10 grep -q "worker template pid [0-9]* (-) exited with status 70" \
    "$TMP/daemon.log" || fail "no template failed at startup without its chroot"
pass "a template that cannot start is retried"
n=$(grep -c "worker template ready" "$TMP/daemon.log")
mkdir -m 755 "$TMP/empty"
wait_for 40 sh -c "[ \$(grep -c 'worker template ready' '$TMP/daemon.log') -gt $n ]" ||
    fail "no template started after the chroot came back"
client_start b
client_wait b '"event":"connected"' 15
client_end b || fail "client after the template came back"
pass "accepting resumes with the new template"
stop_daemon

# The broker's descriptor limit is set at its start: raising max_clients
# on reload is reported, and the old bound holds until it restarts.
write_config 'limits = { max_clients = 2; };'
start_daemon
write_config 'limits = { max_clients = 10; };'
kill -HUP "$DPID"
wait_for 5 log_has "limits.max_clients 10 is above the 2 the broker" ||
    fail "the raise beyond the broker's limit was not reported"
client_start c1
client_start c2
client_wait c1 '"event":"logged_in"'
client_wait c2 '"event":"logged_in"'
client_once c3 "$TMP/home-c3" &&
    fail "a third client was served past the broker's bound"
log_has "refused 127.0.0.1: limits.max_clients (2) reached" ||
    fail "the third client was not refused by max_clients"
client_end c1 || fail "c1 exit"
client_end c2 || fail "c2 exit"
pass "max_clients raised on reload waits for the broker's restart, and says so"
stop_daemon

# A relative -f: the daemon detaches (and leaves its directory), and a
# reload still reads the same file.
write_config
(cd "$TMP" && exec "$SCD" -f sc.conf) || fail "the daemon did not start detached"
# The oldest: a child forked before its exec shows the same command line.
DPID=$(pgrep -o -f -x "$SCD -f sc.conf") || fail "no detached master"
wait_for 15 daemon_listens || fail "the detached daemon does not listen"
[ "$(readlink "/proc/$DPID/cwd")" = / ] || fail "the detached daemon did not leave its directory"
echo 'registration = "closed";' >>"$TMP/sc.conf"
out=$("$top_builddir/daemon/securechatctl" -f "$TMP/sc.conf" reload) ||
    fail "reload with a relative -f: $out"
echo "$out" | grep -q 'registration: "open" -> "closed"' ||
    fail "reload with a relative -f did not read the file: $out"
pass "a relative -f: a reload after detaching reads the same file, and says what changed"
stop_daemon
