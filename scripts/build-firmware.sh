#!/usr/bin/env bash
# Builds the BitShield device firmware for a QEMU board with only the Swift toolchain's own tools
# (swiftc, clang, ld.lld): ModelFormat and Inference in Embedded Swift, the firmware's Swift main,
# the C startup file and the board's linker script.
#
#   scripts/build-firmware.sh [netduinoplus2|microbit][-minimal]     (default netduinoplus2)
#   FIRMWARE_OPT=-O|-Osize   Swift optimization (default -O: fewer instructions per inference; -Osize for BOARD-minimal)
#
# BOARD-minimal (`infer --device BOARD --minimal`) is the minimal runtime of issue 14 item 5 on the same
# board: -D BITSHIELD_MINIMAL (binary dense layers on columns32 weights only, everything else refused at
# init), -Osize, and no error text (the host formats it); into $BITSHIELD_FIRMWARE_DIR/BOARD-minimal/.
#   BITSHIELD_FIRMWARE_DIR   output root (default .build-firmware; infer --device reads the same variable)
#
# The Cortex-M0 (microbit) also needs compiler-rt's soft-float, division and 64-bit multiplication
# helpers, which the Swift toolchain does not ship for bare-metal ARM: they are built once from the
# compiler-rt that Zig bundles (PyPI `ziglang` in .venv-zig, installed by scripts/install-device.sh;
# or ZIG="path/to/zig") into $BITSHIELD_FIRMWARE_DIR/compiler-rt-thumbv6m-zigVERSION/libcompiler_rt.a.
#
# Writes $BITSHIELD_FIRMWARE_DIR/BOARD/firmware.elf and firmware.txt (key=value: board, cpu, payload address,
# flash and RAM sizes, the firmware's flash, .data and .bss bytes, the source hash, the elf's SHA-256)
# that `infer --device` reads. The source hash (scripts/firmware-source-hash.sh; the files and the rule
# are in Firmware/sources.list) is also in the elf, in the non-loaded section .bitshield.sources
# (`llvm-objdump -s -j .bitshield.sources firmware.elf`). A build whose source hash, optimization and
# toolchain equal those in an existing firmware.txt is skipped (the hash decides, not file times);
# FIRMWARE_FORCE=1 rebuilds anyway. firmware.txt is written last, after the elf is complete.
set -euo pipefail
caller="$PWD"
cd "$(dirname "$0")/.."
board="${1:-netduinoplus2}"
opt="${FIRMWARE_OPT:--O}"
root="${BITSHIELD_FIRMWARE_DIR:-.build-firmware}"
# A relative BITSHIELD_FIRMWARE_DIR is relative to where the script was run from, as for infer.
[ -z "${BITSHIELD_FIRMWARE_DIR:-}" ] || [ "${root#/}" != "$root" ] || root="$caller/$root"
out="$root/$board"
base="${board%-minimal}"
minimal=(-D BITSHIELD_HOST_MESSAGES)
if [ "$base" != "$board" ]; then minimal=(-D BITSHIELD_MINIMAL); opt="${FIRMWARE_OPT:--Osize}"; fi
case "$base" in
  netduinoplus2) target=armv7em-none-none-eabi; cpu=cortex-m4; define=BOARD_NETDUINOPLUS2
                 cflags=(-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16)
                 sflags=(-Xcc -mfloat-abi=hard -Xcc -mfpu=fpv4-sp-d16)
                 flash=1048576; ram=131072; ipt=1; shift=0 ;;
  microbit)      target=armv6m-none-none-eabi; cpu=cortex-m0; define=BOARD_MICROBIT
                 # COMPACT_COLUMN_SUMS: the column kernels without their 32-column blocks (flash before speed).
                 cflags=(-mcpu=cortex-m0 -mfloat-abi=soft); sflags=(-D COMPACT_COLUMN_SUMS); flash=262144; ram=16384
                 # TIMER0 counts 16 MHz (62.5 ns a tick); under -icount shift=7 an instruction takes
                 # 128 ns, so a tick is 62.5 / 128 instructions and a count is exact to within one.
                 ipt=0.48828125; shift=7
                 runtime=thumbv6m ;;
  *) echo "error: unknown board '$board' (netduinoplus2, microbit, each optionally with -minimal)" >&2; exit 64 ;;
esac
bin="$(dirname "$(command -v swiftc)")"
for tool in swiftc clang ld.lld llvm-nm llvm-objcopy; do
  [ -x "$bin/$tool" ] || { echo "error: $bin/$tool not found: the Swift toolchain's own $tool is needed" >&2; exit 1; }
done
source_hash="$(scripts/firmware-source-hash.sh "$board")"
toolchain="$("$bin/swiftc" --version 2>&1 | head -1)"
# Up to date when the last build recorded the same sources, optimization and toolchain.
recorded() { sed -n "s/^$1=//p" "$out/firmware.txt" 2>/dev/null; }
if [ -z "${FIRMWARE_FORCE:-}" ] && [ -s "$out/firmware.elf" ] && [ "$(recorded source_hash)" = "$source_hash" ] \
   && [ "$(recorded optimization)" = "$opt" ] && [ "$(recorded toolchain)" = "$toolchain" ]; then
  echo "firmware: $out/firmware.elf is up to date ($board, $opt, source hash ${source_hash:0:12})"
  exit 0
fi
mkdir -p "$out"
# No firmware.txt until the new elf is complete: an interrupted build leaves no description that infer accepts.
rm -f "$out/firmware.txt"
libs=()
if [ -n "${runtime:-}" ]; then
  # compiler-rt from Zig's sources, for the Cortex-M0 only (the Cortex-M4 needs none of it).
  if [ -n "${ZIG:-}" ]; then zig=("$ZIG")
  elif [ -x .venv-zig/bin/python ] && .venv-zig/bin/python -m ziglang version >/dev/null 2>&1; then zig=(.venv-zig/bin/python -m ziglang)
  else echo "error: the $board firmware needs compiler-rt, built with Zig: run scripts/install-device.sh $board (or make device), or set ZIG" >&2; exit 1
  fi
  rt="$root/compiler-rt-$runtime-zig$("${zig[@]}" version)/libcompiler_rt.a"
  if [ ! -s "$rt" ]; then
    zig_lib="$("${zig[@]}" env | sed -n 's/.*"lib_dir": *"\([^"]*\)".*/\1/p; s/^ *\.lib_dir = "\([^"]*\)".*/\1/p' | head -1)"
    [ -f "$zig_lib/compiler_rt.zig" ] || { echo "error: no compiler_rt.zig in Zig's lib dir '$zig_lib'" >&2; exit 1; }
    mkdir -p "$(dirname "$rt")"
    "${zig[@]}" build-lib -target thumb-freestanding-eabi -mcpu cortex_m0 -O ReleaseSmall -ffunction-sections -fdata-sections \
        --cache-dir "$root/zig-cache" --global-cache-dir "$root/zig-cache" --name compiler_rt \
        "$zig_lib/compiler_rt.zig" -femit-bin="$rt.part"
    mv "$rt.part" "$rt"
  fi
  libs+=("$rt")
fi
stdlib="$bin/../lib/swift/embedded/$target"
# BITSHIELD_HOST_MESSAGES: this test firmware prints the tools' error text itself (ModelFormatError+Message.swift,
# its small error-path allocator); the C library's device builds carry numbers only and format nothing.
swift_flags=(-target "$target" -enable-experimental-feature Embedded -wmo -parse-as-library "$opt"
             -Xcc -ffreestanding -Xfrontend -disable-stack-protector -Xfrontend -function-sections "${sflags[@]}"
             "${minimal[@]}")
# Every .swift file under a module's folder, recursively (new files and subfolders are followed).
swift_files() { find "$1" -name '*.swift' -type f | LC_ALL=C sort; }
"$bin/swiftc" "${swift_flags[@]}" -module-name ModelFormat $(swift_files Sources/ModelFormat) \
    -emit-module -emit-module-path "$out/ModelFormat.swiftmodule" -c -o "$out/ModelFormat.o"
"$bin/swiftc" "${swift_flags[@]}" -module-name Inference -I "$out" $(swift_files Sources/Inference) \
    -emit-module -emit-module-path "$out/Inference.swiftmodule" -c -o "$out/Inference.o"
# The payload header is read once, before anything is counted: built for size (its error messages).
"$bin/swiftc" "${swift_flags[@]}" -Osize -module-name DevicePayload $(swift_files Sources/DevicePayload) \
    -emit-module -emit-module-path "$out/DevicePayload.swiftmodule" -c -o "$out/DevicePayload.o"
"$bin/swiftc" "${swift_flags[@]}" -module-name Firmware -I "$out" -import-objc-header Firmware/Startup/firmware.h \
    $(swift_files Firmware/Sources) -c -o "$out/Firmware.o"
"$bin/clang" --target="$target" "${cflags[@]}" -D"$define" -Os -ffreestanding -fno-builtin -nostdlib -ffunction-sections -fdata-sections -Wall -Werror \
    -IFirmware/Startup -c Firmware/Startup/startup.c -o "$out/startup.o"
"$bin/clang" --target="$target" "${cflags[@]}" -O2 -ffreestanding -fno-builtin -nostdlib -ffunction-sections -Wall -Werror \
    -c Firmware/Startup/aeabi.c -o "$out/aeabi.o"
"$bin/ld.lld" -T "Firmware/$base.ld" -L Firmware --gc-sections -o "$out/firmware.elf.part" \
    "$out/startup.o" "$out/aeabi.o" "$out/Firmware.o" "$out/Inference.o" "$out/DevicePayload.o" "$out/ModelFormat.o" \
    -Map "$out/firmware.map" "$stdlib/libswiftUnicodeDataTables.a" "${libs[@]}"
# The source hash inside the elf too, in a section that is not loaded (no flash).
printf 'source_hash=%s\n' "$source_hash" > "$out/source-hash.txt"
"$bin/llvm-objcopy" --add-section ".bitshield.sources=$out/source-hash.txt" "$out/firmware.elf.part"
mv "$out/firmware.elf.part" "$out/firmware.elf"

# The figures `infer --device` needs, from the linker's symbols.
sym() { echo $(( 16#$("$bin/llvm-nm" "$out/firmware.elf" | awk -v s="$1" '$3 == s { print $1 }') )); }
payload=$(sym __payload_start); payload_end=$(sym __payload_end)
vectors=$(sym __vectors_start); flash_end=$(sym __flash_end)
data=$(( $(sym __data_end) - $(sym __data_start) )); bss=$(( $(sym __bss_end) - $(sym __bss_start) ))
arena=$(( $(sym __arena_end) - $(sym __arena_start) ))
stack=$(( $(sym __stack_top) - $(sym __stack_limit) )); heap=$(( $(sym __heap_end) - $(sym __heap_start) ))
# The runtime's code, counted as for the C library (issue 14 item 5): the .text and .rodata input sections
# of ModelFormat and Inference after --gc-sections, from the linker map: their objects, and their
# functions that Embedded Swift specialized into the firmware's own object; not startup, the firmware's
# main, the payload reader or compiler-rt.
runtime_code=0
while read -r _ _ size _; do runtime_code=$(( runtime_code + 16#$size )); done < <(grep -E \
    '/(ModelFormat|Inference)\.o:\(\.(text|rodata)|\.o:\(\.(text|rodata)\.\$e(11ModelFormat|9Inference)' "$out/firmware.map")
{
  echo "board=$board"
  echo "target=$target"
  echo "cpu=$cpu"
  echo "optimization=$opt"
  echo "flash_bytes=$flash"
  echo "ram_bytes=$ram"
  echo "payload_address=$payload"
  echo "payload_capacity=$(( payload_end - payload ))"
  echo "firmware_flash_bytes=$(( flash_end - vectors ))"
  echo "runtime_code_bytes=$runtime_code"
  echo "data_bytes=$data"
  echo "bss_bytes=$bss"
  echo "arena_capacity=$arena"
  echo "stack_reserved=$stack"
  echo "heap_reserved=$heap"
  echo "instructions_per_tick=$ipt"
  echo "icount_shift=$shift"
  echo "source_hash=$source_hash"
  echo "toolchain=$toolchain"
  echo "elf_sha256=$(sha256sum "$out/firmware.elf" | cut -d' ' -f1)"
} > "$out/firmware.txt.part"
mv "$out/firmware.txt.part" "$out/firmware.txt"
echo "firmware: $out/firmware.elf ($board, $opt): $(( flash_end - vectors )) B flash (runtime code $runtime_code B), .data $data B, .bss $bss B, arena up to $arena B"
