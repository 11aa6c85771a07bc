#!/usr/bin/env bash
# The tagging export against transformers, end to end through the CLI: a tiny random discriminator
# folder and 600 WNUT-17 training sentences (tools/tagging_proof.py make), electra-train finetune
# --task tagging (2 epochs), export, predict on WNUT-17's dev file, then transformers loads the
# export (no missing or unexpected weights) and pipeline("token-classification") tags every dev
# word as predict --logits did, with the same probability within 1e-4. A few minutes on 2 cores; no network once the venv exists.
# ELECTRA_TRAIN=path picks the binary (default: the debug build); WNUT17=dir the data.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh torch transformers safetensors numpy)
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
[ -x "$bin" ] || swift build --product electra-train >&2
dir=${1:-.build/tagging-proof}
wnut=${WNUT17:-/work/shared/data/wnut17}
$PY tools/tagging_proof.py make "$dir"
$bin finetune --model "$dir/disc" --task tagging --train "$dir/train.conll" --dev "$wnut/emerging.dev.conll" \
  --epochs 2 --batch-size 16 --learning-rate 3e-3 --max-length 512 --out "$dir/run"
$bin export "$dir/run" --out "$dir/export"
$bin predict --model "$dir/export" "$wnut/emerging.dev.conll" --logits --out "$dir/pred.conll"
$PY tools/tagging_proof.py check "$dir"
