#!/usr/bin/env bash
# Sets up the machine (tools/setup.sh) and runs every test: the Swift unit tests and the
# parity checks against the reference tools. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
echo "== swift test"
swift test 2>&1 | tail -n 40
test "${PIPESTATUS[0]}" -eq 0
for check in tools/check-*.sh; do
  [ -e "$check" ] || continue
  echo "== $check"
  "$check"
done
echo "== all tests passed"
