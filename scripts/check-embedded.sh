#!/usr/bin/env bash
# Compiles ModelFormat and Inference in Embedded Swift for a Cortex-M4 (armv7em-none-none-eabi), so
# the runtime can never drift off the device subset (no Foundation, no existentials, typed throws).
# Uses only the Swift toolchain's swiftc. Prints the object sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BUILD_DIR:-.build}/embedded-armv7em"
mkdir -p "$out"
flags=(-target armv7em-none-none-eabi -enable-experimental-feature Embedded -wmo -parse-as-library -Osize)
swiftc "${flags[@]}" -module-name ModelFormat Sources/ModelFormat/*.swift \
    -emit-module -emit-module-path "$out/ModelFormat.swiftmodule" -c -o "$out/ModelFormat.o"
swiftc "${flags[@]}" -module-name Inference -I "$out" Sources/Inference/*.swift Sources/Inference/Kernels/*.swift \
    -c -o "$out/Inference.o"
echo "embedded: ModelFormat $(stat -c %s "$out/ModelFormat.o") B, Inference $(stat -c %s "$out/Inference.o") B of objects for armv7em-none-none-eabi"
