#!/usr/bin/env bash
# electra-train finetune --resume after a SIGKILL (CI): a run killed in its second epoch and resumed
# ends with the same best.bin and checkpoint.bin (byte for byte) and the same dev metrics as an
# uninterrupted run. Self-contained: a tiny model folder (sizes and the committed BERT vocabulary,
# trained --from-scratch) and a generated sentence-pair task; no Python, no network.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
[ -x "$bin" ] || swift build --product electra-train >&2
d=.build/check-finetune-resume
rm -rf "$d" && mkdir -p "$d/model"
cp vocab/bert-base-uncased.txt "$d/model/vocab.txt"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$d/model/model.safetensors"   # no tensors: --from-scratch
cat > "$d/model/config.json" <<'EOF'
{"architectures": ["ElectraForPreTraining"], "model_type": "electra", "vocab_size": 30522, "embedding_size": 16,
 "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64}
EOF
# "yes" when both sentences have the same subject.
for part in train:400 dev:100; do
  awk -v n="${part#*:}" -v seed="${part#*:}" 'BEGIN {
    srand(seed); split("the king|a shepherd|the people|my brother|the prophet|a stranger", s, "|")
    split("went up to|spoke unto|looked upon|walked with", v, "|"); split("the temple|the river|the gate|the sea", o, "|")
    print "a\tb\tlabel"
    for (i = 0; i < n; i++) {
      x = int(rand() * 6) + 1; y = rand() < 0.5 ? x : int(rand() * 6) + 1
      print s[x] " " v[int(rand() * 4) + 1] " " o[int(rand() * 4) + 1] "\t" s[y] " " v[int(rand() * 4) + 1] " " o[int(rand() * 4) + 1] "\t" (x == y ? "yes" : "no")
    } }' > "$d/${part%%:*}.tsv"
done
args=(--model "$d/model" --from-scratch --task custom --train "$d/train.tsv" --dev "$d/dev.tsv" --text-column a
      --text-pair-column b --label-column label --epochs 3 --batch-size 16 --learning-rate 1e-3 --threads 1 --checkpoint-every 10)
$bin finetune "${args[@]}" --out "$d/a" > /dev/null
# Starting again into a finished run is refused: exit 64, the message, and finetune's own help named
# (not the root command's usage line).
set +e; again=$($bin finetune "${args[@]}" --out "$d/a" 2>&1); rc=$?; set -e
if [ $rc != 64 ] || ! grep -q "already holds a fine-tuning run" <<<"$again" || ! grep -q "'electra-train finetune --help'" <<<"$again" \
   || grep -q "<subcommand>" <<<"$again"; then
  echo "check-finetune-resume: a second run into $d/a was not refused as expected (exit $rc):" >&2; echo "$again" >&2; exit 1
fi
$bin finetune "${args[@]}" --out "$d/b" > /dev/null &
pid=$!
until grep -q '"step":35,' "$d/b/metrics.jsonl" 2>/dev/null; do
  kill -0 $pid 2>/dev/null || { echo "check-finetune-resume: the run ended before it could be killed" >&2; exit 1; }
  sleep 0.05
done
kill -9 $pid; wait $pid 2>/dev/null || true
$bin finetune "${args[@]}" --out "$d/b" --resume | grep resumed
cmp "$d/a/best.bin" "$d/b/best.bin"
cmp "$d/a/checkpoint.bin" "$d/b/checkpoint.bin"
diff <(grep '"eval"' "$d/a/metrics.jsonl") <(grep '"eval"' "$d/b/metrics.jsonl")
echo "check-finetune-resume: a second start into a finished run is refused (exit 64, names finetune's help)"
echo "check-finetune-resume: killed after step 35 and resumed: best.bin, checkpoint.bin and the dev metrics equal the uninterrupted run's"
grep '"eval"' "$d/a/metrics.jsonl" | tail -1
