#!/usr/bin/env bash
# CI check for `mpirun -np N electra-train` (issue 14), release build, 2 ranks on this machine
# (--oversubscribe --bind-to none), a small model on a small sharded corpus, a few steps:
#  1. 2 ranks x B/2 rows give metrics.jsonl (timing fields aside) and final weights identical, bit
#     for bit, to 1 process with --accumulate 2 (each process 1 compute thread);
#  2. 2 ranks against 1 process with neither: the same within float tolerance (stated below);
#  3. the 2-rank run over TCP only (--mca btl tcp,self): bit-identical to 1.;
#  4. 2 ranks killed while writing a checkpoint, resumed with 1 process --accumulate 2:
#     bit-identical to the uninterrupted 2-rank run;
#  5. SIGKILL of one rank mid-run: mpirun exits non-zero within seconds, the newest checkpoint is
#     intact, and --resume (2 ranks) continues bit-identically;
#  6. a rank that stops answering (SIGSTOP) is caught by --stall-timeout with a clear message;
#  7. a rank whose parameters changed is caught by the parameter checksum, named;
#  8. a batch that does not split over the ranks is a clear error.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/fixture-lib.sh
command -v mpirun > /dev/null || { echo "check-mpi: mpirun not found: run tools/setup.sh (openmpi-bin libopenmpi-dev)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
prep=.build/release/electra-prep
train=$PWD/.build/release/electra-train
dev=$PWD/.build/release/electra-dev
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-mpi: FAIL: $*" >&2; exit 1; }
for product in electra-prep electra-train electra-dev; do
  swift build -c release --product $product > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of $product failed"; }
done
mpi=(mpirun -np 2 --oversubscribe --bind-to none)

char_vocab > "$tmp/vocab.txt"
small_corpus "$tmp/corpus.txt"
$prep shard "$tmp/corpus.txt" --vocab "$tmp/vocab.txt" --out "$tmp/data" --max-seq-length 64 --seed 1 \
  --sequences-per-frame 32 > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }

steps=40
args=(--shards "$tmp/data" --embedding-size 16 --hidden-size 32 --layers 2 --heads 2 --generator-fraction 0.5
      --batch-size 8 --steps $steps --warmup-steps 5 --learning-rate 1e-3 --seed 11 --log-every 4 --eval-every 10
      --eval-batches 2 --save-every 8 --keep-checkpoints 10 --threads 1 --checksum-every 5)
final=checkpoints/step-$steps/weights.bin
identical() {   # run directory, reference run directory, what
  canonical_metrics "$1/metrics.jsonl" > "$tmp/got.txt"
  canonical_metrics "$2/metrics.jsonl" > "$tmp/expected.txt"
  cmp -s "$tmp/got.txt" "$tmp/expected.txt" || { diff "$tmp/expected.txt" "$tmp/got.txt" | head -6; fail "$3: metrics differ"; }
  cmp -s "$1/$final" "$2/$final" || fail "$3: final weights differ"
}
run1() { "$train" "${args[@]}" "$@" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "electra-train $* failed"; }; }
run2() { "${mpi[@]}" "$@" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "mpirun $* failed"; }; }

# 1. 2 ranks = 1 process --accumulate 2, bit for bit
start=$(date +%s.%N)
run2 "$train" "${args[@]}" --out "$tmp/ranks2"
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
grep -q "split: 2 rank(s) x 1 micro-batch(es) of 4 rows" "$tmp/log" || { cat "$tmp/log"; fail "the 2-rank run did not say how it split the batch"; }
[ "$(grep -c '^electra-train:' "$tmp/log")" = 1 ] || fail "more than one rank printed the run's header"
run1 --accumulate 2 --out "$tmp/accumulate2"
identical "$tmp/ranks2" "$tmp/accumulate2" "2 ranks vs 1 process --accumulate 2"
[ "$(canonical_metrics "$tmp/ranks2/metrics.jsonl" | grep -c '"kind": "eval"')" = 4 ] || fail "expected 4 eval lines"
grep -q '"communication_wait_seconds"' "$tmp/ranks2/metrics.jsonl" || fail "metrics.jsonl has no communication_wait_seconds"
echo "2 ranks x 4 rows (${took}s) = 1 process --accumulate 2: identical metrics and final weights ($steps steps)"

# 2. 2 ranks vs 1 process, neither: float tolerance
run1 --out "$tmp/plain"
python3 - "$tmp/ranks2" "$tmp/plain" "$final" <<'PY' || fail "2 ranks vs 1 process: outside the tolerance"
import json, struct, sys
a, b, final = sys.argv[1:4]
def lines(run):
    return [o for o in map(json.loads, open(f"{run}/metrics.jsonl")) if o["kind"] != "system"]
worst = 0.0
for x, y in zip(lines(a), lines(b), strict=True):
    for k in ("loss", "generator_loss", "discriminator_loss"):
        worst = max(worst, abs(x[k] - y[k]) / max(abs(y[k]), 1e-6))
def params(path):   # the param/ tensors of a TensorFile (Model/TensorFile.swift)
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[16:24])[0]
    header = json.loads(raw[24 : 24 + n])
    data = 24 + n + (-(24 + n)) % 64
    out = []
    for t in header["tensors"]:
        if t["name"].startswith("param/"):
            count = 1
            for d in t["shape"]: count *= d
            start = data + 4 * t["offset"]
            out += struct.unpack(f"<{count}f", raw[start : start + 4 * count])
    return out
fa, fb = params(f"{a}/{final}"), params(f"{b}/{final}")
assert len(fa) == len(fb) > 0
dw = max(abs(p - q) for p, q in zip(fa, fb))
# tolerances: losses within 1e-4 relative, parameters within 1e-4 absolute (float32 sums in another order)
print(f"2 ranks vs 1 process (no accumulation): losses within {worst:.2e} relative, parameters within {dw:.2e} absolute after {len(lines(a))} metric lines; tolerance 1e-4 / 1e-4")
sys.exit(0 if worst <= 1e-4 and dw <= 1e-4 else 1)
PY

# 3. over TCP only
run2 --mca btl tcp,self "$train" "${args[@]}" --out "$tmp/tcp"
identical "$tmp/tcp" "$tmp/ranks2" "2 ranks over TCP (--mca btl tcp,self)"
echo "2 ranks over TCP (btl tcp,self): identical to shared memory"

# 4. 2 ranks killed while writing the step-24 checkpoint, resumed with 1 process --accumulate 2
set +e
"${mpi[@]}" "$dev" crash-train --kill-during-checkpoint 24 "${args[@]}" --out "$tmp/cross" > "$tmp/log" 2>&1
status=$?
set -e
[ "$status" != 0 ] || { cat "$tmp/log"; fail "the fault-injected 2-rank run was not stopped"; }
[ "$(ls "$tmp/cross/checkpoints")" = "$(printf 'step-16\nstep-8')" ] || fail "visible checkpoints after the kill: $(ls "$tmp/cross/checkpoints")"
run1 --accumulate 2 --out "$tmp/cross" --resume
grep -q "resumed at step 16" "$tmp/log" || { cat "$tmp/log"; fail "did not resume at step 16"; }
identical "$tmp/cross" "$tmp/ranks2" "2 ranks killed at step 24, resumed with 1 process --accumulate 2"
echo "2 ranks killed during the step-24 checkpoint, resumed by 1 process --accumulate 2: identical (mpirun exit $status)"

# 5. SIGKILL one rank mid-run (as soon as the step-8 checkpoint is there)
rank1() {   # the pid of rank 1 of the running job
  for pid in $(pgrep -f "$train" || true); do
    if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then echo "$pid"; fi
  done
}
"${mpi[@]}" "$train" "${args[@]}" --out "$tmp/killed" > "$tmp/killed.log" 2>&1 &
launcher=$!
for _ in $(seq 1000); do [ -d "$tmp/killed/checkpoints/step-8" ] && break; sleep 0.01; done
victim=$(rank1)
[ -n "$victim" ] || { cat "$tmp/killed.log"; fail "rank 1 not found"; }
kill -9 "$victim"
killed_at=$(date +%s.%N)
set +e
wait "$launcher"
status=$?
set -e
ended=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
[ "$status" != 0 ] || fail "mpirun exited 0 after a rank was killed"
[ ! -d "$tmp/killed/checkpoints/step-$steps" ] || fail "the run finished before rank 1 was killed"
awk -v t="$ended" 'BEGIN {exit !(t < 15)}' || fail "mpirun took ${ended}s to end after a rank was killed"
newest=$(ls "$tmp/killed/checkpoints" | sort -t- -k2 -n | tail -n 1)
{ [ -f "$tmp/killed/checkpoints/$newest/weights.bin" ] && [ -f "$tmp/killed/checkpoints/$newest/state.json" ]; } || fail "newest checkpoint $newest incomplete"
run2 "$train" "${args[@]}" --out "$tmp/killed" --resume
grep -q "resumed at step ${newest#step-}" "$tmp/log" || { cat "$tmp/log"; fail "--resume did not resume at $newest"; }
identical "$tmp/killed" "$tmp/ranks2" "rank 1 SIGKILLed, resumed with 2 ranks"
echo "SIGKILL of rank 1 mid-run: mpirun exit $status ${ended}s later, newest checkpoint $newest intact, --resume (2 ranks) identical"

# 6. a rank that stops answering
"${mpi[@]}" "$train" "${args[@]}" --steps 100000 --stall-timeout 3 --out "$tmp/stalled" > "$tmp/stalled.log" 2>&1 &
launcher=$!
for _ in $(seq 600); do [ -d "$tmp/stalled/checkpoints/step-8" ] && break; sleep 0.05; done
stopped=$(rank1)
[ -n "$stopped" ] || fail "rank 1 not found"
kill -STOP "$stopped"
stopped_at=$(date +%s.%N)
set +e
( sleep 30; kill -9 "$stopped" 2>/dev/null; kill "$launcher" 2>/dev/null ) &
guard=$!
wait "$launcher"
status=$?
kill "$guard" 2>/dev/null; kill -9 "$stopped" 2>/dev/null
set -e
ended=$(awk -v a="$stopped_at" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
[ "$status" != 0 ] || fail "mpirun exited 0 with a stopped rank"
grep -q "has waited" "$tmp/stalled.log" || { tail -5 "$tmp/stalled.log"; fail "no stall message"; }
awk -v t="$ended" 'BEGIN {exit !(t < 25)}' || fail "the stall was caught only after ${ended}s"
echo "rank 1 stopped (SIGSTOP): caught by --stall-timeout 3 after ${ended}s: $(grep -m1 -o 'rank [0-9]*: .*has waited [0-9]* s' "$tmp/stalled.log")"

# 7. a rank whose parameters changed (fault injection after step 7) is caught by the checksum at step 10
if "${mpi[@]}" "$dev" diverge-train --diverge-rank 1 --diverge-step 7 "${args[@]}" --out "$tmp/diverged" > "$tmp/log" 2>&1; then
  fail "a diverged rank was not caught"
fi
grep -q "step 10: the parameters of rank(s) 1 differ from rank 0's" "$tmp/log" || { tail -5 "$tmp/log"; fail "the divergence message does not name the step and the rank"; }
echo "rank 1's parameters changed after step 7: caught at step 10 (--checksum-every 5), the job stopped naming rank 1"

# 8. a batch that does not split
if "${mpi[@]}" "$train" "${args[@]}" --batch-size 7 --out "$tmp/odd" > "$tmp/log" 2>&1; then fail "--batch-size 7 over 2 ranks was accepted"; fi
grep -q "cannot be split into 2 rank(s)" "$tmp/log" || { cat "$tmp/log"; fail "the split error is not clear"; }
echo "--batch-size 7 over 2 ranks: refused ($(grep -m1 -o 'cannot be split[^:]*' "$tmp/log"))"
echo "check-mpi: OK"
