#!/usr/bin/env bash
# Does pre-training help, and do we fine-tune as well as PyTorch? (issue 16's comparison)
# Task (tools/finetune_compare.py data): which of six parts of the Bible a verse comes from, the
# verses of 149 held-out chapters of Debian's bible-kjv (public domain), 1,938 train / 1,941 dev.
# Unless a discriminator is given, one is pre-trained first on the other 1,040 chapters
# (OUT/pretrain.txt: its own vocabulary, shards and a tiny run), so it never saw a task verse.
# Then, 3 seeds each:
#   (a) electra-train finetune from that pre-trained discriminator,
#   (b) the same with --from-scratch (random initialization, same sizes and vocabulary),
#   (c) PyTorch/transformers from the same export, same hyperparameters, data order, initial head
#       and dropout masks (SAME_DROPOUT=0: PyTorch's own masks);
# and the table of dev accuracies (tools/finetune_compare.py table).
# Usage: tools/finetune-compare.sh [DISCRIMINATOR] [OUT]
#   SEEDS="1 2 3" LR=3e-4 EPOCHS=3 BATCH=32 THREADS=2   fine-tuning
#   DROPOUT=0                                            both sides without dropout (default: the model's 0.1)
#   PRETRAIN_STEPS=4000 PRETRAIN_LR=preset PRETRAIN_WARMUP=default PACKING=lossless  the pre-training run (no DISCRIMINATOR
#                                                        given; electra-train's defaults unless given; tools/compare-pretrain.sh)
#   TASK=vader                                           VADER word polarity instead (PyPI vaderSentiment 3.3.2, MIT)
set -euo pipefail
cd "$(dirname "$0")/.."
task=${TASK:-kjv}
extra=(); [ "$task" = vader ] && extra=(vadersentiment==3.3.2)
PY=$(tools/venv.sh torch transformers safetensors numpy "${extra[@]}")
disc=${1:-}
out=${2:-runs/finetune-compare}
bin=${ELECTRA_TRAIN:-.build/release/electra-train}
prep=${ELECTRA_PREP:-.build/release/electra-prep}
[ -x "$bin" ] && [ -x "$prep" ] || swift build -c release >&2
seeds=${SEEDS:-1 2 3}; lr=${LR:-3e-4}; epochs=${EPOCHS:-3}; batch=${BATCH:-32}; threads=${THREADS:-2}
mkdir -p "$out"
$PY tools/finetune_compare.py data "$out" "$task"
if [ -z "$disc" ]; then
  [ "$task" = kjv ] || { echo "finetune-compare: TASK=$task needs a DISCRIMINATOR folder" >&2; exit 1; }
  disc=$(THREADS=$threads tools/compare-pretrain.sh "$out/pretrain.txt" "$out")
fi
common=(--task custom --train "$out/train.tsv" --dev "$out/dev.tsv" --text-column text --label-column label
        --learning-rate "$lr" --epochs "$epochs" --batch-size "$batch" --threads "$threads" ${DROPOUT:+--dropout "$DROPOUT"})
for s in $seeds; do
  $PY tools/finetune_compare.py init "$disc" "$out/init-$s" "$s"
  rm -rf "$out/a-$s" "$out/b-$s"
  $bin finetune --model "$out/init-$s" "${common[@]}" --seed "$s" --out "$out/a-$s"
  $bin finetune --model "$out/init-$s" "${common[@]}" --seed "$s" --out "$out/b-$s" --from-scratch
  THREADS=$threads $PY tools/finetune_compare.py torch "$out/init-$s" "$out/c-$s.json" "$s" "$lr" "$epochs" "$batch"
done
$PY tools/finetune_compare.py table "$out" | tee "$out/table.md"
