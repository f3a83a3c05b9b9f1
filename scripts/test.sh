#!/bin/bash
# test.sh: install what is missing, build, and run the whole test suite
# (unit and integration).  --sanitizers builds with ASan and UBSan in a
# separate directory and runs the same suite.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = "--sanitizers" ]; then
	BUILD=$SRC/_build-sanitizers
	"$SRC/scripts/setup.sh" "$BUILD" --enable-sanitizers
else
	BUILD=$SRC/_build
	"$SRC/scripts/setup.sh" "$BUILD"
fi
cd "$BUILD"
rc=0
make -j"$(nproc)" check || rc=$?
# Say which tests failed, with their logs, so a CI log is enough.
if [ "$rc" -ne 0 ]; then
	for f in $(find . -name '*.log' ! -name config.log ! -name test-suite.log); do
		trs=${f%.log}.trs
		if [ -f "$trs" ] && grep -q '^:test-result: FAIL' "$trs"; then
			echo "===== $f"
			tail -n 80 "$f"
		fi
	done
fi
# grep finds nothing for a zero count: not an error under pipefail.
count() { cat $(find . -name '*.trs') 2>/dev/null | { grep -c "^:test-result: $1" || true; }; }
pass=$(count PASS)
fail=$(( $(count FAIL) + $(count ERROR) ))
skip=$(count SKIP)
echo "$pass passed, $fail failed, $skip skipped"
exit "$rc"
