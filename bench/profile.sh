#!/bin/bash
# profile.sh: profile one server's processes during one scload scenario
# and print where their CPU goes: the top symbols of the connect phase and
# of the traffic phase, over all its processes and, for securechatd, per
# role (master, broker, workers).  So that a change can say what it bought:
# run it before and after.
#
# usage: bench/profile.sh [-gk] [-B builddir] [-s server] [-o outdir]
#            [-t top] [-T perf|callgrind] [-- scload options]
#   -g  perf also records call graphs (perf report -g on perf.data then
#       shows who called a hot symbol; the tables stay flat)
#   -s  securechatd (default), ngircd or inspircd
#   -o  where perf.data, scload's JSON and report.txt go
#       (default: a new /tmp/sc-profile.*)
#   -t  symbols per table (default 20)
#   -T  perf (the default when it works here) or callgrind (valgrind;
#       slow, whole run only; securechatd's seccomp filters may not let
#       valgrind run its workers)
#   -k  keep the server's temporary directory
#   scload options after "--" replace the default scenario,
#   "-n 100 -r 1 -s 10 -b 128 -F -d 10" (flood, one room of 100).
# perf: hardware cycles if `perf stat -e instructions true` counts here,
# else the cpu-clock software event; system-wide sampling at 999 Hz, kept
# to the server's processes when reported.  Needs root.  Every wait is
# bounded; nothing leaves 127.0.0.1.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
BUILD=$(bench_build_default "$here")

keep=0
CALLGRAPH=()
SERVER=securechatd
OUT=
TOP=20
TOOL=
usage() {
	sed -n '/^# usage:/,/^# perf:/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
while getopts B:gko:s:t:T: opt; do
	case $opt in
	g) CALLGRAPH=(-g) ;;
	B) BUILD=$(cd "$OPTARG" && pwd) ;;
	k) keep=1 ;;
	o) OUT=$OPTARG ;;
	s) SERVER=$OPTARG ;;
	t) TOP=$OPTARG ;;
	T) TOOL=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
SCENARIO=("$@")
[ ${#SCENARIO[@]} -gt 0 ] ||
    SCENARIO=(-n 100 -r 1 -s 10 -b 128 -F -d 10)
case $SERVER in
securechatd) PROTO=securechat ;;
ngircd|inspircd) PROTO=irc ;;
*) usage ;;
esac
case $TOP in
''|*[!0-9]*) usage ;;
esac

bench_tools || exit 1
command -v jq >/dev/null || { echo "profile.sh: needs jq" >&2; exit 1; }
bench_root_setup || exit 1

# The tool and, for perf, the event.
EVENT=
if [ -z "$TOOL" ] || [ "$TOOL" = perf ]; then
	if command -v perf >/dev/null &&
	    perf stat -e cpu-clock true >/dev/null 2>&1; then
		TOOL=perf
		if perf stat -x, -e instructions true 2>&1 |
		    grep -q '^[0-9][0-9]*,'; then
			EVENT=cycles
		else
			EVENT=cpu-clock
		fi
	elif [ "$TOOL" = perf ]; then
		echo "profile.sh: perf does not work here" >&2
		exit 1
	fi
fi
if [ -z "$TOOL" ] || [ "$TOOL" = callgrind ]; then
	command -v valgrind >/dev/null || {
		echo "profile.sh: neither perf nor valgrind works here" >&2
		exit 1
	}
	TOOL=callgrind
fi

if [ -z "$OUT" ]; then
	OUT=$(mktemp -d /tmp/sc-profile.XXXXXX)
else
	mkdir -p "$OUT"
fi
OUT=$(cd "$OUT" && pwd)

TMP=
SRVPID=
SRVNAME=
SPID=
PERFPID=
CERTDIR=$(mktemp -d /tmp/sc-profile-tls.XXXXXX)
cleanup() {
	if [ -n "$PERFPID" ]; then
		kill -INT "$PERFPID" 2>/dev/null || true
		wait "$PERFPID" 2>/dev/null || true
	fi
	bench_cleanup
	rm -rf "$CERTDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_certs "$CERTDIR"

# The scenario's size decides how long it may take.
N=100
DUR=10
for ((i = 0; i < ${#SCENARIO[@]} - 1; i++)); do
	case ${SCENARIO[$i]} in
	-n) N=${SCENARIO[$((i + 1))]} ;;
	-d) DUR=${SCENARIO[$((i + 1))]} ;;
	esac
done

if [ "$TOOL" = callgrind ]; then
	BENCH_WRAP="valgrind --tool=callgrind --trace-children=yes"
	BENCH_WRAP="$BENCH_WRAP --callgrind-out-file=$OUT/callgrind.out.%p"
fi
bench_server_start "$SERVER" "$N"
BENCH_WRAP=
ROOT=$SRVPID

if [ "$TOOL" = perf ]; then
	perf record -a "${CALLGRAPH[@]}" -F 999 -k CLOCK_MONOTONIC -e "$EVENT" \
	    -o "$OUT/perf.data" >"$OUT/perf.log" 2>&1 &
	PERFPID=$!
	sleep 1		# perf is sampling once it has mapped its buffers
fi

LOAD0=$(bench_loadavg)
echo "scload -j -P $PROTO -p PORT -S PID -H 2 ${SCENARIO[*]}" >"$OUT/scload.cmd"
"$SCLOAD" -j -P "$PROTO" -p "$PORT" -S "$ROOT" -H 2 "${SCENARIO[@]}" \
    >"$OUT/scload.json" 2>"$OUT/scload.err" &
SPID=$!
# Every process of the tree while it runs, with its role ("-x ROLE" in
# its command line): workers come and go, so the tree is listed twice a
# second and the new ones added.  One ps a turn (bench_tree -a): a few
# processes per pid, as this loop once ran, took a third of the machine
# at N = 500 and were in the profile.
list_tree() {
	bench_tree "$ROOT" -a | awk -v root="$ROOT" -v known="$OUT/pids" '
	    BEGIN {
		while ((getline line < known) > 0) {
			split(line, f, " ")
			seen[f[1]] = 1
		}
	    }
	    !($1 in seen) {
		role = "other"
		if ($1 == root)
			role = "main"
		else if (match($0, / -x [a-z]+/))
			role = substr($0, RSTART + 4, RLENGTH - 4)
		print $1, role
	    }' >>"$OUT/pids"
}
: >"$OUT/pids"
limit=$(((DUR + 300 + N / 10) * 2))
for i in $(seq 1 "$limit"); do
	list_tree
	kill -0 "$SPID" 2>/dev/null || break
	sleep 0.5
done
if kill -0 "$SPID" 2>/dev/null; then
	echo "profile.sh: scload ran too long; stopping it" >&2
	kill -TERM "$SPID" 2>/dev/null || true
fi
rc=0
wait "$SPID" || rc=$?
SPID=
LOAD1=$(bench_loadavg)
if [ -n "$PERFPID" ]; then
	kill -INT "$PERFPID" 2>/dev/null || true
	bench_wait_exit "$PERFPID" 60 || kill -KILL "$PERFPID" 2>/dev/null || true
	wait "$PERFPID" 2>/dev/null || true
	PERFPID=
fi
bench_stop "$SRVPID" "$SERVER"
SRVPID=
cp "$TMP/server.log" "$OUT/server.log" 2>/dev/null || true
if [ "$keep" -eq 0 ]; then
	rm -rf "$TMP"
	TMP=
fi
if [ "$rc" -ne 0 ]; then
	echo "profile.sh: scload exited $rc (the profile is of what ran):" >&2
	tail -n 3 "$OUT/scload.err" >&2
fi

# pidlist ROLE: the comma-separated pids of that role (all: every one).
pidlist() {
	awk -v r="$1" 'r == "all" || $2 == r { printf "%s%s", n++ ? "," : "", $1 }' \
	    "$OUT/pids"
}

# perf_top TITLE PIDS START END: the top symbols of those processes in
# that window; percentages of their samples only.
perf_top() {
	local n
	[ -n "$2" ] || return 0
	n=$(perf script -i "$OUT/perf.data" -F pid --pid "$2" \
	    --time "$3,$4" 2>/dev/null | wc -l)
	echo
	echo "== $1: $n samples ($EVENT, 999 Hz per CPU)"
	[ "$n" -gt 0 ] || return 0
	perf report -i "$OUT/perf.data" --stdio --no-children -q \
	    ${CALLGRAPH[0]+-g none} \
	    --percentage relative --sort dso,sym --pid "$2" \
	    --time "$3,$4" 2>/dev/null | grep -v '^$' | head -n "$TOP"
}

report() {
	local t0 t1 t2 t3 role
	echo "profile of $SERVER ($TOOL${EVENT:+, $EVENT}), scenario:"
	echo "  scload -P $PROTO ${SCENARIO[*]}"
	echo "load average: $LOAD0 at the start, $LOAD1 at the end"
	jq -r '"clients \(.logged_in)/\(.clients), connects/s \(.connects_per_s), " +
	    "delivered \(.delivered)/\(.expected), \(.delivered_per_s)/s, " +
	    "latency p50 \(.latency_p50_ms) ms p99 \(.latency_p99_ms) ms\n" +
	    "server CPU (from /proc): connect \(.server_cpu_connect_s) s, " +
	    "join \(.server_cpu_join_s) s, traffic \(.server_cpu_traffic_s) s" +
	    "; ok=\(.ok)"' "$OUT/scload.json" 2>/dev/null || true
	if [ "$TOOL" = callgrind ]; then
		callgrind_report
		return
	fi
	t0=$(jq -r '.mono_connect_s' "$OUT/scload.json")
	t1=$(jq -r '.mono_connected_s' "$OUT/scload.json")
	t2=$(jq -r '.mono_send_s' "$OUT/scload.json")
	t3=$(jq -r '.mono_drained_s' "$OUT/scload.json")
	perf_top "connect phase, all processes" "$(pidlist all)" "$t0" "$t1"
	perf_top "traffic phase, all processes" "$(pidlist all)" "$t2" "$t3"
	if [ "$SERVER" = securechatd ]; then
		for role in main broker worker; do
			perf_top "connect phase, $role" "$(pidlist "$role")" \
			    "$t0" "$t1"
			perf_top "traffic phase, $role" "$(pidlist "$role")" \
			    "$t2" "$t3"
		done
	fi
}

# callgrind: whole run, one table per process file, largest first.
callgrind_report() {
	local f
	echo
	echo "(callgrind: the whole run, instructions; largest processes first)"
	# shellcheck disable=SC2012 # names are ours: callgrind.out.PID
	for f in $(ls -S "$OUT"/callgrind.out.* 2>/dev/null | head -n 4); do
		echo
		echo "== ${f##*/}"
		callgrind_annotate --inclusive=no "$f" 2>/dev/null |
		    sed -n '/^Ir/,$p' | head -n "$((TOP + 2))"
	done
}

report | tee "$OUT/report.txt"
echo "profile.sh: results in $OUT" >&2
exit "$rc"
