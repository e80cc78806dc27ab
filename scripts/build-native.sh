#!/usr/bin/env bash
# Builds the fast `infer` (or PRODUCT: `verify`) for this CPU and prints the path of the binary to use.
# A default `swift build` targets generic x86-64, which has no popcnt instruction: its binaries run on
# any x86-64 CPU, and the popcounts become bit-count sequences (about 6x slower here). Where
# /proc/cpuinfo lists popcnt, this builds with `-target-cpu native` into .build-native (AVX-512
# VPOPCNTDQ gives one vpopcntq per eight words) and prints that binary; otherwise it prints the
# generic one. Never copy a .build-native binary to another CPU.
#   scripts/build-native.sh [PACKAGE_DIR [PRODUCT]]   builds that checkout instead (bench BASELINE=; empty: this
#                                           one); the path printed is relative to PACKAGE_DIR. PRODUCT: infer
#                                           (the default) or verify (make verify-full: its bounds are popcounts too).
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
product=${2:-infer}
case $product in infer|verify) ;; *) echo "build-native: PRODUCT '$product' is not infer or verify" >&2; exit 64;; esac
if grep -qw popcnt /proc/cpuinfo 2>/dev/null; then
  swift build -c release --product "$product" --scratch-path .build-native -Xswiftc -target-cpu -Xswiftc native >&2
  echo ".build-native/release/$product"
else
  swift build -c release --product "$product" >&2
  echo ".build/release/$product"
fi
