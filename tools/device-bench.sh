#!/usr/bin/env bash
# Benchmark for the 16-core x86 machine the device tool lends (issue 13): no Swift there, Python 3
# with PyTorch and transformers, no internet. About 4 minutes; every part has its own time limit.
# Prepare here:   ../shared/tools/device-bundle.sh      (writes .device/bundle.tar.xz)
# Run there:      run(command: "tools/device-bench.sh", carry: [".device"], timeout_s: 420)
# Prints: the CPU and its flags, OpenBLAS's own kernel pick and ours with sgemm rates, our
# ELECTRA-Small training step (batch 32 x 128) at 1, 2, 4, 8, 16 threads (tokens/s, share of
# sgemm), the per-kernel breakdown at 16 threads, PyTorch's faithful step (tools/bench_model.py)
# at 1 and 16 threads, our step with OPENBLAS_CORETYPE forced to OpenBLAS's fallback kernel, and
# (when data/sample is carried too) `electra-prep shard` of 207 MB at 1 to 16 threads with each
# thread's CPU seconds (issue 15: what stops the sharder scaling).
# With the shard part: run(command: "tools/device-bench.sh", carry: [".device", "data/sample"], timeout_s: 480)
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /tmp/bundle/bin/electra-dev ]; then
  python3 -c "import tarfile; tarfile.open('.device/bundle.tar.xz').extractall('/tmp')" || { echo "no .device/bundle.tar.xz: run ../shared/tools/device-bundle.sh and carry .device"; exit 1; }
fi
export LD_LIBRARY_PATH=/tmp/bundle/lib
B=/tmp/bundle/bin
T=/tmp/bundle/bin/electra-dev
unset OPENBLAS_CORETYPE ELECTRA_CPU_HIDE ELECTRA_BLAS_CORE_CHOSEN
cores=$(nproc)
top=$(( cores < 16 ? cores : 16 ))
counts=$(for t in 1 2 4 8 16; do [ $t -lt $top ] && printf '%s,' $t; done; echo $top)
BATCH=${BATCH:-32}; STEPS=${STEPS:-2}   # smaller values only for a quick try of this script
section() { echo; echo "== $* ($(date -u +%H:%M:%S))"; }

section "machine"
grep -m1 '^model name' /proc/cpuinfo
echo "cores: $cores; family/model: $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')/$(grep -m1 '^model[^ ]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"
echo "vector flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|avx512f|avx512bw|avx512vl|avx512dq|avx512_bf16|amx_tile|amx_bf16)$' | tr '\n' ' ')"
python3 -c "import torch; print('PyTorch', torch.__version__, '|', torch.__config__.show().splitlines()[-1][:160])" 2>/dev/null

section "OpenBLAS kernel: its own pick (restart suppressed), then ours, sgemm at 1 and $top threads"
echo "OpenBLAS alone: $(OPENBLAS_VERBOSE=2 ELECTRA_BLAS_CORE_CHOSEN=1 timeout 30 $T bench-model --blas-only --threads 1 2>&1 | sed -n "s/^Core: //p; s/.*sgemm \([0-9.]*\) GFLOP.*/sgemm \1 GFLOP\/s at 1 thread/p" | paste -sd, -)"
timeout 30 $T bench-model --blas-only --threads 1
timeout 30 $T bench-model --blas-only --threads $top

section "ours: ELECTRA-Small batch $BATCH, thread sweep (kernel chosen from the CPU features)"
timeout 150 $T bench-model --thread-sweep --sweep-threads "$counts" --preset small --batch-size $BATCH --steps $STEPS

section "ours at $top threads: per-kernel breakdown"
timeout 40 $T bench-model --preset small --batch-size $BATCH --steps $STEPS --threads $top

section "PyTorch faithful step (tools/bench_model.py) at 1 and $top threads"
for t in 1 $top; do TORCH_ONLY=1 THREADS=$t BATCH=$BATCH STEPS=$STEPS ROUNDS=1 timeout 90 python3 tools/bench_model.py 2>&1 | grep -v Warning; done

section "ours with OPENBLAS_CORETYPE=Cooperlake (OpenBLAS 0.3.21's fallback for a CPU model it does not know)"
export OPENBLAS_CORETYPE=Cooperlake
timeout 30 $T bench-model --blas-only --threads $top
timeout 100 $T bench-model --thread-sweep --sweep-threads "1,$top" --preset small --batch-size $BATCH --steps 1
unset OPENBLAS_CORETYPE

if [ -s data/sample/kjv.txt ]; then
  section "electra-prep shard: 207 MB (kjv x 50) at 1 to $top threads, same bytes checked, with each thread's CPU"
  ELECTRA_PREP=$B/electra-prep RUNS=1 timeout 120 tools/bench-shard-threads.sh $(echo "$counts" | tr , ' ')
fi
section "done"
