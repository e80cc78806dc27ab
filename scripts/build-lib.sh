#!/usr/bin/env bash
# Builds the C API's static library, libbitshield.a (include/bitshield.h; Embedding/CAPI over
# ModelFormat and Inference, in Embedded Swift), for one or more targets, with only the Swift
# toolchain's swiftc and llvm-ar, the way scripts/build-firmware.sh compiles the firmware's runtime.
#
#   scripts/build-lib.sh [TARGET ...]   armv7em armv6m x86_64-linux aarch64-linux, each also as TARGET-minimal
#                                       (default: the four and armv7em-minimal)
#   LIB_OPT=-O|-Osize     Swift optimization (default -O, as the firmware; -Osize for TARGET-minimal)
#   BITSHIELD_LIB_DIR     output root (default .build-lib): writes ROOT/TARGET/libbitshield.a and lib.txt
#
# Targets: armv7em (Cortex-M4F, hard float: -mfloat-abi=hard -mfpu=fpv4-sp-d16), armv6m (Cortex-M0,
# soft float: link with libgcc, which has the __aeabi_ helpers), x86_64-linux (Embedded Swift's
# x86_64-unknown-linux-gnu, position-independent; adds bitshield_error_message), aarch64-linux (the
# toolchain has no Embedded Swift for aarch64 Linux: aarch64-none-none-elf objects, position-independent,
# which follow the same AAPCS64 calling convention; link-tested by scripts/check-c-examples.sh with
# Debian's aarch64-linux-gnu-gcc).
# What the library needs from the C side: memcpy, memmove, memset (and on hosts posix_memalign and
# free, for bitshield_error_message's text; the device builds allocate nothing, on success or on a
# failing init: their errors are codes and integers). A build whose source hash (these files,
# the sources and this script), optimization and toolchain equal the last one's is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
opt="${LIB_OPT:--O}"
root="${BITSHIELD_LIB_DIR:-.build-lib}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(armv7em armv6m x86_64-linux aarch64-linux armv7em-minimal)
bin="$(dirname "$(command -v swiftc)")"
for tool in swiftc llvm-ar llvm-objdump; do
  [ -x "$bin/$tool" ] || { echo "error: $bin/$tool not found: the Swift toolchain's own $tool is needed" >&2; exit 1; }
done
toolchain="$("$bin/swiftc" --version 2>&1 | head -1)"
# Code (.text + .rodata), .data and .bss bytes of an archive's objects, before the linker drops anything.
section_sizes() {
  local code=0 data=0 bss=0 name size
  while read -r _ name size _; do
    case "$name" in
      .text*|.rodata*) code=$((code + 16#$size)) ;;
      .data*) data=$((data + 16#$size)) ;;
      .bss*) bss=$((bss + 16#$size)) ;;
    esac
  done < <("$bin/llvm-objdump" -h "$1" | grep -E '^ *[0-9]+ ')
  echo "$code B code (.text + .rodata, before --gc-sections), $data B .data, $bss B .bss"
}
swift_files() { find "$@" -name '*.swift' -type f | LC_ALL=C sort; }
source_hash="$( { echo "$toolchain"; find Sources/ModelFormat Sources/Inference Embedding/CAPI Embedding/CSupport include scripts/build-lib.sh \
    -type f ! -path '*/.*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum --; } | sha256sum | cut -d' ' -f1)"
for t in "${targets[@]}"; do
  # TARGET-minimal: the minimal build, for size: -D BITSHIELD_MINIMAL leaves every kernel but the columns32
  # dense ones out of Inference (KernelChoice.swift) and makes the C API refuse other layers at init
  # (Embedding/CAPI/MinimalBuild.swift).
  minimal=(); topt="$opt"
  case "$t" in *-minimal) minimal=(-D BITSHIELD_MINIMAL); topt="${LIB_OPT:--Osize}" ;; esac
  case "${t%-minimal}" in
    armv7em) triple=armv7em-none-none-eabi; extra=(-Xcc -mfloat-abi=hard -Xcc -mfpu=fpv4-sp-d16 -Xcc -ffreestanding) ;;
    armv6m) triple=armv6m-none-none-eabi; extra=(-Xcc -ffreestanding) ;;
    x86_64-linux) triple=x86_64-unknown-linux-gnu; extra=(-Xcc -fPIC) ;;
    aarch64-linux) triple=aarch64-none-none-elf; extra=(-Xcc -fPIC -Xllvm -relocation-model=pic -D BITSHIELD_HOST_MESSAGES) ;;
    *) echo "error: unknown target '$t' (armv7em, armv6m, x86_64-linux, aarch64-linux, each optionally with -minimal)" >&2; exit 64 ;;
  esac
  out="$root/$t"
  build_hash="$(echo "$source_hash $t $topt ${extra[*]} ${minimal[*]}" | sha256sum | cut -d' ' -f1)"
  if [ -s "$out/libbitshield.a" ] && [ "$(sed -n 's/^source_hash=//p' "$out/lib.txt" 2>/dev/null)" = "$build_hash" ]; then
    echo "lib: $out/libbitshield.a is up to date ($(stat -c %s "$out/libbitshield.a") B)"
    continue
  fi
  mkdir -p "$out"
  rm -f "$out/lib.txt" "$out/libbitshield.a"
  flags=(-target "$triple" -enable-experimental-feature Embedded -wmo -parse-as-library "$topt"
         -Xfrontend -disable-stack-protector -Xfrontend -function-sections "${extra[@]}" "${minimal[@]}")
  # The runtime's modules; for armv7em at -O the netduinoplus2 firmware's own objects when its build is
  # current (scripts/build-firmware.sh compiles them with the same flags).
  rt="$root/runtime-$t$topt"
  rt_hash="$( { echo "$toolchain ${flags[*]}"; find Sources/ModelFormat Sources/Inference -type f ! -path '*/.*' -print0 \
      | LC_ALL=C sort -z | xargs -0 sha256sum --; } | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$rt/hash" 2>/dev/null)" != "$rt_hash" ]; then
    rm -rf "$rt"; mkdir -p "$rt"
    fw="${BITSHIELD_FIRMWARE_DIR:-.build-firmware}/netduinoplus2"
    recorded() { sed -n "s/^$1=//p" "$fw/firmware.txt" 2>/dev/null; }
    if [ "$t" = armv7em ] && [ "$topt" = -O ] && [ -s "$fw/Inference.o" ] && [ "$(recorded optimization)" = -O ] \
       && [ "$(recorded toolchain)" = "$toolchain" ] && [ "$(recorded source_hash)" = "$(scripts/firmware-source-hash.sh netduinoplus2)" ]; then
      cp "$fw"/ModelFormat.{o,swiftmodule} "$fw"/Inference.{o,swiftmodule} "$rt/"
      echo "lib: $t: ModelFormat and Inference objects from the current firmware build ($fw)"
    else
      "$bin/swiftc" "${flags[@]}" -module-name ModelFormat $(swift_files Sources/ModelFormat) \
          -emit-module -emit-module-path "$rt/ModelFormat.swiftmodule" -c -o "$rt/ModelFormat.o"
      "$bin/swiftc" "${flags[@]}" -module-name Inference -I "$rt" $(swift_files Sources/Inference) \
          -emit-module -emit-module-path "$rt/Inference.swiftmodule" -c -o "$rt/Inference.o"
    fi
    echo "$rt_hash" > "$rt/hash"
  fi
  "$bin/swiftc" "${flags[@]}" -module-name BitShieldC -I "$rt" $(swift_files Embedding/CAPI) -c -o "$out/BitShieldC.o"
  # One archive: the three modules and the Embedded standard library's Unicode tables, which String
  # code on error paths refers to (a C linker with --gc-sections keeps only what is reached).
  rm -f "$out/libbitshield.a.part" "$out/objects.a"
  objects=("$out/BitShieldC.o" "$rt/Inference.o" "$rt/ModelFormat.o")
  if [ "${t%-minimal}" = armv6m ]; then   # the atomics the M0 lacks (Embedding/CSupport/atomic-armv6m.c)
    "$bin/clang" --target=armv6m-none-eabi -mcpu=cortex-m0 -Os -ffreestanding -ffunction-sections -Wall -Werror \
        -c Embedding/CSupport/atomic-armv6m.c -o "$out/atomic-armv6m.o"
    objects+=("$out/atomic-armv6m.o")
  fi
  "$bin/llvm-ar" rcs "$out/objects.a" "${objects[@]}"
  printf 'create %s\naddlib %s\naddlib %s\nsave\nend\n' "$out/libbitshield.a.part" "$out/objects.a" \
      "$bin/../lib/swift/embedded/$triple/libswiftUnicodeDataTables.a" | "$bin/llvm-ar" -M
  mv "$out/libbitshield.a.part" "$out/libbitshield.a"
  { echo "target=$t"; echo "triple=$triple"; echo "optimization=$topt"; echo "source_hash=$build_hash"; } > "$out/lib.txt"
  echo "lib: $out/libbitshield.a ($triple, $topt${minimal:+, minimal}): $(stat -c %s "$out/libbitshield.a") B archive, $(section_sizes "$out/libbitshield.a")"
done
