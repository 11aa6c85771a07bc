#!/usr/bin/env bash
# Benchmark: our vocabulary learner vs HF tokenizers' trainer (quality and speed). Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
PY=$(tools/venv.sh tokenizers)
exec "$PY" tools/bench_vocab.py "$@"
