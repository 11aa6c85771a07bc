#!/usr/bin/env bash
# electra-train finetune --resume after a SIGKILL: the run killed in its second epoch and resumed
# ends with the same best.bin and checkpoint.bin (byte for byte) and the same dev metrics as an
# uninterrupted run. Uses the model and task tools/finetune-proof.sh made (run that first).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
d=${1:-.build/finetune-proof}
[ -d "$d/disc" ] || { echo "check-finetune-resume: run tools/finetune-proof.sh first (it makes $d)" >&2; exit 1; }
args=(--model "$d/disc" --task custom --train "$d/train.tsv" --dev "$d/dev.tsv" --text-column a --text-pair-column b
      --label-column label --epochs 3 --batch-size 16 --threads 1 --checkpoint-every 10)
rm -rf "$d/resume-a" "$d/resume-b"
$bin finetune "${args[@]}" --out "$d/resume-a" > /dev/null
$bin finetune "${args[@]}" --out "$d/resume-b" > /dev/null &
pid=$!
until grep -q '"step":35,' "$d/resume-b/metrics.jsonl" 2>/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "check-finetune-resume: the run ended before it could be killed" >&2; exit 1; }
  sleep 0.1
done
kill -9 $pid; wait $pid 2>/dev/null || true
$bin finetune "${args[@]}" --out "$d/resume-b" --resume | grep resumed
cmp "$d/resume-a/best.bin" "$d/resume-b/best.bin"
cmp "$d/resume-a/checkpoint.bin" "$d/resume-b/checkpoint.bin"
diff <(grep '"eval"' "$d/resume-a/metrics.jsonl") <(grep '"eval"' "$d/resume-b/metrics.jsonl")
echo "check-finetune-resume: killed at step 35 and resumed: best.bin, checkpoint.bin and the dev metrics equal the uninterrupted run's"
