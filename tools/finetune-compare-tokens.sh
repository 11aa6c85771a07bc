#!/usr/bin/env bash
# Does pre-training help, and do we fine-tune as well as PyTorch, on question answering and tagging?
# (issue 24's comparison; tools/finetune-compare.sh is the classification one.)
# Tasks (tools/finetune_compare_tokens.py): xquad, XQuAD's English articles 1-32 split by article
# (1-24 train, 25-32 dev; official v1.1 F1), and wnut17, WNUT-17's train and dev files (entity F1).
# Unless a discriminator is given, one is pre-trained first (tools/compare-pretrain.sh) on Debian's
# documentation: tools/make-docs-corpus.py OUT/docs (python3.11-doc HTML, perl-doc POD, fortunes).
# Then, per task and seed:
#   (a) electra-train finetune from that pre-trained discriminator,
#   (b) the same with --from-scratch (random initialization, same sizes and vocabulary),
#   (c) PyTorch/transformers from the same export, same hyperparameters, features, data order,
#       initial head and dropout masks (SAME_DROPOUT=0: PyTorch's own masks);
# a check that the Python evaluation of (a)'s export gives (a)'s own dev metric (seed 1), and the
# tables (OUT/TASK/table.md).
# Usage: tools/finetune-compare-tokens.sh [DISCRIMINATOR] [OUT]
#   TASKS="xquad wnut17" SEEDS="1 2 3" LR=1e-3 EPOCHS=2 BATCH=32 THREADS=2   fine-tuning (README: THREADS=1)
#   MAX_SEQ=128 DOC_STRIDE=32      xquad windows (the tiny preset has 128 positions)
#   MAX_LENGTH=64                  wnut17: tokens per sentence, [CLS] and [SEP] included
#   CORPUS_MB=20 PRETRAIN_STEPS=500 PRETRAIN_LR=2e-4   the pre-training run (no DISCRIMINATOR given; 5e-4 collapsed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh torch transformers safetensors numpy seqeval)
disc=${1:-}
out=${2:-runs/finetune-compare-tokens}
bin=${ELECTRA_TRAIN:-.build/release/electra-train}
prep=${ELECTRA_PREP:-.build/release/electra-prep}
[ -x "$bin" ] && [ -x "$prep" ] || swift build -c release >&2
tasks=${TASKS:-xquad wnut17}; seeds=${SEEDS:-1 2 3}; lr=${LR:-1e-3}; epochs=${EPOCHS:-2}; batch=${BATCH:-32}; threads=${THREADS:-2}
max_seq=${MAX_SEQ:-128}; stride=${DOC_STRIDE:-32}; max_length=${MAX_LENGTH:-64}
mkdir -p "$out"
if [ -z "$disc" ]; then
  [ -f "$out/docs/docs.jsonl" ] || python3 tools/make-docs-corpus.py "$out/docs" "${CORPUS_MB:-20}"
  disc=$(PRETRAIN_STEPS=${PRETRAIN_STEPS:-500} PRETRAIN_LR=${PRETRAIN_LR:-2e-4} THREADS=$threads \
         tools/compare-pretrain.sh "$out/docs/docs.jsonl" "$out")
fi
for task in $tasks; do
  d=$out/$task
  $PY tools/finetune_compare_tokens.py data "$d" "$task"
  if [ "$task" = xquad ]; then
    files=(--task squad --train "$d/train.json" --dev "$d/dev.json" --max-seq-length "$max_seq" --doc-stride "$stride")
    len=$max_seq
  else
    files=(--task tagging --train "${WNUT17:-/work/shared/data/wnut17}/wnut17train.conll"
           --dev "${WNUT17:-/work/shared/data/wnut17}/emerging.dev.conll" --max-length "$max_length")
    len=$max_length
  fi
  common=("${files[@]}" --learning-rate "$lr" --epochs "$epochs" --batch-size "$batch" --threads "$threads" ${DROPOUT:+--dropout "$DROPOUT"})
  for s in $seeds; do
    $PY tools/finetune_compare_tokens.py init "$disc" "$d/init-$s" "$s" "$task"
    rm -rf "$d/a-$s" "$d/b-$s"
    $bin finetune --model "$d/init-$s" "${common[@]}" --seed "$s" --out "$d/a-$s"
    $bin finetune --model "$d/init-$s" "${common[@]}" --seed "$s" --out "$d/b-$s" --from-scratch
    THREADS=$threads $PY tools/finetune_compare_tokens.py torch "$d/init-$s" "$d/c-$s.json" "$s" "$task" "$lr" "$epochs" "$batch" "$len" "$stride"
  done
  first=${seeds%% *}
  $bin export "$d/a-$first" --out "$d/a-$first-export" >/dev/null
  $PY tools/finetune_compare_tokens.py check "$d/a-$first" "$d/a-$first-export" "$task" "$len" "$stride"
  $PY tools/finetune_compare_tokens.py table "$d" "$task" | tee "$d/table.md"
done
