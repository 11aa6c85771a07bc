#!/usr/bin/env bash
# CI check for the exported tokenizer.json (issue 26): `electra-train export` writes HF
# tokenizers' fast-tokenizer file beside vocab.txt. For an uncased and a cased vocabulary of the
# sample corpus (a 1-step tiny run each, exported), tokenizers.Tokenizer.from_file gives the same
# ids as `electra-prep tokenize --ids` on the parity corpus (data/sample/kjv.txt, the junk-bytes
# fixture, and the hard-cases fixture's lines without a literal special token, which HF, like
# every BERT fast tokenizer, reads as the special token); transformers' AutoTokenizer, when
# tools/.venv has it, loads the folder without vocab.txt (so from tokenizer.json alone) with the
# same ids. Exits non-zero on any difference.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-tokenizer-json: FAIL: $*" >&2; exit 1; }
for product in electra-prep electra-train; do
  swift build -c release --product "$product" > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of $product failed"; }
done
prep=.build/release/electra-prep train=.build/release/electra-train
PY=$(tools/venv.sh tokenizers==0.23.3)
corpus=data/sample/kjv.txt
[ -s "$corpus" ] || fail "$corpus missing: run tools/setup.sh"
grep -a -v -F -e '[PAD]' -e '[UNK]' -e '[CLS]' -e '[SEP]' -e '[MASK]' Tests/Fixtures/tokenizer/hard-cases.txt > "$tmp/hard-cases.txt" || true
files=("$corpus" Tests/Fixtures/tokenizer/junk-bytes.txt "$tmp/hard-cases.txt")

for casing in uncased cased; do
  flags=()
  [ "$casing" = cased ] && flags=(--no-lower-case)
  "$prep" build-vocab "$corpus" --vocab-size 4000 "${flags[@]}" --out "$tmp/$casing/vocab/vocab.txt" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "build-vocab ($casing) failed"; }
  head -n 400 "$corpus" > "$tmp/$casing/part.txt"
  "$prep" shard "$tmp/$casing/part.txt" --vocab "$tmp/$casing/vocab/vocab.txt" --out "$tmp/$casing/data" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard ($casing) failed"; }
  "$train" --shards "$tmp/$casing/data" --preset tiny --steps 1 --batch-size 4 --threads 2 --out "$tmp/$casing/run" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "electra-train ($casing) failed"; }
  "$train" export "$tmp/$casing/run" --out "$tmp/$casing/hf" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "export ($casing) failed"; }
  folder=$tmp/$casing/hf/discriminator
  [ -s "$folder/tokenizer.json" ] || fail "export ($casing) wrote no tokenizer.json"
  for file in "${files[@]}"; do
    "$prep" tokenize --vocab "$folder/vocab.txt" --ids "$file" > "$tmp/ours.txt" 2> /dev/null || fail "tokenize $file failed"
    "$PY" - "$folder/tokenizer.json" "$file" "$tmp/ours.txt" "$casing" <<'PYEOF' || fail "tokenizer.json ($casing) differs from electra-prep tokenize on $file"
import sys
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
lines = open(sys.argv[2], "rb").read().decode("utf-8", "replace").split("\n")
if lines and lines[-1] == "":
    lines.pop()
ours = open(sys.argv[3]).read().split("\n")[:len(lines)]
theirs = [" ".join(map(str, e.ids)) for e in tok.encode_batch(lines, add_special_tokens=False)]
bad = [i for i in range(len(lines)) if theirs[i] != ours[i]]
for i in bad[:3]:
    print(f"  line {i + 1}: {lines[i][:120]!r}\n    tokenizers: {theirs[i][:200]}\n    ours:       {ours[i][:200]}", file=sys.stderr)
print(f"{sys.argv[4]:8} {sys.argv[2].split('/')[-1]:16} {len(lines):6} lines, {len(bad)} differ")
sys.exit(1 if bad or len(ours) != len(lines) else 0)
PYEOF
  done
done

# transformers' AutoTokenizer, from tokenizer.json alone (vocab.txt removed), when installed
if "$PY" -c "import transformers" 2> /dev/null; then
  for casing in uncased cased; do
    cp -r "$tmp/$casing/hf/discriminator" "$tmp/$casing/auto"
    rm "$tmp/$casing/auto/vocab.txt" "$tmp/$casing/auto/model.safetensors"
    "$prep" tokenize --vocab "$tmp/$casing/hf/discriminator/vocab.txt" --ids "$corpus" > "$tmp/ours.txt" 2> /dev/null
    "$PY" - "$tmp/$casing/auto" "$corpus" "$tmp/ours.txt" <<'PYEOF' || fail "AutoTokenizer ($casing) differs"
import sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
assert tok.is_fast, "AutoTokenizer did not load a fast tokenizer"
lines = open(sys.argv[2]).read().split("\n")[:2000]
ours = open(sys.argv[3]).read().split("\n")[:2000]
theirs = [" ".join(map(str, ids)) for ids in tok(lines, add_special_tokens=False)["input_ids"]]
bad = sum(a != b for a, b in zip(theirs, ours))
print(f"AutoTokenizer ({type(tok).__name__}, no vocab.txt): {len(lines)} lines, {bad} differ")
sys.exit(1 if bad else 0)
PYEOF
  done
else
  echo "transformers not installed in tools/.venv: AutoTokenizer not checked"
fi
