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
# Needs root (the daemon drops to the user _securechat, created if missing).
# Every loop and every wait is bounded.

set -eu

BENCH=run.sh
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
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
bench_user

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

cleanup() {
	if [ -n "$SPID" ]; then
		kill -TERM "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
	stop_daemon
	if [ -n "$TMP" ] && [ "$keep" -eq 0 ]; then
		rm -rf "$TMP"
	fi
	TMP=
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_one N: one private daemon, one scload run; prints the result line.
run_one() {
	local n=$1 i base pss procs rc=0
	bench_start info "max_clients = 2000; max_clients_per_ip = 2000;
  handshake_timeout = 30; message_rate = 100000; message_burst = 1000000;" ||
	    return 1
	sleep 1		# let it settle before the idle measurement
	read -r base _ < <(daemon_pss)

	"$SCLOAD" -j -p "$PORT" -n "$n" -M "$TMP/hold" "${EXTRA[@]}" \
	    >"$TMP/scload.json" 2>"$TMP/scload.err" &
	SPID=$!
	# scload creates the marker once every message is delivered, and
	# waits (at most 120 s) for us to remove it before disconnecting.
	pss=0
	procs=0
	for i in $(seq 1 $(((DURATION + 300) * 10))); do
		if [ -e "$TMP/hold" ]; then
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
	if [ "$rc" -ne 0 ] || [ ! -s "$TMP/scload.json" ]; then
		echo "run.sh: N=$n: scload exited $rc:" >&2
		cat "$TMP/scload.err" >&2
		if grep -q -E 'fatal|ERROR|error' "$TMP/daemon.log"; then
			echo "--- daemon log, errors (first 20):" >&2
			grep -E 'fatal|ERROR|error' "$TMP/daemon.log" | head -n 20 >&2
		fi
	fi
	if [ -s "$TMP/scload.json" ]; then
		jq -r --arg pss "$pss" --arg procs "$procs" --arg base "$base" '
		    "N=\(.clients) connects/s=\(.connects_per_s) " +
		    "p50_ms=\(.latency_p50_ms) p99_ms=\(.latency_p99_ms) " +
		    "delivered/s=\(.delivered_per_s) " +
		    "delivered=\(.delivered)/\(.expected) " +
		    "sent=\(.sent) acked=\(.acked) " +
		    "pss_kib_per_client=\(if ($pss|tonumber) > 0 then
			(($pss|tonumber) / .clients | floor) else "n/a" end) " +
		    "pss_total_kib=\($pss) procs=\($procs) " +
		    "pss_idle_kib=\($base) " +
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
