#!/usr/bin/env bash
# make bench-device: FCN2 (784-600x4-10) on the same simulated Cortex-M4 board (QEMU netduinoplus2) in one
# run: BitShield (binary, 2-bit input, `--target mcu` layout (columns32s), `infer --device`), CMSIS-NN int8 and a plain C
# binary network (bench/device/), as a table of instructions per inference (MNIST test-set mean), RAM,
# code and model bytes, with ratios against BitShield; every network checked image by image against its
# own host emulation. Markdown on stdout, JSON in runs/bench/device.json. Not part of `make test`.
#
#   BENCH_DEVICE_IMAGES  test images per network (default 1000; 1..10000, 10000 = the whole test set)
#   BENCH_DEVICE_JOBS    QEMU processes at once for the C peers (default 2)
#   CMSIS_NN, CMSIS_CORE CMSIS-NN's root and CMSIS_6's root (default: ../shared/third_party/CMSIS-NN and
#                        CMSIS_6 beside the repository, or beside the main worktree's); the CMSIS-NN peer is
#                        skipped, with a message, when they are absent
#   BENCH_TRAIN_EPOCHS   reuse runs/bench/fcn2-binary-2b-eN.safetensors when it exists (make bench's, N = 3 by
#                        default); else a 1-epoch model is trained once into runs/bench (instruction counts
#                        hardly depend on the weights; accuracy is printed for what it is)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
images="${BENCH_DEVICE_IMAGES:-1000}"
if ! [[ "$images" =~ ^[0-9]+$ ]] || [ "$images" -lt 1 ] || [ "$images" -gt 10000 ]; then
  echo "error: BENCH_DEVICE_IMAGES='$images': a whole number of MNIST test images from 1 to 10000" >&2
  exit 64
fi
jobs="${BENCH_DEVICE_JOBS:-2}"
if ! [[ "$jobs" =~ ^[0-9]+$ ]] || [ "$jobs" -lt 1 ] || [ "$jobs" -gt 64 ]; then
  echo "error: BENCH_DEVICE_JOBS='$jobs': from 1 to 64" >&2
  exit 64
fi
started=$SECONDS
dir=runs/bench
work="$dir/device"
mkdir -p "$work"

# ---- what it needs ----
scripts/install-arm-gcc.sh
python3 -c 'import numpy' 2>/dev/null || { echo "bench-device: installing numpy for the host emulation"; python3 -m pip install -q --disable-pip-version-check numpy; }
release="${BUILD_DIR:-.build}/release"
[ -x "$release/train" ] && [ -x "$release/convert" ] && [ -x "$release/infer" ] || swift build -c release >/dev/null
# QEMU, and BitShield's firmware (make device builds and checks it; its short check uses this infer).
INFER="$PWD/$release/infer" make --no-print-directory device

# ---- BitShield: the project's own path, checkpoint -> --target mcu .bsm (columns32s) -> infer --device ----
checkpoint="$dir/fcn2-binary-2b-e${BENCH_TRAIN_EPOCHS:-3}.safetensors"
if [ ! -f "$checkpoint" ]; then
  checkpoint="$dir/fcn2-binary-2b-e1.safetensors"
  if [ ! -f "$checkpoint" ]; then
    echo "bench-device: training FCN2 binary 2-bit for 1 epoch into $checkpoint (once)"
    "$release/train" --precision binary --input-bits 2 --epochs 1 --out "$checkpoint" --quiet >/dev/null
  fi
fi
model="$dir/fcn2-binary-2b-mcu.bsm"
"$release/convert" "$checkpoint" -o "$model" --target mcu >/dev/null
echo "bench-device: BitShield: $checkpoint -> $model; infer --device netduinoplus2 over $images MNIST test images"
status=0
"$release/infer" "$model" --device netduinoplus2 --dataset mnist --limit "$images" --json > "$work/bitshield.out" || status=1
tail -n 1 "$work/bitshield.out" > "$work/bitshield.json"
python3 -c 'import json, sys; json.load(open(sys.argv[1]))["instructions_per_inference"]' "$work/bitshield.json" 2>/dev/null || {
  echo "error: infer --device printed no JSON result:" >&2; cat "$work/bitshield.out" >&2; exit 1; }

# ---- the C peers ----
python3 bench/device/models.py "$work/models" "$images" | sed 's/^/bench-device: /'
third_party=""
common_dir="$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)"
for d in "$repo/../shared/third_party" ${common_dir:+"$(dirname "$common_dir")/../shared/third_party"}; do
  if [ -d "$d" ]; then third_party="$(cd "$d" && pwd)"; break; fi
done
export CMSIS_NN="${CMSIS_NN:-${third_party:-$repo/../shared/third_party}/CMSIS-NN}"
export CMSIS_CORE="${CMSIS_CORE:-${third_party:-$repo/../shared/third_party}/CMSIS_6}"
peers=(binary-gcc)
if [ -x "$(dirname "$(command -v swiftc)")/clang" ]; then peers+=(binary-clang); fi
results=()
if [ -f "$CMSIS_NN/Source/FullyConnectedFunctions/arm_fully_connected_s8.c" ] && [ -f "$CMSIS_CORE/CMSIS/Core/Include/cmsis_compiler.h" ]; then
  peers=(cmsis-s8 "${peers[@]}")
else
  reason="CMSIS-NN sources not found (CMSIS_NN=$CMSIS_NN with Source/FullyConnectedFunctions/arm_fully_connected_s8.c, CMSIS_CORE=$CMSIS_CORE with CMSIS/Core/Include/cmsis_compiler.h): set CMSIS_NN and CMSIS_CORE"
  echo "bench-device: skipping the CMSIS-NN int8 peer: $reason"
  python3 -c 'import json, sys; print(json.dumps({"peer": "cmsis-s8", "skipped": sys.argv[1]}))' "$reason" > "$work/cmsis-s8.json"
  results+=("$work/cmsis-s8.json")
fi
for peer in "${peers[@]}"; do
  model_kind=bin; [ "$peer" = cmsis-s8 ] && model_kind=s8
  bench/device/build.sh "$peer" "$work/models" "$work/$peer" >/dev/null
  python3 bench/device/run.py "$work/$peer" "$work/models" "$model_kind" --jobs "$jobs" > "$work/$peer.out" || status=1
  tail -n 1 "$work/$peer.out" > "$work/$peer.json"
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/$peer.json" 2>/dev/null ||
    python3 -c 'import json, sys; print(json.dumps({"peer": sys.argv[1], "skipped": "the run failed (its error is above)"}))' "$peer" > "$work/$peer.json"
  results+=("$work/$peer.json")
done

# ---- the table ----
echo
python3 bench/device/table.py "$dir/device.json" "$work/bitshield.json" "${results[@]}"
echo
echo "bench-device: $dir/device.json written; $(( SECONDS - started )) s"
[ "$status" -eq 0 ] || echo "error: a network's device predictions differ from its host emulation (see above)" >&2
exit "$status"
