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
    for k in ("tokens_per_second", "elapsed_seconds", "communication_wait_seconds", "allreduce_seconds"): o.pop(k, None)
    print(json.dumps(o, sort_keys=True))' "$1"
}
