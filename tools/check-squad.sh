#!/usr/bin/env bash
# electra-train finetune --task squad end to end through the CLI (CI): a tiny model folder (the
# committed BERT vocabulary, trained --from-scratch) on generated SQuAD v2.0 questions ("Where did
# NAME go?" over "In YEAR NAME went to PLACE with FRIEND.", and unanswerable ones about names not in
# the context); the dev evaluation is logged, predict writes the predictions file the official
# scripts read (every question), n-best and null odds beside it, the same from the run and from its
# ElectraForQuestionAnswering export; bad input is named and counted with nothing half-written: a
# JSON that is not SQuAD, an answer_start pointing elsewhere, an empty context, a question longer
# than --max-seq-length. System python3 writes the JSON (no packages, no network); about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
[ -x "$bin" ] || swift build --product electra-train >&2
d=.build/check-squad
rm -rf "$d" && mkdir -p "$d/model"
cp vocab/bert-base-uncased.txt "$d/model/vocab.txt"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$d/model/model.safetensors"   # no tensors: --from-scratch
cat > "$d/model/config.json" <<'JSON'
{"architectures": ["ElectraForPreTraining"], "model_type": "electra", "vocab_size": 30522, "embedding_size": 16,
 "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64}
JSON
python3 - "$d" <<'PY'
import json, random, sys
d = sys.argv[1]
names = ["david", "ruth", "moses", "aaron", "samuel", "esther", "jonah", "miriam"]
places = ["jerusalem", "egypt", "bethlehem", "nineveh", "jericho", "babylon"]
def make(n, seed, bad=False):
    rng = random.Random(seed)
    paragraphs = []
    for i in range(n):
        a, b = rng.sample(names, 2); p = rng.choice(places); y = str(rng.randint(1000, 1999))
        context = f"In {y} {a} went to {p} with {b}."
        other = rng.choice([x for x in names if x not in (a, b)])
        qas = [{"id": f"{seed}-{i}-where", "question": f"Where did {a} go?", "is_impossible": False,
                "answers": [{"text": p, "answer_start": context.index(p)}]},
               {"id": f"{seed}-{i}-who", "question": f"Who went with {a}?", "is_impossible": False,
                "answers": [{"text": b, "answer_start": context.rindex(b)}]},
               {"id": f"{seed}-{i}-none", "question": f"Where did {other} go?", "is_impossible": True, "answers": []}]
        paragraphs.append({"context": context, "qas": qas})
    if bad:
        paragraphs.append({"context": "In 1500 ruth went to egypt.", "qas": [{"id": "moved", "question": "Where?", "is_impossible": False,
                           "answers": [{"text": "egypt", "answer_start": 3}]}]})
        paragraphs.append({"context": "", "qas": [{"id": "empty", "question": "Where?", "is_impossible": True, "answers": []}]})
    return {"version": "v2.0", "data": [{"title": "generated", "paragraphs": paragraphs}]}
json.dump(make(150, 1, bad=True), open(f"{d}/train.json", "w"))
json.dump(make(30, 2), open(f"{d}/dev.json", "w"))
json.dump({"data": [{"title": "t", "rows": [1, 2]}]}, open(f"{d}/not-squad.json", "w"))
long = make(2, 3)
long["data"][0]["paragraphs"][0]["qas"][0]["question"] = "where " * 30 + "did he go?"
json.dump(long, open(f"{d}/long.json", "w"))
PY
fail() { echo "FAIL: $*" >&2; exit 1; }
args=(--model "$d/model" --from-scratch --task squad --max-seq-length 48 --doc-stride 16 --epochs 4 --batch-size 16
      --learning-rate 3e-3 --threads 1)
$bin finetune "${args[@]}" --train "$d/train.json" --dev "$d/dev.json" --out "$d/run" 2> "$d/finetune.err" | tee "$d/finetune.out"
grep -q "train.json: skipped 2 bad question(s) of 452" "$d/finetune.err" || fail "bad questions not counted: $(cat "$d/finetune.err")"
grep -q 'question moved: answer "egypt" is not at answer_start 3' "$d/finetune.err" || fail "the moved answer is not named"
grep -q "question empty: its paragraph's context is empty" "$d/finetune.err" || fail "the empty context is not named"
f1=$(grep '"kind":"eval"' "$d/run/metrics.jsonl" | tail -n 1 | sed -E 's/.*"best_f1":([0-9.e-]+).*/\1/')
[ -n "$f1" ] || fail "no best_f1 in the dev evaluation"

$bin predict --model "$d/run" "$d/dev.json" --out "$d/pred-run.json" 2> "$d/predict.err"
grep -q "SQuAD v2.0 (null threshold" "$d/predict.err" || fail "predict on a file with answers prints no EM/F1: $(cat "$d/predict.err")"
python3 - "$d" <<'PY' || fail "the predictions, n-best or null odds files are incomplete"
import json, sys
d = sys.argv[1]
ids = [q["id"] for a in json.load(open(f"{d}/dev.json"))["data"] for p in a["paragraphs"] for q in p["qas"]]
pred, nbest, odds = (json.load(open(f"{d}/pred-run{x}.json")) for x in ("", ".nbest", ".null_odds"))
assert sorted(pred) == sorted(ids) == sorted(nbest) == sorted(odds), "question ids differ"
assert all(isinstance(v, str) for v in pred.values()) and all(1 <= len(v) <= 21 for v in nbest.values())
PY
$bin export "$d/run" --out "$d/export" | grep -q ElectraForQuestionAnswering || fail "export is not an ElectraForQuestionAnswering"
$bin predict --model "$d/export" "$d/dev.json" --out "$d/pred-export.json" 2>/dev/null
cmp -s "$d/pred-run.json" "$d/pred-export.json" || fail "predict from the export differs from predict from the run"

refused() {   # refused NAME PATTERN FINETUNE-ARGS...: exits non-zero, says PATTERN, writes no run directory
  local name=$1 pattern=$2; shift 2
  if $bin finetune "${args[@]}" "$@" --out "$d/run-$name" > /dev/null 2> "$d/$name.err"; then fail "$name was accepted"; fi
  grep -q "$pattern" "$d/$name.err" || fail "$name: the error does not say \"$pattern\": $(cat "$d/$name.err")"
  [ ! -e "$d/run-$name" ] || fail "$name left $d/run-$name behind"
}
refused not-squad "not a SQuAD file" --train "$d/not-squad.json"
refused long-question "question tokens leave no room for the context in --max-seq-length 16" --train "$d/long.json" --max-seq-length 16
refused strict "2 bad question(s) (--strict)" --train "$d/train.json" --strict
echo "check-squad: ok (dev best F1 $f1; predictions, n-best and null odds for every question; run and export agree; bad input named, counted, refused with nothing written)"
