#!/usr/bin/env bash
# Compiles ModelFormat and Inference in Embedded Swift for a Cortex-M4 (armv7em-none-none-eabi) and for
# 64-bit Arm (aarch64-none-none-elf), so the runtime can never drift off the device subset (no
# Foundation, no existentials, typed throws) and keeps building for aarch64 (the host toolchain has no
# aarch64 Linux SDK, so the full `infer` tool cannot be cross-built here; its runtime is this code).
# Uses only the Swift toolchain's swiftc. Prints the object sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
for target in armv7em-none-none-eabi aarch64-none-none-elf; do
  out="${BUILD_DIR:-.build}/embedded-$target"
  mkdir -p "$out"
  flags=(-target "$target" -enable-experimental-feature Embedded -wmo -parse-as-library -Osize)
  swiftc "${flags[@]}" -module-name ModelFormat Sources/ModelFormat/*.swift \
      -emit-module -emit-module-path "$out/ModelFormat.swiftmodule" -c -o "$out/ModelFormat.o"
  swiftc "${flags[@]}" -module-name Inference -I "$out" $(find Sources/Inference -name '*.swift' | sort) \
      -c -o "$out/Inference.o"
  echo "embedded: ModelFormat $(stat -c %s "$out/ModelFormat.o") B, Inference $(stat -c %s "$out/Inference.o") B of objects for $target"
done
