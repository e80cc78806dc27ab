#!/usr/bin/env bash
# Installs Debian's bare-metal Arm GCC, only the packages missing (idempotent: a second run installs
# nothing and prints one summary line). Used by `make bench-device` to build the C peers (CMSIS-NN int8,
# plain C binary FCN2) for the QEMU netduinoplus2 board; BitShield's own firmware needs none of it.
#   gcc-arm-none-eabi        arm-none-eabi-gcc, binutils (objdump, nm, size) and libgcc for armv7e-m
#   libnewlib-arm-none-eabi  the C library headers (stdint.h, string.h) the CMSIS sources include
set -euo pipefail
want=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "arm-gcc: all present (${want[*]}; $(arm-none-eabi-gcc -dumpversion))"
  exit 0
fi
echo "arm-gcc: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "arm-gcc: installed ${missing[*]} ($(arm-none-eabi-gcc -dumpversion))"
