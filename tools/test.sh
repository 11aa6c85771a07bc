#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test: the Swift unit tests, then each
# tools/check-*.sh parity check against the reference tools. Exits non-zero on any failure
# and ends with one line "tests: N passed, F failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh || exit 1

log=$(mktemp)
echo "== swift test"
swift test 2>&1 | tee "$log" | grep -vE "^Test Case '.*' (started|passed)|^\[[0-9]+/[0-9]+\]"
status=${PIPESTATUS[0]}
# "Executed N tests, with M failures" or "Executed N tests, with S tests skipped and M failures".
executed=$(grep -E '^\s*Executed [0-9]+ tests?, with' "$log" | tail -n 1 \
  | sed -E 's/^\s*Executed ([0-9]+) tests?, with (([0-9]+) tests? skipped and )?([0-9]+) failures?.*/\1 \4/')
read -r total failures <<< "${executed:-0 0}"
if [ "$status" -ne 0 ] && [ "$failures" -eq 0 ]; then failures=1; fi
passed=$((total - failures))
rm -f "$log"

for check in tools/check-*.sh; do
  [ -e "$check" ] || continue
  echo "== $check"
  if "$check"; then passed=$((passed + 1)); else failures=$((failures + 1)); echo "FAILED: $check"; fi
done
echo "tests: $passed passed, $failures failed"
[ "$failures" -eq 0 ]
