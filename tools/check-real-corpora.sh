#!/usr/bin/env bash
# Real corpora as users have them (issue 15), through the release binary, in under a minute:
#  1. junk bytes in the middle of a file (NUL, invalid UTF-8) cost only their lines, which are
#     counted (summary, inspect); a file that starts binary is refused and a run that shards
#     nothing exits non-zero;
#  2. a cased vocabulary's tokenizer_config.json is followed by tokenize and shard; a flag that
#     contradicts it is refused naming both; a vocab.txt without one says so once;
#  3. JSONL (plain and .gz) gives the same shards as the same documents in the text format; a bad
#     line is named by file:line and skipped, refused with --strict;
#  4. a directory of many small files is sharded incrementally: adding 10 files shards only those.
# Token-level parity of junk lines with HF tokenizers is in tools/check-tokenizer-parity.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product electra-prep >/dev/null
BIN=$PWD/.build/release/electra-prep
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-real-corpora: FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# A seeded corpus with case that matters (C API names), documents separated by blank lines.
python3 - "$tmp/cased.txt" <<'PY'
import random, sys
rng = random.Random(15)
names = ["PyObject_DelItem", "PyList_Append", "PyDict_SetItem", "Py_INCREF", "PyErr_Occurred", "PyLong_AsLong"]
words = "the a returns object reference new borrowed value key list dict error on success failure NULL".split()
with open(sys.argv[1], "w") as f:
    for d in range(300):
        for s in range(rng.randint(2, 8)):
            f.write(" ".join(rng.choice(names) if rng.random() < 0.2 else rng.choice(words).capitalize()
                             if rng.random() < 0.1 else rng.choice(words) for _ in range(rng.randint(4, 20))) + ".\n")
        f.write("\n")
PY

# 1. Junk bytes mid-file.
junk=Tests/Fixtures/tokenizer/junk-bytes.txt
$BIN shard "$junk" --vocab vocab/bert-base-uncased.txt --out "$tmp/junk" --threads 2 > "$tmp/out" 2> "$tmp/err" \
  || fail "shard refused $junk: $(cat "$tmp/err")"
grep -q "1 input(s) (0 skipped)" "$tmp/out" || fail "junk file not sharded: $(cat "$tmp/out")"
grep -q "119 line(s) held NUL bytes or invalid UTF-8" "$tmp/out" || fail "damaged lines not in the summary: $(cat "$tmp/out")"
$BIN inspect "$tmp/junk" --sequences 0 | grep -q "119 lines with NUL or invalid UTF-8" || fail "damaged lines not in inspect"
printf 'ab\0cd\nmore text\n' > "$tmp/starts-binary.txt"
if $BIN shard "$tmp/starts-binary.txt" --vocab vocab/bert-base-uncased.txt --out "$tmp/bin" > "$tmp/out" 2> "$tmp/err"; then
  fail "a run that sharded nothing exited 0"
fi
grep -q "looks like a binary file (NUL byte at offset 2" "$tmp/err" && grep -q "nothing was sharded" "$tmp/err" \
  || fail "refusal not explained: $(cat "$tmp/err")"
ok "junk bytes mid-file: sharded, 119 damaged lines reported; a binary-only run exits non-zero"

# 2. Cased vocabulary.
$BIN build-vocab "$tmp/cased.txt" --no-lower-case --vocab-size 400 --out "$tmp/cased/vocab.txt" --threads 2 > /dev/null 2>&1
echo "Call PyObject_DelItem on the Dict" | $BIN tokenize --vocab "$tmp/cased/vocab.txt" > "$tmp/tok" 2> "$tmp/err"
grep -q " PyObject " "$tmp/tok" && ! grep -q "note:" "$tmp/err" || fail "tokenize lower-cased with a cased vocabulary: $(cat "$tmp/tok" "$tmp/err")"
$BIN shard "$tmp/cased.txt" --vocab "$tmp/cased/vocab.txt" --out "$tmp/cased-shards" --threads 2 > /dev/null 2>&1
$BIN inspect "$tmp/cased-shards" --sequences 10 | grep -A10 "^sampled" | grep -q "PyObject\|PyList\|PyDict" \
  || fail "shard lower-cased with a cased vocabulary"
if $BIN shard "$tmp/cased.txt" --vocab "$tmp/cased/vocab.txt" --out "$tmp/x" --lower-case > /dev/null 2> "$tmp/err"; then
  fail "--lower-case against a cased vocabulary was accepted"
fi
grep -q -- "--lower-case contradicts $tmp/cased/tokenizer_config.json (do_lower_case: false)" "$tmp/err" \
  || fail "contradiction not named: $(cat "$tmp/err")"
mkdir -p "$tmp/bare" && cp "$tmp/cased/vocab.txt" "$tmp/bare/vocab.txt"
$BIN tokenize --vocab "$tmp/bare/vocab.txt" "$tmp/cased.txt" "$tmp/cased.txt" > /dev/null 2> "$tmp/err"
[ "$(grep -c "has no tokenizer_config.json" "$tmp/err")" -eq 1 ] || fail "a bare vocab.txt should be noted once: $(cat "$tmp/err")"
ok "cased vocabulary followed by tokenize and shard; --lower-case refused naming both; bare vocab.txt noted once"

# 3. JSONL = the same documents as text.
python3 - "$tmp/cased.txt" "$tmp/docs.jsonl" "$tmp/docs.txt" <<'PY'
import json, sys
docs = [d for d in open(sys.argv[1]).read().split("\n\n") if d.strip()]
with open(sys.argv[2], "w") as f:
    for i, d in enumerate(docs):
        f.write(json.dumps({"id": i, "text": d.strip("\n"), "meta": {"source": "check"}}, ensure_ascii=i % 2 == 0) + "\n")
        if i == 7: f.write('{"id": 7.5, "text": broken\n')
open(sys.argv[3], "w").write("\n\n".join(d.strip("\n") for d in docs) + "\n")
PY
gzip -k "$tmp/docs.jsonl"
for input in docs.txt docs.jsonl docs.jsonl.gz; do
  $BIN shard "$tmp/$input" --vocab "$tmp/cased/vocab.txt" --out "$tmp/s-$input" --threads 2 > "$tmp/out-$input" 2> "$tmp/err-$input"
done
for input in docs.jsonl docs.jsonl.gz; do
  diff -r "$tmp/s-docs.txt/shards" "$tmp/s-$input/shards" > /dev/null || fail "$input: shards differ from the text format's"
  grep -q "$input:9: not valid JSON: unexpected character at column 21" "$tmp/err-$input" || fail "bad line not named: $(cat "$tmp/err-$input")"
done
if $BIN shard "$tmp/docs.jsonl" --strict --vocab "$tmp/cased/vocab.txt" --out "$tmp/strict" > /dev/null 2> "$tmp/err"; then
  fail "--strict accepted a bad line"
fi
grep -q "docs.jsonl:9:" "$tmp/err" || fail "--strict did not name the line: $(cat "$tmp/err")"
ok "JSONL and JSONL.gz give the text format's shards; bad line named docs.jsonl:9, refused with --strict"

# 4. Many small files, incremental.
mkdir -p "$tmp/many"
python3 - "$tmp/cased.txt" "$tmp/many" <<'PY'
import sys
docs = [d for d in open(sys.argv[1]).read().split("\n\n") if d.strip()]
for i in range(2000):
    open(f"{sys.argv[2]}/doc-{i:05d}.txt", "w").write(docs[i % len(docs)].strip("\n") + f"\nDocument {i}.\n")
PY
$BIN shard "$tmp/many" --vocab "$tmp/cased/vocab.txt" --out "$tmp/s-many" --threads 2 > "$tmp/out" 2>&1
grep -q "from 2000 input(s) (0 skipped)" "$tmp/out" || fail "many files: $(tail -2 "$tmp/out")"
for i in $(seq 2000 2009); do echo "One more document number $i." > "$tmp/many/doc-$i.txt"; done
$BIN shard "$tmp/many" --vocab "$tmp/cased/vocab.txt" --out "$tmp/s-many" --threads 2 > "$tmp/out" 2>&1
grep -q "from 10 input(s) (2000 skipped)" "$tmp/out" || fail "incremental: $(tail -2 "$tmp/out")"
$BIN verify "$tmp/s-many" > /dev/null || fail "verify after the incremental run"
ok "2,000 small files sharded, then 10 added: only those sharded"
echo "check-real-corpora: all passed"
