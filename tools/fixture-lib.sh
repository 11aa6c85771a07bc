# Sourced by the check and benchmark scripts that train on a small fixture: the fixture and the
# comparison of metrics.jsonl without its timing fields. Defines functions only.

# A small character-level vocabulary (special tokens, punctuation, letters and digits with their
# ## continuations, and the KJV's commonest words), on standard output.
char_vocab() {
  printf '%s\n' '[PAD]' '[UNK]' '[CLS]' '[SEP]' '[MASK]'
  for c in '!' '"' "'" '(' ')' ',' '-' '.' ':' ';' '?' {a..z} {0..9}; do echo "$c"; done
  for c in {a..z} {0..9}; do echo "##$c"; done
  printf "%s\n" the and of to in that he shall unto lord his for they be is him not them it
}

# small_corpus OUT [LINES]: the first LINES (default 2000) lines of the sample corpus, or the
# committed tiny corpus where the sample has not been written.
small_corpus() {
  if [ -f data/sample/kjv.txt ]; then head -n "${2:-2000}" data/sample/kjv.txt > "$1"; else cp Tests/Fixtures/sharding/tiny-corpus.txt "$1"; fi
}

# canonical_metrics FILE: metrics.jsonl without the timing fields and the per-session system
# record (BLAS kernel, sgemm rate), one canonical line per entry.
canonical_metrics() {
  "${PY:-python3}" -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["kind"] == "system": continue
    for k in ("tokens_per_second", "examples_per_second", "elapsed_seconds", "communication_wait_seconds", "allreduce_seconds"): o.pop(k, None)
    print(json.dumps(o, sort_keys=True))' "$1"
}

# pretraining_fixture: check-resume's small pre-training case in $tmp (character vocabulary, the
# small corpus sharded into $tmp/data) and its arguments in the array `args` (36 steps of a
# 2-layer model, a checkpoint every 6); needs $prep, $tmp and fail.
pretraining_fixture() {
  char_vocab > "$tmp/vocab.txt"
  small_corpus "$tmp/corpus.txt"
  $prep shard "$tmp/corpus.txt" --vocab "$tmp/vocab.txt" --out "$tmp/data" --max-seq-length 64 --seed 1 \
    --sequences-per-frame 32 > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
  args=(--shards "$tmp/data" --embedding-size 16 --hidden-size 32 --layers 2 --heads 2 --generator-fraction 0.5
        --batch-size 8 --steps 36 --warmup-steps 5 --learning-rate 1e-3 --seed 11 --log-every 4 --eval-every 9
        --eval-batches 2 --save-every 6 --keep-checkpoints 2 --threads 2)
}
