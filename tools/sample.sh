#!/usr/bin/env bash
# The main job on the bundled sample corpus (data/sample/kjv.txt): set up, learn a vocabulary,
# shard the corpus, verify and inspect the shards.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
prep=.build/release/electra-prep

echo "== electra-prep build-vocab (8,192 tokens from the sample corpus)"
$prep build-vocab --vocab-size 8192 --out vocab/vocab.txt

echo "== electra-prep shard (into data/)"
$prep shard --vocab vocab/vocab.txt --out data

echo "== electra-prep verify"
$prep verify data

echo "== electra-prep inspect"
$prep inspect data --sequences 2
