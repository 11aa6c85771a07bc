#!/usr/bin/env bash
# CI check for `electra-prep shard` (issue 4), in release mode, well under 2 minutes:
#  1. the Python reader (tools/shard_reader.py) decodes the committed fixture to its dump;
#  2. a small corpus sharded by the CLI reads back identically through `inspect --dump-ids`
#     and through the Python reader's padded input_ids/segment_ids/input_mask;
#  3. same bytes with --threads 1 and 2; verify passes; a second run skips what is done;
#     other options are refused naming both values;
#  4. kill -9 in the middle of a run: the index verifies, a rerun finishes with the same data;
#  5. bad input: 20 MB single line (packed whole), 36 MB line (refused), binary file, blank file, missing file, vocab without [CLS].
#  6. no corpus, a folder as --vocab, a file as --out: errors in words; each help default said once.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh zstandard numpy)
prep=.build/release/electra-prep
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-shard-reader: FAIL: $*" >&2; exit 1; }
swift build -c release --product electra-prep > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build failed"; }

# 1. the committed fixture
$PY tools/shard_reader.py Tests/Fixtures/sharding/tiny --dump-ids | cmp -s - Tests/Fixtures/sharding/tiny-dump.txt \
  || fail "the Python reader decodes Tests/Fixtures/sharding/tiny differently from tiny-dump.txt"

# A small character-level vocabulary (specials, punctuation, letters, digits, a few words).
{
  printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]'
  for c in '!' '"' "'" '(' ')' ',' '-' '.' ':' ';' '?'; do echo "$c"; done
  for c in {a..z} {0..9}; do echo "$c"; done
  for c in {a..z} {0..9}; do echo "##$c"; done
  printf "%s\n" the and of to in that he shall unto lord his for they be is him not them it
} > "$tmp/vocab.txt"
corpus="$tmp/corpus"
mkdir -p "$corpus"
if [ -f data/sample/kjv.txt ]; then
  head -n 6000 data/sample/kjv.txt | split -l 1000 - "$corpus/part-"
else
  cp Tests/Fixtures/sharding/tiny-corpus.txt "$corpus/part-aa"
fi

# 2. round trip through the CLI and the Python reader
$prep shard "$corpus" --vocab "$tmp/vocab.txt" --out "$tmp/out" --max-seq-length 64 --seed 3 \
  --threads 2 --sequences-per-frame 64 --frames-per-shard 4 > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
$prep inspect "$tmp/out" --dump-ids > "$tmp/swift.ids"
$PY tools/shard_reader.py "$tmp/out" --dump-ids > "$tmp/python.ids"
[ -s "$tmp/swift.ids" ] || fail "no sequences were written"
cmp -s "$tmp/swift.ids" "$tmp/python.ids" || fail "the Python reader and inspect --dump-ids disagree"
echo "round trip: $(wc -l < "$tmp/swift.ids") sequences identical through inspect and tools/shard_reader.py"
$prep verify "$tmp/out" > /dev/null || fail "verify failed on a fresh directory"

# 3. thread-count independence, incremental rerun, refusal
$prep shard "$corpus" --vocab "$tmp/vocab.txt" --out "$tmp/out1" --max-seq-length 64 --seed 3 \
  --threads 1 --sequences-per-frame 64 --frames-per-shard 4 > /dev/null 2>&1 || fail "shard --threads 1 failed"
diff -r "$tmp/out/shards" "$tmp/out1/shards" > /dev/null || fail "--threads 1 and 2 wrote different shards"
$prep shard "$corpus" --vocab "$tmp/vocab.txt" --out "$tmp/out" --max-seq-length 64 --seed 3 \
  --sequences-per-frame 64 --frames-per-shard 4 > "$tmp/log" 2>&1 || fail "rerun failed"
grep -q "already sharded" "$tmp/log" || fail "a rerun did not report the inputs as already sharded"
grep -q " 0 sequences" "$tmp/log" || fail "a rerun added sequences"
if $prep shard "$corpus" --vocab "$tmp/vocab.txt" --out "$tmp/out" --max-seq-length 64 --seed 4 > "$tmp/log" 2>&1; then
  fail "another --seed was accepted into an existing index"
fi
grep -q "index 3 vs given 4" "$tmp/log" || fail "the refusal does not name both seeds: $(cat "$tmp/log")"

# 4. kill -9 in the middle of a run (many inputs, a commit every few), then rerun
big="$tmp/big"
mkdir -p "$big"
if [ -f data/sample/kjv.txt ]; then split -n l/24 data/sample/kjv.txt "$big/part-"; else cp "$corpus"/* "$big/"; fi
killargs=(--vocab "$tmp/vocab.txt" --max-seq-length 64 --seed 3 --sequences-per-frame 32 --frames-per-shard 2)
start=$(date +%s.%N)
$prep shard "$big" "${killargs[@]}" --out "$tmp/clean" > /dev/null 2>&1 || fail "shard of the kill corpus failed"
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
$prep inspect "$tmp/clean" --dump-ids > "$tmp/clean.ids"
sources=$(ls "$big" | wc -l)
# kill at 10%, 40% and 70% of the time an uninterrupted run took
for fraction in 0.1 0.4 0.7; do
  delay=$(awk -v t="$took" -v f="$fraction" 'BEGIN {printf "%.3f", t * f}')
  rm -rf "$tmp/killed"
  $prep shard "$big" "${killargs[@]}" --out "$tmp/killed" > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  done_sources=0
  if [ -f "$tmp/killed/index.sqlite" ]; then
    $prep verify "$tmp/killed" > /dev/null || fail "the index does not verify after kill -9 at ${delay}s"
    done_sources=$($PY -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from sources').fetchone()[0])" "$tmp/killed/index.sqlite")
  fi
  $prep shard "$big" "${killargs[@]}" --out "$tmp/killed" > /dev/null 2>&1 || fail "rerun after kill -9 failed"
  $prep verify "$tmp/killed" > /dev/null || fail "verify failed after the rerun"
  $prep inspect "$tmp/killed" --dump-ids | cmp -s - "$tmp/clean.ids" || fail "kill -9 at ${delay}s + rerun lost or duplicated sequences"
  diff -r "$tmp/killed/shards" "$tmp/clean/shards" > /dev/null || fail "kill -9 at ${delay}s + rerun wrote other shard bytes"
  echo "kill -9 after ${delay}s: $done_sources of $sources inputs were committed; the rerun gives the same $(wc -l < "$tmp/clean.ids") sequences"
done

# 5. bad input
bad="$tmp/bad"
mkdir -p "$bad"
$PY -c "import sys; sys.stdout.write('in the beginning ' * 1_200_000 + '\n')" > "$bad/one-line.txt"   # ~20 MB, one line
$PY -c "import sys; sys.stdout.write('in the beginning ' * 2_100_000 + '\n')" > "$bad/huge-line.txt"  # ~36 MB: over the 32 MiB a line may hold
printf 'text\n\x00\x01\x02binary\n' > "$bad/blob.bin"
printf '\n  \n\t\n' > "$bad/blank.txt"
$prep shard "$bad" --vocab "$tmp/vocab.txt" --out "$tmp/badout" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "bad inputs crashed the run"; }
grep -q "blob.bin.*binary" "$tmp/log" || fail "the binary file was not reported: $(cat "$tmp/log")"
grep -q "blank.txt.*0 sequences" "$tmp/log" || fail "the blank file was not reported"
grep -q "huge-line.txt:1: the line is longer than 32 MiB" "$tmp/log" || fail "the 36 MB line was not refused by name: $(cat "$tmp/log")"
# Lossless (the default): the line's ~9.9M tokens all reach the shards, in pieces of an example.
grep -qE "one-line.txt: 1 document, 1 line, [0-9]{5,} sequences" "$tmp/log" || fail "the 20 MB line was not packed whole: $(cat "$tmp/log")"
grep -qE "text tokens: ([0-9]+) in the input, \1 in the sequences \(100.0%\)" "$tmp/log" || fail "tokens were lost: $(cat "$tmp/log")"
$prep verify "$tmp/badout" > /dev/null || fail "verify failed after bad inputs"
# The original's rules: the line is cut to one example, and the summary says what was dropped.
$prep shard "$bad/one-line.txt" --packing original --vocab "$tmp/vocab.txt" --out "$tmp/badout-original" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "--packing original failed"; }
grep -q "one-line.txt: 1 document, 1 line, 1 sequence," "$tmp/log" || fail "--packing original did not pack the line as one sequence"
grep -q "warning: only 0.0% of the input's tokens reached the shards" "$tmp/log" || fail "the loss was not reported: $(cat "$tmp/log")"
if $prep shard "$bad/missing.txt" --vocab "$tmp/vocab.txt" --out "$tmp/badout" > "$tmp/log" 2>&1; then fail "a missing file was accepted"; fi
grep -q "missing.txt: no such file" "$tmp/log" || fail "the missing file was not named"
grep -v '\[CLS\]' "$tmp/vocab.txt" > "$tmp/nocls.txt"
if $prep shard "$corpus" --vocab "$tmp/nocls.txt" --out "$tmp/nocls" > "$tmp/log" 2>&1; then fail "a vocabulary without [CLS] was accepted"; fi
grep -q "nocls.txt" "$tmp/log" || fail "the bad vocabulary was not named: $(cat "$tmp/log")"
echo "bad input: 20 MB line packed whole, 36 MB line refused, binary, blank, missing file, vocabulary without [CLS] handled"

# 6. a first-time user's mistakes: no corpus (no silent default), a folder as --vocab, a file as
#    --out, each said in words (no "NSCocoaErrorDomain"); every help states a default once
if $prep shard --vocab "$tmp/vocab.txt" --out "$tmp/nocorpus" > "$tmp/log" 2>&1; then fail "shard without a corpus ran"; fi
grep -q "no corpus given.*electra-prep shard data/sample/" "$tmp/log" || fail "no corpus: $(cat "$tmp/log")"
if $prep shard "$corpus" --vocab "$tmp" --out "$tmp/dirvocab" > "$tmp/log" 2>&1; then fail "a folder as --vocab was accepted"; fi
grep -q "is a directory.*--vocab $tmp/vocab.txt" "$tmp/log" && ! grep -q Domain "$tmp/log" || fail "folder as --vocab: $(cat "$tmp/log")"
touch "$tmp/a-file"
if $prep shard "$corpus" --vocab "$tmp/vocab.txt" --out "$tmp/a-file" > "$tmp/log" 2>&1; then fail "a file as --out was accepted"; fi
grep -qE "a-file: (cannot create the output directory \(.*file.*\); choose another --out|exists and is a file, not a directory; choose another path)" "$tmp/log" && ! grep -q Domain "$tmp/log" \
  || fail "file as --out: $(cat "$tmp/log")"
for sub in build-vocab tokenize shard verify inspect; do
  $prep "$sub" --help | awk 'BEGIN { RS = "\n  -" } NR > 1 && gsub(/default/, "&") > 1 { print "-" $0; twice = 1 } END { exit twice }' \
    || fail "electra-prep $sub --help states a default twice"
done
echo "no corpus, folder as --vocab, file as --out: refused in words; help states each default once"

# 7. --packing original reproduces the shards of every electra-prep before lossless packing, byte
#    for byte, on the sample corpus (the vocabulary learned from it is deterministic); the default
#    keeps every token of it.
if [ -f data/sample/kjv.txt ]; then
  $prep build-vocab data/sample/kjv.txt --vocab-size 8192 --out "$tmp/kjv/vocab.txt" > /dev/null 2>&1 || fail "build-vocab on the sample failed"
  $prep shard data/sample/kjv.txt --packing original --threads 2 --vocab "$tmp/kjv/vocab.txt" --out "$tmp/kjv/original" > /dev/null 2>&1 \
    || fail "shard --packing original on the sample failed"
  sha=$(sha256sum "$tmp/kjv/original/shards/shard-000000.zst" | cut -d' ' -f1)
  [ "$sha" = c76f184477f5fdd5b7c28ff6b88d775772b3035f521f68e856c5e6e01e628173 ] \
    || fail "--packing original no longer gives the sample's shard of earlier versions (sha256 $sha)"
  $prep shard data/sample/kjv.txt --vocab "$tmp/kjv/vocab.txt" --out "$tmp/kjv/lossless" > "$tmp/log" 2>&1 || fail "shard on the sample failed"
  grep -q "text tokens: 937341 in the input, 937341 in the sequences (100.0%)" "$tmp/log" || fail "the sample lost tokens: $(cat "$tmp/log")"
  echo "sample corpus: --packing original gives the shard of earlier versions byte for byte; the default keeps all 937,341 tokens"
else
  echo "sample corpus not extracted (tools/setup.sh): its byte-for-byte check skipped"
fi
echo "check-shard-reader: OK"
