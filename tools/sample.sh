#!/usr/bin/env bash
# The main job on the bundled sample corpus (data/sample/kjv.txt): set up, learn a vocabulary,
# shard the corpus, verify and inspect the shards, pre-train a tiny ELECTRA and plot the run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
prep=.build/release/electra-prep

echo "== electra-prep build-vocab (8,192 tokens from the sample corpus)"
$prep build-vocab data/sample/ --vocab-size 8192 --out vocab/vocab.txt

echo "== electra-prep shard (into data/)"
# The sample's shards are rebuilt each time (seconds), so an index from an older electra-prep
# (another schema) or from other inputs never stands in the way of the demo.
rm -rf data/shards data/index.sqlite data/index.sqlite-wal data/index.sqlite-shm
$prep shard data/sample/ --vocab vocab/vocab.txt --out data

echo "== electra-prep verify"
$prep verify data

echo "== electra-prep inspect"
$prep inspect data --sequences 2

echo "== electra-train (tiny preset, a few minutes on 2 cores)"
train=.build/release/electra-train
rm -rf runs/sample
# 150 steps show the whole loop in a minute or two, at the tiny preset's rate and warm-up (5e-4,
# 100 steps: electra-train's defaults). An encoder worth fine-tuning takes thousands of steps
# (tools/finetune-compare.sh).
$train --shards data --preset tiny --steps 150 --batch-size 32 \
  --log-every 10 --eval-every 50 --save-every 50 --out runs/sample

echo "== electra-train report"
$train report runs/sample
