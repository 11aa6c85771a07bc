#!/usr/bin/env bash
# Exports a trained run and checks it in HuggingFace transformers (see tools/hf_proof.py).
# Needs torch + transformers in the venv (large); not run by CI.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/sample}
out=hf/$(basename "$run")
swift build -c release >/dev/null
.build/release/electra-train export "$run" --out "$out"
PY=$(tools/venv.sh torch transformers safetensors)
"$PY" tools/hf_proof.py "$out"
