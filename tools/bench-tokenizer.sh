#!/usr/bin/env bash
# Tokenizer speed on one thread: `electra-dev bench-tokenize` (input read into memory, no
# printing, fresh word cache per pass, best of 5) against HF tokenizers' encode_batch with one
# thread (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false, best of 2), same file, same vocab.
# Prints MB/s for both and the ratio. Default inputs: the sample corpus (English) and the
# hard-cases fixture repeated to ~1 MB (mixed scripts, the non-ASCII path).
# Usage: tools/bench-tokenizer.sh [FILE...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh tokenizers==0.23.3)
swift build -c release --product electra-dev >/dev/null
VOCAB=vocab/bert-base-uncased.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ $# -eq 0 ]; then
  [ -s data/sample/kjv.txt ] || { echo "data/sample/kjv.txt missing: run tools/setup.sh" >&2; exit 1; }
  for _ in $(seq 170); do cat Tests/Fixtures/tokenizer/hard-cases.txt; done > "$tmp/multilingual.txt"
  set -- data/sample/kjv.txt "$tmp/multilingual.txt"
fi
for f in "$@"; do
  ours=$(taskset -c 0 .build/release/electra-dev bench-tokenize --vocab "$VOCAB" "$f" 2>/dev/null \
         || .build/release/electra-dev bench-tokenize --vocab "$VOCAB" "$f")
  ours_mbs=${ours%% MB/s*}
  hf_mbs=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$PY" tools/hf_bert_reference.py --vocab "$VOCAB" --bench "$f")
  echo "== $(basename "$f") ($(wc -c < "$f") bytes)"
  echo "  electra-dev bench-tokenize: $ours"
  echo "  HF tokenizers $("$PY" -c 'import tokenizers; print(tokenizers.__version__)') (Python, 1 thread): $hf_mbs MB/s"
  awk -v a="$ours_mbs" -v b="$hf_mbs" 'BEGIN { printf "  ratio: %.1fx HF (targets: >= 50 MB/s, >= 30x)\n", a / b }'
done
