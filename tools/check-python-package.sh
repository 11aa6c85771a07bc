#!/usr/bin/env bash
# CI check for the Python package tools/electra-shards (issue 26), well under 2 minutes once
# built: installs it with one `pip install tools/electra-shards` into tools/.venv, builds small
# shards of the sample corpus with the release electra-prep, and runs its pytest suite:
#  1. electra-dev dump-batches and MaskedBatches equal byte for byte over 50 steps (default and
#     non-default seed, masking probability, batch size), across epochs on small frames;
#  2. ranks x DataLoader workers give the global batch; resume from a state_dict;
#  3. mixing: byte for byte with the trainer's mixture, proportions, determinism, resume;
#  reading: every sequence as `inspect --dump-ids`, checksums, versions, errors naming the frame;
#  the held-out batches; the HF examples; and mypy over the package (it is typed).
# The DataLoader tests need torch: they run when tools/.venv has it (tools/compare-learning.sh
# installs it) and are reported as skipped otherwise. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-python-package: FAIL: $*" >&2; exit 1; }
for product in electra-prep electra-dev; do
  swift build -c release --product "$product" > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of $product failed"; }
done
bin=$root/.build/release
PY=$(tools/venv.sh numpy zstandard pytest mypy)
"$PY" -m pip install -q --force-reinstall --no-deps tools/electra-shards > "$tmp/pip.log" 2>&1 \
  || { cat "$tmp/pip.log"; fail "pip install tools/electra-shards failed"; }
"$PY" -c "import electra_shards, sys; sys.exit(0 if 'site-packages' in electra_shards.__file__ else 1)" \
  || fail "electra_shards was not imported from the installed package"

# The sample shards (vocabulary of 8,192 tokens, default frames) and small ones (16 sequences
# a frame, 4 frames a shard: many windows, epochs within a few hundred steps).
corpus=data/sample/kjv.txt
[ -s "$corpus" ] || fail "$corpus missing: run tools/setup.sh"
"$bin/electra-prep" build-vocab "$corpus" --vocab-size 8192 --out "$tmp/vocab/vocab.txt" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "build-vocab failed"; }
"$bin/electra-prep" shard "$corpus" --vocab "$tmp/vocab/vocab.txt" --out "$tmp/data" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
head -n 1500 "$corpus" > "$tmp/small.txt"
"$bin/electra-prep" shard "$tmp/small.txt" --vocab "$tmp/vocab/vocab.txt" --out "$tmp/small" \
  --sequences-per-frame 16 --frames-per-shard 4 > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard (small) failed"; }

cd tools/electra-shards
"$PY" -m mypy --ignore-missing-imports --cache-dir "$tmp/mypy" src/electra_shards || fail "mypy found type errors"
ELECTRA_SHARDS_DATA=$tmp/data ELECTRA_SHARDS_SMALL=$tmp/small ELECTRA_DEV=$bin/electra-dev ELECTRA_PREP=$bin/electra-prep \
  "$PY" -m pytest -q -rs -p no:cacheprovider -W ignore::UserWarning tests || fail "pytest failed"
