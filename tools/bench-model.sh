#!/usr/bin/env bash
# Benchmark: one ELECTRA-Small training step (batch 32 x 128, 2 threads), ours vs PyTorch. Not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release >/dev/null
PY=$(tools/venv.sh torch transformers)
OPENBLAS_NUM_THREADS=2 exec "$PY" tools/bench_model.py "$@"
