#!/usr/bin/env bash
# Two ranks as two hosts (issue 14): two network namespaces joined by a veth pair, with addresses
# this script assigns, Open MPI reaching the second "host" through a launcher agent
# (`ip netns exec`) instead of ssh, TCP only. The 2-rank run must give metrics.jsonl (timing
# fields aside) and final weights identical, bit for bit, to 1 process --accumulate 2.
# Needs root (ip netns); skips with a message where network namespaces are not permitted.
# The namespaces and links are named after this run and always deleted (trap).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/fixture-lib.sh
command -v mpirun > /dev/null || { echo "check-mpi-netns: mpirun not found: run tools/setup.sh" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
id=$$
h1=electra-h1-$id h2=electra-h2-$id v1=ev1-$id v2=ev2-$id
tmp=$(mktemp -d)
cleanup() {
  ip netns del "$h1" 2> /dev/null || true
  ip netns del "$h2" 2> /dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "check-mpi-netns: FAIL: $*" >&2; exit 1; }
if ! ip netns add "$h1" 2> "$tmp/err"; then
  echo "check-mpi-netns: SKIPPED: network namespaces are not permitted here ($(head -1 "$tmp/err"))"
  exit 0
fi
ip netns add "$h2"
ip link add "$v1" type veth peer name "$v2" || { echo "check-mpi-netns: SKIPPED: cannot create a veth pair"; exit 0; }
ip link set "$v1" netns "$h1"; ip link set "$v2" netns "$h2"
ip netns exec "$h1" ip addr add 10.77.0.1/24 dev "$v1"; ip netns exec "$h1" ip link set "$v1" up; ip netns exec "$h1" ip link set lo up
ip netns exec "$h2" ip addr add 10.77.0.2/24 dev "$v2"; ip netns exec "$h2" ip link set "$v2" up; ip netns exec "$h2" ip link set lo up
cat > "$tmp/nsrsh" <<AGENT
#!/bin/sh
# Open MPI's launcher agent: nsrsh [options] HOST COMMAND...
while [ "\${1#-}" != "\$1" ]; do shift; done
host=\$1; shift
case "\$host" in
  10.77.0.2) exec ip netns exec $h2 /bin/sh -c "\$*" ;;
  *)         exec ip netns exec $h1 /bin/sh -c "\$*" ;;
esac
AGENT
chmod +x "$tmp/nsrsh"

for product in electra-prep electra-train; do
  swift build -c release --product $product > "$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; fail "release build of $product failed"; }
done
prep=.build/release/electra-prep train=$PWD/.build/release/electra-train
char_vocab > "$tmp/vocab.txt"
small_corpus "$tmp/corpus.txt"
$prep shard "$tmp/corpus.txt" --vocab "$tmp/vocab.txt" --out "$tmp/data" --max-seq-length 64 --seed 1 \
  --sequences-per-frame 32 > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "shard failed"; }
args=(--shards "$tmp/data" --embedding-size 16 --hidden-size 32 --layers 2 --heads 2 --generator-fraction 0.5
      --batch-size 8 --steps 20 --warmup-steps 5 --learning-rate 1e-3 --seed 11 --log-every 4 --eval-every 10
      --eval-batches 2 --save-every 10 --threads 1)

"$train" "${args[@]}" --accumulate 2 --out "$tmp/one" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the 1-process run failed"; }
ip netns exec "$h1" mpirun --host 10.77.0.1,10.77.0.2 -np 2 --bind-to none \
  --mca plm_rsh_agent "$tmp/nsrsh" --mca btl tcp,self \
  --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  "$train" "${args[@]}" --out "$tmp/two" > "$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the 2-host run failed"; }
bytes=$(ip netns exec "$h1" cat "/sys/class/net/$v1/statistics/tx_bytes")
cmp -s <(canonical_metrics "$tmp/one/metrics.jsonl") <(canonical_metrics "$tmp/two/metrics.jsonl") || fail "metrics differ between 2 hosts and 1 process --accumulate 2"
cmp -s "$tmp/one/checkpoints/step-20/weights.bin" "$tmp/two/checkpoints/step-20/weights.bin" || fail "final weights differ"
echo "2 ranks on 2 network namespaces over a veth pair (TCP, $bytes bytes sent by host 1): identical to 1 process --accumulate 2"
echo "check-mpi-netns: OK"
