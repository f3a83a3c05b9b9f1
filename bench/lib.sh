# bench/lib.sh: what the benchmark scripts (run.sh, abuse.sh) share: a
# private securechatd on 127.0.0.1 with a temporary configuration, and
# bounded waits.  Sourced; BENCH names the script in messages.

SC_USER=${SC_USER:-_securechat}

bench_user() {
	if ! id "$SC_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$SC_USER"
	fi
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

# A port nothing listens on.  Bounded: 100 tries.
free_port() {
	local i p
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "$BENCH: no free port" >&2
	return 1
}

port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

# The master and every process below it, from one ps snapshot.
daemon_tree() {
	ps -e -o pid=,ppid= | awk -v root="$DPID" '
	    { parent[$1] = $2; pids[NR] = $1 }
	    END {
		for (i = 1; i <= NR; i++) {
			p = pids[i]
			# At most 16 generations up: the tree is 3 deep.
			for (d = 0; d < 16 && p != "" && p != 0 && p != 1; d++) {
				if (p == root) { print pids[i]; break }
				p = parent[p]
			}
		}
	    }'
}

stop_daemon() {
	local i
	[ -n "$DPID" ] || return 0
	kill -TERM "$DPID" 2>/dev/null || true
	for i in $(seq 1 300); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$DPID" 2>/dev/null; then
		echo "$BENCH: daemon did not stop within 30 s of SIGTERM" >&2
		# shellcheck disable=SC2046 # one word per pid
		kill -KILL $(daemon_tree) 2>/dev/null || true
	fi
	wait "$DPID" 2>/dev/null || true
	DPID=
}

# bench_start LEVEL LIMITS: a fresh TMP, configuration and daemon, with
# log.level LEVEL and the settings LIMITS inside "limits = { ... }".
bench_start() {
	TMP=$(mktemp -d /tmp/sc-bench.XXXXXX)
	chmod 755 "$TMP"
	mkdir -p "$TMP/tls"
	PORT=$(free_port)
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
log = { level = "$1"; };
limits = { $2 };
EOF
	"$SCD" -d -f "$TMP/sc.conf" >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	if ! wait_for 15 port_open; then
		tail -n 20 "$TMP/daemon.log" >&2
		echo "$BENCH: daemon did not start listening" >&2
		return 1
	fi
}
