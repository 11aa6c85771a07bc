#!/usr/bin/env bash
# Tokenizer parity: `electra-prep tokenize` against HuggingFace tokenizers (the BERT WordPiece
# pipeline of BertWordPieceTokenizer, see tools/hf_bert_reference.py) with the BERT uncased
# vocab, line by line, on: the sample corpus; the hard-cases fixture under every option set;
# every Unicode scalar (generated) under three option sets; and 10,000 seeded fuzz lines
# (tools/gen-tokenizer-fuzz.py) under four option sets; a file with junk bytes (NUL, U+FFFD,
# invalid UTF-8, 25 KB of random bytes) after 10 KB of clean text, under four option sets. The
# sample corpus and the
# scalars are checked against BertWordPieceTokenizer itself (--class); the hard cases, which
# hold a literal "[MASK]", against the same pipeline without added special tokens.
# Every comparison is made twice: the tokens, then each token's offsets into the line (tokenize
# --offsets against the `offsets` of HF's encoding, as BertTokenizerFast returns them).
# Prints the number of differing lines and the first differences; exits non-zero unless 0.
# Usage: tools/check-tokenizer-parity.sh [FILE...]   (default: the files above)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh tokenizers==0.23.3)
swift build -c release --product electra-prep >/dev/null
BIN=.build/release/electra-prep
VOCAB=vocab/bert-base-uncased.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A FLAGS=(
  [default]=""
  [cased]="--no-lower-case"
  [lower-keep-accents]="--no-strip-accents"
  [cased-strip-accents]="--no-lower-case --strip-accents"
  [no-clean-text]="--no-clean-text"
  [no-chinese-chars]="--no-chinese-chars"
  [all-off]="--no-lower-case --no-strip-accents --no-clean-text --no-chinese-chars"
)

total_diff=0
total_lines=0
offset_diff=0
offset_lines=0
# compare NAME FILE OPTIONSET [--class]: the tokens, then their offsets (--offsets)
compare() {
  compare_mode "$1" "$2" "$3" "${4:-}" ""
  compare_mode "$1" "$2" "$3" "${4:-}" --offsets
}
compare_mode() {
  local name=$1 file=$2 set=$3 class=${4:-} mode=${5:-}
  # shellcheck disable=SC2086
  "$PY" tools/hf_bert_reference.py --vocab "$VOCAB" ${FLAGS[$set]} $class $mode "$file" > "$tmp/hf.txt"
  # shellcheck disable=SC2086
  "$BIN" tokenize --vocab "$VOCAB" ${FLAGS[$set]} $mode "$file" > "$tmp/ours.txt" 2> "$tmp/err.txt"
  local lines diff
  lines=$(wc -l < "$tmp/hf.txt")
  diff=$("$PY" - "$tmp/hf.txt" "$tmp/ours.txt" "$file" <<'EOF'
import sys
hf = open(sys.argv[1], "rb").read().split(b"\n")
ours = open(sys.argv[2], "rb").read().split(b"\n")
src = open(sys.argv[3], "rb").read().split(b"\n")
n = max(len(hf), len(ours))
bad = [i for i in range(n) if (hf[i] if i < len(hf) else None) != (ours[i] if i < len(ours) else None)]
for i in bad[:5]:
    print(f"    line {i + 1}: input {src[i][:200]!r}", file=sys.stderr)
    print(f"      hf:   {(hf[i] if i < len(hf) else b'<missing>')[:300].decode('utf-8', 'replace')}", file=sys.stderr)
    print(f"      ours: {(ours[i] if i < len(ours) else b'<missing>')[:300].decode('utf-8', 'replace')}", file=sys.stderr)
print(len(bad))
EOF
)
  printf '%-16s %-20s %-8s %-8s %8d lines %6d differ\n' "$name" "$set" "${class:+class}" "${mode:+offsets}" "$lines" "$diff"
  if [ -n "$mode" ]; then
    offset_diff=$((offset_diff + diff))
    offset_lines=$((offset_lines + lines))
  else
    total_diff=$((total_diff + diff))
    total_lines=$((total_lines + lines))
  fi
}

if [ $# -gt 0 ]; then
  for f in "$@"; do compare "$(basename "$f")" "$f" default; done   # files may hold literal specials
else
  [ -s data/sample/kjv.txt ] || { echo "data/sample/kjv.txt missing: run tools/setup.sh" >&2; exit 1; }
  compare kjv.txt data/sample/kjv.txt default --class
  for set in default cased lower-keep-accents cased-strip-accents no-clean-text no-chinese-chars all-off; do
    compare hard-cases.txt Tests/Fixtures/tokenizer/hard-cases.txt "$set"
  done
  for set in default cased no-clean-text all-off; do
    compare junk-bytes.txt Tests/Fixtures/tokenizer/junk-bytes.txt "$set" --class
  done
  # Every scalar but the surrogates and the newline (NUL last), each between letters, 16 to a line.
  "$PY" - > "$tmp/scalars.txt" <<'EOF'
import sys
cps = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF and c != 0x0A] + [0]   # NUL last: not in the first 8 KB
out = sys.stdout.buffer
for i in range(0, len(cps), 16):
    out.write(" ".join("q" + chr(c) + "Q" for c in cps[i:i + 16]).encode("utf-8", "surrogatepass") + b"\n")
EOF
  for set in default all-off cased; do compare every-scalar "$tmp/scalars.txt" "$set" --class; done
  "$PY" tools/gen-tokenizer-fuzz.py 10000 > "$tmp/fuzz.txt"
  for set in default all-off cased-strip-accents no-clean-text; do compare fuzz "$tmp/fuzz.txt" "$set" --class; done
fi
echo "tokenizer parity: $total_diff of $total_lines lines differ from HF tokenizers"
echo "offset parity: $offset_diff of $offset_lines lines differ from HF tokenizers' offsets (BertTokenizerFast's return_offsets_mapping)"
[ "$total_diff" -eq 0 ] && [ "$offset_diff" -eq 0 ]
