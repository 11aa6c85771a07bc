#!/usr/bin/env bash
# Gigabytes with flat memory (issue 15, item 5; not run by CI): writes a seeded multi-GB corpus
# (tools/make-big-corpus.py: Zipf frequencies over 50 M word types, tens of millions of distinct
# strings in a gigabyte, mixed scripts), then runs `build-vocab` and `shard` on it and on its
# first quarter, printing time, MB/s and peak RSS of each. Shard's peak RSS must not grow with
# the corpus (checked: at most 1.25x the quarter's + 50 MB); build-vocab's is bounded by
# --max-words.
# Usage: tools/bench-big-corpus.sh [SIZE_GB=1] [THREADS=nproc]
#   ELECTRA_PREP=path/to/electra-prep  use that binary (no Swift needed; else a release build)
#   BENCH_DIR=dir                      work there (default: a temporary directory, removed)
#   VOCAB_SIZE=30522 MAX_WORDS=...     build-vocab's --vocab-size and --max-words
set -euo pipefail
cd "$(dirname "$0")/.."
size_gb=${1:-1}
threads=${2:-$(nproc)}
if [ -n "${ELECTRA_PREP:-}" ]; then prep=$ELECTRA_PREP; else
  swift build -c release --product electra-prep > /dev/null
  prep=$PWD/.build/release/electra-prep
fi
work=${BENCH_DIR:-$(mktemp -d)}
[ -n "${BENCH_DIR:-}" ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
mb=$(awk -v g="$size_gb" 'BEGIN {printf "%d", g * 1000}')
need=$((mb * 3 / 1000 + 1))
avail=$(df -BG --output=avail "$work" | tail -1 | tr -dc 0-9)
[ "$avail" -gt "$need" ] || { echo "bench-big-corpus: $work has ${avail} GB free, needs about ${need} GB (corpus, quarter, shards)" >&2; exit 1; }
corpus="$work/corpus-${size_gb}g.txt"
if [ ! -s "$corpus" ]; then
  start=$(date +%s)
  python3 tools/make-big-corpus.py "$mb" "$corpus"
  echo "wrote $corpus ($(stat -c %s "$corpus") bytes) in $(( $(date +%s) - start )) s"
fi
quarter="$work/quarter.txt"
head -c "$(( $(stat -c %s "$corpus") / 4 ))" "$corpus" | sed '$d' > "$quarter"
echo "== $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg), $threads threads, $prep"

measure() {   # label input command... : prints time, MB/s of input, peak RSS; sets $rss_kb
  local label=$1 input=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  local seconds; read -r seconds rss_kb < "$work/time"
  local bytes; bytes=$(stat -c %s "$input")
  printf "%-28s %9.1f MB in %8.1f s = %7.1f MB/s | peak RSS %7.1f MB\n" "$label" "$(awk -v b="$bytes" 'BEGIN {print b / 1e6}')" \
    "$seconds" "$(awk -v b="$bytes" -v s="$seconds" 'BEGIN {print b / 1e6 / s}')" "$(awk -v r="$rss_kb" 'BEGIN {print r / 1024}')"
}

vocab="$work/vocab/vocab.txt"
max_words=${MAX_WORDS:+--max-words $MAX_WORDS}
# shellcheck disable=SC2086
measure "build-vocab (quarter)" "$quarter" $prep build-vocab "$quarter" --vocab-size "${VOCAB_SIZE:-30522}" --out "$work/vq/vocab.txt" --threads "$threads" $max_words
grep "distinct" "$work/log" | sed 's/^ */  /'
# shellcheck disable=SC2086
measure "build-vocab (all)" "$corpus" $prep build-vocab "$corpus" --vocab-size "${VOCAB_SIZE:-30522}" --out "$vocab" --threads "$threads" $max_words
grep "distinct" "$work/log" | sed 's/^ */  /'
rm -rf "$work/shards-q" "$work/shards"
measure "shard (quarter)" "$quarter" $prep shard "$quarter" --vocab "$vocab" --out "$work/shards-q" --threads "$threads"
quarter_rss=$rss_kb
measure "shard (all)" "$corpus" $prep shard "$corpus" --vocab "$vocab" --out "$work/shards" --threads "$threads"
tail -1 "$work/log" | sed 's/^/  /'
if [ "$rss_kb" -gt $(( quarter_rss * 5 / 4 + 51200 )) ]; then
  echo "bench-big-corpus: shard's peak RSS grew with the corpus: $((quarter_rss / 1024)) MB for a quarter, $((rss_kb / 1024)) MB for all" >&2
  exit 1
fi
echo "shard peak RSS flat: $((quarter_rss / 1024)) MB for a quarter, $((rss_kb / 1024)) MB for all"
