#!/usr/bin/env bash
# Benchmark of `electra-prep shard` (not run by CI): release build, 2 tokenizer threads.
# Prints, for the sample corpus and for a corpus 10x larger: MB/s of raw text in to finished
# shards + index, peak RSS, bytes per token on disk; and in the same run the seconds HF
# `tokenizers` needs just to encode the same text with 2 threads, and our ratio to it.
# Usage: tools/bench-shard.sh [VOCAB]   (default vocab/vocab.txt, else vocab/bert-base-uncased.txt)
#        tools/bench-shard.sh --small-files [VOCAB]   instead: the same text (kjv x 6, 25 MB) as one
#          file and as ~19,000 files of 1.3 KB (wikiextractor-like), MB/s of each, best of 3, for
#          this build and for ELECTRA_PREP_BASE=path/to/other/electra-prep when given (same run).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/make-sample-corpus.sh > /dev/null
swift build -c release --product electra-prep > /dev/null
prep=.build/release/electra-prep
PY=$(tools/venv.sh tokenizers)
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
small_files=false
if [ "${1:-}" = "--small-files" ]; then small_files=true; shift; fi
vocab=${1:-vocab/vocab.txt}
[ -f "$vocab" ] || vocab=vocab/bert-base-uncased.txt
echo "vocabulary: $vocab"
small=data/sample/kjv.txt
if $small_files; then
  big="$work/kjv-x6.txt"
  for i in $(seq 6); do cat "$small"; echo; done > "$big"
  files=$(python3 tools/split_corpus.py "$big" "$work/many" 1300)
  mb=$(stat -c %s "$big" | awk '{printf "%.2f", $1 / 1e6}')
  echo "== one file vs $files files of ~1.3 KB ($mb MB), 2 threads, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg)"
  for bin in $prep ${ELECTRA_PREP_BASE:-}; do
    for input in "$big" "$work/many"; do
      best=999999
      for _ in 1 2 3; do
        rm -rf "$work/out"
        start=$(date +%s.%N)
        $bin shard "$input" --vocab "$vocab" --out "$work/out" --threads 2 > "$work/log" 2>&1
        end=$(date +%s.%N)
        best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN {s = b - a; print (s < best ? s : best)}')
      done
      printf "%-40s %-14s %6.2f s = %6.1f MB/s\n" "$bin" "$([ -d "$input" ] && echo "$files files" || echo "one file")" \
        "$best" "$(awk -v m="$mb" -v s="$best" 'BEGIN {print m / s}')"
    done
  done
  exit 0
fi
large="$work/kjv-x10.txt"
for i in $(seq 10); do cat "$small"; echo; done > "$large"

run() {   # name corpus: best of 3 runs into a fresh directory (the machine is shared: noisy)
  local name=$1 corpus=$2 out="$work/out-$1"
  local mb best=999999 rss=0 start end r user sys cpu=999999
  mb=$(stat -c %s "$corpus" | awk '{printf "%.2f", $1/1e6}')
  for _ in 1 2 3; do
    rm -rf "$out"
    start=$(date +%s.%N)
    /usr/bin/time -f "%M %U %S" -o "$work/rss" $prep shard "$corpus" --vocab "$vocab" --out "$out" --threads 2 > "$work/log" 2>&1
    end=$(date +%s.%N)
    best=$(awk -v a="$start" -v b="$end" -v best="$best" 'BEGIN {s = b - a; print (s < best ? s : best)}')
    read -r r user sys < "$work/rss"
    [ "$r" -gt "$rss" ] && rss=$r
    cpu=$(awk -v u="$user" -v s="$sys" -v c="${cpu:-999999}" 'BEGIN {t = u + s; print (t < c ? t : c)}')
  done
  local tokens bytes
  read -r tokens bytes < <($prep inspect "$out" --sequences 0 | awk '/sequences,/ {t=$4} /^on disk/ {b=$3} END {print t, b}')
  printf "%-12s %8s MB in %6.2f s = %6.1f MB/s end to end (best of 3) | peak RSS %6.1f MB | %s tokens, %.3f bytes/token on disk\n" \
    "$name" "$mb" "$best" "$(awk -v m="$mb" -v s="$best" 'BEGIN {print m / s}')" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" \
    "$tokens" "$(awk -v b="$bytes" -v t="$tokens" 'BEGIN {print b / t}')"
  printf "%-12s CPU time %.2f s (user+sys, best of 3) = %.1f MB per CPU-second; on 2 idle cores at most %.1f MB/s\n" \
    "" "$cpu" "$(awk -v m="$mb" -v c="$cpu" 'BEGIN {print m / c}')" "$(awk -v m="$mb" -v c="$cpu" 'BEGIN {print 2 * m / c}')"
  eval "${name}_mbs=$(awk -v m="$mb" -v s="$best" 'BEGIN {print m / s}')"
}
echo "== electra-prep shard (2 threads, $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg))"
run sample "$small"
run sample_x10 "$large"
echo "== HF tokenizers encode_batch, RAYON_NUM_THREADS=2, same text, same vocabulary (encoding only)"
for corpus in "$small" "$large"; do
  hf=$(RAYON_NUM_THREADS=2 $PY tools/bench_hf_encode.py "$vocab" "$corpus")
  echo "$(basename "$corpus"): $hf"
done
hf_mbs=$(echo "$hf" | sed -E 's/.*hf_mb_per_s=([0-9.]+).*/\1/')
printf "ratio (ours end to end / HF encode only, 10x corpus): %.1fx\n" "$(awk -v a="$sample_x10_mbs" -v b="$hf_mbs" 'BEGIN {print a / b}')"
