#!/usr/bin/env bash
# The binary-MAC roofline of this CPU and FCN2's floor per layer (issue 15; reports/issue15-roofline.md):
# bench/roofline/popcount512.c measures, in thread CPU time (medians of 7), one 512-bit XOR + vpopcntq +
# add in registers (the popcount roofline), plain 512-bit loads over FCN2's 208 KB of weights (the L2
# read rate), and per layer the best streaming loop at batch 1 (each layer's block once per image, in a
# chain over the whole model, so from L2 as in `infer --batch 1`) and at batch 256 (the block loaded once
# per 4 or 8 images). Then `infer --profile` (one thread, batch 1 and 256, thread CPU time) on
# runs/bench's model (make bench trains it) and the two side by side: measured, floor, gap, per layer.
#   scripts/bench-roofline.sh [MODEL.bsm]     MODEL must be FCN2 (784-600-600-600-10) for the side-by-side table
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qw avx512_vpopcntdq /proc/cpuinfo || { echo "this CPU has no AVX-512 VPOPCNTDQ: no 512-bit roofline to measure"; exit 0; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
cc -O2 -march=native bench/roofline/popcount512.c -o "$out/popcount512"
"$out/popcount512" > "$out/roofline.txt"
grep -v '^floor ' "$out/roofline.txt"
model="${1:-runs/bench/fcn2-binary-2b.bsm}"
if [ ! -f "$model" ]; then echo "no $model: run make bench first for the per-step profile"; exit 0; fi
infer=$(scripts/build-native.sh 2>/dev/null)
"$infer" "$model" --threads 1 --batch 256 --profile --limit 2000 | sed -n '/^profile/,$p' | tee "$out/profile.txt"
echo
echo "per layer, ns per image: measured (infer --profile) against the floor (popcount512: batch 1 the chain, batch 256 4 per load), gap"
awk 'FNR == NR { if ($1 == "floor") { pop1[$2] = $3; l2[$2] = $4; chain[$2] = $5; pop256[$2] = $6; by4[$2] = $7 }; next }
     $1 ~ /^[0-4]$/ { s = $1; b1 = $(NF - 1); b256 = $NF
       printf "  step %s %-22s b1 %6d floor %6d (popcount %5d, L2 %5d) gap %4.2fx | b256 %6d floor %6d (popcount %5d) gap %4.2fx\n",
              s, $3, b1, chain[s], pop1[s], l2[s], b1 / chain[s], b256, by4[s], pop256[s], b256 / by4[s]
       m1 += b1; f1 += chain[s]; m256 += b256; f256 += by4[s]; p256 += pop256[s] }
     END { printf "  layers %-21s b1 %6d floor %6d gap %4.2fx | b256 %6d floor %6d (popcount %5d) gap %4.2fx\n", "", m1, f1, m1 / f1, m256, f256, p256, m256 / f256 }' \
  "$out/roofline.txt" "$out/profile.txt"
