#!/usr/bin/env bash
# Benchmark (not a test): masked sequences per second from the shards on ONE core, through the
# Python package (tools/electra-shards, as a DataLoader worker computes them) and through the
# trainer's own stream (electra-dev bench-stream), side by side. Usage:
#   tools/bench-python-package.sh [SHARDS] [BATCH]      (default data, 128)
# The target: at least 20,000 sequences of 128 tokens a second (an H100 training ELECTRA-Small
# consumes about 2,000). Machines shared with other work give lower, noisier figures.
set -euo pipefail
cd "$(dirname "$0")/.."
shards=${1:-data} batch=${2:-128}
swift build -c release --product electra-dev > /dev/null
PY=$(tools/venv.sh numpy zstandard)
"$PY" -m pip install -q --no-deps --force-reinstall tools/electra-shards > /dev/null
echo "== Python package, one core (taskset -c 0, one numpy thread)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 "$PY" -m electra_shards.bench "$shards" --batch-size "$batch"
if "$PY" -c "import torch" 2> /dev/null; then
  echo "== ElectraDataLoader with 2 workers (all cores)"
  OMP_NUM_THREADS=1 "$PY" -m electra_shards.bench "$shards" --batch-size "$batch" --loader-workers 2 | tail -n 1
fi
echo "== electra-dev bench-stream, one core"
taskset -c 0 .build/release/electra-dev bench-stream --shards "$shards" --batch-size "$batch" --batches 1000
