#!/usr/bin/env bash
# Does electra-train learn as well as PyTorch? Trains the tiny preset on the sample corpus's
# shards with electra-train, exports the run, trains the same configuration on the same shards
# for the same steps in PyTorch (tools/compare_learning.py, through tools/shard_reader.py) and
# prints the runs' held-out generator accuracy, discriminator AUC and losses side by side, SEEDS
# runs on each side; exits 1 unless ours agrees with PyTorch on accuracy and AUC (means within
# 10%, or the two sets of runs overlapping). Needs torch + transformers (large): not run by CI.
# Settings (environment): STEPS=150 BATCH=32 LR=1e-4 WARMUP=50 SEED=0 THREADS=2 (tools/sample.sh's run),
# SEEDS=3 runs on each side (seeds SEED, SEED+1, ...); SHARDS=data the shard directory (built from
# the sample corpus when it is data/ and has no index), RUNS=runs/compare where the runs go.
# PACKAGE_SEEDS=SEEDS runs of
# tools/pretrain_torch.py fed by the electra_shards package (electra-train's own batches) as further rows.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${SHARDS:-data} RUNS=${RUNS:-runs/compare}
STEPS=${STEPS:-150} BATCH=${BATCH:-32} LR=${LR:-1e-4} WARMUP=${WARMUP:-50} SEED=${SEED:-0} THREADS=${THREADS:-2} SEEDS=${SEEDS:-3}
PACKAGE_SEEDS=${PACKAGE_SEEDS:-$SEEDS}
tools/setup.sh
prep=.build/release/electra-prep train=.build/release/electra-train
if [ "$SHARDS" = data ] && [ ! -f data/index.sqlite ]; then
  echo "== no shards in data/: building the sample vocabulary and shards (as tools/sample.sh)"
  [ -f vocab/vocab.txt ] || $prep build-vocab data/sample/ --vocab-size 8192 --out vocab/vocab.txt
  $prep shard data/sample/ --vocab vocab/vocab.txt --out data
fi
runs=() exports=()
rm -rf "$RUNS"
for ((k = 0; k < SEEDS; k++)); do
  seed=$((SEED + k)) run=$RUNS/seed-$((SEED + k))
  echo "== electra-train: tiny preset, $STEPS steps, batch $BATCH, lr $LR, warm-up $WARMUP, seed $seed"
  $train --shards "$SHARDS" --preset tiny --steps "$STEPS" --batch-size "$BATCH" --learning-rate "$LR" \
    --warmup-steps "$WARMUP" --seed "$seed" --threads "$THREADS" --log-every 50 --eval-every "$STEPS" \
    --save-every "$STEPS" --out "$run"
  $train export "$run" --out "$run/hf"
  runs+=("$run") exports+=("$run/hf")
done
PY=$(tools/venv.sh torch transformers safetensors numpy zstandard)
"$PY" -m pip install -q --no-deps --force-reinstall tools/electra-shards > /dev/null
echo "== PyTorch: the same configuration, shards and steps, $SEEDS seeds; and $PACKAGE_SEEDS fed by electra_shards (tools/pretrain_torch.py)"
"$PY" tools/compare_learning.py --shards "$SHARDS" --run "${runs[@]}" --export "${exports[@]}" --steps "$STEPS" \
  --batch-size "$BATCH" --learning-rate "$LR" --warmup-steps "$WARMUP" --seed "$SEED" --seeds "$SEEDS" --threads "$THREADS" \
  --package-seeds "$PACKAGE_SEEDS"
