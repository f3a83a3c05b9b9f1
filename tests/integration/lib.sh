# lib.sh: shared by the integration tests.  Each test starts its own daemon
# on 127.0.0.1 and a free port, with a temporary configuration and state,
# and drives real clients in --batch --json mode.  Every wait is bounded.

set -eu

: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
SCD=$top_builddir/daemon/securechatd
SC=$top_builddir/client/securechat
PROBE=$top_builddir/tests/integration/scprobe
TEST=$(basename "$0" .sh)
SC_USER=${SC_USER:-_securechat}
# LeakSanitizer cannot run inside a seccomp sandbox; ASan/UBSan still do.
# A small quarantine keeps memory bounds (t-slowreader) meaningful.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:quarantine_size_mb=8}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

TMP=$(mktemp -d "/tmp/sc-$TEST.XXXXXX")
chmod 755 "$TMP"
# The clients read no configuration file of whoever runs the tests.
export XDG_CONFIG_HOME="$TMP/config"
unset NO_COLOR
DPID=
PORT=
CLIENTS=
FAILED=0

fail() {
	echo "FAIL: $TEST: $*" >&2
	FAILED=1
	exit 1
}

pass() {
	echo "ok: $*"
}

skip() {
	echo "SKIP: $TEST: $*"
	exit 77
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (run the suite as root, as CI does)"
}

# The daemon's account, made once.  Tests run in parallel: the lock makes
# the second one wait for the first one's useradd instead of failing on
# the locked /etc/passwd.
ensure_user() {
	id "$SC_USER" >/dev/null 2>&1 && return 0
	[ "$(id -u)" -eq 0 ] || return 0
	(
		flock -w 60 9 || exit 1
		id "$SC_USER" >/dev/null 2>&1 ||
		    useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$SC_USER"
	) 9>"/tmp/.securechat-useradd.lock" || fail "cannot create user $SC_USER"
}

# A port nothing listens on, below the kernel's ephemeral range so that no
# outgoing connection takes it meanwhile.  Bounded: 100 tries.
free_port() {
	local i p
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port"
}

# wait_for SECONDS COMMAND...: retry every 0.1 s until it succeeds.
wait_for() {
	local limit=$(($1 * 10)) i=0
	shift
	while [ "$i" -lt "$limit" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# The master's limits on new connections out of the way, for a test that
# makes many in a row from 127.0.0.1 to test something else (t-preauth
# tests those limits): inside "limits = { ... }".
ACCEPT_OPEN='accept_rate = 100000; accept_burst = 1000000;
  accept_rate_per_prefix = 100000; accept_burst_per_prefix = 1000000;'

# write_config [EXTRA LINES]: the test daemon's configuration.
write_config() {
	PORT=${PORT:-$(free_port)}
	mkdir -p "$TMP/tls"
	cat >"$TMP/sc.conf" <<EOF
listen = ( { address = "127.0.0.1"; port = $PORT; } );
user = "$SC_USER";
state_dir = "$TMP/state";
runtime_dir = "$TMP/run";
empty_dir = "$TMP/empty";
tls = {
  certificate = "$TMP/tls/server.crt";
  private_key = "$TMP/tls/server.key";
};
log = { level = "debug"; };
$*
EOF
}

daemon_log() {
	cat "$TMP/daemon.log"
}

log_has() {
	grep -q -- "$1" "$TMP/daemon.log"
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# The master holds a listening socket on $PORT.  Read from /proc rather
# than by connecting: a probe connection is a client to the daemon, whose
# worker counts against limits.max_clients until it has been reaped.
daemon_listens() {
	local inodes link i
	inodes=" "$(awk -v port="$(printf ':%04X' "$PORT")" '
	    $4 == "0A" && substr($2, length($2) - 4) == port { print $10 }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null | tr '\n' ' ')
	for link in $(readlink /proc/"$DPID"/fd/* 2>/dev/null); do
		case "$link" in
		"socket:["*"]")
			i=${link#"socket:["}
			case "$inodes" in *" ${i%"]"} "*) return 0 ;; esac
			;;
		esac
	done
	return 1
}

# Our daemon is listening (not some other process that took the port).
daemon_up() {
	kill -0 "$DPID" 2>/dev/null && daemon_listens
}

# It is listening, or it has exited.
daemon_settled() {
	! kill -0 "$DPID" 2>/dev/null || daemon_listens
}

# Background processes must not inherit the write ends of clients' fifos,
# or those clients would never see the end of their input.
CLIENT_FDS=
close_client_fds() {
	local f
	for f in $CLIENT_FDS; do
		eval "exec $f>&-"
	done
}

# start_daemon [RUNNER...]: run the daemon (optionally through a runner
# such as setpriv) and wait until it accepts.
start_daemon() {
	ensure_user
	[ -f "$TMP/sc.conf" ] || write_config
	local try
	# Another process may take the port between free_port and bind: then
	# the daemon says so, and it starts again on another port.
	for try in 1 2 3 4 5; do
		(close_client_fds; exec "$@" "$SCD" -d -f "$TMP/sc.conf") \
		    >>"$TMP/daemon.log" 2>&1 &
		DPID=$!
		wait_for 15 daemon_settled || true
		daemon_up && break
		if ! kill -0 "$DPID" 2>/dev/null &&
		    log_has "port $PORT: Address already in use"; then
			wait "$DPID" 2>/dev/null || true
			local old=$PORT
			PORT=$(free_port)
			sed -i "s/port = $old;/port = $PORT;/" "$TMP/sc.conf"
			echo "port $old was taken: trying $PORT" >&2
			continue
		fi
		daemon_log >&2
		fail "daemon did not start listening"
	done
	daemon_listens || fail "daemon did not start listening on a free port"
	wait_for 5 log_has "started (pid" || fail "daemon did not log its start"
	# Connections wait in the backlog until the broker is ready.
	wait_for 30 log_has "broker ready" || fail "the broker did not get ready"
}

# Every process below the master: its children, and the workers the
# worker template forked (the template's children, or the master's once
# their template is gone).
daemon_children() {
	[ -n "$DPID" ] || return 0
	ps -e -o pid=,ppid= | awk -v root="$DPID" '
	    { parent[$1] = $2; pids[NR] = $1 }
	    END {
		for (i = 1; i <= NR; i++) {
			p = parent[pids[i]]
			for (d = 0; d < 8 && p != "" && p > 1; d++) {
				if (p == root) { print pids[i]; break }
				p = parent[p]
			}
		}
	    }'
}

worker_pids() {
	role_pids worker
}

# role_pids ROLE: the children started as "securechatd -x ROLE".
role_pids() {
	local p
	for p in $(daemon_children); do
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q -- "-x $1"; then
			echo "$p"
		fi
	done
}

broker_pid() {
	role_pids broker
}

keyproc_pid() {
	role_pids keyproc
}

template_pid() {
	role_pids template
}

count_workers() {
	worker_pids | wc -l
}

workers_are() {
	[ "$(count_workers)" -eq "$1" ]
}

# daemon_must_stop WHAT: start the daemon, which must stop by itself
# within 30 s (WHAT says why it should); its exit status in DAEMON_RC.
daemon_must_stop() {
	(close_client_fds; exec "$SCD" -d -f "$TMP/sc.conf") \
	    >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	wait_for 30 sh -c "! kill -0 $DPID 2>/dev/null" ||
	    fail "the daemon kept running: $1"
	DAEMON_RC=0
	wait "$DPID" || DAEMON_RC=$?
	DPID=
}

stop_daemon() {
	local i
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null || true
	for i in $(seq 1 150); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DPID" 2>/dev/null; then
		kill -KILL $(daemon_children) "$DPID" 2>/dev/null || true
		DPID=
		fail "daemon did not stop within 15 s of SIGTERM"
	fi
	wait "$DPID" 2>/dev/null || true
	DPID=
}

# client_start NAME [ARGS...]: a batch client reading from a fifo, so the
# test decides when it says something and when its input ends.
client_start() {
	local name=$1 fd
	shift
	rm -f "$TMP/$name.in"
	mkfifo "$TMP/$name.in"
	# Each client is its own user unless the test says otherwise.
	(close_client_fds; exec "$SC" --server "127.0.0.1:$PORT" \
	    --home "$TMP/home-$name" --user "$name" --batch --json "$@") \
	    <"$TMP/$name.in" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	eval "CPID_$name=$!"
	exec {fd}>"$TMP/$name.in"
	eval "CFD_$name=$fd"
	CLIENT_FDS="$CLIENT_FDS $fd"
	CLIENTS="$CLIENTS $name"
}

# client_once NAME HOME [ARGS...]: one batch session with no input, as
# its own user unless ARGS say --user; returns the client's exit status.
client_once() {
	local name=$1 home=$2
	shift 2
	timeout 60 "$SC" --server "127.0.0.1:$PORT" --home "$home" --user "$name" \
	    --batch --json "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err"
}

# A client that has exited must not take the test down with SIGPIPE.
trap '' PIPE
client_say() {
	local fd
	eval "fd=\$CFD_$1"
	printf '%s\n' "$2" >&"$fd" 2>/dev/null || true
}

# client_feed NAME FILE: every line of FILE to the client's input.
client_feed() {
	local fd
	eval "fd=\$CFD_$1"
	cat "$2" >&"$fd"
}

client_out() {
	cat "$TMP/$1.out"
}

client_has() {
	grep -q -- "$2" "$TMP/$1.out"
}

client_count() {
	grep -c -- "$2" "$TMP/$1.out" || true
}

# client_acks NAME: how many of its SENDs NAME has had acknowledged.
client_acks() {
	grep -c '"type":"ack"' "$TMP/$1.out" || true
}

# acks_at_least NAME N: NAME has had N SENDs acknowledged (for wait_for).
acks_at_least() {
	[ "$(client_acks "$1")" -ge "$2" ]
}

# client_wait NAME PATTERN [SECONDS]
client_wait() {
	if ! wait_for "${3:-10}" client_has "$1" "$2"; then
		echo "--- $1 stdout:" >&2
		cat "$TMP/$1.out" >&2
		echo "--- $1 stderr:" >&2
		cat "$TMP/$1.err" >&2
		fail "client $1 never showed '$2'"
	fi
}

# client_has_jq NAME FILTER: some event of NAME's satisfies the jq FILTER.
client_has_jq() {
	jq -c "select($2)" "$TMP/$1.out" 2>/dev/null | grep -q .
}

# client_wait_jq NAME FILTER [SECONDS]
client_wait_jq() {
	if ! wait_for "${3:-10}" client_has_jq "$1" "$2"; then
		echo "--- $1 stdout (last 30):" >&2
		tail -n 30 "$TMP/$1.out" >&2
		echo "--- $1 stderr:" >&2
		cat "$TMP/$1.err" >&2
		fail "client $1 never showed an event matching: $2"
	fi
}

client_pid() {
	eval "echo \$CPID_$1"
}

# client_end NAME: end its input and return its exit status (bounded).
client_end() {
	local fd pid i rc=0
	eval "fd=\$CFD_$1; pid=\$CPID_$1"
	exec {fd}>&- || true
	CLIENT_FDS=$(echo "$CLIENT_FDS" | tr ' ' '\n' | grep -v -x "$fd" | tr '\n' ' ')
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		fail "client $1 did not exit within 15 s of EOF"
	fi
	wait "$pid" || rc=$?
	return "$rc"
}

# client_still_works NAME WHAT: NAME answers a /ping with a new PONG,
# after WHAT was done to the server.
client_still_works() {
	local n
	n=$(client_count "$1" '"type":"pong"')
	client_say "$1" /ping
	wait_for 10 sh -c "[ \$(grep -c '\"type\":\"pong\"' '$TMP/$1.out') -gt $n ]" ||
	    fail "the connected client $1 stopped working after: $2"
	pass "connected client $1 still works after: $2"
}

# One JSON field of the last line of NAME's output matching PATTERN.
json_field() {
	grep -- "$2" "$TMP/$1.out" | tail -n 1 | jq -r ".$3"
}

cleanup() {
	local name pid
	for name in $CLIENTS; do
		eval "pid=\${CPID_$name:-}"
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
	done
	# A terminal test's tmux server (and the clients in it), even on failure.
	if [ -S "$TMP/tmux.sock" ]; then
		tmux -S "$TMP/tmux.sock" kill-server 2>/dev/null || true
	fi
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait_for 10 sh -c "! kill -0 $DPID" || true
		kill -KILL $(daemon_children) "$DPID" 2>/dev/null || true
	fi
	if [ "$FAILED" -ne 0 ] && [ -f "$TMP/daemon.log" ]; then
		echo "--- daemon log (last 60 lines):" >&2
		tail -n 60 "$TMP/daemon.log" >&2
	fi
	# A sanitizer report anywhere fails the test.
	if [ -f "$TMP/daemon.log" ] && grep -q -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/daemon.log"; then
		echo "FAIL: $TEST: sanitizer report in the daemon log" >&2
		grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/daemon.log" >&2
		rm -rf "$TMP"
		exit 1
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
