#!/usr/bin/env bash
# Host cost of validating an image at the format's caps (bench/ValidateBench.swift), built with -O
# outside the package. BASELINE=<commit> also builds that commit's ModelFormat in a temporary folder and
# times it in the same run (5 runs: the all-pairs reader before issue 12 took about 0.25 s each).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BUILD_DIR:-.build}/bench-validate"
build() {  # build DIR SOURCES...: ModelFormat from the given sources, then the bench against it
  local dir=$1; shift
  mkdir -p "$dir"
  swiftc -O -wmo -parse-as-library -module-name ModelFormat "$@" -emit-module -emit-module-path "$dir/ModelFormat.swiftmodule" \
      -emit-library -static -o "$dir/libModelFormat.a"
  swiftc -O -wmo -parse-as-library -module-name ImageFixtures -I "$dir" Tests/ImageFixtures/*.swift -emit-module \
      -emit-module-path "$dir/ImageFixtures.swiftmodule" -emit-library -static -o "$dir/libImageFixtures.a"
  swiftc -O -parse-as-library -I "$dir" bench/ValidateBench.swift "$dir/libImageFixtures.a" "$dir/libModelFormat.a" -o "$dir/validate-bench"
}
build "$out/current" $(find Sources/ModelFormat -name '*.swift' -type f | LC_ALL=C sort)
if [ -n "${BASELINE:-}" ]; then
  base="$out/baseline-src"
  rm -rf "$base"; mkdir -p "$base"
  for f in $(git ls-tree -r --name-only "$BASELINE" Sources/ModelFormat/); do git show "$BASELINE:$f" > "$base/$(basename "$f")"; done
  # The fixture needs InputCodes (added by issue 12); an older tree gets the current file.
  [ -f "$base/InputCodes.swift" ] || cp Sources/ModelFormat/InputCodes.swift "$base/"
  build "$out/baseline" "$base"/*.swift
  echo "baseline $BASELINE: $("$out/baseline/validate-bench" 5)"
fi
echo "current: $("$out/current/validate-bench")"
