#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/ModelFileFuzzer.swift) over the format and container sources with
# the address sanitizer, outside the package so a plain `swift build` stays clean, and runs it for
# FUZZ_SECONDS (default 60), seeded with spec/golden.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BUILD_DIR:-.build}/fuzz"
mkdir -p "$out/corpus"
cp spec/golden/*.bsm "$out/corpus/" 2>/dev/null || true
# The bare images inside the golden files too (the runtime half of the target reads bare images).
python3 - "$out/corpus" spec/golden/*.bsm <<'PY'
import struct, sys, zlib, os
for path in sys.argv[2:]:
    b = open(path, 'rb').read()
    meta, stored = struct.unpack_from('<I', b, 8)[0], struct.unpack_from('<I', b, 16)[0]
    flags = struct.unpack_from('<H', b, 6)[0]
    body = b[64 + meta:64 + meta + stored]
    open(os.path.join(sys.argv[1], os.path.basename(path) + '.img'), 'wb').write(zlib.decompress(body) if flags & 1 else body)
PY
san=(-sanitize=fuzzer,address -parse-as-library -O)
swiftc "${san[@]}" -wmo -module-name ModelFormat Sources/ModelFormat/*.swift \
    -emit-module -emit-module-path "$out/ModelFormat.swiftmodule" -c -o "$out/ModelFormat.o"
swiftc "${san[@]}" -wmo -module-name Inference -I "$out" Sources/Inference/*.swift Sources/Inference/Kernels/*.swift \
    -emit-module -emit-module-path "$out/Inference.swiftmodule" -c -o "$out/Inference.o"
swiftc "${san[@]}" -wmo -module-name JSONReader Sources/JSONReader/*.swift \
    -emit-module -emit-module-path "$out/JSONReader.swiftmodule" -c -o "$out/JSONReader.o"
swiftc "${san[@]}" -module-name ModelFile -I "$out" -Xcc -fmodule-map-file=Sources/CZlib/module.modulemap \
    -wmo Sources/ModelFile/*.swift -emit-module -emit-module-path "$out/ModelFile.swiftmodule" -c -o "$out/ModelFile.o"
swiftc "${san[@]}" -module-name ModelFileFuzzer -I "$out" -Xcc -fmodule-map-file=Sources/CZlib/module.modulemap \
    Fuzz/ModelFileFuzzer.swift "$out/ModelFormat.o" "$out/Inference.o" "$out/JSONReader.o" "$out/ModelFile.o" -lz -o "$out/model-fuzzer"
"$out/model-fuzzer" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=65536 "$out/corpus"
