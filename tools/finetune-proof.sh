#!/usr/bin/env bash
# The fine-tuning export against transformers, end to end through the CLI: a tiny random
# discriminator folder and a generated pair task (tools/finetune_proof.py make), electra-train
# finetune, export, predict --logits, then transformers loads the export (no missing or unexpected
# weights) and its logits on the 100 dev rows equal ours within 1e-4. Under a minute; no network
# once the venv exists. ELECTRA_TRAIN=path picks the binary (default: the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh torch transformers safetensors numpy)
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
[ -x "$bin" ] || swift build --product electra-train >&2
dir=${1:-.build/finetune-proof}
$PY tools/finetune_proof.py make "$dir"
$bin finetune --model "$dir/disc" --task custom --train "$dir/train.tsv" --dev "$dir/dev.tsv" \
  --text-column a --text-pair-column b --label-column label --epochs 2 --batch-size 16 --learning-rate 3e-4 --out "$dir/run"
$bin export "$dir/run" --out "$dir/export"
$bin predict --model "$dir/export" "$dir/dev.tsv" --logits --out "$dir/pred.tsv"
$PY tools/finetune_proof.py check "$dir"
