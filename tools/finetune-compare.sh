#!/usr/bin/env bash
# Does pre-training help, and do we fine-tune as well as PyTorch? Word polarity from the VADER
# lexicon (PyPI vaderSentiment 3.3.2, MIT license), 3 seeds each of
#   (a) electra-train finetune from a pre-trained discriminator (default hf/sample/discriminator,
#       from tools/sample.sh then electra-train export runs/sample),
#   (b) the same with --from-scratch (random initialization, same sizes and vocabulary),
#   (c) PyTorch/transformers from the same export, same hyperparameters, data order and initial head;
# then the table of dev accuracies (tools/finetune_compare.py table).
# Usage: tools/finetune-compare.sh [DISCRIMINATOR] [OUT]   (SEEDS="1 2 3" LR=1e-4 EPOCHS=3 THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh torch transformers safetensors numpy vadersentiment==3.3.2)
disc=${1:-hf/sample/discriminator}
out=${2:-runs/finetune-compare}
bin=${ELECTRA_TRAIN:-.build/release/electra-train}
[ -x "$bin" ] || swift build -c release --product electra-train >&2
seeds=${SEEDS:-1 2 3}; lr=${LR:-1e-4}; epochs=${EPOCHS:-3}; batch=${BATCH:-32}; threads=${THREADS:-2}
mkdir -p "$out"
$PY tools/finetune_compare.py data "$out"
common=(--task custom --train "$out/train.tsv" --dev "$out/dev.tsv" --text-column text --label-column label
        --learning-rate "$lr" --epochs "$epochs" --batch-size "$batch" --threads "$threads")
for s in $seeds; do
  $PY tools/finetune_compare.py init "$disc" "$out/init-$s" "$s"
  rm -rf "$out/a-$s" "$out/b-$s"
  $bin finetune --model "$out/init-$s" "${common[@]}" --seed "$s" --out "$out/a-$s"
  $bin finetune --model "$out/init-$s" "${common[@]}" --seed "$s" --out "$out/b-$s" --from-scratch
  THREADS=$threads $PY tools/finetune_compare.py torch "$out/init-$s" "$out/c-$s.json" "$s" "$lr" "$epochs" "$batch"
done
$PY tools/finetune_compare.py table "$out" | tee "$out/table.md"
