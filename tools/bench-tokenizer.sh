#!/usr/bin/env bash
# Tokenizer speed on one thread: `electra-dev bench-tokenize` (input read into memory, no
# printing, fresh word cache per pass, best of 5) against HF tokenizers' encode_batch with one
# thread (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false, best of 2), same file, same vocab.
# Prints MB/s for both and the ratio. Default inputs: the sample corpus (English) and the
# hard-cases fixture repeated to ~1 MB (mixed scripts, the non-ASCII path).
# --baseline REV: also builds REV's electra-dev (git archive into .build/bench-baseline/REV, release)
# and times both binaries on each file, alternating, 6 runs each (best MB/s and least CPU time of each): a before/after of one
# change in one run, on the same machine state.
# Usage: tools/bench-tokenizer.sh [--baseline REV] [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=
if [ "${1:-}" = --baseline ]; then baseline=$(git rev-parse --short "$2"); shift 2; fi
PY=$(tools/venv.sh tokenizers==0.23.3)
swift build -c release --product electra-dev >/dev/null
if [ -n "$baseline" ]; then
  base=.build/bench-baseline/$baseline
  if [ ! -x "$base/.build/release/electra-dev" ]; then
    rm -rf "$base" && mkdir -p "$base"
    git archive "$baseline" | tar -x -C "$base"
    (cd "$base" && swift build -c release --product electra-dev >/dev/null)
  fi
fi
bench() {   # bench BINARY FILE: "N MB/s ..." on CPU 0
  taskset -c 0 "$1" bench-tokenize --vocab "$VOCAB" "$2" 2>/dev/null || "$1" bench-tokenize --vocab "$VOCAB" "$2"
}
VOCAB=vocab/bert-base-uncased.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -eq 0 ]; then
  [ -s data/sample/kjv.txt ] || { echo "data/sample/kjv.txt missing: run tools/setup.sh" >&2; exit 1; }
  for _ in $(seq 170); do cat Tests/Fixtures/tokenizer/hard-cases.txt; done > "$tmp/multilingual.txt"
  set -- data/sample/kjv.txt "$tmp/multilingual.txt"
fi
for f in "$@"; do
  if [ -n "$baseline" ]; then   # alternate after/before 6 times; the best cold and warm MB/s of each
    echo "== $(basename "$f") ($(wc -c < "$f") bytes): this tree against $baseline"
    # Also the user CPU seconds of each whole run (the same work in both: on a loaded machine the
    # CPU time a run needs says more than the wall-clock MB/s).
    for _ in 1 2 3 4 5 6; do
      for side in after before; do
        b=.build/release/electra-dev; [ $side = before ] && b=$base/.build/release/electra-dev
        TIMEFORMAT=%U
        { time bench "$b" "$f" > "$tmp/out"; } 2> "$tmp/cpu"
        echo "$side $(cat "$tmp/out") cpu $(tail -n 1 "$tmp/cpu")"
      done
    done | awk '{ cold[$1] = ($2 > cold[$1]) ? $2 : cold[$1]; split($0, w, "MB/s"); n = split(w[2], x, " "); warm = x[n] + 0
                 hot[$1] = (warm > hot[$1]) ? warm : hot[$1]; cpu = $NF + 0
                 low[$1] = (low[$1] == "" || cpu < low[$1]) ? cpu : low[$1]; print "  " $0 }
                END { printf "  best: this tree %.1f MB/s cold, %.1f warm, %.2f s CPU; before %.1f cold, %.1f warm, %.2f s CPU\n",
                             cold["after"], hot["after"], low["after"], cold["before"], hot["before"], low["before"] }'
    continue
  fi
  ours=$(bench .build/release/electra-dev "$f")
  ours_mbs=${ours%% MB/s*}
  hf_mbs=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PY" tools/hf_bert_reference.py --vocab "$VOCAB" --bench "$f")
  echo "== $(basename "$f") ($(wc -c < "$f") bytes)"
  echo "  electra-dev bench-tokenize: $ours"
  echo "  HF tokenizers $("$PY" -c 'import tokenizers; print(tokenizers.__version__)') (Python, 1 thread): $hf_mbs MB/s"
  awk -v a="$ours_mbs" -v b="$hf_mbs" 'BEGIN { printf "  ratio: %.1fx HF (targets: >= 50 MB/s, >= 30x)\n", a / b }'
done
