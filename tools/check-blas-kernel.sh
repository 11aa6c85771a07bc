#!/usr/bin/env bash
# CI check for the OpenBLAS kernel choice and the CPU check (issue 13), release build, under a
# minute. OpenBLAS 0.3.21 picks its kernel from the CPU model number and, for a model it does not
# know (cloud and virtual machines often hide it), falls back to a slow kernel; electra-train
# decides from the CPUID feature flags instead. This script:
#  1. computes the expected kernel from /proc/cpuinfo's flags (independently of the Swift code)
#     and checks that electra-train runs it, restarting itself at most once;
#  2. imitates older or hidden CPU models on this one (ELECTRA_CPU_HIDE removes feature flags):
#     without AVX-512 it must run Haswell; without AVX2 or FMA it must refuse to start with a
#     message naming what is missing (exit 70), never die of an illegal instruction;
#  3. checks that a user's own OPENBLAS_CORETYPE wins;
#  4. measures sgemm (1 thread, 1024^3) with each candidate kernel forced, alternating rounds,
#     and prints the table; fails only if our choice is clearly slower than the best candidate
#     (below 60% of it in its best round: the machine may be shared).
# Exits non-zero on the first failure. BIN=path/to/electra-dev skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "check-blas-kernel: FAIL: $*" >&2; exit 1; }
if [ -z "${BIN:-}" ]; then
  log=$(mktemp)
  swift build -c release --product electra-dev > "$log" 2>&1 || { tail -20 "$log"; rm -f "$log"; fail "release build failed"; }
  rm -f "$log"
  BIN=.build/release/electra-dev
fi
[ "$(uname -m)" = x86_64 ] || { echo "check-blas-kernel: skipped (x86-64 only)"; exit 0; }

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
expected_for() {  # the kernel for the flags minus those hidden in $1 (comma-separated, lower case)
  local saved=$flags
  for h in ${1//,/ }; do flags=${flags// $h / }; done
  if has avx512f avx512bw avx512vl avx512dq; then echo SkylakeX
  elif has avx2 fma; then echo Haswell
  elif has avx; then echo Sandybridge
  elif has ssse3 sse4_1 sse4_2; then echo Nehalem
  else echo Prescott; fi
  flags=$saved
}
report() { "$BIN" bench-model --blas-only --threads 1 "$@"; }
kernel_of() { sed -n 's/^OpenBLAS kernel \([A-Za-z0-9_]*\) .*/\1/p' <<< "$1"; }
rate_of() { sed -n 's/.*sgemm \([0-9.]*\) GFLOP\/s.*/\1/p' <<< "$1"; }

echo "CPU: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
unset OPENBLAS_CORETYPE ELECTRA_CPU_HIDE ELECTRA_BLAS_CORE_CHOSEN
# The marker variable stops the restart: what OpenBLAS picks by itself from the model number.
own=$(ELECTRA_BLAS_CORE_CHOSEN=1 report)
echo "OpenBLAS's own pick: $(kernel_of "$own"), sgemm $(rate_of "$own") GFLOP/s"

# 1. The kernel for this CPU's flags, chosen with at most one restart.
want=$(expected_for "")
out=$(OPENBLAS_VERBOSE=2 "$BIN" bench-model --blas-only --threads 1 2>&1)
echo "default:          $(grep '^OpenBLAS kernel' <<< "$out")"
[ "$(kernel_of "$out")" = "$want" ] || fail "expected kernel $want for flags of this CPU, got: $out"
loads=$(grep -c '^Core:' <<< "$out" || true)
[ "$loads" -le 2 ] || fail "OpenBLAS loaded $loads times (the restart must happen at most once)"

# 2. Older or hidden CPU models imitated by hiding flags.
if has avx512f; then
  out=$(ELECTRA_CPU_HIDE=AVX512F report)
  echo "without AVX-512:  $out"
  [ "$(kernel_of "$out")" = "$(expected_for avx512f)" ] || fail "without AVX-512F expected $(expected_for avx512f), got: $out"
fi
for hide in AVX2 FMA; do
  set +e; out=$(ELECTRA_CPU_HIDE=$hide report 2>&1); rc=$?; set -e
  echo "without $hide:$(printf '%*s' $((9 - ${#hide})) '') exit $rc: $(head -1 <<< "$out" | cut -c1-110)..."
  [ "$rc" = 70 ] && grep -q "lacks: $hide" <<< "$out" || fail "without $hide: expected the refusal (exit 70) naming $hide, got exit $rc: $out"
done

# 3. The user's OPENBLAS_CORETYPE wins (no restart).
out=$(OPENBLAS_CORETYPE=Prescott OPENBLAS_VERBOSE=2 "$BIN" bench-model --blas-only --threads 1 2>&1)
echo "user's Prescott:  $(grep '^OpenBLAS kernel' <<< "$out")"
[ "$(kernel_of "$out")" = Prescott ] && grep -q 'set by the user' <<< "$out" || fail "OPENBLAS_CORETYPE=Prescott was not kept: $out"
[ "$(grep -c '^Core:' <<< "$out")" = 1 ] || fail "restarted although the user set OPENBLAS_CORETYPE"

# 4. Each candidate kernel's sgemm rate here (1 thread), two alternating rounds, best kept.
candidates="Prescott Nehalem Sandybridge"
has avx2 fma && candidates+=" Haswell Zen"
has avx512f avx512bw avx512vl avx512dq && candidates+=" SkylakeX"
has avx512f avx512bw avx512vl avx512dq avx512_bf16 && candidates+=" Cooperlake"
declare -A best
for round in 1 2; do
  for k in $candidates; do
    r=$(rate_of "$(OPENBLAS_CORETYPE=$k report)")
    best[$k]=$(python3 -c "print(max(${best[$k]:-0}, $r))")
  done
done
echo "sgemm 1024^3, 1 thread, best of 2 alternating rounds (GFLOP/s):"
top=0
for k in $candidates; do
  mark=""; [ "$k" = "$want" ] && mark="  <- chosen"
  printf "  %-12s %7.1f%s\n" "$k" "${best[$k]}" "$mark"
  top=$(python3 -c "print(max($top, ${best[$k]}))")
done
# Timings are shown, not asserted: a shared host's speed drifts by tens of percent between runs,
# so a timed assertion would fail at random. The choice itself is checked above (flags -> kernel).
python3 -c "import sys; sys.exit(0 if ${best[$want]} >= 0.6 * $top else 1)" \
  || echo "note: the chosen kernel $want (${best[$want]} GFLOP/s) timed far below the best candidate ($top GFLOP/s) in this run; rerun on a quiet machine to compare"
echo "check-blas-kernel: OK (kernel $want)"
