#!/usr/bin/env bash
# Checks the Cortex-M0's soft-float and division helpers (compiler-rt, built by
# scripts/build-firmware.sh microbit) against the host's IEEE 754 hardware: Firmware/Tests/softfloat_check.c
# runs the same seeded operations (float add, multiply, compare, int-to-float; integer division) on
# the microbit under QEMU and on the host, and the hashes of every result must be equal.
#   scripts/check-softfloat.sh [COUNT]     (default 200000 rounds of 9 operations)
set -euo pipefail
caller="$PWD"
cd "$(dirname "$0")/.."
count="${1:-200000}"
root="${BITSHIELD_FIRMWARE_DIR:-.build-firmware}"
# A relative BITSHIELD_FIRMWARE_DIR is relative to where the script was run from, as for infer.
[ -z "${BITSHIELD_FIRMWARE_DIR:-}" ] || [ "${root#/}" != "$root" ] || root="$caller/$root"
bin="$(dirname "$(command -v swiftc)")"
rt="$(ls -t "$root"/compiler-rt-thumbv6m-*/libcompiler_rt.a 2>/dev/null | head -1 || true)"
if [ -z "$rt" ]; then
  scripts/build-firmware.sh microbit >/dev/null
  rt="$(ls -t "$root"/compiler-rt-thumbv6m-*/libcompiler_rt.a | head -1)"
fi
out="$root/softfloat-check"
mkdir -p "$out"
m0=(--target=armv6m-none-none-eabi -mcpu=cortex-m0 -mfloat-abi=soft -O2 -ffreestanding -fno-builtin -nostdlib -ffunction-sections)
"$bin/clang" "${m0[@]}" -DBOARD_MICROBIT -IFirmware/Startup -c Firmware/Startup/startup.c -o "$out/startup.o"
"$bin/clang" "${m0[@]}" -c Firmware/Startup/aeabi.c -o "$out/aeabi.o"
"$bin/clang" "${m0[@]}" -DCHECK_COUNT="$count" -c Firmware/Tests/softfloat_check.c -o "$out/check.o"
"$bin/ld.lld" -T Firmware/microbit.ld -L Firmware --gc-sections -o "$out/check.elf" "$out/startup.o" "$out/aeabi.o" "$out/check.o" "$rt"
"$bin/clang" -O2 -ffp-contract=off -DCHECK_COUNT="$count" Firmware/Tests/softfloat_check.c -o "$out/check-host"
device="$(timeout 300 qemu-system-arm -M microbit -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$out/check.elf")"
host="$("$out/check-host")"
echo "softfloat: microbit $device; host $host ($count rounds)"
[ "$device" = "$host" ] || { echo "error: the Cortex-M0's soft-float or division results differ from the host's" >&2; exit 1; }
