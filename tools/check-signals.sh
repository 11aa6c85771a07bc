#!/usr/bin/env bash
# CI check of SIGINT and SIGTERM (issue 27), release build, about a minute:
#  1. electra-train: SIGINT and SIGTERM in the middle of a run finish the step, checkpoint it, print
#     one line with the command to continue, exit 130 / 143; running that printed command ends with
#     exactly the uninterrupted run's metrics (timing fields aside) and final weights;
#  2. a second signal during the stop ends the process at once (exit 143 after SIGINT + SIGTERM),
#     the newest complete checkpoint intact, and --resume finishes the run identically;
#  3. under mpirun (when installed): SIGTERM to every rank stops all after the same step, rank 0
#     writing; the printed command finishes with the uninterrupted 2-rank run's metrics and weights;
#  4. electra-train finetune: SIGTERM mid-run, the printed command: same checkpoint.bin, best.bin
#     and metrics.jsonl (timing fields aside) as an uninterrupted run;
#  5. electra-prep shard: SIGINT mid-run leaves an index that verifies and lists every shard file on
#     disk; the printed command finishes with the uninterrupted run's shard bytes;
#  6. electra-prep build-vocab: SIGTERM while counting writes nothing and exits 143.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/fixture-lib.sh
config=${ELECTRA_CONFIG:-release}
prep=.build/$config/electra-prep
train=.build/$config/electra-train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-signals: FAIL: $*" >&2; exit 1; }
for product in electra-prep electra-train; do
  swift build -c "$config" --product $product > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "build of $product failed"; }
done
# canonical_metrics without python: drop the timing fields and the system records.
wait_for() {   # PID FILE PATTERN: waits until FILE holds PATTERN (fails if PID ends first)
  until grep -q "$3" "$2" 2>/dev/null; do kill -0 "$1" 2>/dev/null || fail "the run ended before the signal ($2 has no $3)"; sleep 0.02; done
}
finish() {   # PID EXPECTED-STATUS WHAT: waits for PID, checks its exit status
  set +e; wait "$1"; local status=$?; set -e
  [ "$status" = "$2" ] || { cat "$tmp/err" >&2 || true; fail "$3: exit $status, expected $2"; }
}
continue_with() {   # WHAT: runs the command the stop line printed
  local line cmd
  line=$(grep "to continue:\|to start again:" "$tmp/err") || { cat "$tmp/err" >&2; fail "$1: no line saying how to continue"; }
  [ "$(wc -l < "$tmp/err")" = 1 ] || { cat "$tmp/err" >&2; fail "$1: more than the one line on stderr"; }
  cmd=${line#*to continue: }
  echo "  $line"
  eval "$cmd" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "$1: the printed command failed"; }
}

pretraining_fixture   # check-resume's case: $tmp/data and args
$train "${args[@]}" --out "$tmp/whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted run failed"; }
canonical_metrics "$tmp/whole/metrics.jsonl" > "$tmp/expected.txt"
same() {   # RUN WHAT
  canonical_metrics "$1/metrics.jsonl" > "$tmp/got.txt"
  cmp -s "$tmp/got.txt" "$tmp/expected.txt" || { diff "$tmp/expected.txt" "$tmp/got.txt" | head -6; fail "$2: metrics differ from the uninterrupted run"; }
  cmp -s "$1/checkpoints/step-36/weights.bin" "$tmp/whole/checkpoints/step-36/weights.bin" || fail "$2: final weights differ"
}

# 1. one signal
for sig in INT TERM; do
  run="$tmp/run-$sig"
  $train "${args[@]}" --out "$run" > "$tmp/log" 2> "$tmp/err" &
  pid=$!
  wait_for $pid "$run/metrics.jsonl" '"step":12,'
  kill -$sig $pid
  finish $pid "$([ $sig = INT ] && echo 130 || echo 143)" "SIG$sig"
  grep -q "SIG$sig: stopped after step [0-9]*, checkpoint .*/checkpoints/step-[0-9]* written; to continue: .*--resume" "$tmp/err" \
    || { cat "$tmp/err"; fail "SIG$sig: the stop line"; }
  step=$(sed -E 's/.*stopped after step ([0-9]+).*/\1/' "$tmp/err")
  [ -f "$run/checkpoints/step-$step/weights.bin" ] || fail "SIG$sig: no checkpoint of step $step"
  [ -z "$(ls -a "$run/checkpoints" | grep '^\.step')" ] || fail "SIG$sig: a temporary checkpoint was left"
  continue_with "SIG$sig"
  grep -q "resumed at step $step" "$tmp/log" || fail "SIG$sig: the continuation did not resume at step $step"
  same "$run" "SIG$sig after step $step"
  echo "SIG$sig: stopped after step $step (exit $([ $sig = INT ] && echo 130 || echo 143)), continued: identical metrics and final weights"
done

# 2. a second signal: a model whose steps take long enough for SIGTERM to land inside the stop's step
big=(--shards "$tmp/data" --embedding-size 128 --hidden-size 256 --layers 4 --heads 4 --batch-size 32 --steps 40
     --save-every 4 --log-every 2 --eval-every 0 --seed 3 --threads 2)
run="$tmp/second"
$train "${big[@]}" --out "$run" > "$tmp/log" 2> "$tmp/err" &
pid=$!
wait_for $pid "$run/metrics.jsonl" '"step":6,'
kill -INT $pid; sleep 0.01; kill -TERM $pid
finish $pid 143 "SIGINT then SIGTERM"
grep -q "electra-train: second signal: stopped at once; the newest complete checkpoint in .* stays; continue with --resume" "$tmp/err" \
  || { cat "$tmp/err"; fail "the second signal's line"; }
newest=$(ls "$run/checkpoints" | sort -t- -k2 -n | tail -n 1)
[ -f "$run/checkpoints/$newest/state.json" ] && [ -f "$run/checkpoints/$newest/weights.bin" ] || fail "no complete checkpoint after the second signal"
$train "${big[@]}" --out "$run" --steps $((${newest#step-} + 1)) --resume > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "--resume after the second signal failed"; }
grep -q "resumed at step ${newest#step-}" "$tmp/log" || fail "the resume after the second signal did not start at $newest"
echo "SIGINT then SIGTERM: stopped at once (exit 143), $newest intact, --resume continued from it"

# 3. under mpirun: SIGTERM to every rank
if command -v mpirun > /dev/null; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  mpi=(mpirun -np 2 --oversubscribe --bind-to none)
  "${mpi[@]}" $train "${args[@]}" --threads 1 --out "$tmp/mpi-whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted mpirun run failed"; }
  canonical_metrics "$tmp/mpi-whole/metrics.jsonl" > "$tmp/mpi-expected.txt"
  run="$tmp/mpi-term"
  "${mpi[@]}" $train "${args[@]}" --threads 1 --out "$run" > "$tmp/log" 2> "$tmp/err" &
  pid=$!
  wait_for $pid "$run/metrics.jsonl" '"step":12,'
  ranks=$(pgrep -P $pid -f electra-train || true)
  [ "$(echo $ranks | wc -w)" = 2 ] || fail "mpirun: expected 2 ranks under pid $pid, found: $ranks"
  kill -TERM $ranks
  set +e; wait $pid; status=$?; set -e
  [ "$status" != 0 ] || fail "mpirun: the job exited 0 after SIGTERM"
  line=$(grep "to continue:" "$tmp/err") || { cat "$tmp/err"; fail "mpirun: no line saying how to continue"; }
  [ "$(grep -c "stopped after step" "$tmp/err")" = 1 ] || { cat "$tmp/err"; fail "mpirun: expected one stop line (rank 0's)"; }
  step=$(sed -E 's/.*stopped after step ([0-9]+).*/\1/' <<< "$line")
  [ -f "$run/checkpoints/step-$step/weights.bin" ] || fail "mpirun: no checkpoint of step $step"
  # The printed command is this rank's; the job is the same command under mpirun.
  "${mpi[@]}" $train "${args[@]}" --threads 1 --out "$run" --resume > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "mpirun --resume failed"; }
  canonical_metrics "$run/metrics.jsonl" | cmp -s - "$tmp/mpi-expected.txt" || fail "mpirun: metrics differ from the uninterrupted 2-rank run"
  cmp -s "$run/checkpoints/step-36/weights.bin" "$tmp/mpi-whole/checkpoints/step-36/weights.bin" || fail "mpirun: final weights differ"
  echo "mpirun, SIGTERM to both ranks: both stopped after step $step (mpirun exit $status), rank 0 wrote it; resumed: identical to the uninterrupted 2-rank run"
  # SIGTERM to mpirun itself: it forwards it to the ranks (its exit status and relaying of the
  # ranks' last line are Open MPI's); the stop's checkpoint is complete and resumes identically.
  run="$tmp/mpi-mpirun"
  "${mpi[@]}" $train "${args[@]}" --threads 1 --out "$run" > "$tmp/log" 2> "$tmp/err" &
  pid=$!
  wait_for $pid "$run/metrics.jsonl" '"step":12,'
  kill -TERM $pid
  set +e; wait $pid; status=$?; set -e
  newest=$(ls "$run/checkpoints" | sort -t- -k2 -n | tail -n 1)
  [ "${newest#step-}" -ge 12 ] && [ -f "$run/checkpoints/$newest/state.json" ] || fail "mpirun SIGTERM: no complete checkpoint of the stop ($newest)"
  if [ "$newest" = step-36 ]; then
    # mpirun forwards the signal when it gets to it: on a loaded machine the 36 steps can end first.
    echo "SIGTERM to mpirun: the job had finished all 36 steps before the forwarded signal reached the ranks (mpirun exit $status); nothing to resume"
  else
    "${mpi[@]}" $train "${args[@]}" --threads 1 --out "$run" --resume > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "mpirun --resume after SIGTERM to mpirun failed"; }
  fi
  canonical_metrics "$run/metrics.jsonl" | cmp -s - "$tmp/mpi-expected.txt" || fail "mpirun SIGTERM: metrics differ from the uninterrupted 2-rank run"
  cmp -s "$run/checkpoints/step-36/weights.bin" "$tmp/mpi-whole/checkpoints/step-36/weights.bin" || fail "mpirun SIGTERM: final weights differ"
  echo "SIGTERM to mpirun: forwarded, the ranks stopped with $newest complete (mpirun exit $status); resumed: identical"
else
  echo "mpirun not installed: the 2-rank case is not checked"
fi

# 4. fine-tuning (the fixture of check-finetune-resume)
d="$tmp/ft"; mkdir -p "$d/model"
cp vocab/bert-base-uncased.txt "$d/model/vocab.txt"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$d/model/model.safetensors"
cat > "$d/model/config.json" <<'EOF'
{"architectures": ["ElectraForPreTraining"], "model_type": "electra", "vocab_size": 30522, "embedding_size": 16,
 "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64}
EOF
for part in train:400 dev:100; do
  awk -v n="${part#*:}" 'BEGIN { srand(n); split("the king|a shepherd|the people|my brother", s, "|")
    print "a\tb\tlabel"
    for (i = 0; i < n; i++) { x = int(rand() * 4) + 1; y = rand() < 0.5 ? x : int(rand() * 4) + 1
      print s[x] " went up\t" s[y] " came down\t" (x == y ? "yes" : "no") } }' > "$d/${part%%:*}.tsv"
done
ft=(finetune --model "$d/model" --from-scratch --task custom --train "$d/train.tsv" --dev "$d/dev.tsv" --text-column a
    --text-pair-column b --label-column label --epochs 3 --batch-size 16 --learning-rate 1e-3 --threads 1 --checkpoint-every 10)
$train "${ft[@]}" --out "$d/a" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted fine-tuning run failed"; }
$train "${ft[@]}" --out "$d/b" > "$tmp/log" 2> "$tmp/err" &
pid=$!
wait_for $pid "$d/b/metrics.jsonl" '"step" *: *20'
kill -TERM $pid
finish $pid 143 "finetune SIGTERM"
grep -q "electra-train finetune: SIGTERM: stopped after step [0-9]*, checkpoint .*/checkpoint.bin written; to continue: .*--resume" "$tmp/err" \
  || { cat "$tmp/err"; fail "finetune: the stop line"; }
step=$(sed -E 's/.*stopped after step ([0-9]+).*/\1/' "$tmp/err")
continue_with "finetune SIGTERM"
grep -q "resumed at step $step" "$tmp/log" || fail "finetune: the continuation did not resume at step $step"
cmp -s "$d/a/checkpoint.bin" "$d/b/checkpoint.bin" || fail "finetune: checkpoint.bin differs"
cmp -s "$d/a/best.bin" "$d/b/best.bin" || fail "finetune: best.bin differs"
cmp -s <(canonical_metrics "$d/a/metrics.jsonl") <(canonical_metrics "$d/b/metrics.jsonl") || fail "finetune: metrics.jsonl differs (timing aside)"
echo "finetune SIGTERM: stopped after step $step (exit 143), continued: identical checkpoint.bin, best.bin, metrics"

# 5. shard: eight inputs, one thread; SIGINT once the first is done
for i in 1 2 3 4 5 6 7 8; do
  awk -v seed=$i 'BEGIN { srand(seed); split("the and of to in that he shall unto lord his for they be is him not them it israel", w, " ")
    for (l = 0; l < 40000; l++) { n = int(rand() * 15) + 3; s = ""; for (k = 0; k < n; k++) s = s w[int(rand() * 21) + 1] " "
      print s "."; if (rand() < 0.1) print "" } }' > "$tmp/in$i.txt"
done
sargs=("$tmp"/in?.txt --vocab "$tmp/vocab.txt" --max-seq-length 64 --threads 1 --sequences-per-frame 64 --frames-per-shard 4)
$prep shard "${sargs[@]}" --out "$tmp/shard-whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted shard run failed"; }
$prep shard "${sargs[@]}" --out "$tmp/shard-int" > "$tmp/log" 2> "$tmp/err.all" &
pid=$!
wait_for $pid "$tmp/err.all" 'done: .*in4.txt'
kill -INT $pid
set +e; wait $pid; status=$?; set -e
grep "electra-prep shard: SIGINT" "$tmp/err.all" > "$tmp/err" || true
[ "$status" = 130 ] || { cat "$tmp/err.all"; fail "shard SIGINT: exit $status, expected 130"; }
grep -q "stopped \(inside\|before\) .*; to continue: " "$tmp/err" || { cat "$tmp/err.all"; fail "shard: the stop line"; }
$prep verify "$tmp/shard-int" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard: the stopped directory does not verify"; }
listed=$(sqlite3 "$tmp/shard-int/index.sqlite" 'SELECT path FROM shards ORDER BY path' 2>/dev/null || echo "?")
ondisk=$(cd "$tmp/shard-int" && ls -A shards | sed 's|^|shards/|' | sort)
[ "$listed" = "?" ] || [ "$listed" = "$ondisk" ] || fail "shard: files on disk that the index does not list: $(comm -13 <(echo "$listed") <(echo "$ondisk"))"
kept=$(echo "$ondisk" | grep -c . || true)
continue_with "shard SIGINT"
grep -q "removed .* incomplete shard" "$tmp/log" && fail "shard: the rerun had leftovers to remove"
for f in $(cd "$tmp/shard-whole" && ls shards); do
  cmp -s "$tmp/shard-whole/shards/$f" "$tmp/shard-int/shards/$f" || fail "shard: $f differs from the uninterrupted run's"
done
[ "$(ls "$tmp/shard-whole/shards" | wc -l)" = "$(ls "$tmp/shard-int/shards" | wc -l)" ] || fail "shard: another number of shard files"
echo "shard SIGINT: $(sed -E 's/.*: (stopped (inside|before) [^ :]*).*/\1/' "$tmp/err") (exit 130), $kept committed shard file(s) kept; the rerun gave identical shards"

# 6. build-vocab: SIGTERM while counting a large input
awk 'BEGIN { srand(5); for (l = 0; l < 150000; l++) { s = ""; for (k = 0; k < 12; k++) { w = ""
  for (c = 0; c < 3 + int(rand() * 6); c++) w = w sprintf("%c", 97 + int(rand() * 26)); s = s w " " }; print s } }' > "$tmp/big.txt"   # 10 MB of random words
$prep build-vocab "$tmp/big.txt" --out "$tmp/bv/vocab.txt" --vocab-size 200 --threads 1 > "$tmp/log" 2> "$tmp/err.all" &
pid=$!
wait_for $pid "$tmp/log" 'build-vocab: writing'
kill -TERM $pid
set +e; wait $pid; status=$?; set -e
grep "electra-prep build-vocab: SIGTERM" "$tmp/err.all" > "$tmp/err" || true
[ "$status" = 143 ] || { cat "$tmp/err.all"; fail "build-vocab SIGTERM: exit $status, expected 143"; }
grep -q "stopped before .*vocab.txt was written (nothing written; .*); to start again: " "$tmp/err" || { cat "$tmp/err.all"; fail "build-vocab: the stop line"; }
[ ! -e "$tmp/bv/vocab.txt" ] && [ ! -e "$tmp/bv/tokenizer_config.json" ] || fail "build-vocab: a file was written after the stop"
echo "build-vocab SIGTERM: exit 143, nothing written"
echo "check-signals: OK"
