#!/usr/bin/env bash
# make bench: inference speed and footprint of FCN2 (784-600x4-10) in our runtime beside an int8 peer
# (ONNX Runtime, static int8 quantization of the same network trained in float by our trainer),
# single thread, in the same run. Medians. Uses the fast build when the CPU has popcnt (see
# DEVELOPERS.md: a generic x86-64 build has no popcnt instruction); the default `swift build` stays
# generic so its binaries run on any x86-64.
#   BENCH_TRAIN_EPOCHS (default 3): epochs of the two models trained for the bench (cached in runs/bench).
#   BASELINE=<commit>: also builds that commit's `infer` (same flags) in a git worktree under runs/bench and
#     times both binaries alternately on the same model, RUNS times each (default 5), with medians and the
#     ratio (scripts/bench-compare.sh): "no speed change" is measured side by side, not against old notes.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${BENCH_TRAIN_EPOCHS:-3}"
dir=runs/bench
mkdir -p "$dir"
train=.build/release/train
convert=.build/release/convert
[ -x "$train" ] && [ -x "$convert" ] || swift build -c release >/dev/null
infer=$(scripts/build-native.sh 2>/dev/null)
if [ "$infer" = .build-native/release/infer ]; then
  build="native (-target-cpu native: popcnt$(grep -qw avx512_vpopcntdq /proc/cpuinfo && echo ', avx512 vpopcntq'))"
else
  build="generic x86-64 (no popcnt on this CPU)"
fi
for cfg in "binary 2" "float 8"; do
  set -- $cfg
  ck="$dir/fcn2-$1-${2}b-e$epochs.safetensors"
  [ -f "$ck" ] || "$train" --precision "$1" --input-bits "$2" --epochs "$epochs" --out "$ck" --quiet >/dev/null
done
"$convert" "$dir/fcn2-binary-2b-e$epochs.safetensors" -o "$dir/fcn2-binary-2b.bsm" >/dev/null
ours=$("$infer" "$dir/fcn2-binary-2b.bsm" --json --threads 1 --batch 256 | tail -n 1)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$2"; }
printf '%-34s %12s %14s %10s %12s %12s\n' "runtime (FCN2, 1 thread)" "µs/image b1" "images/s b256" "accuracy" "model bytes" "arena bytes"
printf '%-34s %12.2f %14.0f %10.4f %12s %12s\n' "BitShield binary 2-bit" "$(field latency_us "$ours")" "$(field images_per_second "$ours")" \
  "$(field accuracy "$ours")" "$(field file_bytes "$ours")" "$(field arena_bytes "$ours")"
if scripts/install-onnx.sh >/dev/null 2>&1; then
  peer=$(.venv-onnx/bin/python bench/peer_onnx_fcn.py "$dir/fcn2-float-8b-e$epochs.safetensors" | tail -n 1)
  printf '%-34s %12.2f %14.0f %10.4f %12s %12s\n' "ONNX Runtime int8 (float FCN2)" "$(field latency_us "$peer")" "$(field images_per_second "$peer")" \
    "$(field int8_accuracy "$peer")" "$(field int8_model_bytes "$peer")" "n/a"
  python3 - "$ours" "$peer" <<'PY'
import json, sys
o, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"ratios, ours vs ONNX Runtime int8: latency {o['latency_us'] / p['latency_us']:.2f}x, "
      f"throughput {o['images_per_second'] / p['images_per_second']:.2f}x, model size {o['file_bytes'] / p['int8_model_bytes']:.3f}x")
PY
else
  echo "ONNX Runtime could not be installed: no int8 peer in this run"
fi
python3 - "$ours" <<'PY'
import json, sys
o = json.loads(sys.argv[1])
print(f"goals (issue #5): <= 5 µs/image at batch 1: {o['latency_us']:.2f} µs ({'met' if o['latency_us'] <= 5 else 'NOT met'}); "
      f">= 300,000 images/s at batch 256: {o['images_per_second']:,.0f} ({'met' if o['images_per_second'] >= 300000 else 'NOT met'}); "
      f"arena <= 512 B: {o['arena_bytes']} B")
PY
if [ -n "${BASELINE:-}" ]; then
  sha=$(git rev-parse --verify "$BASELINE^{commit}")
  wt="$PWD/$dir/baseline-${sha:0:12}"
  [ -d "$wt" ] || git worktree add --detach "$wt" "$sha" >/dev/null
  base_infer="$wt/$(scripts/build-native.sh "$wt" 2>/dev/null)"
  echo "side by side: A = baseline ${sha:0:12}, B = this tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources || echo ', with uncommitted changes'))"
  scripts/bench-compare.sh "$base_infer" "$infer" "$dir/fcn2-binary-2b.bsm"
fi
echo "build: $build; peers on this machine per ARCHITECTURE.md: LiteRT int8 20.7 µs and 153k images/s, Larq 169 µs"
