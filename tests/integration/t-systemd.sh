#!/bin/bash
# t-systemd.sh: the daemon installed into a DESTDIR runs under what its
# unit asks for, as systemd would run it, since systemd is not PID 1 here:
# in a private mount namespace where the DESTDIR is the install prefix, the
# system read-only but for the unit's ReadWritePaths and directories,
# tmpfiles.d applied, the unit's directory rules replayed at every start,
# the capability bounding set and no_new_privs of the unit (setpriv), a
# network namespace of its own (PrivateNetwork=) with the listening socket
# passed in (securechat.socket), and a notify socket and a journal socket
# (scsystemd).  It starts, restarts, "reboots" and reloads; every
# securechatctl command works against it; the journal gets real
# priorities and survives a journald restart; and systemd-analyze security
# rates the unit 2.0 or less, its system call filter allowing setpriority.
. "$(dirname "$0")/lib.sh"
need_root
for t in unshare setpriv systemd-analyze systemd-tmpfiles sqlite3; do
	command -v "$t" >/dev/null 2>&1 || skip "needs $t"
done
SCSYSTEMD=$top_builddir/tests/integration/scsystemd

# A make variable of the build, expanded.
mkvar() {
	printf 'sc-print-var:\n\t@echo $(%s)\n' "$1" |
	    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory \
	    -C "$top_builddir" -f Makefile -f - sc-print-var
}
prefix=$(mkvar prefix)
[ "$prefix" = /usr/local ] ||
    skip "needs the default prefix /usr/local to map the DESTDIR onto (it is $prefix)"

if [ -z "${SC_IN_NS:-}" ]; then
	# Everything below runs in a private mount namespace.
	rm -rf "$TMP"
	trap - EXIT
	exec unshare -m --propagation private env SC_IN_NS=1 bash "$0" "$@"
fi

ensure_user
sbindir=$(mkvar sbindir)
sysconfdir=$(mkvar sysconfdir)
localstatedir=$(mkvar localstatedir)
runstatedir=$(mkvar runstatedir)
unitdir=$(mkvar systemdsystemunitdir)
tmpfilesdir=$(mkvar tmpfilesdir)
sysusersdir=$(mkvar sysusersdir)
DEST=$TMP/dest
UNIT=$DEST$unitdir/securechat.service
SOCKU=$DEST$unitdir/securechat.socket
SPID=
# The mounts go before lib.sh removes $TMP.
trap '[ -n "$SPID" ] && kill -TERM "$SPID" 2>/dev/null && wait "$SPID"
mount -o remount,bind,rw / 2>/dev/null; umount -R -l /usr/local 2>/dev/null
umount -l "$TMP" 2>/dev/null; cleanup' EXIT

env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" install DESTDIR="$DEST" >"$TMP/install.log" 2>&1 ||
    { cat "$TMP/install.log"; fail "make install DESTDIR failed"; }
for f in "$UNIT" "$SOCKU" "$DEST$tmpfilesdir/securechat.conf" \
    "$DEST$sysusersdir/securechat.conf" "$DEST$sbindir/securechatd" \
    "$DEST$sbindir/securechatctl" "$DEST$sysconfdir/securechat.conf"; do
	[ -f "$f" ] || fail "make install did not install $f"
done
[ "$unitdir" = "$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo "$unitdir")" ] ||
    fail "the unit is not installed where pkg-config systemd says"
pass "make install puts the unit, socket, sysusers.d and tmpfiles.d entries where pkg-config systemd says"

# make install never overwrites an edited configuration.
echo "# edited by the operator" >>"$DEST$sysconfdir/securechat.conf"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" install DESTDIR="$DEST" >"$TMP/install.log" 2>&1 ||
    fail "second make install failed"
grep -q "edited by the operator" "$DEST$sysconfdir/securechat.conf" ||
    fail "make install overwrote an edited configuration"
[ -f "$DEST$sysconfdir/securechat.conf.new" ] ||
    fail "the new sample was not left as securechat.conf.new"
pass "make install keeps an edited configuration and leaves the sample as .new"

# The exposure systemd-analyze gives, and that the manual reports it.
score=$(systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
    sed -n 's/.*Overall exposure level for securechat.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "systemd-analyze security gave no score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
    fail "systemd-analyze security rates the unit $score, above 2.0"
grep -q "exposure level of $score" "$top_srcdir/man/securechatd.8" ||
    fail "securechatd(8) does not report the score $score"
grep -q '^StateDirectory=' "$UNIT" && ! grep -q '^User=' "$UNIT" &&
    fail "StateDirectory= without User=: systemd would chown the state to root"
pass "systemd-analyze security: exposure $score (at most 2.0), as securechatd(8) says"

# This harness does not apply the unit's system call filter; its verdict
# says whether the template may lower its priority (else EPERM, a warning
# at every template start, and workers at the broker's priority).
systemd-analyze security --offline=true "$UNIT" 2>/dev/null |
    grep -q 'setpriority is allowed' ||
    fail "the unit's system call filter refuses setpriority"
pass "the unit's system call filter allows setpriority"

# The unit's settings.
unit_get() { sed -n "s/^$1=//p" "$UNIT"; }
CAPS=$(unit_get CapabilityBoundingSet | tr ' ' '\n' | sed 's/^CAP_//' |
    tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd, -)
NNP=
[ "$(unit_get NoNewPrivileges)" = yes ] && NNP=--no-new-privs
RUNNER="setpriv --bounding-set=-all,$CAPS --inh-caps=-all $NNP --"
[ "$(unit_get Type)" = notify ] || fail "the unit is not Type=notify"
[ "$(unit_get PrivateNetwork)" = yes ] && NETNS="unshare -n" || NETNS=
read -r -a EXECSTART <<<"$(unit_get ExecStart)"
read -r -a EXECPRE <<<"$(unit_get ExecStartPre)"
CONF=$sysconfdir/securechat.conf

# The DESTDIR is the prefix; the system is read-only (ProtectSystem=strict)
# but for the unit's writable paths.  systemd's /run, /var/lib and /etc
# are this build's runstatedir, localstatedir/lib and sysconfdir.
mount --bind "$TMP" "$TMP"
mount --bind "$DEST$prefix" "$prefix"
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal
RUNTIME=$runstatedir/$(unit_get RuntimeDirectory)
STATE=$localstatedir/lib/securechat
for p in $(unit_get ReadWritePaths) "$RUNTIME"; do
	p=${p#-}
	mkdir -p "$p"
	mount --bind "$p" "$p"
done
rmdir "$RUNTIME" 2>/dev/null || true
PORT=$(free_port)
cat >"$CONF" <<EOF
listen = ( { address = "127.0.0.1"; port = $PORT; } );
user = "$SC_USER";
runtime_dir = "$RUNTIME";
empty_dir = "$RUNTIME/empty";
EOF
mount -o remount,bind,ro "$prefix"
mount -o remount,bind,ro /
touch "$prefix/x" 2>/dev/null && fail "the system is not read-only"

# What systemd does to the unit's directories at each start: makes them,
# sets their mode, and chowns the tree to User= (root without one) when
# the top is not already so owned.
unit_dirs() {
	local kind base dir mode owner
	owner=$(unit_get User)
	owner=${owner:-root}
	for kind in State Runtime Cache Logs; do
		dir=$(unit_get "${kind}Directory")
		[ -n "$dir" ] || continue
		case $kind in
		State) base=$localstatedir/lib ;;
		Runtime) base=$runstatedir ;;
		Cache) base=$localstatedir/cache ;;
		Logs) base=$localstatedir/log ;;
		esac
		mode=$(unit_get "${kind}DirectoryMode")
		mkdir -p "$base/$dir"
		chmod "${mode:-0755}" "$base/$dir"
		[ "$(stat -c %U "$base/$dir")" = "$owner" ] ||
		    chown -R "$owner:" "$base/$dir"
	done
}

NSTARTS=0
unit_start() {
	local ready
	ready=$(grep -c '^READY=1' "$TMP/notify.log" || true)
	unit_dirs
	(exec $RUNNER "${EXECPRE[@]}") >"$TMP/pre.out" 2>&1 ||
	    { cat "$TMP/pre.out" >&2; fail "ExecStartPre failed"; }
	"$SCSYSTEMD" -l "127.0.0.1:$PORT" -n /run/systemd/notify \
	    -N "$TMP/notify.log" -j /run/systemd/journal/socket \
	    -J "$TMP/journal.log" -p "$TMP/main.pid" -- \
	    $NETNS $RUNNER "${EXECSTART[@]}" 2>>"$TMP/daemon.log" &
	SPID=$!
	NSTARTS=$((NSTARTS + 1))
	wait_for 20 sh -c "[ \$(grep -c '^READY=1' '$TMP/notify.log') -gt $ready ]" ||
	    { jq -r .MESSAGE "$TMP/journal.log" >&2; fail "no READY=1 from start $NSTARTS"; }
	DPID=$(cat "$TMP/main.pid")
	port_open || fail "not listening after READY=1"
}

# systemctl stop: SIGTERM, then the runtime directory goes.
unit_stop() {
	local rc=0
	kill -TERM "$SPID"
	wait "$SPID" || rc=$?
	SPID=
	DPID=
	[ "$rc" -eq 0 ] || fail "the daemon exited with status $rc on stop"
	# The directory is a mount point here: what is in it goes.
	find "$RUNTIME" -mindepth 1 -delete
}

# jq -e cannot be used over many lines: jq 1.6 judges by the last one.
journal_has() {
	jq -c "select($1)" "$TMP/journal.log" 2>/dev/null | grep -q .
}

# systemd-tmpfiles --create at install and at every boot.
systemd-tmpfiles --create "$DEST$tmpfilesdir/securechat.conf" ||
    fail "systemd-tmpfiles --create failed"
[ "$(stat -c '%U %G %a' "$STATE")" = "$SC_USER root 710" ] ||
    fail "tmpfiles.d made $STATE $(stat -c '%U %G %a' "$STATE")"
: >"$TMP/notify.log"
unit_start
pass "started as the unit says: READY=1 after listening"

# The capabilities, no_new_privs and network of the unit.
st=$(cat "/proc/$DPID/status")
bnd=$(echo "$st" | sed -n 's/^CapBnd:\t//p')
[ "$((16#$bnd))" -eq $(( (1 << 5) | (1 << 6) | (1 << 7) | (1 << 18) )) ] ||
    fail "bounding set $bnd, want CAP_KILL CAP_SETGID CAP_SETUID CAP_SYS_CHROOT only"
echo "$st" | grep -q -P '^NoNewPrivs:\t1$' || fail "no no_new_privs"
[ "$(readlink "/proc/$DPID/ns/net")" != "$(readlink /proc/self/ns/net)" ] ||
    fail "the daemon shares the host's network namespace"
pass "master: bounding set setuid setgid sys_chroot kill, no_new_privs, its own network"

# The journal: priorities and fields, every process through the master.
# A child's lines come through the master's log relay, which READY=1 does
# not wait for: on a loaded machine they may follow it.
journal_has '(.MESSAGE | test("^master: securechat .* started")) and .PRIORITY == "6" and .SYSLOG_IDENTIFIER == "securechatd"' ||
    fail "no start line at priority info"
wait_for 10 journal_has '.SECURECHAT_ROLE == "broker" and (.MESSAGE | test("^broker: database"))' ||
    fail "the broker's lines do not reach the journal"
journal_has '.MESSAGE | test("securechatd\\[")' && fail "the securechatd[pid] prefix is doubled in the journal"
"$PROBE" -t 5 127.0.0.1 "$PORT" garbage 200 >/dev/null 2>&1 || true
wait_for 10 journal_has '.SECURECHAT_EVENT == "security" and .PRIORITY == "5" and .SECURECHAT_ROLE == "worker" and .SYSLOG_PID != "'"$DPID"'"' ||
    fail "a worker's security event is not in the journal with its field, priority and pid"
pass "journal: priorities, SECURECHAT_ROLE, SECURECHAT_EVENT=security, the child's pid"

# journald restarts: a new socket.  The sandboxed children keep logging.
# A line sent while there is no socket is lost by design, so the probe
# waits for the new socket (its inode), not for a guessed time: on a
# loaded machine half a second was not always enough.
JSOCK=/run/systemd/journal/socket
inode=$(stat -c %i "$JSOCK")
kill -USR2 "$SPID"
wait_for 10 sh -c "[ -S '$JSOCK' ] && [ \$(stat -c %i '$JSOCK') != $inode ]" ||
    fail "scsystemd did not make a new journal socket"
n=$(grep -c . "$TMP/journal.log")
"$PROBE" -t 5 127.0.0.1 "$PORT" garbage 200 >/dev/null 2>&1 || true
wait_for 20 sh -c "tail -n +$((n + 1)) '$TMP/journal.log' | jq -c 'select(.SECURECHAT_ROLE == \"worker\")' | grep -q ." ||
    fail "a worker's lines were lost after journald restarted"
pass "after a journald restart, workers' lines still reach the journal"

CTL="$sbindir/securechatctl -f $CONF"
client_start alice
client_say alice "/join #ops"
client_wait_jq alice '.type == "join" and .user == "alice"'
client_say alice "before the restarts"
client_wait_jq alice '.type == "ack"'
client_start bob
client_say bob "/join #ops"
client_wait_jq bob '.type == "join" and .user == "bob"'
wait_for 10 journal_has '.PRIORITY == "6" and (.MESSAGE | test("login: alice from 127.0.0.1"))' ||
    fail "no login line at info with user and address"

# Every command, as text and as JSON.
$CTL stats >"$TMP/stats" || fail "stats"
for k in connections connections_total logins failed_logins messages message_bytes \
    rate_limited key_updates uptime users_active_day users_active_week; do
	grep -q "^$k [0-9]" "$TMP/stats" || fail "stats has no $k"
done
$CTL -j stats | jq -e '.users_active_day == 2 and .messages >= 1' >/dev/null ||
    fail "stats --json: $($CTL -j stats)"
$CTL who | grep -q '^alice 1$' || fail "who"
$CTL -j who | jq -e '.users | length == 2' >/dev/null || fail "who --json"
$CTL user list | grep -q '^bob no 1 ' || fail "user list: $($CTL user list)"
$CTL -j user list | jq -e '.users[] | select(.name == "alice") | .last_login != null' >/dev/null ||
    fail "user list --json"
$CTL room list | grep -q '^#ops 2$' || fail "room list"
$CTL -j room list | jq -e '.rooms[0].members == 2' >/dev/null || fail "room list --json"
$CTL notice room '#ops' the server restarts at noon >/dev/null || fail "notice room"
client_wait_jq bob '.type == "notice" and .from == "server" and .operator == true and .room == "#ops" and .text == "the server restarts at noon"'
$CTL -j notice user alice hello alice | jq -e '.sessions == 1' >/dev/null || fail "notice user"
client_wait_jq alice '.type == "notice" and .operator == true and .text == "hello alice"'
$CTL notice all to everyone >/dev/null || fail "notice all"
client_wait_jq bob '.type == "notice" and .operator == true and .text == "to everyone"'
code=$($CTL invite create --uses 2 --expires 1d) || fail "invite create"
$CTL -j invite list | jq -e --arg c "$code" '.invites[] | select(.code == $c) | .uses_left == 2 and .state == "valid" and .expires != null' >/dev/null ||
    fail "invite list: $($CTL -j invite list)"
$CTL invite revoke "$code" >/dev/null || fail "invite revoke"
$CTL invite list | grep -q "$code" && fail "a revoked invite is listed"
$CTL -j invite create | jq -e '.code | length == 20' >/dev/null || fail "invite create --json"
$CTL metrics "$TMP/securechat.prom" || fail "metrics FILE"
grep -q '^# TYPE securechat_messages counter$' "$TMP/securechat.prom" &&
    grep -q '^securechat_connections 2$' "$TMP/securechat.prom" ||
    fail "metrics: $(cat "$TMP/securechat.prom")"
$CTL backup "$TMP/backup.db" >"$TMP/backup.out" || fail "backup"
grep -q "integrity ok" "$TMP/backup.out" || fail "backup: $(cat "$TMP/backup.out")"
[ "$(sqlite3 "$TMP/backup.db" 'PRAGMA integrity_check; SELECT count(*) FROM users;' | tr '\n' ' ')" = "ok 2 " ] ||
    fail "the backup is not a whole database"
[ "$(sqlite3 "$TMP/backup.db" 'PRAGMA journal_mode')" = delete ] ||
    fail "the backup depends on a -wal file"
$CTL -j backup "$TMP/backup2.db" | jq -e '.integrity == "ok" and .users == 2' >/dev/null ||
    fail "backup --json"
$CTL room remove-member '#ops' bob >/dev/null || fail "room remove-member"
client_wait_jq alice '.type == "part" and .user == "bob"'
$CTL user disable bob >/dev/null || fail "user disable"
client_wait_jq bob '.type == "error" and .code == "DISABLED"'
client_end bob || true
client_once bob "$TMP/home-bob" && fail "a disabled user logged in"
$CTL -j user enable bob | jq -e '.disabled == false' >/dev/null || fail "user enable"
client_once bob "$TMP/home-bob" || fail "an enabled user could not log in: $(cat "$TMP/bob.err")"
$CTL -j reload | jq -e '.reloaded == true' >/dev/null || fail "reload --json"
pass "stats, who, user list/disable/enable, room list/remove-member, notice, invite create/list/revoke, metrics, backup, reload"

# Reload as the unit does it: the check first, then SIGHUP.
unit_reload() {
	local line
	while read -r line; do
		line=${line//\$MAINPID/$DPID}
		(exec $RUNNER $line) >"$TMP/reload.out" 2>&1 || return 1
	done < <(unit_get ExecReload)
}
# The operator edits the file; the service sees it read-only.
echo 'registration = "invite";' >>"$DEST$CONF"
nrel=$(grep -c '^RELOADING=1' "$TMP/notify.log" || true)
unit_reload || fail "systemctl reload failed: $(cat "$TMP/reload.out")"
wait_for 10 journal_has '.MESSAGE == "master: reload: registration: \"open\" -> \"invite\""' ||
    fail "the reload did not log the changed value, old and new"
wait_for 10 sh -c "[ \$(grep -c '^RELOADING=1' '$TMP/notify.log') -gt $nrel ]" ||
    fail "no RELOADING=1"
tail -n 3 "$TMP/notify.log" | grep -q '^READY=1' || fail "no READY=1 after the reload"
echo 'bogus = 1;' >>"$DEST$CONF"
unit_reload && fail "systemctl reload succeeded on a broken configuration"
grep -q "unknown option 'bogus'" "$TMP/reload.out" || fail "the reload check did not name the error"
sed -i '/^bogus/d' "$DEST$CONF"
kill -0 "$DPID" || fail "the daemon died on a broken reload"
pass "reload: checked first (a broken file fails it and changes nothing), values logged, RELOADING=1 then READY=1"

$CTL kick alice >/dev/null || fail "kick"
client_wait_jq alice '.type == "error" and .code == "KICKED"'
client_end alice || true
wait_for 10 journal_has '.PRIORITY == "6" and (.MESSAGE | test("logout: alice from 127.0.0.1 after [0-9]"))' ||
    fail "no logout line at info with user, address and duration"
pass "kick ends the sessions; logout at info with user, address and duration"

# Restarts and a reboot: systemd's directory rules each time.
for i in 1 2 3; do
	unit_stop
	grep -q '^STOPPING=1' "$TMP/notify.log" || fail "no STOPPING=1"
	if [ "$i" -eq 3 ]; then
		# A reboot: /run is empty again, tmpfiles.d runs.
		systemd-tmpfiles --create "$DEST$tmpfilesdir/securechat.conf"
	fi
	unit_start
	client_once carol "$TMP/home-carol" --invite "$($CTL invite create)" ||
	    fail "no client served after restart $i: $(cat "$TMP/carol.err")"
done
$CTL user list | grep -q '^alice ' || fail "alice is gone after the restarts"
client_start alice2 --user alice --home "$TMP/home-alice"
client_say alice2 "/join #ops"
client_say alice2 "after the restarts"
client_wait_jq alice2 '.type == "ack"'
client_end alice2 || true
pass "three restarts and a reboot: state kept, clients served"

# The end of the account and of the room.
$CTL user delete bob >/dev/null || fail "user delete"
$CTL user list | grep -q '^bob ' && fail "user delete left bob"
$CTL room delete '#ops' >/dev/null || fail "room delete"
$CTL room list | grep -q '#ops' && fail "room delete left #ops"
$CTL reset-key alice | grep -q -E '^[0-9a-f]{20}$' || fail "reset-key"
pass "user delete, room delete, reset-key"

# securechat.socket and listen must agree.
unit_stop
"$SCSYSTEMD" -l "127.0.0.2:$PORT" -n /run/systemd/notify -N "$TMP/notify.log" \
    -j /run/systemd/journal/socket -J "$TMP/journal.log" -- \
    $NETNS $RUNNER "${EXECSTART[@]}" 2>>"$TMP/daemon.log" &&
    fail "started with a socket that is not in listen"
journal_has '.PRIORITY == "2" and (.MESSAGE | test("systemd passed a socket on 127.0.0.2:'"$PORT"', which is not in listen"))' ||
    fail "the mismatch was not named"
pass "a socket unit that differs from listen is refused, naming both"
