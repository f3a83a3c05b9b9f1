#!/bin/sh
# run.sh: run each libFuzzer harness for FUZZ_SECONDS (default 60) from
# its seeds, one after the other on one core, and fail on the first
# crash, leak or timeout.  usage: run.sh SEED_DIR BUILD_DIR TARGET...
# What a run finds goes to BUILD_DIR/fuzz-out/TARGET/ (corpus, crash-*).
set -u

seeds=$1
bin=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
total=0
for t in "$@"; do
	out=$bin/fuzz-out/$t
	dir=$seeds/${t#fuzz_}
	mkdir -p "$out/corpus"
	# A stateful harness's heap grows between inputs, so libFuzzer would
	# scan all of it for leaks after nearly every input: it runs without,
	# and what it found is replayed with the leak check afterwards.
	case $t in
	fuzz_broker|fuzz_client|fuzz_e2e_client|fuzz_conf)
		leaks=-detect_leaks=0 ;;
	*)
		leaks= ;;
	esac
	# The first directory gets what the run finds; the seeds stay as
	# they are.  -timeout: no single input may take 10 s.
	"$bin/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$out/" $leaks \
	    "$out/corpus" "$dir" >"$out/log" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && [ -n "$leaks" ]; then
		"$bin/$t" -runs=0 -timeout=10 -rss_limit_mb=2048 \
		    -artifact_prefix="$out/" "$out/corpus" "$dir" \
		    >"$out/leaks.log" 2>&1
		rc=$?
		[ "$rc" -eq 0 ] || cat "$out/leaks.log" >>"$out/log"
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
	if [ "$rc" -ne 0 ]; then
		echo "FAIL $t (exit $rc) after ${execs:-?} executions:"
		tail -n 60 "$out/log"
		ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* \
		    "$out"/oom-* 2>/dev/null
		exit 1
	fi
	echo "ok   $t: ${execs:-?} executions in ${seconds} s"
	total=$((total + ${execs:-0}))
done
echo "fuzz: $# targets, $total executions, no crash, leak or timeout"
