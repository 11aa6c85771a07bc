#!/usr/bin/env bash
# Benchmark: sequences per second from shards to masked batches on one core, and masking alone
# (not run by CI). Target: >= 100,000 sequences/s. Uses the shards in $SHARDS (default data/);
# when there are none, learns a vocabulary and shards the bundled sample corpus first (as
# tools/sample.sh does, without the training part). Extra arguments go to bench-stream.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
shards=${SHARDS:-data}
if [ ! -f "$shards/index.sqlite" ]; then
  [ -f vocab/vocab.txt ] || .build/release/electra-prep build-vocab data/sample/ --vocab-size 8192 --out vocab/vocab.txt >&2
  .build/release/electra-prep shard data/sample/ --vocab vocab/vocab.txt --out "$shards" >&2
fi
.build/release/electra-dev bench-stream --shards "$shards" "$@"
