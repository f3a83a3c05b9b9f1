#!/bin/bash
# t-bench.sh: the bench tools against a real daemon, so that a protocol
# change cannot break them unseen: scload's paced and flood modes get every
# delivery they expect, and with -S scload measures the daemon's whole
# tree (master, broker, a worker per client: every smaps_rollup read);
# treestat agrees once the clients are gone; hostcost prints its figures.
# No timing is asserted.
. "$(dirname "$0")/lib.sh"
need_root
SCLOAD=$top_builddir/bench/scload
TREESTAT=$top_builddir/bench/treestat
[ -x "$SCLOAD" ] && [ -x "$TREESTAT" ] || fail "bench tools not built"
LIMITS='limits = { message_rate = 100000; message_burst = 1000000; accept_rate = 100000; accept_burst = 1000000; accept_rate_per_prefix = 100000; accept_burst_per_prefix = 1000000; registrations_per_hour = 1000; };'

# run NAME SCLOAD-ARGS...: one scload run against the daemon, JSON kept.
run() {
	local name=$1
	shift
	if ! "$SCLOAD" -j -p "$PORT" -S "$DPID" "$@" >"$TMP/$name.json" \
	    2>"$TMP/$name.err"; then
		cat "$TMP/$name.err" >&2
		fail "$name: scload failed"
	fi
}

write_config "$LIMITS"
start_daemon
run paced -n 20 -r 1 -s 4 -b 128 -R 40 -d 1 -H 1
jq -e '.ok and .proto == "securechat" and .mode == "paced" and
    .logged_in == 20 and .alive == 20 and .sent == 40 and .acked == 40 and
    .expected == 40 * 20 and .delivered == .expected and
    .sched == "other"' "$TMP/paced.json" \
    >/dev/null || fail "paced: $(cat "$TMP/paced.json")"
pass "paced: 40 messages, 800 of 800 deliveries"
jq -e '.server_measured and .server_procs == 24 and
    .server_unreadable == 0 and .server_pss_kib > 0 and
    .server_cpu_connect_s > 0 and .server_cpu_traffic_s > 0' \
    "$TMP/paced.json" >/dev/null || fail "paced: $(cat "$TMP/paced.json")"
pass "paced: master, broker, key process, template and 20 workers measured"

# The workers leave with their clients; the idle tree is four processes.
idle() {
	"$TREESTAT" "$DPID" | grep -q '^procs=4 .* unreadable=0 '
}
wait_for 15 idle || fail "treestat: $("$TREESTAT" "$DPID")"
pass "treestat: the idle daemon is master, broker, key process and template"

# Every run registers its users anew: a fresh state for the next one.
stop_daemon
rm -rf "$TMP/state"
start_daemon
run flood -F -n 10 -r 1 -s 3 -b 64 -W 4 -d 1 -X
jq -e '.ok and .mode == "flood" and .window == 4 and .sent > 0 and
    .acked == .sent and .delivered == .expected and
    .expected == .sent * 10' "$TMP/flood.json" >/dev/null ||
    fail "flood: $(cat "$TMP/flood.json")"
pass "flood: $(jq -r '.sent' "$TMP/flood.json") messages, all delivered"

# -X: real-time priority where the machine grants it; where it does not
# (no CAP_SYS_NICE, no real-time budget in this cgroup), a warning and
# the normal priority, and the JSON says which.
case $(jq -r '.sched' "$TMP/flood.json") in
fifo) pass "flood: scload ran at SCHED_FIFO (-X)" ;;
other)
	grep -q 'SCHED_FIFO: .*running at the normal priority' \
	    "$TMP/flood.err" || fail "-X refused without a word"
	pass "flood: -X refused here ($(cat "$TMP/flood.err")), said so" ;;
*) fail "flood: sched: $(jq -c '.sched' "$TMP/flood.json")" ;;
esac

# hostcost: every figure printed, each a number (none is judged).
HOSTCOST=$top_builddir/bench/hostcost
[ -x "$HOSTCOST" ] || fail "hostcost not built"
hostcost_figures() { # OUT
	local k
	for k in syscall_us wake_us fork_exit_us vfork_exit_us heap_kib \
	    heap_huge_kib child_first_read_us_per_page child_cow_us_per_page \
	    fresh_page_us ssl_new_parent_us ssl_new_child_us; do
		printf '%s\n' "$1" |
		    grep -Eq "(^| )$k=[0-9]+(\.[0-9]+)?( |$)" ||
		    fail "hostcost: no $k in: $1"
	done
}
out=$("$HOSTCOST" -m 64 -n 5) || fail "hostcost failed"
hostcost_figures "$out"
printf '%s\n' "$out" | grep -q ' heap_huge_kib=0 ' ||
    fail "hostcost: huge pages without -H: $out"
pass "hostcost: $out"
# -H: the same figures, whether or not this kernel gives huge pages.
out=$("$HOSTCOST" -H -m 4096 -n 5) || fail "hostcost -H failed"
hostcost_figures "$out"
pass "hostcost -H: $out"
# Its ring, of processes and of threads: every member ends with the ring
# (none is left behind), and an out-of-range ring is refused.
for kind in processes threads; do
	mode=
	[ "$kind" = threads ] && mode=-T
	# shellcheck disable=SC2086 # empty, or one flag
	out=$("$HOSTCOST" -k 20 $mode -t 2 -n 5) || fail "hostcost -k $mode failed"
	printf '%s\n' "$out" |
	    grep -Eq "^ring_members=20 ring_$kind ring_pages=2 ring_rounds=5 ring_hop_us=[0-9]+\\.[0-9]( |\$)" ||
	    fail "hostcost -k $mode: $out"
	pass "hostcost -k $mode: $out"
done
left=$(ps -e -o comm= | grep -c '^hostcost$' || true)
[ "$left" -eq 0 ] || fail "hostcost: $left ring members left running"
for bad in "-k 9001 -T -n 1" "-k 0" "-k 20 -n 100000"; do
	# shellcheck disable=SC2086 # the options, split
	if "$HOSTCOST" $bad >/dev/null 2>&1; then
		fail "hostcost accepted $bad"
	fi
done
pass "hostcost: rings end with their members, out-of-range ones are refused"
