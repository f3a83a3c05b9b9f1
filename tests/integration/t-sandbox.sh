#!/bin/bash
# t-sandbox.sh: every client gets its own worker, and each worker runs as
# the unprivileged user, chrooted to the empty directory, with seccomp
# filtering and no_new_privs; the broker likewise in the state directory.
# Neither inherits the master's environment.
. "$(dirname "$0")/lib.sh"
need_root
ensure_user
# Something in the operator's environment that children must not see.
start_daemon env SC_TEST_SECRET=hunter2 LD_DEBUG_OUTPUT=/nonexistent

client_start a
client_start b
client_wait a '"event":"connected"'
client_wait b '"event":"connected"'
wait_for 5 workers_are 2 || fail "expected 2 workers, saw $(count_workers)"
pass "two clients, two worker processes"

uid=$(id -u "$SC_USER")
gid=$(id -g "$SC_USER")
check_proc() { # PID ROOT WHAT
	local st
	st=$(cat "/proc/$1/status")
	echo "$st" | grep -q -P "^Uid:\t$uid\t$uid\t$uid\t$uid$" ||
	    fail "$3 $1 does not run as $SC_USER: $(echo "$st" | grep ^Uid)"
	echo "$st" | grep -q -P "^Gid:\t$gid\t$gid\t$gid\t$gid$" ||
	    fail "$3 $1 has the wrong group: $(echo "$st" | grep ^Gid)"
	echo "$st" | grep -q -P "^Groups:\t*($gid )?\$" ||
	    fail "$3 $1 keeps supplementary groups: $(echo "$st" | grep ^Groups)"
	echo "$st" | grep -q -P '^Seccomp:\t2$' || fail "$3 $1 is not in seccomp filter mode"
	echo "$st" | grep -q -P '^NoNewPrivs:\t1$' || fail "$3 $1 lacks no_new_privs"
	[ "$(readlink "/proc/$1/root")" = "$2" ] ||
	    fail "$3 $1 root is $(readlink "/proc/$1/root"), not $2"
	pass "$3 $1: uid $uid, Seccomp 2, NoNewPrivs 1, root $2"
}
for w in $(worker_pids); do
	check_proc "$w" "$TMP/empty" worker
	# The worker keeps only stdio, the client and the broker link.
	nfd=$(ls "/proc/$w/fd" | wc -l)
	[ "$nfd" -le 10 ] || fail "worker $w has $nfd descriptors open"
done
check_proc "$(broker_pid)" "$TMP/state" broker
# The key process, which alone holds the TLS key, is locked in like a worker.
check_proc "$(keyproc_pid)" "$TMP/empty" "key process"
# So is the template the workers are forked from.
check_proc "$(template_pid)" "$TMP/empty" "worker template"

# An empty environment, but for the sandbox's debug switch and, in a
# sanitizer build, the sanitizers' options.
tr '\0' '\n' <"/proc/$DPID/environ" | grep -q '^SC_TEST_SECRET=hunter2$' ||
    fail "the master did not get the test's environment"
for p in $(worker_pids) $(broker_pid); do
	extra=$(tr '\0' '\n' <"/proc/$p/environ" |
	    grep -v -E '^(SC_SANDBOX_DEBUG|ASAN_OPTIONS|UBSAN_OPTIONS|LSAN_OPTIONS)=' || true)
	[ -z "$extra" ] || fail "process $p inherited: $extra"
done
pass "workers and the broker start with an empty environment"

# The master itself stays root (it must accept and fork) but never chroots.
[ "$(readlink "/proc/$DPID/root")" = "/" ] || fail "master root changed"

# The state directory belongs to the unprivileged user, and the group root
# may only enter it (to chroot the broker); the chroot belongs to root.
[ "$(stat -c %U:%G:%a "$TMP/state")" = "$SC_USER:root:710" ] || fail "state_dir owner/mode"
[ "$(stat -c %U:%a "$TMP/empty")" = "root:755" ] || fail "empty_dir owner/mode"
[ -z "$(ls -A "$TMP/empty")" ] || fail "empty_dir is not empty"
[ "$(stat -c %a "$TMP/tls/server.key")" = 600 ] || fail "generated key is not 0600"
log_has "TLS key fingerprint SHA256:" || fail "fingerprint not logged"
pass "directories, key file and fingerprint"

client_end a || fail "client a exit status $?"
client_end b || fail "client b exit status $?"
stop_daemon
