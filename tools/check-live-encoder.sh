#!/usr/bin/env bash
# CI check (issue 28): a run at the tiny preset's defaults keeps a live discriminator. Learns the
# sample corpus's vocabulary (8,192 tokens), shards it (lossless packing) and trains with no
# training flags at all (electra-train's defaults: tiny preset, 300 steps, its rate and warm-up),
# then requires every held-out evaluation's last-layer spread (discriminator_spread: per hidden
# unit the standard deviation over all real positions, averaged over units) to stay above
# Trainer.collapsedSpread (0.01) and the run not to print the collapse warning. A collapsed
# encoder gives the same vector at every position (spread under 0.001, ours and PyTorch's alike:
# tools/compare-learning.sh); live runs stay above 0.05. Under the old default (1e-3, warm-up 50)
# this check fails: spread 0.0000 from step 100 on. About 2-3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-live-encoder: FAIL: $*" >&2; exit 1; }
swift build -c release > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build failed"; }
bin=$(swift build -c release --show-bin-path)
[ -f data/sample/kjv.txt ] || tools/make-sample-corpus.sh

"$bin/electra-prep" build-vocab data/sample/ --vocab-size 8192 --out "$tmp/vocab/vocab.txt" > "$tmp/log" 2>&1 \
  || { cat "$tmp/log"; fail "build-vocab failed"; }
"$bin/electra-prep" shard data/sample/ --vocab "$tmp/vocab/vocab.txt" --out "$tmp/data" > "$tmp/log" 2>&1 \
  || { cat "$tmp/log"; fail "shard failed"; }
"$bin/electra-train" --shards "$tmp/data" --out "$tmp/run" > "$tmp/train.log" 2>&1 \
  || { tail -20 "$tmp/train.log"; fail "electra-train at its defaults failed"; }
grep -E "^  step:|^eval @" "$tmp/train.log" | sed 's/^/  /'
if grep -q "discriminator has collapsed" "$tmp/train.log"; then fail "the run printed the collapse warning"; fi
python3 - "$tmp/run/metrics.jsonl" <<'PY' || fail "the discriminator collapsed at the defaults (see above)"
import json, sys
floor = 0.01   # Trainer.collapsedSpread
evals = [json.loads(l) for l in open(sys.argv[1]) if '"kind":"eval"' in l]
assert len(evals) >= 3, f"expected an evaluation every 100 steps, got {len(evals)}"
low = [(e["step"], e["discriminator_spread"]) for e in evals if e["discriminator_spread"] < floor]
for step, spread in low:
    print(f"  step {step}: last-layer spread {spread:.5f} under {floor}")
last = evals[-1]
print(f"  last evaluation (step {last['step']}): spread {last['discriminator_spread']:.4f}, "
      f"AUC {last['discriminator_auc']:.3f}, generator accuracy {last['generator_accuracy']:.3f}")
sys.exit(1 if low else 0)
PY
echo "check-live-encoder: OK (the discriminator stays live at electra-train's defaults)"
