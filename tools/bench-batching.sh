#!/usr/bin/env bash
# Benchmark: sequences per second from shards to masked batches on one core (not run by CI).
# Shards the sample corpus first when data/ has no index (run tools/sample.sh for the full job).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
[ -f data/index.sqlite ] || tools/sample.sh >/dev/null
.build/release/electra-train bench-stream --shards data "$@"
