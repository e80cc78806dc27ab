#!/usr/bin/env bash
# make bench: inference speed and footprint of FCN2 (784-600x4-10) in our runtime beside an int8 peer
# (ONNX Runtime, static int8 quantization of the same network trained in float by our trainer),
# single thread, in the same run. Medians. Uses the fast build when the CPU has popcnt (see
# DEVELOPERS.md: a generic x86-64 build has no popcnt instruction); the default `swift build` stays
# generic so its binaries run on any x86-64.
#   BENCH_TRAIN_EPOCHS (default 3): epochs of the two models trained for the bench (cached in runs/bench).
#   RUNS (default 5): runs of each side; medians and ranges are printed. The peer gets its best configuration
#     (int8 per-tensor and per-channel weights both measured; the faster at batch 256 is its figure).
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
runs="${RUNS:-5}"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "error: RUNS must be a positive integer, got '$runs'" >&2; exit 64; }
# Ours: RUNS runs of infer (each already the median of its own timed passes); the medians of the runs.
ours_runs=$(for i in $(seq "$runs"); do "$infer" "$dir/fcn2-binary-2b.bsm" --json --threads 1 --batch 256 | tail -n 1; done)
peer=""
if scripts/install-onnx.sh >/dev/null 2>&1; then
  peer=$(.venv-onnx/bin/python bench/peer_onnx_fcn.py "$dir/fcn2-float-8b-e$epochs.safetensors" --runs "$runs" | tail -n 1)
else
  echo "ONNX Runtime could not be installed: no int8 peer in this run"
fi
python3 - "$ours_runs" "$peer" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
peer = json.loads(sys.argv[2]) if sys.argv[2] else None
def spread(xs, fmt): return f"{fmt.format(min(xs))}..{fmt.format(max(xs))}"
lat = [r["latency_us"] for r in runs]; ips = [r["images_per_second"] for r in runs]
o = dict(runs[0], latency_us=statistics.median(lat), images_per_second=statistics.median(ips))
print(f"{'runtime (FCN2, 1 thread)':<34} {'µs/image b1':>12} {'(range)':>14} {'images/s b256':>14} {'(range)':>18} {'accuracy':>9} {'model B':>9} {'arena B':>8}")
print(f"{'BitShield binary 2-bit':<34} {o['latency_us']:12.2f} {spread(lat, '{:.2f}'):>14} {o['images_per_second']:14.0f} "
      f"{spread(ips, '{:.0f}'):>18} {o['accuracy']:9.4f} {o['file_bytes']:9} {o['arena_bytes']:8}")
if peer:
    name = "ONNX Runtime int8 " + peer["weights"]
    print(f"{name:<34} {peer['latency_us']:12.2f} {spread(peer['latency_us_range'], '{:.2f}'):>14} {peer['images_per_second']:14.0f} "
          f"{spread(peer['images_per_second_range'], '{:.0f}'):>18} {peer['int8_accuracy']:9.4f} {peer['int8_model_bytes']:9} {'n/a':>8}")
    others = [c for c in peer["configurations"] if c["weights"] != peer["weights"]]
    for c in others:
        print(f"  (ONNX Runtime int8 {c['weights']}: {c['latency_us']:.2f} µs, {c['images_per_second']:.0f} images/s, slower at batch 256)")
    print(f"ratios, ours vs ONNX Runtime int8 ({len(runs)} runs each, medians): latency {o['latency_us'] / peer['latency_us']:.2f}x, "
          f"throughput {o['images_per_second'] / peer['images_per_second']:.2f}x, model size {o['file_bytes'] / peer['int8_model_bytes']:.3f}x")
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
echo "build: $build; every figure above was measured in this run"
