#!/usr/bin/env bash
# Benchmark (not CI): ELECTRA-Small, the same global batch, 2 ranks x 1 thread (mpirun) against
# 1 process x 2 threads, on this machine. Prints tokens/s of each (mean of the logged windows after
# the first, which holds the start-up), the bytes summed over ranks per step, the seconds per step
# spent in all-reduce and the share of it the overlap hid (with the overlap and with --no-overlap).
# The ranks run with --mca mpi_yield_when_idle 1: two ranks and their communication threads share
# the cores, and a rank spinning in a collective would take them from the other's compute.
# Usage: tools/bench-mpi.sh [--steps S] [--batch-size B] [--corpus FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/fixture-lib.sh
steps=12 batch=32 corpus=data/sample/kjv.txt
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --batch-size) batch=$2; shift 2 ;;
    --corpus) corpus=$2; shift 2 ;;
    *) echo "bench-mpi: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -f "$corpus" ] || corpus=Tests/Fixtures/sharding/tiny-corpus.txt
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for product in electra-prep electra-train; do swift build -c release --product $product > /dev/null; done
prep=.build/release/electra-prep train=$PWD/.build/release/electra-train
char_vocab > "$tmp/vocab.txt"
head -n 20000 "$corpus" > "$tmp/corpus.txt"
$prep shard "$tmp/corpus.txt" --vocab "$tmp/vocab.txt" --out "$tmp/data" --max-seq-length 128 --seed 1 > /dev/null
args=(--shards "$tmp/data" --preset small --batch-size "$batch" --steps "$steps" --log-every 2 --eval-every 0
      --eval-batches 1 --save-every 0 --checksum-every 0)
summary() {   # run directory, label
  python3 - "$1/metrics.jsonl" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l][1:]
mean = lambda k: sum(l[k] for l in lines) / len(lines)
tps, wait, red = mean("tokens_per_second"), mean("communication_wait_seconds"), mean("allreduce_seconds")
hidden = max(0.0, 1 - wait / red) if red > 0 else 0.0
print(f"{sys.argv[2]:<34} {tps:8.0f} tokens/s   all-reduce {red:6.3f} s/step, waited {wait:6.3f} s/step, hidden {100 * hidden:3.0f}%")
print(tps)
PY
}
echo "ELECTRA-Small (vocabulary of $(wc -l < "$tmp/vocab.txt") tokens), global batch $batch x 128, $steps steps, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$train" "${args[@]}" --threads 2 --out "$tmp/one" > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
one=$(summary "$tmp/one" "1 process x 2 threads")
echo "$one" | head -1
mpirun -np 2 --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 "$train" "${args[@]}" --threads 1 --out "$tmp/two" > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
two=$(summary "$tmp/two" "2 ranks x 1 thread (overlap)")
echo "$two" | head -1
mpirun -np 2 --oversubscribe --bind-to none --mca mpi_yield_when_idle 1 "$train" "${args[@]}" --threads 1 --no-overlap --out "$tmp/flat" > "$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
summary "$tmp/flat" "2 ranks x 1 thread (--no-overlap)" | head -1
params=$(grep -o '[0-9]* in all' "$tmp/log" | head -1 | cut -d' ' -f1)
echo "bytes summed over the ranks per step: $((params * 4)) ($params float gradients)"
awk -v a="$(echo "$one" | tail -1)" -v b="$(echo "$two" | tail -1)" 'BEGIN {printf "2 ranks x 1 thread reach %.0f%% of 1 process x 2 threads\n", 100 * b / a}'
