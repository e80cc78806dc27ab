#!/usr/bin/env bash
# Builds one C peer's firmware for QEMU netduinoplus2 (Cortex-M4F, hard float):
#
#   bench/device/build.sh PEER MODELS_DIR OUT_DIR
#     PEER: cmsis-s8       CMSIS-NN arm_fully_connected_s8 (needs CMSIS_NN and CMSIS_CORE), GCC
#           binary-gcc     plain C binary FCN2, Debian's arm-none-eabi-gcc
#           binary-clang   the same source, compiled by the Swift toolchain's clang (the LLVM that
#                          compiles BitShield's Embedded Swift); startup, blob and link stay with GCC
#     MODELS_DIR: models.py's output; OUT_DIR gets fw.elf, fw.map and sizes.json
#   BENCH_DEVICE_OPT (default -O2)     optimization of the network and the runner
#   CMSIS_NN, CMSIS_CORE               CMSIS-NN's root (Include/, Source/) and CMSIS_6's Core/Include
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
peer="$1"; models="$(cd "$2" && pwd)"; out="$3"
opt="${BENCH_DEVICE_OPT:--O2}"
mkdir -p "$out"
cc=arm-none-eabi-gcc
arch=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
# -ffp-contract=off: the binary peer's float affine must round like its host emulation (no fused multiply-add).
common=("${arch[@]}" -ffunction-sections -fdata-sections -ffp-contract=off -Wall -Wextra -Werror -g -I"$here/firmware")
net_cc=("$cc"); net_flags=()
case "$peer" in
  cmsis-s8)
    nn="${CMSIS_NN:?CMSIS_NN is not set}"; core="${CMSIS_CORE:?CMSIS_CORE is not set}"
    model=s8
    sources=("$here/firmware/net_cmsis_s8.c" "$nn/Source/FullyConnectedFunctions/arm_fully_connected_s8.c"
             "$nn/Source/FullyConnectedFunctions/arm_fully_connected_get_buffer_sizes_s8.c"
             "$nn/Source/NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c")
    # CMSIS-NN's own sources are compiled as they are (its warnings are not ours to fix).
    net_flags=(-DARM_MATH_DSP -I"$nn/Include" -I"$core/CMSIS/Core/Include" -Wno-error -Wno-unused-parameter) ;;
  binary-gcc)   model=bin; sources=("$here/firmware/net_binary.c") ;;
  binary-clang) model=bin; sources=("$here/firmware/net_binary.c")
    net_cc=("$(dirname "$(command -v swiftc)")/clang" --target=armv7em-none-eabi -fshort-enums)
    [ -x "${net_cc[0]}" ] || { echo "error: ${net_cc[0]} not found (the Swift toolchain's clang)" >&2; exit 1; } ;;
  *) echo "error: unknown peer '$peer' (cmsis-s8, binary-gcc, binary-clang)" >&2; exit 64 ;;
esac
objects=()
for s in "${sources[@]}"; do
  o="$out/$(basename "${s%.c}").o"
  "${net_cc[@]}" "${common[@]}" "${net_flags[@]}" "$opt" -DMODEL_H="\"$models/model_$model.h\"" -c "$s" -o "$o"
  objects+=("$o")
done
# The runner with GCC for every peer, so code sizes differ by the network alone.
"$cc" "${common[@]}" "$opt" -c "$here/firmware/runner.c" -o "$out/runner.o"
objects+=("$out/runner.o")
# The board code at a fixed -O2, without turning its own loops into calls to memset/memcpy.
"$cc" "${common[@]}" -O2 -ffreestanding -fno-tree-loop-distribute-patterns -c "$here/firmware/startup.c" -o "$out/startup.o"
"$cc" "${arch[@]}" -DMODEL_BIN="\"$models/model_$model.bin\"" -c "$here/firmware/model_blob.S" -o "$out/model_blob.o"
"$cc" "${arch[@]}" -nostdlib -nostartfiles -Wl,-z,noexecstack -T "$here/firmware/board.ld" -Wl,--gc-sections -Wl,-Map,"$out/fw.map" \
    -o "$out/fw.elf" "$out/startup.o" "${objects[@]}" "$out/model_blob.o" -lgcc
# Sizes from the linker's symbols: flash = vector table .. end of .data's load image; code = flash - model.
symbol() { echo $(( 16#$(arm-none-eabi-nm "$out/fw.elf" | awk -v s="$1" '$3 == s { print $1 }') )); }
flash=$(( $(symbol __flash_end) - $(symbol __vectors_start) ))
model_bytes=$(( $(symbol model_blob_end) - $(symbol model_blob) ))
compiler="$("${net_cc[@]}" --version | head -1)"
printf '{"peer": "%s", "optimization": "%s", "compiler": "%s", "flash_bytes": %d, "model_bytes": %d, "code_bytes": %d}\n' \
  "$peer" "$opt" "${compiler//\"/}" "$flash" "$model_bytes" "$(( flash - model_bytes ))" > "$out/sizes.json"
echo "bench-device: built $peer ($opt): flash $flash B = code $(( flash - model_bytes )) + model $model_bytes"
