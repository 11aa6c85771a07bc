#!/usr/bin/env bash
# electra-train finetune --task tagging end to end through the CLI (CI): a tiny model folder
# (sizes and the committed BERT vocabulary, trained --from-scratch) on a generated CoNLL task
# (names and places as B-/I- spans); the dev F1 rises, predict writes the dev file back with a
# predicted column (the same from the run and from its ElectraForTokenClassification export), and
# bad input is named and counted with nothing half-written: a line of three columns (warned, its
# sentence skipped), a dev tag never seen in training and a file with no usable sentence (refused
# before the run directory exists). No Python, no network; about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ELECTRA_TRAIN:-.build/debug/electra-train}
[ -x "$bin" ] || swift build --product electra-train >&2
d=.build/check-tagging
rm -rf "$d" && mkdir -p "$d/model"
cp vocab/bert-base-uncased.txt "$d/model/vocab.txt"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$d/model/model.safetensors"   # no tensors: --from-scratch
cat > "$d/model/config.json" <<'JSON'
{"architectures": ["ElectraForPreTraining"], "model_type": "electra", "vocab_size": 30522, "embedding_size": 16,
 "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64}
JSON
gen() {   # gen N SEED: sentences "PERSON went to PLACE with PERSON", names one or two words
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed); np = split("david|king david|moses|aaron|the prophet samuel|ruth", p, "|")
    nl = split("jerusalem|the river jordan|egypt|mount sinai|bethlehem", l, "|"); nv = split("went to|looked upon|came from|dwelt in", v, "|")
    for (i = 0; i < n; i++) {
      x = int(rand() * np) + 1; y = int(rand() * nl) + 1; z = int(rand() * nv) + 1
      span(p[x], "person"); words(v[z]); span(l[y], "location"); print ".\tO"; print "" } }
    function words(s,   w, k, i) { k = split(s, w, " "); for (i = 1; i <= k; i++) print w[i] "\tO" }
    function span(s, t,   w, k, i) { k = split(s, w, " "); for (i = 1; i <= k; i++) print w[i] "\t" (i == 1 ? "B-" : "I-") t }'
}
gen 300 1 > "$d/train.conll"
gen 60 2 > "$d/dev.conll"
printf 'moses\tB-person\textra\nwent\tO\n\n' >> "$d/train.conll"     # a line of three columns: its sentence is skipped
fail() { echo "FAIL: $*" >&2; exit 1; }

$bin finetune --model "$d/model" --from-scratch --task tagging --train "$d/train.conll" --dev "$d/dev.conll" \
  --epochs 2 --batch-size 16 --learning-rate 1e-3 --threads 1 --out "$d/run" 2> "$d/finetune.err" | tee "$d/finetune.out"
grep -q "train.conll: 1 bad lines; 1 sentences skipped, 300 kept" "$d/finetune.err" || fail "the three-column line is not reported: $(cat "$d/finetune.err")"
grep -q "train.conll:$(( $(wc -l < "$d/train.conll") - 2 )): 3 columns" "$d/finetune.err" || fail "the three-column line is not named by file:line"
f1=$(grep '"kind":"eval"' "$d/run/metrics.jsonl" | tail -n 1 | sed -E 's/.*"f1":([0-9.e-]+).*/\1/')
awk -v f="$f1" 'BEGIN { exit !(f > 0.9) }' || fail "dev entity F1 after 2 epochs is $f1 (expected > 0.9)"

$bin predict --model "$d/run" "$d/dev.conll" --out "$d/pred-run.conll" 2> "$d/predict.err"
grep -q "entities: precision" "$d/predict.err" || fail "predict on a tagged file prints no entity scores"
[ "$(grep -c . "$d/pred-run.conll")" = "$(grep -c . "$d/dev.conll")" ] || fail "predict did not write every token line back"
awk -F'\t' 'NF && NF != 3 { bad = 1 } END { exit bad }' "$d/pred-run.conll" || fail "predicted lines are not token<TAB>tag<TAB>predicted"
$bin export "$d/run" --out "$d/export" | grep -q ElectraForTokenClassification || fail "export is not an ElectraForTokenClassification"
grep -q '"ElectraForTokenClassification"' "$d/export/config.json" || fail "config.json names another architecture"
$bin predict --model "$d/export" "$d/dev.conll" --out "$d/pred-export.conll" 2>/dev/null
cmp -s "$d/pred-run.conll" "$d/pred-export.conll" || fail "predict from the export differs from predict from the run"
cut -f1 "$d/dev.conll" > "$d/plain.conll"                                   # tokens only (no tab: written back with a space)
$bin predict --model "$d/export" "$d/plain.conll" > "$d/pred-plain.conll" 2>/dev/null
[ "$(awk '{ print $NF }' "$d/pred-plain.conll")" = "$(awk '{ print $NF }' "$d/pred-run.conll")" ] || fail "predict on a tokens-only file gives other tags"

# A dev tag never seen in training: refused, named and counted, no run directory.
{ cat "$d/dev.conll"; printf 'pharaoh\tB-king\nof\tO\negypt\tB-location\n\nhiram\tB-king\n\n'; } > "$d/dev-unseen.conll"
if $bin finetune --model "$d/model" --from-scratch --task tagging --train "$d/train.conll" --dev "$d/dev-unseen.conll" \
     --out "$d/run-unseen" 2> "$d/unseen.err" > /dev/null; then fail "a dev tag never seen in training was accepted"; fi
grep -q "B-king: 2 times, first at $d/dev-unseen.conll:$(( $(wc -l < "$d/dev.conll") + 1 ))" "$d/unseen.err" || fail "the unseen tag is not named and counted: $(cat "$d/unseen.err")"
[ ! -e "$d/run-unseen" ] || fail "a refused run left $d/run-unseen behind"
# A file with no usable sentence (every line of another width than the first): refused, nothing written.
printf 'a\tO\tx\n\nb\tO\n' > "$d/bad.conll"
if $bin finetune --model "$d/model" --from-scratch --task tagging --train "$d/bad.conll" --out "$d/run-bad" 2> "$d/bad.err" > /dev/null; then
  fail "a file without a usable sentence was accepted"; fi
grep -q "no usable sentence" "$d/bad.err" || fail "the unusable file's error does not say why: $(cat "$d/bad.err")"
[ ! -e "$d/run-bad" ] || fail "a refused run left $d/run-bad behind"
echo "check-tagging: ok (dev entity F1 $f1; predict from run and export equal; bad lines named; unseen dev tag and unusable file refused with nothing written)"
