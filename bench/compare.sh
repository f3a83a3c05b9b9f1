#!/bin/bash
# compare.sh: one scenario against securechatd, ngIRCd and InspIRCd, each
# on a TLS listener on 127.0.0.1 (a free port, a throwaway certificate),
# each run on a fresh server: connects/s, PSS per client, paced latency,
# flood throughput, server CPU per million deliveries (over each server's
# whole process tree, from /proc) and the largest N held.  Prints a
# markdown table for docs/PERFORMANCE.md; raw results stay in the output
# directory.
#
# usage: bench/compare.sh [-kqu] [-B builddir] [-o outdir] [-s servers]
#            [-L ladder] [-m percent] [-d seconds] [-R rate]
#            [-- scload options]
#   -B  build tree holding daemon/securechatd and bench/scload
#   -k  keep each server's temporary directory (configuration, log)
#   -q  quick: N = 100 only, a 1000 ladder, 3 s phases (a smoke test)
#   -u  scload at the normal priority; by default it runs at SCHED_FIFO 1
#       (scload -X), so that no server's process count starves it
#   -o  directory for the results (default: a new /tmp/sc-compare.*)
#   -s  servers, of "securechatd ngircd inspircd" (default: all three)
#   -L  the sizes tried for "largest N held", ascending
#       (default "1000 2000 5000 10000 15000")
#   -m  at most this percent of MemAvailable may a ladder step be
#       expected to need (default 60): the machine is shared
#   -d  seconds of sending per traffic run (default 10)
#   -R  paced rate, messages per second over all senders (default 200)
#   scload options after "--" go to every run, e.g. -- -N (TCP_NODELAY).
# Needs root.  Installs ngircd and inspircd with apt-get if missing.
# Every loop and every wait is bounded; nothing leaves 127.0.0.1.

set -eu

ARGS=$*
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
BUILD=$(bench_build_default "$here")

keep=0
quick=0
OUT=
SERVERS="securechatd ngircd inspircd"
LADDER="1000 2000 5000 10000 15000"
MEMPCT=60
DUR=10
RATE=200
PACED_N="100 500 1000"
FLOOD_N="100 500"
CONNECT_N=1000		# connects/s, PSS and CPU per connect from this run
CPU_N=500		# CPU per million deliveries from this flood run
SENDERS=10
BODY=128
DRAIN=60
HOLD=5
SCHED=(-X)
usage() {
	sed -n '/^# usage:/,/^# Needs root/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
ladder=
while getopts B:d:kL:m:o:qR:s:u opt; do
	case $opt in
	B) BUILD=$(cd "$OPTARG" && pwd) ;;
	d) DUR=$OPTARG ;;
	k) keep=1 ;;
	L) ladder=$OPTARG ;;
	m) MEMPCT=$OPTARG ;;
	o) OUT=$OPTARG ;;
	q) quick=1 ;;
	R) RATE=$OPTARG ;;
	s) SERVERS=$OPTARG ;;
	u) SCHED=() ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
EXTRA=("$@")
if [ "$quick" -eq 1 ]; then
	PACED_N=100
	FLOOD_N=100
	CONNECT_N=100
	CPU_N=100
	LADDER=1000
	DUR=3
fi
LADDER=${ladder:-$LADDER}
for v in "$DUR" "$MEMPCT" "$RATE" $LADDER; do
	case $v in
	''|*[!0-9]*) echo "compare.sh: $v: not a number" >&2; exit 2 ;;
	esac
done
for s in $SERVERS; do
	case $s in
	securechatd|ngircd|inspircd) ;;
	*) echo "compare.sh: $s: not one of securechatd ngircd inspircd" >&2
	   exit 2 ;;
	esac
done

bench_tools || exit 1
command -v jq >/dev/null || { echo "compare.sh: needs jq" >&2; exit 1; }
command -v openssl >/dev/null ||
    { echo "compare.sh: needs openssl" >&2; exit 1; }
bench_root_setup || exit 1

# pkg_ensure PACKAGE: install it if missing (the lock may be busy: others
# share the machine; at most 10 tries).
pkg_ensure() {
	local i
	if dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
	    grep -q 'ok installed'; then
		return 0
	fi
	echo "compare.sh: installing $1" >&2
	for i in $(seq 1 10); do
		if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		    --no-install-recommends "$1" >/dev/null; then
			return 0
		fi
		sleep 10
	done
	echo "compare.sh: cannot install $1" >&2
	return 1
}
for s in $SERVERS; do
	case $s in
	ngircd|inspircd) pkg_ensure "$s" || exit 1 ;;
	esac
done

if [ -z "$OUT" ]; then
	OUT=$(mktemp -d /tmp/sc-compare.XXXXXX)
else
	mkdir -p "$OUT"
fi
OUT=$(cd "$OUT" && pwd)
RESULTS=$OUT/results.tsv
: >"$RESULTS"

# What the report says about the run: how it was made, and on what.
{
	echo "command	bench/compare.sh${ARGS:+ $ARGS}"
	echo "date	$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cpus	$(nproc) × $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo |
	    head -n 1)"
	echo "memory	$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' \
	    /proc/meminfo)"
	echo "kernel	$(uname -r)"
	echo "securechat	$(git -C "$here" describe --always --dirty \
	    2>/dev/null || echo unknown)"
	if [ ${#SCHED[@]} -gt 0 ]; then
		echo "scload	SCHED_FIFO 1 (scload -X)"
	else
		echo "scload	the normal priority (compare.sh -u)"
	fi
	for s in ngircd inspircd; do
		echo "$s	$(dpkg-query -W -f='${Version}' "$s" 2>/dev/null ||
		    echo "not installed")"
	done
} >"$OUT/meta.tsv"

TMP=
SPID=
SRVPID=
SRVNAME=
CERTDIR=$(mktemp -d /tmp/sc-compare-tls.XXXXXX)
cleanup() {
	bench_cleanup
	rm -rf "$CERTDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_certs "$CERTDIR"

server_stop() {
	local alive=1
	kill -0 "$SRVPID" 2>/dev/null || alive=0
	bench_stop "$SRVPID" "$SRVNAME"
	SRVPID=
	if [ -n "$TMP" ]; then
		cp "$TMP/server.log" "$OUT/$1.server.log" 2>/dev/null || true
		if [ "$keep" -eq 0 ]; then
			rm -rf "$TMP"
		else
			echo "compare.sh: kept $TMP" >&2
		fi
	fi
	TMP=
	return $((1 - alive))
}

# run_case SERVER CASE N SCLOAD-ARGS...: one fresh server, one scload
# run; appends a line to results.tsv.  0 if scload said ok.
run_case() {
	local srv=$1 case=$2 n=$3 proto=securechat rc=0 la0 la1 limit
	shift 3
	[ "$srv" = securechatd ] || proto=irc
	bench_server_start "$srv" "$n" || {
		server_stop "$srv-$case" || true
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$srv" "$case" "$n" \
		    "start-failed" "$(bench_loadavg)" "$(bench_loadavg)" \
		    >>"$RESULTS"
		return 1
	}
	la0=$(bench_loadavg)
	echo "compare.sh: $srv $case (load $la0)" >&2
	echo "scload -j -P $proto -p PORT -S PID -n $n $* ${SCHED[*]}" \
	    "${EXTRA[*]}" | sed 's/  */ /g' |
	    sed 's/ *$//' >"$OUT/$srv-$case.cmd"
	"$SCLOAD" -j -P "$proto" -p "$PORT" -S "$SRVPID" -n "$n" "$@" \
	    "${SCHED[@]}" "${EXTRA[@]}" >"$OUT/$srv-$case.json" \
	    2>"$OUT/$srv-$case.err" &
	SPID=$!
	# scload bounds itself (duration + drain + 120 s + 50 ms a client);
	# this is the bound on that bound.
	limit=$((DUR + DRAIN + HOLD + 300 + n / 10))
	if ! bench_wait_exit "$SPID" "$limit"; then
		echo "compare.sh: $srv $case: scload ran $limit s; stopping" \
		    "it" >&2
		kill -TERM "$SPID" 2>/dev/null || true
	fi
	wait "$SPID" || rc=$?
	SPID=
	la1=$(bench_loadavg)
	if ! server_stop "$srv-$case"; then
		echo "compare.sh: $srv died during $case" >&2
		echo "server exited during the run" >>"$OUT/$srv-$case.err"
		rc=1
	fi
	[ -s "$OUT/$srv-$case.json" ] || rc=1
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$srv" "$case" "$n" "$rc" "$la0" \
	    "$la1" >>"$RESULTS"
	return "$rc"
}

# What a ladder step may use: KiB of MemAvailable, by MEMPCT.
mem_budget_kib() {
	awk -v pct="$MEMPCT" '/^MemAvailable:/ { print int($2 * pct / 100) }' \
	    /proc/meminfo
}

# held SERVER: the largest N of the ladder the server holds: all N
# connect, join rooms of 50, a little traffic, nobody dropped for HOLD s.
# Stops at the first failure, or before a step that would not fit in the
# memory budget, the descriptor limit or the pid space.
held() {
	local srv=$1 n per best=0 why="" need budget hard pids running
	hard=$(ulimit -Hn)
	pids=$(cat /proc/sys/kernel/pid_max)
	# KiB per client, server and scload together, from the runs so far.
	per=$(per_client_kib "$srv")
	for n in $LADDER; do
		need=$((n * per))
		budget=$(mem_budget_kib)
		if [ "$need" -gt "$budget" ]; then
			why="$n: not tried, needs about $((need / 1024)) MiB of $((budget / 1024)) MiB allowed"
			break
		fi
		if [ $((n + 256)) -gt "$hard" ]; then
			why="$n: not tried, descriptor limit $hard"
			break
		fi
		running=(/proc/[0-9]*)
		if [ "$srv" = securechatd ] &&
		    [ $((n + ${#running[@]} + 1000)) -gt "$pids" ]; then
			why="$n: not tried, pid_max $pids"
			break
		fi
		if ! run_case "$srv" "held-$n" "$n" -s "$SENDERS" -b "$BODY" \
		    -R 100 -d 2 -H "$HOLD" -t "$DRAIN" -c 200 ||
		    [ "$(jq -r '.alive' "$OUT/$srv-held-$n.json")" != "$n" ]; then
			why="$n: failed ($(reason "$srv" "held-$n"))"
			break
		fi
		best=$n
		per=$(per_client_kib "$srv")
	done
	printf '%s\t%s\n' "$best" "$why" >"$OUT/$srv-held.txt"
}

# KiB per client, the server's PSS and scload's peak memory together,
# from this server's largest measured run (+10 %); 1.5 MiB before any.
per_client_kib() {
	local f best=0 bestf="" n
	for f in "$OUT/$1"-*.json; do
		[ -s "$f" ] || continue
		n=$(jq -r 'if (.server_pss_kib // 0) > 0 then .alive else 0 end' \
		    "$f" 2>/dev/null) || continue
		if [ "$n" -gt "$best" ]; then
			best=$n
			bestf=$f
		fi
	done
	if [ -z "$bestf" ]; then
		echo 1536
		return
	fi
	jq -r '((.server_pss_kib + .client_maxrss_kib) / .alive * 1.1) |
	    floor' "$bestf"
}

# reason SERVER CASE: the first reason scload gave, one line.
reason() {
	local f=$OUT/$1-$2.err
	if [ -s "$f" ]; then
		grep -v 'holding' "$f" | tail -n 1 | sed 's/^scload: //' |
		    cut -c 1-160
	else
		echo "no output"
	fi
}

for srv in $SERVERS; do
	for n in $PACED_N; do
		run_case "$srv" "paced-$n" "$n" -r 1 -s "$SENDERS" -b "$BODY" \
		    -R "$RATE" -d "$DUR" -t "$DRAIN" || true
	done
	for n in $FLOOD_N; do
		run_case "$srv" "flood-$n" "$n" -F -r 1 -s "$SENDERS" \
		    -b "$BODY" -d "$DUR" -t "$DRAIN" || true
	done
	held "$srv"
done

"$here/compare-report.sh" "$OUT" "$SERVERS" "$CONNECT_N" "$CPU_N" \
    "$PACED_N" "$FLOOD_N" "$LADDER" "$RATE" "$DUR" | tee "$OUT/report.md"
echo "compare.sh: results in $OUT" >&2
