#!/usr/bin/env bash
# How `electra-prep shard` scales with threads (issue 15, item 6; not run by CI): MB/s of text to
# finished shards + index for each thread count, best of RUNS, and whether every thread count
# wrote the same shard bytes, then (from the last run of each count) `shard --timings`: each
# thread's CPU seconds against the wall time, so that a thread busy all along (what stops the
# scaling) shows. Needs only Python 3 and a binary: no Swift when ELECTRA_PREP is set.
# Usage: tools/bench-shard-threads.sh [THREADS...]          (default: 1 2 4 8 16)
#   ELECTRA_PREP=$B/electra-prep   the binary (default: a release build of this checkout)
#   CORPUS=file                    the text (default: data/sample/kjv.txt x 50 when present, else
#                                  208 MB from tools/make-big-corpus.py, seeded)
#   VOCAB=vocab.txt                (default: vocab/bert-base-uncased.txt)
#   RUNS=2  BENCH_DIR=dir
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 2 4 8 16)
if [ -n "${ELECTRA_PREP:-}" ]; then prep=$ELECTRA_PREP; else
  swift build -c release --product electra-prep > /dev/null
  prep=$PWD/.build/release/electra-prep
fi
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
vocab=${VOCAB:-vocab/bert-base-uncased.txt}
corpus=${CORPUS:-}
if [ -z "$corpus" ]; then
  corpus="$work/corpus.txt"
  if [ ! -s "$corpus" ]; then
    if [ -s data/sample/kjv.txt ]; then
      for _ in $(seq 50); do cat data/sample/kjv.txt; echo; done > "$corpus"
    else
      python3 tools/make-big-corpus.py 208 "$corpus"
    fi
  fi
fi
mb=$(stat -c %s "$corpus" | awk '{printf "%.1f", $1 / 1e6}')
echo "shard scaling: $corpus ($mb MB), $vocab, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg), $prep"
reference=""
for t in "${counts[@]}"; do
  best=999999
  for _ in $(seq "${RUNS:-2}"); do
    rm -rf "$work/out"
    start=$(date +%s.%N)
    "$prep" shard "$corpus" --vocab "$vocab" --out "$work/out" --threads "$t" --timings > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN {s = b - a; print (s < best ? s : best)}')
  done
  sums=$(cd "$work/out/shards" && sha256sum shard-* | sha256sum | cut -c1-16)
  [ -n "$reference" ] || reference=$sums
  same=$([ "$sums" = "$reference" ] && echo "same bytes" || echo "DIFFERENT BYTES")
  printf "threads %3d: %7.2f s = %7.1f MB/s  (shards %s: %s)\n" "$t" "$best" "$(awk -v m="$mb" -v s="$best" 'BEGIN {print m / s}')" "$sums" "$same"
  sed -n '/^timings:/,/^  writing/p' "$work/log" | sed 's/^/    /'
  [ "$sums" = "$reference" ] || exit 1
done
