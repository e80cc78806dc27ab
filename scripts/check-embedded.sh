#!/usr/bin/env bash
# Compiles ModelFormat, Inference and DevicePayload in Embedded Swift for a Cortex-M4 (armv7em-none-none-eabi) and for
# 64-bit Arm (aarch64-none-none-elf), so the runtime can never drift off the device subset (no
# Foundation, no existentials, typed throws) and keeps building for aarch64 (the host toolchain has no
# aarch64 Linux SDK, so the full `infer` tool cannot be cross-built here; its runtime is this code).
# Uses only the Swift toolchain's swiftc. Prints the object sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every .swift file under a module's folder, recursively (new files and subfolders are followed).
swift_files() { find "$1" -name '*.swift' -type f | LC_ALL=C sort; }
for target in armv7em-none-none-eabi aarch64-none-none-elf; do
  out="${BUILD_DIR:-.build}/embedded-$target"
  mkdir -p "$out"
  flags=(-target "$target" -enable-experimental-feature Embedded -wmo -parse-as-library -Osize)
  swiftc "${flags[@]}" -module-name ModelFormat $(swift_files Sources/ModelFormat) \
      -emit-module -emit-module-path "$out/ModelFormat.swiftmodule" -c -o "$out/ModelFormat.o"
  swiftc "${flags[@]}" -module-name Inference -I "$out" $(swift_files Sources/Inference) \
      -c -o "$out/Inference.o"
  swiftc "${flags[@]}" -module-name DevicePayload $(swift_files Sources/DevicePayload) -c -o "$out/DevicePayload.o"
  echo "embedded: ModelFormat $(stat -c %s "$out/ModelFormat.o") B, Inference $(stat -c %s "$out/Inference.o") B," \
       "DevicePayload $(stat -c %s "$out/DevicePayload.o") B of objects for $target"
done
