#!/usr/bin/env bash
# CI check of full disks and read-only places (issue 27), release build, under a minute. Needs to
# mount a small tmpfs (root with CAP_SYS_ADMIN); where that is not permitted it says so and exits 0.
#  1. a checkpoint write on a full file system: an error naming the checkpoint and "no space left",
#     exit 1, the previous checkpoint intact, no temporary left; once space is freed, --resume ends
#     with exactly the uninterrupted run's metrics (timing aside) and final weights;
#  2. a metrics.jsonl append on a full file system: an error naming metrics.jsonl, exit 1; --resume
#     after freeing space: identical again;
#  3. an export into a full file system: an error naming the file, exit 1, no half-written file;
#     after freeing space the export works;
#  4. a shard write on a full file system: an error naming the shard, exit 1, the shards committed
#     before intact (verify); after freeing space the rerun gives the uninterrupted run's bytes;
#  5. a read-only --out (a tmpfs mounted ro; chmod does not stop root) is refused at start, before
#     any work, by train, finetune, export, shard and build-vocab.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/fixture-lib.sh
config=${ELECTRA_CONFIG:-release}
prep=.build/$config/electra-prep
train=.build/$config/electra-train
tmp=$(mktemp -d)
mnt="$tmp/small" ro="$tmp/ro"
mkdir -p "$mnt" "$ro"
cleanup() { umount "$mnt" 2> /dev/null || true; umount "$ro" 2> /dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "check-disk-full: FAIL: $*" >&2; exit 1; }
if ! mount -t tmpfs -o size=4m tmpfs "$mnt" 2> "$tmp/mount.err"; then
  echo "check-disk-full: cannot mount a tmpfs here ($(cat "$tmp/mount.err")): the full-disk and read-only cases are NOT checked"
  exit 0
fi
mount -t tmpfs -o ro,size=1m tmpfs "$ro" || fail "could mount a tmpfs but not a read-only one"
for product in electra-prep electra-train; do
  swift build -c "$config" --product $product > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "build of $product failed"; }
done
# fill [KEEP]: fills the small file system, then frees KEEP 4 KB pages (default 0).
fill() {
  dd if=/dev/zero of="$mnt/fill" bs=4096 2> /dev/null || true
  [ "${1:-0}" = 0 ] || truncate -s -$(( $1 * 4096 )) "$mnt/fill"
}
unfill() { rm -f "$mnt/fill"; }
expect_failure() {   # WHAT PATTERN COMMAND...: the command must exit 1 with PATTERN in its output
  local what=$1 pattern=$2; shift 2
  set +e; "$@" > "$tmp/out" 2>&1; local status=$?; set -e
  [ "$status" = 1 ] || { cat "$tmp/out"; fail "$what: exit $status, expected 1"; }
  grep -q -- "$pattern" "$tmp/out" || { cat "$tmp/out"; fail "$what: the message does not say: $pattern"; }
  echo "  $what (exit 1): $(grep -m1 -- "$pattern" "$tmp/out")"
}

pretraining_fixture   # check-resume's case: $tmp/data and args
$train "${args[@]}" --out "$tmp/whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted run failed"; }
canonical_metrics "$tmp/whole/metrics.jsonl" > "$tmp/expected.txt"
same() {
  canonical_metrics "$1/metrics.jsonl" | cmp -s - "$tmp/expected.txt" || fail "$2: metrics differ from the uninterrupted run"
  cmp -s "$1/checkpoints/step-36/weights.bin" "$tmp/whole/checkpoints/step-36/weights.bin" || fail "$2: final weights differ"
}
# A run on the small file system stopped (SIGTERM) after about 12 steps, as the starting point.
stopped_run() {
  rm -rf "$mnt/run"
  $train "${args[@]}" --out "$mnt/run" > "$tmp/log" 2>&1 &
  local pid=$!
  until grep -q '"step":12,' "$mnt/run/metrics.jsonl" 2> /dev/null; do kill -0 $pid 2> /dev/null || fail "the run ended early"; sleep 0.02; done
  kill -TERM $pid
  set +e; wait $pid; local status=$?; set -e
  [ "$status" = 143 ] || { cat "$tmp/log"; fail "the starting run was not stopped by SIGTERM (exit $status)"; }
  ls "$mnt/run/checkpoints" | sort -t- -k2 -n | tail -n 1
}
weights=$(stat -c %s "$tmp/whole/checkpoints/step-36/weights.bin")
echo "small file system: 4 MB tmpfs; a checkpoint of the test model is $weights bytes"

# 1. a checkpoint write
newest=$(stopped_run)
cp "$mnt/run/checkpoints/$newest/weights.bin" "$tmp/newest.bin"
fill 16   # 64 KB: the metrics lines fit, a checkpoint does not
expect_failure "checkpoint on a full disk" "checkpoints/step-[0-9]*: the checkpoint cannot be written (weights.bin: no space left on device); free some space.*then add --resume to the same command to continue from $newest" \
  $train "${args[@]}" --out "$mnt/run" --resume
[ "$(ls "$mnt/run/checkpoints" | sort -t- -k2 -n | tail -n 1)" = "$newest" ] || fail "checkpoint: the newest complete checkpoint is not $newest any more"
cmp -s "$mnt/run/checkpoints/$newest/weights.bin" "$tmp/newest.bin" || fail "checkpoint: $newest changed"
[ -z "$(ls -a "$mnt/run/checkpoints" | grep '^\.step')" ] || fail "checkpoint: the failed write left its temporary directory"
unfill
$train "${args[@]}" --out "$mnt/run" --resume > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "checkpoint: --resume after freeing space failed"; }
same "$mnt/run" "checkpoint on a full disk"
echo "checkpoint on a full disk: $newest intact, no temporary left; --resume after freeing space: identical metrics and weights"

# 2. a metrics.jsonl append: runs with no periodic checkpoint (--save-every 0), so that after the
#    stop's checkpoint the next write needing a new page of the full disk is a metrics line
args=("${args[@]}" --save-every 0 --log-every 1)   # a metrics line a step: more than a page of them follows the stop
$train "${args[@]}" --out "$tmp/whole0" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the uninterrupted --save-every 0 run failed"; }
canonical_metrics "$tmp/whole0/metrics.jsonl" > "$tmp/expected.txt"
cp "$tmp/whole0/checkpoints/step-36/weights.bin" "$tmp/whole/checkpoints/step-36/weights.bin"
newest=$(stopped_run)
fill
expect_failure "metrics.jsonl on a full disk" "metrics.jsonl: cannot be written (no space left on device); free some space.*then add --resume to the same command to continue from $newest" \
  $train "${args[@]}" --out "$mnt/run" --resume
unfill
$train "${args[@]}" --out "$mnt/run" --resume > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "metrics: --resume after freeing space failed"; }
same "$mnt/run" "metrics.jsonl on a full disk"
echo "metrics.jsonl on a full disk: --resume after freeing space: identical metrics and weights"
rm -rf "$mnt/run"

# 3. an export
fill 8
expect_failure "export on a full disk" "$mnt/hf/discriminator/[a-z._]*: no space left on device; free some space" \
  $train export "$tmp/whole" --out "$mnt/hf"
[ -z "$(find "$mnt/hf" -name '.*tmp*')" ] || fail "export: a temporary file was left"
unfill
$train export "$tmp/whole" --out "$mnt/hf" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "export after freeing space failed"; }
$train export "$tmp/whole" --out "$tmp/hf" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "export to the normal disk failed"; }
diff -r "$mnt/hf" "$tmp/hf" > /dev/null || fail "export: the export after freeing space differs from one on a normal disk"
rm -rf "$mnt/hf"
echo "export on a full disk: no temporary left; after freeing space the same files as on a normal disk"

# 4. a shard write: one input sharded, the disk filled, a second input fails
for i in 1 2; do
  awk -v seed=$i 'BEGIN { srand(seed); split("the and of to in that he shall unto lord his for they be is him not them it israel", w, " ")
    for (l = 0; l < 20000; l++) { n = int(rand() * 15) + 3; s = ""; for (k = 0; k < n; k++) s = s w[int(rand() * 21) + 1] " "
      print s "."; if (rand() < 0.1) print "" } }' > "$tmp/in$i.txt"
done
sargs=(--vocab "$tmp/vocab.txt" --max-seq-length 64 --threads 1 --sequences-per-frame 64 --frames-per-shard 4)
# The reference: the same two runs on a normal disk (the first run's end closes its last shard).
$prep shard "$tmp/in1.txt" "${sargs[@]}" --out "$tmp/shard-whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
$prep shard "$tmp/in1.txt" "$tmp/in2.txt" "${sargs[@]}" --out "$tmp/shard-whole" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
$prep shard "$tmp/in1.txt" "${sargs[@]}" --out "$mnt/data" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard of the first input failed"; }
before=$(cd "$mnt/data" && ls shards | sort | xargs -I{} sha256sum shards/{})
fill 24   # 96 KB: the index opens (its WAL and shared memory), the shards of the second input do not fit
expect_failure "shard on a full disk" "shards/[a-z0-9.-]*: .*no space left on device" $prep shard "$tmp/in1.txt" "$tmp/in2.txt" "${sargs[@]}" --out "$mnt/data"
$prep verify "$mnt/data" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard: the directory does not verify after the failure"; }
[ "$(cd "$mnt/data" && ls shards | sort | xargs -I{} sha256sum shards/{})" = "$before" ] || fail "shard: the committed shards changed"
unfill
$prep shard "$tmp/in1.txt" "$tmp/in2.txt" "${sargs[@]}" --out "$mnt/data" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard: the rerun after freeing space failed"; }
for f in $(ls "$tmp/shard-whole/shards"); do cmp -s "$tmp/shard-whole/shards/$f" "$mnt/data/shards/$f" || fail "shard: $f differs after the rerun"; done
[ "$(ls "$tmp/shard-whole/shards" | wc -l)" = "$(ls "$mnt/data/shards" | wc -l)" ] || fail "shard: another number of shard files after the rerun"
echo "shard on a full disk: the committed shards intact and verified, no other file left; the rerun after freeing space: the same bytes as on a normal disk"

# 5. read-only places, refused before any work
expect_failure "train, read-only --out" "$ro/run: cannot be the run directory: on a read-only file system" $train "${args[@]}" --out "$ro/run"
expect_failure "shard, read-only --out" "$ro/data: on a read-only file system" $prep shard "$tmp/in1.txt" "${sargs[@]}" --out "$ro/data"
expect_failure "build-vocab, read-only --out" "$ro: on a read-only file system" $prep build-vocab "$tmp/in1.txt" --out "$ro/vocab.txt"
expect_failure "export, read-only --out" "$ro/hf: on a read-only file system" $train export "$tmp/whole" --out "$ro/hf"
grep -q "build-vocab: writing" "$tmp/out" && fail "build-vocab started before refusing the read-only place"
mkdir -p "$tmp/model"   # finetune: a tiny model folder (sizes and the committed vocabulary; --from-scratch)
cp vocab/bert-base-uncased.txt "$tmp/model/vocab.txt"
printf '\x02\x00\x00\x00\x00\x00\x00\x00{}' > "$tmp/model/model.safetensors"
echo '{"model_type": "electra", "vocab_size": 30522, "embedding_size": 16, "hidden_size": 32, "num_hidden_layers": 1,
 "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 64}' > "$tmp/model/config.json"
printf 'text\tlabel\nthe king went up\tyes\na shepherd came down\tno\n' > "$tmp/train.tsv"
expect_failure "finetune, read-only --out" "$ro/ft: on a read-only file system" \
  $train finetune --model "$tmp/model" --from-scratch --task custom --train "$tmp/train.tsv" --text-column text --out "$ro/ft"
echo "read-only --out: refused at start by train, finetune, shard, build-vocab and export"
echo "check-disk-full: OK"
