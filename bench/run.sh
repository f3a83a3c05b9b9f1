#!/bin/bash
# run.sh: for each N, start a private securechatd on 127.0.0.1 with a
# temporary configuration, drive it with scload, measure the daemon's
# memory (PSS) while the N clients are connected, stop it; one line per N.
#
# usage: bench/run.sh [-B builddir] [-bk] [-- scload options] [N ...]
#   -B  the build tree holding daemon/securechatd and bench/scload
#       (default: the current directory if it has them, else the tree
#       this script is in)
#   -b  count the broker's CPU and system calls with perf stat over the
#       whole run (connect, join, traffic): broker_cpu_s, broker_writev,
#       broker_epoll_ctl, broker_epoll_wait on the result line
#   -k  keep each run's temporary directory (config, daemon log, output)
#   scload options after N values are passed on, e.g. -R 500 -d 20.
# Besides scload's figures it prints server_cpu_ms, the CPU time of the
# daemon's whole process tree from the start of scload to the marker
# (a cpuacct cgroup), and the load average.  PERF_OUT=file records a perf
# profile of the daemon's tree over the same span (PERF_FREQ, default 999).
# Needs root (the daemon drops to the user _securechat, created if missing).
# Every loop and every wait is bounded.  The PSS sum is bench/treestat's:
# every process of the daemon's tree, read from /proc in one process.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
build=$(bench_build_default "$here")
keep=0
bstat=0
while getopts B:bk opt; do
	case $opt in
	B) build=$(cd "$OPTARG" && pwd) ;;
	b) bstat=1 ;;
	k) keep=1 ;;
	*) echo "usage: $0 [-B builddir] [-bk] [N ...] [-- scload options]" >&2
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

BUILD=$build
bench_tools || exit 1
command -v jq >/dev/null || { echo "run.sh: needs jq" >&2; exit 1; }
bench_root_setup || exit 1

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
PSPID=
BSTAT_EVENTS=task-clock,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_ctl
BSTAT_EVENTS=$BSTAT_EVENTS,syscalls:sys_enter_epoll_wait

# broker_stat_start: perf stat on the daemon's broker, into $TMP/broker.stat.
broker_stat_start() {
	local p bpid=
	for p in $(bench_tree "$DPID"); do
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
		    grep -q -- '-x broker'; then
			bpid=$p
		fi
	done
	if [ -z "$bpid" ]; then
		echo "run.sh: no broker process to count" >&2
		return 0
	fi
	perf stat -x, -e "$BSTAT_EVENTS" -p "$bpid" -o "$TMP/broker.stat" \
	    >/dev/null 2>&1 &
	PSPID=$!
}

# broker_stat_stop: the counts, as fields of the result line.
broker_stat_stop() {
	[ -n "$PSPID" ] || return 0
	kill -INT "$PSPID" 2>/dev/null || true
	bench_wait_exit "$PSPID" 30 || kill -KILL "$PSPID" 2>/dev/null || true
	wait "$PSPID" 2>/dev/null || true
	PSPID=
	awk -F, '
	    $3 == "task-clock" { printf " broker_cpu_s=%.3f", $1 / 1000 }
	    $3 ~ /writev$/ { printf " broker_writev=%s", $1 }
	    $3 ~ /epoll_ctl$/ { printf " broker_epoll_ctl=%s", $1 }
	    $3 ~ /epoll_wait$/ { printf " broker_epoll_wait=%s", $1 }
	' "$TMP/broker.stat" 2>/dev/null || true
}

# Sum of Pss (KiB) and the process count over the daemon's tree.
daemon_pss() {
	local line
	if ! line=$("$TREESTAT" "$DPID"); then
		echo "run.sh: treestat: ${line:-failed}" >&2
	fi
	line=${line:-procs=0 pss_kib=0}
	echo "$line" | sed -E 's/^procs=([0-9]+) pss_kib=([0-9]+).*/\2 \1/'
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
	bench_stop "$DPID" daemon
	DPID=
}

cleanup() {
	if [ -n "$SPID" ]; then
		kill -TERM "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
	if [ -n "$PSPID" ]; then
		kill -INT "$PSPID" 2>/dev/null || true
		wait "$PSPID" 2>/dev/null || true
		PSPID=
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
	local n=$1 i base pss procs bline= rc=0 cpu0 cpu=0 perf=
	TMP=$(mktemp -d /tmp/sc-bench.XXXXXX)
	chmod 755 "$TMP"
	PORT=$(bench_free_port)
	bench_sc_conf "$TMP" "$PORT" "$n"
	cg_make
	# The subshell joins the cgroup first: the daemon and all it forks count.
	(
		[ -z "$CG" ] || echo "$BASHPID" >"$CG/cgroup.procs"
		exec "$SCD" -d -f "$TMP/sc.conf"
	) >>"$TMP/daemon.log" 2>&1 &
	DPID=$!
	if ! bench_wait_for 15 bench_port_open "$PORT"; then
		tail -n 20 "$TMP/daemon.log" >&2
		echo "run.sh: daemon did not start listening" >&2
		return 1
	fi
	sleep 1		# let it settle before the idle measurement
	read -r base _ < <(daemon_pss)
	[ "$bstat" -eq 0 ] || broker_stat_start
	cpu0=$(cg_usec)
	# PERF_OUT=file: sample the daemon's tree (every process now, and
	# what they fork later) until the marker, for perf report -i file.
	if [ -n "${PERF_OUT:-}" ]; then
		perf record -q -g -F "${PERF_FREQ:-999}" \
		    -p "$(bench_tree "$DPID" | paste -s -d, -)" \
		    -o "$PERF_OUT" >/dev/null 2>&1 &
		perf=$!
		sleep 0.5
	fi

	"$SCLOAD" -j -p "$PORT" -n "$n" -M "$TMP/hold" "${EXTRA[@]}" \
	    >"$TMP/scload.json" 2>"$TMP/scload.err" &
	SPID=$!
	# scload creates the marker once every message is delivered, and
	# waits (at most 120 s) for us to remove it before disconnecting.
	# Connecting takes longer with N: allow 50 ms a client.
	pss=0
	procs=0
	for i in $(seq 1 $(((DURATION + 300 + n / 20) * 10))); do
		if [ -e "$TMP/hold" ]; then
			bline=$(broker_stat_stop)
			cpu=$(($(cg_usec) - cpu0))
			if [ -n "$perf" ]; then
				kill -INT "$perf" 2>/dev/null || true
				wait "$perf" 2>/dev/null || true
				perf=
			fi
			read -r pss procs < <(daemon_pss)
			rm -f "$TMP/hold"
			break
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	if ! bench_wait_exit "$SPID" 150; then
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
		    --arg bline "$bline" --arg cpu "$cpu" --arg load "$(bench_loadavg)" '
		    "N=\(.clients) connects/s=\(.connects_per_s) " +
		    "p50_ms=\(.latency_p50_ms) p99_ms=\(.latency_p99_ms) " +
		    "delivered/s=\(.delivered_per_s) " +
		    "delivered=\(.delivered)/\(.expected) " +
		    "sent=\(.sent) acked=\(.acked) " +
		    "pss_kib_per_client=\(if ($pss|tonumber) > 0 then
			(($pss|tonumber) / (if (.alive // 0) > 0 then .alive
			else .clients end) | floor) else "n/a" end) " +
		    "pss_total_kib=\($pss) procs=\($procs) " +
		    "pss_idle_kib=\($base) join_s=\(.join_s) " +
		    "server_cpu_ms=\(($cpu|tonumber) / 1000 | floor) " +
		    "load=\($load|gsub(" "; ",")) " +
		    "errors=\(.errors | to_entries | map("\(.key):\(.value)") |
			join(",") | if . == "" then "none" else . end) " +
		    "ok=\(.ok)\($bline)"' "$TMP/scload.json"
		cp "$TMP/scload.json" "${RESULTS_DIR:-/tmp}/scload-$n.json" \
		    2>/dev/null || true
		# Master, broker and a worker per connected client.
		alive=$(jq -r '.alive // .clients' "$TMP/scload.json")
		if [ "$pss" -gt 0 ] && [ "$procs" -lt $((alive + 2)) ]; then
			echo "run.sh: N=$n: measured $procs processes for" \
			    "$alive connected clients" >&2
		fi
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
