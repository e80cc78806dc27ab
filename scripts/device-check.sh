#!/usr/bin/env bash
# The short device check of `make device` (and so of `make check` and `make test`): builds the
# netduinoplus2 (Cortex-M4), microbit (Cortex-M0) and netduinoplus2-minimal firmware when their sources changed
# (scripts/build-firmware.sh decides by the source hash; infer never builds firmware), runs the golden
# FCN through both under QEMU on 20 fixed images, requiring every prediction to equal the host
# runtime's (infer exits 1 otherwise), and checks the Cortex-M0's soft-float helpers against the host
# (scripts/check-softfloat.sh). Needs qemu-system-arm and Zig (scripts/install-device.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# netduinoplus2-minimal: the minimal runtime (issue 14 item 5) that `infer --device netduinoplus2 --minimal` runs.
for board in netduinoplus2 microbit netduinoplus2-minimal; do
  scripts/build-firmware.sh "$board" | sed 's/^/device: /'
done
# The infer of this tree (swift build is a no-op when it is current), unless INFER names one.
if [ -z "${INFER:-}" ]; then
  swift build --product infer ${BUILD_DIR:+--scratch-path "$BUILD_DIR"} >/dev/null
fi
infer="${INFER:-${BUILD_DIR:-.build}/debug/infer}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
# 20 images of 8x8 pixels as an IDX pair: deterministic bytes (a golden file's), labels 0, 1, 2, ...
printf '\x00\x00\x08\x03\x00\x00\x00\x14\x00\x00\x00\x08\x00\x00\x00\x08' > "$dir/images"
head -c 1280 spec/golden/v1-fcn-float.bsm >> "$dir/images"
printf '\x00\x00\x08\x01\x00\x00\x00\x14' > "$dir/labels"
for _ in 1 2 3 4 5 6; do printf '\x00\x01\x02' >> "$dir/labels"; done
printf '\x00\x01' >> "$dir/labels"
for board in netduinoplus2 microbit; do
  "$infer" spec/golden/v1-fcn-binary.bsm --device "$board" --images "$dir/images" --labels "$dir/labels" | sed 's/^/device: /'
done
scripts/check-softfloat.sh | sed 's/^/device: /'
