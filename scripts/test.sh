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
pass=$(grep -h '^:test-result: PASS' $(find . -name '*.trs') 2>/dev/null | wc -l)
fail=$(grep -h '^:test-result: \(FAIL\|ERROR\)' $(find . -name '*.trs') 2>/dev/null | wc -l)
skip=$(grep -h '^:test-result: SKIP' $(find . -name '*.trs') 2>/dev/null | wc -l)
echo "$pass passed, $fail failed, $skip skipped"
exit "$rc"
