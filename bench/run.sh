#!/bin/bash
# run.sh: for each N, start a private securechatd on 127.0.0.1 with a
# temporary configuration, drive it with scload, measure the daemon's
# memory (PSS) while the N clients are connected, stop it; one line per N.
#
# usage: bench/run.sh [-B builddir] [-k] [-- scload options] [N ...]
#   -B  the build tree holding daemon/securechatd and bench/scload
#       (default: the current directory if it has them, else the tree
#       this script is in)
#   -k  keep each run's temporary directory (config, daemon log, output)
#   scload options after N values are passed on, e.g. -R 500 -d 20.
# Besides scload's figures it prints server_cpu_ms, the CPU time of the
# daemon's whole process tree from the start of scload to the marker
# (a cpuacct cgroup), and the load average.  PERF_OUT=file records a perf
# profile of the daemon's tree over the same span (PERF_FREQ, default 999).
# Needs root (the daemon drops to the user _securechat, created if missing).
# Every loop and every wait is bounded.

set -eu

SC_USER=${SC_USER:-_securechat}
here=$(cd "$(dirname "$0")" && pwd)
if [ -x ./daemon/securechatd ] && [ -x ./bench/scload ]; then
	build=$(pwd)
else
	build=$(cd "$here/.." && pwd)
fi
keep=0
while getopts B:k opt; do
	case $opt in
	B) build=$(cd "$OPTARG" && pwd) ;;
	k) keep=1 ;;
	*) echo "usage: $0 [-B builddir] [-k] [N ...] [-- scload options]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
SIZES=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	case $1 in
	''|*[!0-9]*) echo "run.sh: $1: not a number of clients" >&2; exit 2 ;;
	esac
	SIZES="$SIZES $1"
	shift
done
[ $# -gt 0 ] && shift	# the "--"
EXTRA=("$@")
SIZES=${SIZES:-10 100 1000}

SCD=$build/daemon/securechatd
SCLOAD=$build/bench/scload
[ -x "$SCD" ] || { echo "run.sh: no $SCD: build first" >&2; exit 1; }
[ -x "$SCLOAD" ] || { echo "run.sh: no $SCLOAD: make bench/scload" >&2; exit 1; }
command -v jq >/dev/null || { echo "run.sh: needs jq" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root (the daemon drops privileges)" >&2; exit 1; }
if ! id "$SC_USER" >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$SC_USER"
fi

# One worker process and a few descriptors per client, on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ulimit -u unlimited 2>/dev/null || true

# The run's duration decides how long waiting for scload may take.
DURATION=10
for ((i = 0; i < ${#EXTRA[@]}; i++)); do
	if [ "${EXTRA[$i]}" = "-d" ] && [ $((i + 1)) -lt ${#EXTRA[@]} ]; then
		DURATION=${EXTRA[$((i + 1))]}
	fi
done

TMP=
DPID=
SPID=

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
	echo "run.sh: no free port" >&2
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

# Sum of Pss (kB) and the process count over the daemon's tree.
daemon_pss() {
	local p kb total=0 n=0
	for p in $(daemon_tree); do
		kb=$(awk '/^Pss:/ { print $2; exit }' \
		    "/proc/$p/smaps_rollup" 2>/dev/null) || continue
		[ -n "$kb" ] || continue
		total=$((total + kb))
		n=$((n + 1))
	done
	echo "$total $n"
}

# The daemon's whole process tree in a cpuacct cgroup (v1 or v2), so its
# CPU time is counted whoever reaps whom.  Empty when there is none.
CG=
cg_make() {
	local d
	for d in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -w "$d" ] || continue
		if [ -e "$d/cpuacct.usage" ] || [ -e "$d/cgroup.controllers" ]; then
			CG=$d/sc-bench.$$
			mkdir -p "$CG" 2>/dev/null && return 0
		fi
	done
	CG=
}

# CPU time in microseconds the cgroup has used so far, or 0.
cg_usec() {
	if [ -n "$CG" ] && [ -r "$CG/cpuacct.usage" ]; then
		echo $(($(cat "$CG/cpuacct.usage") / 1000))
	elif [ -n "$CG" ] && [ -r "$CG/cpu.stat" ]; then
		awk '/^usage_usec/ { print $2 }' "$CG/cpu.stat"
	else
		echo 0
	fi
}

cg_remove() {
	[ -n "$CG" ] && rmdir "$CG" 2>/dev/null || true
	CG=
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
		echo "run.sh: daemon did not stop within 30 s of SIGTERM" >&2
		# shellcheck disable=SC2046 # one word per pid
		kill -KILL $(daemon_tree) 2>/dev/null || true
	fi
	wait "$DPID" 2>/dev/null || true
	DPID=
}

cleanup() {
	if [ -n "$SPID" ]; then
		kill -TERM "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
	stop_daemon
	cg_remove
	if [ -n "$TMP" ] && [ "$keep" -eq 0 ]; then
		rm -rf "$TMP"
	fi
	TMP=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_one N: one private daemon, one scload run; prints the result line.
run_one() {
	local n=$1 i base pss procs rc=0 cpu0 cpu=0 maxc
	# Room for every client, and at least the 2000 of smaller runs.
	maxc=$((n + 100 > 2000 ? n + 100 : 2000))
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
log = { level = "info"; };
limits = {
  max_clients = $maxc;
  max_clients_per_ip = $maxc;
  handshake_timeout = 30;
  message_rate = 100000;
  message_burst = 1000000;
};
EOF
	cg_make
	# The subshell joins the cgroup first: the daemon and all it forks count.
	(
		[ -z "$CG" ] || echo "$BASHPID" >"$CG/cgroup.procs"
		exec "$SCD" -d -f "$TMP/sc.conf"
	) >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	if ! wait_for 15 port_open; then
		tail -n 20 "$TMP/daemon.log" >&2
		echo "run.sh: daemon did not start listening" >&2
		return 1
	fi
	sleep 1		# let it settle before the idle measurement
	read -r base _ < <(daemon_pss)
	cpu0=$(cg_usec)
	# PERF_OUT=file: sample the daemon's tree (every process now, and
	# what they fork later) until the marker, for perf report -i file.
	PPID_PERF=
	if [ -n "${PERF_OUT:-}" ]; then
		perf record -q -g -F "${PERF_FREQ:-999}" \
		    -p "$(daemon_tree | paste -s -d, -)" \
		    -o "$PERF_OUT" >/dev/null 2>&1 &
		PPID_PERF=$!
		sleep 0.5
	fi

	"$SCLOAD" -j -p "$PORT" -n "$n" -M "$TMP/hold" "${EXTRA[@]}" \
	    >"$TMP/scload.json" 2>"$TMP/scload.err" &
	SPID=$!
	# scload creates the marker once every message is delivered, and
	# waits (at most 120 s) for us to remove it before disconnecting.
	pss=0
	procs=0
	for i in $(seq 1 $(((DURATION + 300) * 10))); do
		if [ -e "$TMP/hold" ]; then
			cpu=$(($(cg_usec) - cpu0))
			if [ -n "$PPID_PERF" ]; then
				kill -INT "$PPID_PERF" 2>/dev/null || true
				wait "$PPID_PERF" 2>/dev/null || true
				PPID_PERF=
			fi
			read -r pss procs < <(daemon_pss)
			rm -f "$TMP/hold"
			break
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	for i in $(seq 1 1500); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$SPID" 2>/dev/null; then
		echo "run.sh: scload did not finish; killing it" >&2
		kill -TERM "$SPID" 2>/dev/null || true
	fi
	wait "$SPID" || rc=$?
	SPID=
	stop_daemon
	cg_remove
	if [ "$rc" -ne 0 ] || [ ! -s "$TMP/scload.json" ]; then
		echo "run.sh: N=$n: scload exited $rc:" >&2
		cat "$TMP/scload.err" >&2
		if grep -q -E 'fatal|ERROR|error' "$TMP/daemon.log"; then
			echo "--- daemon log, errors (first 20):" >&2
			grep -E 'fatal|ERROR|error' "$TMP/daemon.log" | head -n 20 >&2
		fi
	fi
	if [ -s "$TMP/scload.json" ]; then
		jq -r --arg pss "$pss" --arg procs "$procs" --arg base "$base" \
		    --arg cpu "$cpu" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '
		    "N=\(.clients) connects/s=\(.connects_per_s) " +
		    "p50_ms=\(.latency_p50_ms) p99_ms=\(.latency_p99_ms) " +
		    "delivered/s=\(.delivered_per_s) " +
		    "delivered=\(.delivered)/\(.expected) " +
		    "sent=\(.sent) acked=\(.acked) " +
		    "pss_kib_per_client=\(if ($pss|tonumber) > 0 then
			(($pss|tonumber) / .clients | floor) else "n/a" end) " +
		    "pss_total_kib=\($pss) procs=\($procs) " +
		    "pss_idle_kib=\($base) " +
		    "server_cpu_ms=\(($cpu|tonumber) / 1000 | floor) " +
		    "load=\($load|gsub(" "; ",")) " +
		    "errors=\(.errors | to_entries | map("\(.key):\(.value)") |
			join(",") | if . == "" then "none" else . end) " +
		    "ok=\(.ok)"' "$TMP/scload.json"
		cp "$TMP/scload.json" "${RESULTS_DIR:-/tmp}/scload-$n.json" \
		    2>/dev/null || true
	fi
	if [ "$keep" -eq 1 ]; then
		echo "run.sh: N=$n: kept $TMP" >&2
	else
		rm -rf "$TMP"
	fi
	TMP=
	return "$rc"
}

status=0
for n in $SIZES; do
	run_one "$n" || status=1
done
exit "$status"
