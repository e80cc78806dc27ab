#!/usr/bin/env bash
# Installs what `infer --device` needs, each only if it is missing (idempotent: a second run installs
# nothing):
#   - qemu-system-arm (the simulated Cortex-M boards), with apt-get;
#   - for the Cortex-M0 (microbit): Zig from PyPI (`ziglang`, pinned) into $REPO/.venv-zig, whose
#     bundled compiler-rt sources scripts/build-firmware.sh compiles into the soft-float, division
#     and 64-bit multiplication helpers the Swift toolchain does not ship for bare-metal ARM.
#   scripts/install-device.sh [all|netduinoplus2|microbit]     (default all)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-all}"
ZIGLANG_VERSION=0.17.1

if [ "$what" = all ] || [ "$what" = microbit ]; then
  venv="$REPO/.venv-zig"
  if [ -x "$venv/bin/python" ] && v="$("$venv/bin/python" -m ziglang version 2>/dev/null)" && [ "$v" = "$ZIGLANG_VERSION" ]; then
    echo "device: zig $v present in $venv (compiler-rt for the Cortex-M0)"
  else
    echo "device: installing ziglang $ZIGLANG_VERSION into $venv (compiler-rt for the Cortex-M0)"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "ziglang==$ZIGLANG_VERSION"
    echo "device: installed zig $("$venv/bin/python" -m ziglang version)"
  fi
fi

if command -v qemu-system-arm >/dev/null 2>&1; then
  echo "device: qemu-system-arm present ($(qemu-system-arm --version | head -1))"
  exit 0
fi
echo "device: installing qemu-system-arm"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
echo "device: installed $(qemu-system-arm --version | head -1)"
