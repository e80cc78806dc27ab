#!/usr/bin/env bash
# Installs qemu-system-arm (the simulated Cortex-M boards of `infer --device`) with apt-get, only if
# it is missing. Idempotent: a second run installs nothing.
set -euo pipefail
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
