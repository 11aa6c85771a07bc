#!/usr/bin/env bash
# The main job on the bundled sample corpus: set up, learn the vocabulary, and tokenize.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
prep=.build/release/electra-prep
$prep --help
# Shard the sample corpus into data/ (vocab/vocab.txt from build-vocab, else BERT's vocabulary).
vocab=vocab/vocab.txt
[ -f "$vocab" ] || vocab=vocab/bert-base-uncased.txt
$prep shard data/sample/kjv.txt --vocab "$vocab" --out data
$prep verify data
$prep inspect data --sequences 3
