#!/usr/bin/env bash
# The binary-MAC roofline of this CPU (issue 15): ns and cycles per 512-bit XOR + vpopcntq + add (512
# binary MACs), in registers and streamed from an L1-resident weight block four images at a time
# (bench/roofline/popcount512.c, thread CPU time), then where FCN2's time goes step by step
# (`infer --profile`, one thread, batch 1 and 256) on runs/bench's model (make bench trains it).
#   scripts/bench-roofline.sh [MODEL.bsm]
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qw avx512_vpopcntdq /proc/cpuinfo || { echo "this CPU has no AVX-512 VPOPCNTDQ: no 512-bit roofline to measure"; exit 0; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cc -O2 -march=native bench/roofline/popcount512.c -o "$out/popcount512"
"$out/popcount512"
model="${1:-runs/bench/fcn2-binary-2b.bsm}"
if [ -f "$model" ]; then
  infer=$(scripts/build-native.sh 2>/dev/null)
  "$infer" "$model" --threads 1 --batch 256 --profile | sed -n '/^profile/,$p'
else
  echo "no $model: run make bench first for the per-step profile"
fi
