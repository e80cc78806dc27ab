#!/usr/bin/env bash
# Builds the fast `infer` (and `convert`) for this CPU and prints the path of the `infer` to use.
# A default `swift build` targets generic x86-64, which has no popcnt instruction: its binaries run on
# any x86-64 CPU, and the popcounts become bit-count sequences (about 6x slower here). Where
# /proc/cpuinfo lists popcnt, this builds with `-target-cpu native` into .build-native (AVX-512
# VPOPCNTDQ gives one vpopcntq per eight words) and prints that binary; otherwise it prints the
# generic one. Never copy a .build-native binary to another CPU.
#   scripts/build-native.sh [PACKAGE_DIR]   builds that checkout instead (bench BASELINE=); the path printed is
#                                           relative to PACKAGE_DIR
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
if grep -qw popcnt /proc/cpuinfo 2>/dev/null; then
  swift build -c release --product infer --scratch-path .build-native -Xswiftc -target-cpu -Xswiftc native >&2
  echo .build-native/release/infer
else
  swift build -c release --product infer >&2
  echo .build/release/infer
fi
