#!/bin/bash
# compare-report.sh: the markdown table of one compare.sh run, from its
# output directory (results.tsv and one scload JSON line per run), ready
# to paste into docs/PERFORMANCE.md.  compare.sh calls it; it can be run
# again on a kept directory.
#
# usage: bench/compare-report.sh outdir servers connect_n cpu_n paced_ns
#            flood_ns ladder rate duration

set -eu

[ $# -eq 9 ] || {
	sed -n '/^# usage:/,/^$/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}
OUT=$1 SERVERS=$2 CONNECT_N=$3 CPU_N=$4 PACED_N=$5 FLOOD_N=$6 LADDER=$7
RATE=$8 DUR=$9
NOTES=$(mktemp /tmp/sc-compare-notes.XXXXXX)
trap 'rm -f "$NOTES"' EXIT

label() {
	case $1 in
	securechatd) echo "securechatd" ;;
	ngircd) echo "ngIRCd" ;;
	inspircd) echo "InspIRCd" ;;
	esac
}

# Thousands separated by commas, for the integers of the table.
commas() {
	awk -v x="$1" 'BEGIN {
		s = sprintf("%.0f", x); neg = ""; out = ""
		if (s ~ /^-/) { neg = "-"; s = substr(s, 2) }
		while (length(s) > 3) {
			out = "," substr(s, length(s) - 2) out
			s = substr(s, 1, length(s) - 3)
		}
		print neg s out
	}'
}

# get SERVER CASE JQ: a value of that run's JSON, or empty.
get() {
	local f=$OUT/$1-$2.json
	[ -s "$f" ] || return 0
	jq -r "$3 // empty" "$f" 2>/dev/null || true
}

# mark SERVER CASE: " ✗" and a note if the run did not go as expected.
mark() {
	local ok why
	ok=$(get "$1" "$2" '.ok')
	if [ "$ok" = true ]; then
		return 0
	fi
	why="no result"
	if [ -s "$OUT/$1-$2.err" ]; then
		why=$(grep -v 'holding' "$OUT/$1-$2.err" | tail -n 1 |
		    sed 's/^scload: //' | cut -c 1-200)
	fi
	echo "- $(label "$1"), $2: ${why:-failed}" >>"$NOTES"
	printf ' ✗'
}

row() {
	local title=$1 fn=$2 s line
	shift 2
	line="| $title |"
	for s in $SERVERS; do
		line="$line $("$fn" "$s" "$@") |"
	done
	echo "$line"
}

# num SERVER CASE JQ FORMAT [MARK]: one value of a run, as FORMAT (a
# printf format, or "commas"), "—" if there is none; MARK: flag a run that
# did not go as expected.
num() {
	local v
	v=$(get "$1" "$2" "$3")
	if [ -z "$v" ]; then
		echo "—"
		return
	fi
	if [ "$4" = commas ]; then
		commas "$v"
	else
		# shellcheck disable=SC2059 # the format is ours
		printf "$4" "$v"
	fi
	[ -z "${5:-}" ] || mark "$1" "$2"
	echo
}

c_connects() {
	num "$1" "paced-$2" '.connects_per_s' commas mark
}

c_cpu_connect() {
	num "$1" "paced-$2" 'if .logged_in > 0 then
	    .server_cpu_connect_s * 1000 / .logged_in else empty end' '%.1f ms'
}

c_pss() {
	local v
	v=$(num "$1" "paced-$2" 'if .alive > 0 and .server_pss_kib > 0 then
	    .server_pss_kib / .alive else empty end' commas)
	[ "$v" = "—" ] || v="$v KiB"
	echo "$v"
}

c_flood() {
	num "$1" "flood-$2" '.delivered_per_s' commas mark
}

c_cpu_million() {
	num "$1" "flood-$2" 'if .delivered > 0 then
	    .server_cpu_traffic_s * 1e6 / .delivered else empty end' '%.2f s'
}

# Milliseconds with the precision they deserve.
ms() {
	awk -v x="$1" 'BEGIN {
		if (x < 10) printf "%.1f", x; else printf "%.0f", x }'
}

# pair SERVER CASE JQ1 JQ2 [MARK]: "a / b ms" of two milliseconds.
pair() {
	local a b
	a=$(get "$1" "$2" "$3")
	b=$(get "$1" "$2" "$4")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "—"
		return
	fi
	echo "$(ms "$a") / $(ms "$b") ms$([ -z "${5:-}" ] || mark "$1" "$2")"
}

c_login() {
	pair "$1" "paced-$2" '.login_p50_ms' '.login_p99_ms'
}

c_latency() {
	pair "$1" "paced-$2" '.latency_p50_ms' '.latency_p99_ms' mark
}

c_paced_dps() {
	local v d e
	v=$(get "$1" "paced-$2" '.delivered_per_s')
	[ -n "$v" ] || { echo "—"; return; }
	d=$(get "$1" "paced-$2" '.delivered')
	e=$(get "$1" "paced-$2" '.expected')
	echo "$(commas "$v") ($(commas "$d") of $(commas "$e"))"
}

c_held() {
	local f=$OUT/$1-held.txt best why
	[ -s "$f" ] || { echo "—"; return; }
	IFS=$'\t' read -r best why <"$f" || true
	if [ -n "$why" ]; then
		echo "- $(label "$1"), largest N: $why" >>"$NOTES"
	fi
	if [ "$best" = 0 ]; then
		echo "none"
	else
		commas "$best"
	fi
}

c_load() {
	awk -F '\t' -v s="$1" '$1 == s {
		split($5, a, " "); split($6, b, " ")
		for (i = 1; i <= 2; i++) {
			v = i == 1 ? a[1] : b[1]
			if (n == 0 || v < lo) lo = v
			if (n == 0 || v > hi) hi = v
			n++
		}
	    } END { if (n) printf "%.2f–%.2f", lo, hi; else printf "—" }' \
	    "$OUT/results.tsv"
}

header="| measure |"
rule="|---|"
for s in $SERVERS; do
	header="$header $(label "$s") |"
	rule="$rule---|"
done

offered_first=$(echo "$PACED_N" | awk '{ print $NF }')
meta() {
	awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$OUT/meta.tsv" 2>/dev/null
}
echo "Made by \`$(meta command)\` on $(meta date): $(meta cpus), $(meta memory),"
echo "kernel $(meta kernel); securechat $(meta securechat), ngIRCd $(meta ngircd),"
sched=$(meta scload)
echo "InspIRCd $(meta inspircd) (Debian packages); scload at"\
    "${sched:-the normal priority}."
echo
echo "One room of N clients, 10 senders, 128-byte messages, TLS 1.3 on"
echo "127.0.0.1 (X25519, AES-256-GCM, Ed25519 certificates), a fresh server"
echo "for every run.  Paced: $RATE messages/s in total for $DUR s.  Flood:"
echo "for $DUR s, each sender keeps at most 16 messages not yet received by"
echo "every member.  CPU: the run time of every thread of the server's"
echo "whole process tree (/proc/PID/task/TID/schedstat; reaped children from"
echo "cutime and cstime)."
echo
echo "$header"
echo "$rule"
row "connects/s, 50 in flight, N = $CONNECT_N" c_connects "$CONNECT_N"
row "connect+login per client p50 / p99, N = $CONNECT_N" c_login "$CONNECT_N"
row "server CPU per connect, N = $CONNECT_N" c_cpu_connect "$CONNECT_N"
row "PSS per connected client, N = $CONNECT_N" c_pss "$CONNECT_N"
for n in $PACED_N; do
	row "paced, N = $n: latency p50 / p99" c_latency "$n"
done
row "paced, N = $offered_first: delivered/s (delivered of expected)" \
    c_paced_dps "$offered_first"
for n in $FLOOD_N; do
	row "flood, N = $n: delivered/s" c_flood "$n"
done
row "server CPU per million deliveries (flood, N = $CPU_N)" c_cpu_million \
    "$CPU_N"
row "largest N held (tried: ${LADDER// /, })" c_held
row "load average (1 min) at its runs' start and end" c_load
echo
if [ -s "$NOTES" ]; then
	echo "✗: the run did not complete as expected; the figure is what it"
	echo "measured.  Why, in scload's words:"
	echo
	sort -u "$NOTES"
	echo
fi
echo "Every run (server, run, N, scload exit status, load average at start"
echo "and at end), and the scload commands (PORT and PID are the server's,"
echo "chosen at run time):"
echo
echo '```'
awk -F '\t' '{ printf "%-11s %-11s %6s  exit %-3s  load %s -> %s\n",
    $1, $2, $3, $4, $5, $6 }' "$OUT/results.tsv"
echo
awk -F '\t' '{ print $1 "-" $2 }' "$OUT/results.tsv" | while read -r r; do
	if [ -s "$OUT/$r.cmd" ]; then
		printf '%-20s %s\n' "$r" "$(cat "$OUT/$r.cmd")"
	fi
done
echo '```'
