#!/usr/bin/env bash
# The pre-training run of the fine-tuning comparisons (tools/finetune-compare.sh,
# tools/finetune-compare-tokens.sh): its own vocabulary (8,192 pieces), shards and a tiny run on
# CORPUS, exported; prints the discriminator folder. One folder per setting under OUT, so a changed
# setting never reuses another's discriminator. Refuses a collapsed discriminator: the final eval's
# discriminator_spread (metrics.jsonl) must exceed 0.01 (Trainer.collapsedSpread).
# Usage: DISC=$(tools/compare-pretrain.sh CORPUS OUT)
#   PRETRAIN_STEPS=4000 PRETRAIN_LR=preset PRETRAIN_WARMUP=default   steps, peak learning rate and warm-up
#                                          (electra-train's defaults for the tiny preset unless given)
#   PACKING=lossless                       how the shards are packed (shard --packing: lossless or original)
#   THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=$1; out=$2
bin=${ELECTRA_TRAIN:-.build/release/electra-train}
prep=${ELECTRA_PREP:-.build/release/electra-prep}
steps=${PRETRAIN_STEPS:-4000}; lr=${PRETRAIN_LR:-preset}; warmup=${PRETRAIN_WARMUP:-default}; packing=${PACKING:-lossless}; threads=${THREADS:-2}
pre=$out/pretrain-$steps-$lr-$warmup-$packing
if [ ! -f "$pre/hf/discriminator/model.safetensors" ]; then
  rm -rf "$pre"
  echo "== pre-training on $corpus: $steps steps, learning rate $lr, warm-up $warmup" >&2
  $prep build-vocab "$corpus" --vocab-size 8192 --out "$pre/vocab/vocab.txt" >&2
  $prep shard "$corpus" --packing "$packing" --vocab "$pre/vocab/vocab.txt" --out "$pre/data" >&2
  rate=(); [ "$lr" = preset ] || rate=(--learning-rate "$lr"); [ "$warmup" = default ] || rate+=(--warmup-steps "$warmup")
  $bin --shards "$pre/data" --preset tiny --steps "$steps" --batch-size 32 "${rate[@]}" --log-every 50 --eval-every $((steps / 4)) --save-every "$steps" --threads "$threads" --out "$pre/run" >&2
  $bin export "$pre/run" --out "$pre/hf" >&2
fi
spread=$(python3 -c 'import json, sys
evals = [l for l in map(json.loads, open(sys.argv[1])) if l.get("kind") == "eval" and l.get("discriminator_spread") is not None]
print(evals[-1]["discriminator_spread"] if evals else 0)' "$pre/run/metrics.jsonl")
if ! python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0.01 else 1)' "$spread"; then
  echo "compare-pretrain: $pre/run collapsed (final discriminator_spread $spread <= 0.01); lower PRETRAIN_LR or train longer" >&2
  exit 1
fi
echo "compare-pretrain: $pre/run final discriminator_spread $spread" >&2
echo "$pre/hf/discriminator"
