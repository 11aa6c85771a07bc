#!/usr/bin/env bash
# The question-answering export against transformers, end to end through the CLI: a tiny random
# discriminator folder and XQuAD split by article (tools/qa_proof.py make), electra-train finetune
# --task squad (1 epoch, windows of 384 tokens), export, predict on the dev articles, then
# transformers loads the export (no missing or unexpected weights) and pipeline("question-answering")
# (transformers 4.57: version 5 has no such pipeline) with the same max_seq_len, doc_stride,
# max_question_len and max_answer_len gives predict's answers.
# Several minutes on 2 cores; no network once the venv exists. ELECTRA_TRAIN=path picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(tools/venv.sh torch transformers safetensors numpy)
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
[ -x "$bin" ] || swift build --product electra-train >&2
dir=${1:-.build/qa-proof}
$PY tools/qa_proof.py make "$dir"
$bin finetune --model "$dir/disc" --task squad --train "$dir/train.json" --dev "$dir/dev.json" \
  --epochs 1 --batch-size 16 --learning-rate 3e-3 --max-seq-length 384 --doc-stride 128 --out "$dir/run"
$bin export "$dir/run" --out "$dir/export"
$bin predict --model "$dir/export" "$dir/dev.json" --out "$dir/pred.json"
# transformers 5 removed pipeline("question-answering"): the check runs with transformers 4.57
# (and the tokenizers and huggingface_hub it accepts) from tools/.cache/transformers4, over the
# venv's torch.
tf4=tools/.cache/transformers4
if ! PYTHONPATH=$tf4 "$PY" -c 'import transformers, sys; sys.exit(not transformers.__version__.startswith("4."))' 2>/dev/null; then
  "$PY" -m pip install -q --target "$tf4" --no-deps "transformers>=4.50,<5" "tokenizers>=0.21,<0.23" "huggingface_hub>=0.30,<1.0" \
    requests urllib3 idna certifi charset_normalizer >&2
fi
PYTHONPATH=$tf4 $PY tools/qa_proof.py check "$dir"
