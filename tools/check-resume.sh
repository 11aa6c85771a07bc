#!/usr/bin/env bash
# CI check for `electra-train` exact resume (issue 7), release build, well under 2 minutes:
#  1. an uninterrupted run of a small model on a small sharded corpus gives the reference metrics;
#  2. the same run killed with SIGKILL in the middle of writing a checkpoint (fault injection:
#     electra-dev crash-train, the same run with the kill) leaves no visible half checkpoint, and `--resume`
#     gives exactly the same metrics (bit for bit, timing fields aside) and the same final weights;
#  3. the same run SIGKILLed at several moments (a fraction of the uninterrupted duration) and
#     resumed each time: same metrics and weights;
#  4. resuming with shards of another vocabulary, or another model size, is an error naming both.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/fixture-lib.sh
PY=$(tools/venv.sh)
prep=.build/release/electra-prep
train=.build/release/electra-train
dev=.build/release/electra-dev
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-resume: FAIL: $*" >&2; exit 1; }
swift build -c release --product electra-prep > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of electra-prep failed"; }
swift build -c release --product electra-train > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of electra-train failed"; }
swift build -c release --product electra-dev > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of electra-dev failed"; }

# A small character-level vocabulary and a small corpus.
char_vocab > "$tmp/vocab.txt"
{ char_vocab; echo "israel"; } > "$tmp/vocab2.txt"
small_corpus "$tmp/corpus.txt"
for v in vocab vocab2; do
  $prep shard "$tmp/corpus.txt" --vocab "$tmp/$v.txt" --out "$tmp/data-$v" --max-seq-length 64 --seed 1 \
    --sequences-per-frame 32 > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
done

args=(--shards "$tmp/data-vocab" --embedding-size 16 --hidden-size 32 --layers 2 --heads 2 --generator-fraction 0.5
      --batch-size 8 --steps 36 --warmup-steps 5 --learning-rate 1e-3 --seed 11 --log-every 4 --eval-every 9
      --eval-batches 2 --save-every 6 --keep-checkpoints 2 --threads 2)
same() {   # run directory, what happened to it
  canonical_metrics "$1/metrics.jsonl" > "$tmp/got.txt"
  cmp -s "$tmp/got.txt" "$tmp/expected.txt" || { diff "$tmp/expected.txt" "$tmp/got.txt" | head -6; fail "$2: metrics differ from the uninterrupted run"; }
  cmp -s "$1/checkpoints/step-36/weights.bin" "$tmp/whole/checkpoints/step-36/weights.bin" || fail "$2: final weights differ"
}
resume_until_done() {   # run directory; resumes (or restarts when no checkpoint was completed) until step 36
  for _ in 1 2 3; do
    [ -d "$1/checkpoints/step-36" ] && return 0
    if ls "$1"/checkpoints/step-* > /dev/null 2>&1; then
      $train "${args[@]}" --out "$1" --resume > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "--resume failed"; }
      grep -q "resumed at step" "$tmp/log" || fail "--resume did not say where it resumed"
    else
      $train "${args[@]}" --out "$1" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "restart failed"; }
    fi
  done
  [ -d "$1/checkpoints/step-36" ] || fail "the run did not finish"
}

# 1. the uninterrupted run
start=$(date +%s.%N)
$train "${args[@]}" --out "$tmp/whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted run failed"; }
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
canonical_metrics "$tmp/whole/metrics.jsonl" > "$tmp/expected.txt"
[ "$(grep -c '"kind": "train"' "$tmp/expected.txt")" = 9 ] || fail "expected 9 training lines in metrics.jsonl"
[ "$(grep -c '"kind": "eval"' "$tmp/expected.txt")" = 4 ] || fail "expected 4 eval lines in metrics.jsonl"
[ "$(ls "$tmp/whole/checkpoints")" = "$(printf 'step-30\nstep-36')" ] || fail "expected checkpoints step-30 and step-36 (keep 2)"
echo "uninterrupted: 36 steps in ${took}s, $(wc -l < "$tmp/expected.txt") metric lines"

# 2. SIGKILL while the step-18 checkpoint is being written (after its files, before the rename)
set +e
$dev crash-train --kill-during-checkpoint 18 "${args[@]}" --out "$tmp/ckpt" > "$tmp/log" 2>&1 &
wait $!
status=$?
set -e
[ "$status" = 137 ] || { cat "$tmp/log"; fail "the fault-injected run was not killed (exit $status)"; }
[ "$(ls "$tmp/ckpt/checkpoints")" = "$(printf 'step-12\nstep-6')" ] || fail "visible checkpoints after the kill: $(ls "$tmp/ckpt/checkpoints")"
ls -a "$tmp/ckpt/checkpoints" | grep -q '^\.step-18\.tmp' || fail "the kill left no half-written step-18 (was the hook reached?)"
resume_until_done "$tmp/ckpt"
same "$tmp/ckpt" "SIGKILL during the step-18 checkpoint"
[ -z "$(ls -a "$tmp/ckpt/checkpoints" | grep '^\.step')" ] || fail "the half-written checkpoint was not cleaned up"
echo "SIGKILL during a checkpoint write: resumed from step 12, identical metrics and final weights"

# 3. SIGKILL at arbitrary moments
for fraction in 0.1 0.25 0.4 0.55 0.7 0.85; do
  delay=$(awk -v t="$took" -v f="$fraction" 'BEGIN {printf "%.3f", t * f}')
  run="$tmp/kill-$fraction"
  $train "${args[@]}" --out "$run" > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  newest=$(ls "$run/checkpoints" 2>/dev/null | sort -t- -k2 -n | tail -n 1 || true)  # killed before any: none
  resume_until_done "$run"
  same "$run" "SIGKILL after ${delay}s"
  echo "SIGKILL after ${delay}s (newest checkpoint: ${newest:-none}): identical metrics and final weights"
done

# 4. mismatches on resume
if $train "${args[@]}" --shards "$tmp/data-vocab2" --out "$tmp/whole" --steps 40 --resume > "$tmp/log" 2>&1; then
  fail "resuming with shards of another vocabulary was accepted"
fi
grep -q "vocabulary of 107 tokens.*use 108 tokens" "$tmp/log" || fail "the vocabulary error does not name both: $(cat "$tmp/log")"
if $train "${args[@]}" --hidden-size 64 --out "$tmp/whole" --steps 40 --resume > "$tmp/log" 2>&1; then
  fail "resuming with another model size was accepted"
fi
grep -q "hidden 32.*differs from the requested.*hidden 64" "$tmp/log" || fail "the configuration error does not name both: $(cat "$tmp/log")"
if $train "${args[@]}" --out "$tmp/whole" > "$tmp/log" 2>&1; then fail "a fresh run over an existing run was accepted"; fi
grep -q "pass --resume" "$tmp/log" || fail "the existing-run error does not say what to do: $(cat "$tmp/log")"
echo "mismatched vocabulary, model size, existing run: refused naming both"
echo "check-resume: OK"
