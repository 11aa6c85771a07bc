#!/usr/bin/env bash
# Sets up a brand-new machine for electra-swift, idempotently:
#   1. installs the Debian packages the project needs when they are missing (apt-get),
#   2. extracts the bundled sample corpus (King James Bible) into data/sample/,
#   3. builds both executables in release mode.
# Usage: tools/setup.sh        (run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libsqlite3-dev libzstd-dev zlib1g-dev libopenblas-dev libopenmpi-dev openmpi-bin iproute2 bible-kjv python3-venv librsvg2-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

tools/make-sample-corpus.sh

echo "setup: building release (swift build -c release)"
swift build -c release 2>&1 | grep -E 'error|warning: unre|Compiling|Build complete' | grep -v '^\[' || true
swift build -c release >/dev/null   # fails loudly if the build above failed
