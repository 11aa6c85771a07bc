#!/usr/bin/env bash
# Does electra-train learn as well as PyTorch? Trains the tiny preset on the sample corpus's
# shards with electra-train, exports the run, trains the same configuration on the same shards
# for the same steps in PyTorch (tools/compare_learning.py, through tools/shard_reader.py) and
# prints both runs' held-out generator accuracy and discriminator AUC side by side; exits 1 when
# ours is not within 10% of PyTorch's on both. Needs torch + transformers (large): not run by CI.
# Settings (environment): STEPS=150 BATCH=32 LR=1e-4 WARMUP=50 SEED=0 THREADS=2 (tools/sample.sh's run)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-150} BATCH=${BATCH:-32} LR=${LR:-1e-4} WARMUP=${WARMUP:-50} SEED=${SEED:-0} THREADS=${THREADS:-2}
tools/setup.sh
prep=.build/release/electra-prep train=.build/release/electra-train
if [ ! -f data/index.sqlite ]; then
  echo "== no shards in data/: building the sample vocabulary and shards (as tools/sample.sh)"
  [ -f vocab/vocab.txt ] || $prep build-vocab --vocab-size 8192 --out vocab/vocab.txt
  $prep shard --vocab vocab/vocab.txt --out data
fi
run=runs/compare
rm -rf "$run"
echo "== electra-train: tiny preset, $STEPS steps, batch $BATCH, lr $LR, warm-up $WARMUP, seed $SEED"
$train --shards data --preset tiny --steps "$STEPS" --batch-size "$BATCH" --learning-rate "$LR" \
  --warmup-steps "$WARMUP" --seed "$SEED" --threads "$THREADS" --log-every 25 --eval-every "$STEPS" \
  --save-every "$STEPS" --out "$run"
$train export "$run" --out "$run/hf"
PY=$(tools/venv.sh torch transformers safetensors numpy zstandard)
echo "== PyTorch: the same configuration, shards and steps"
"$PY" tools/compare_learning.py --shards data --run "$run" --export "$run/hf" --steps "$STEPS" \
  --batch-size "$BATCH" --learning-rate "$LR" --warmup-steps "$WARMUP" --seed "$SEED" --threads "$THREADS"
