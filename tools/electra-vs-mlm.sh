#!/usr/bin/env bash
# Does ELECTRA beat BERT on your corpus? (issue 25: the paper's Table 5 and Figure 1 for a run)
# Pre-trains each objective (electra, mlm = BERT's masked LM at the discriminator's size,
# electra-15 = the discriminator's loss at the masked positions only) on the same shards to the
# same training-FLOPs budget (counted as google-research/electra's flops_computation.py counts
# them; --max-flops, the learning rate decaying to 0 there), keeps a checkpoint at each point of
# BUDGETS (--save-at-flops), fine-tunes every kept checkpoint on the KJV six-way verse task
# (tools/finetune_compare.py data: 149 held-out chapters, never in the pre-training text) with
# each seed, and prints the table (OUT/table.md) and draws dev accuracy against FLOPs
# (OUT/figure.svg, and OUT/figure.png when rsvg-convert is installed).
# Usage: tools/electra-vs-mlm.sh [SHARDS] [OUT]
#   SHARDS: a shard directory; without it, shards of the KJV pre-training chapters are built
#   (their own vocabulary, as tools/finetune-compare.sh builds them).
#   BUDGETS=3e14,1e15,3e15      training FLOPs of the kept checkpoints; the last is the budget
#   OBJECTIVES="electra mlm electra-15"   PRESET=tiny BATCH=32 LR= (the preset's) WARMUP=
#   SEEDS="1 2 3" FT_LR=3e-4 FT_EPOCHS=3 FT_BATCH=32 FT_ROWS= (a subset of the training rows)
#   THREADS=2
# A finished pre-training run or fine-tuning is reused when run again with the same OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh numpy)
shards=${1:-}
out=${2:-runs/electra-vs-mlm}
bin=${ELECTRA_TRAIN:-.build/release/electra-train}
prep=${ELECTRA_PREP:-.build/release/electra-prep}
[ -x "$bin" ] && [ -x "$prep" ] || swift build -c release >&2
budgets=${BUDGETS:-3e14,1e15,3e15}
objectives=${OBJECTIVES:-electra mlm electra-15}
preset=${PRESET:-tiny}; batch=${BATCH:-32}; threads=${THREADS:-2}
seeds=${SEEDS:-1 2 3}; ft_lr=${FT_LR:-3e-4}; ft_epochs=${FT_EPOCHS:-3}; ft_batch=${FT_BATCH:-32}
max=${budgets##*,}
mkdir -p "$out"
$PY tools/finetune_compare.py data "$out" kjv
train=$out/train.tsv
if [ -n "${FT_ROWS:-}" ]; then   # a fixed subset (the first FT_ROWS rows of a seeded shuffle)
  $PY - "$out/train.tsv" "$out/train-subset.tsv" "$FT_ROWS" <<'EOF'
import random, sys
rows = open(sys.argv[1]).read().splitlines()
body = rows[1:]
random.Random(0).shuffle(body)
open(sys.argv[2], "w").write("\n".join([rows[0]] + body[: int(sys.argv[3])]) + "\n")
EOF
  train=$out/train-subset.tsv
fi
if [ -z "$shards" ]; then
  shards=$out/data
  if [ ! -f "$shards/index.sqlite" ]; then
    $prep build-vocab "$out/pretrain.txt" --vocab-size 8192 --out "$out/vocab/vocab.txt"
    $prep shard "$out/pretrain.txt" --vocab "$out/vocab/vocab.txt" --out "$shards"
  fi
fi
echo "corpus: $shards; budgets $budgets training FLOPs; preset $preset, batch $batch; objectives $objectives; seeds $seeds" \
  | tee "$out/setup.txt"
for o in $objectives; do
  run=$out/pretrain-$o
  if [ ! -f "$run/done" ]; then
    rm -rf "$run"
    start=$(date +%s)
    $bin --shards "$shards" --preset "$preset" --objective "$o" --max-flops "$max" --save-at-flops "$budgets" \
      --batch-size "$batch" ${LR:+--learning-rate "$LR"} ${WARMUP:+--warmup-steps "$WARMUP"} --log-every 10 \
      --eval-every 0 --save-every 0 --keep-checkpoints 1 --threads "$threads" --out "$run"
    echo $(( $(date +%s) - start )) > "$run/done"   # wall seconds
  fi
  for kept in "$run"/checkpoints/step-*/kept; do
    step=$(basename "$(dirname "$kept")"); step=${step#step-}
    hf=$run/hf-$step
    [ -f "$hf/done" ] || { $bin export "$run" --step "$step" --out "$hf" > /dev/null; touch "$hf/done"; }
    model=$hf/discriminator; [ "$o" = mlm ] && model=$hf/mlm
    for s in $seeds; do
      ft=$run/finetune-$step-seed-$s
      [ -f "$ft/done" ] && continue
      rm -rf "$ft"
      start=$(date +%s)
      $bin finetune --model "$model" --task custom --train "$train" --dev "$out/dev.tsv" --text-column text \
        --label-column label --learning-rate "$ft_lr" --epochs "$ft_epochs" --batch-size "$ft_batch" \
        --threads "$threads" --seed "$s" --out "$ft" > "$ft.log" 2>&1 || { cat "$ft.log"; exit 1; }
      echo $(( $(date +%s) - start )) > "$ft/done"
    done
  done
done
$PY tools/electra_vs_mlm.py "$out"
if command -v rsvg-convert > /dev/null; then
  rsvg-convert "$out/figure.svg" -o "$out/figure.png" && echo "drew $out/figure.png"
fi
