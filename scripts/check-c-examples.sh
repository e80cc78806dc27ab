#!/usr/bin/env bash
# Runs the C API's examples on MNIST test images and requires their classes to equal the host Swift
# runtime's (`infer --predictions`), image for image (the test CExampleTests runs this; `make lib`
# builds the libraries it links):
#   host      examples/c-host (gcc + .build-lib/x86_64-linux/libbitshield.a + zlib) on HOST_IMAGES images
#   firmware  examples/c-firmware (arm-none-eabi-gcc + newlib + .build-lib/armv7em/libbitshield.a + the
#             model as C source from `convert image --c-array`) under QEMU netduinoplus2 on FIRMWARE_IMAGES
#   aarch64   when aarch64-linux-gnu-gcc is installed (scripts/install-cross-gcc.sh): links a C program
#             against .build-lib/aarch64-linux/libbitshield.a (link test only: no aarch64 runner here)
#
#   scripts/check-c-examples.sh CONVERT INFER [MODEL.bsm]     (default model: the committed columns32 fixture)
#   HOST_IMAGES (default 2000), FIRMWARE_IMAGES (default 100), BITSHIELD_DATA or ~/.cache/bitshield/data
# Prints "c-examples: ..." lines with the agreement counts and the firmware's figures (code bytes the
# library contributes after --gc-sections, from the linker map; RAM; instructions). Exit 1 on any
# disagreement or failure.
set -euo pipefail
convert="${1:?usage: scripts/check-c-examples.sh CONVERT INFER [MODEL.bsm]}"
infer="${2:?usage: scripts/check-c-examples.sh CONVERT INFER [MODEL.bsm]}"
cd "$(dirname "$0")/.."
model="${3:-Tests/Fixtures/fcn-binary-2b-columns32.bsm}"
host_images="${HOST_IMAGES:-2000}"
firmware_images="${FIRMWARE_IMAGES:-100}"
data="${BITSHIELD_DATA:-$HOME/.cache/bitshield/data}/mnist/t10k-images-idx3-ubyte.gz"
[ -s "$data" ] || { echo "error: $data not found: run make data" >&2; exit 1; }
libs=(x86_64-linux armv7em armv7em-minimal)
command -v aarch64-linux-gnu-gcc >/dev/null && libs+=(aarch64-linux)
scripts/build-lib.sh "${libs[@]}" | sed 's/^/c-examples: /'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
count=$(( host_images > firmware_images ? host_images : firmware_images ))
"$infer" "$model" --dataset mnist --limit "$count" --predictions "$work/swift.txt" >/dev/null

# Agreement of the first N lines of two prediction files (one class per line: GOT and the Swift runtime's,
# default the model's), or exit 1 with the first difference.
agree() {
  local n="$1" what="$2" got="$3" want="${4:-$work/swift.txt}"
  local lines; lines=$(grep -c '^[0-9][0-9]*$' "$got" || true)
  [ "$lines" -eq "$n" ] || { echo "error: $what printed $lines classes, expected $n" >&2; head -5 "$got" >&2; exit 1; }
  if ! cmp -s <(grep '^[0-9][0-9]*$' "$got") <(head -n "$n" "$want"); then
    echo "error: $what disagrees with the Swift runtime: first difference:" >&2
    diff <(grep '^[0-9][0-9]*$' "$got") <(head -n "$n" "$want") | head -4 >&2
    exit 1
  fi
  echo "c-examples: $what: $n of $n MNIST test images agree with infer (the host Swift runtime)"
}

# The host example.
gcc -O2 -Wall -Wextra -Werror -Iinclude examples/c-host/main.c .build-lib/x86_64-linux/libbitshield.a -lz \
    -Wl,--gc-sections -o "$work/c-host"
"$work/c-host" "$model" "$data" "$host_images" > "$work/host.txt"
agree "$host_images" "examples/c-host (x86-64)" "$work/host.txt"
# Hostile inputs to the host example: a .bsm with one image byte flipped, an IDX file cut inside an image,
# and a model too short to hold a header: each exit 1 with the reason, never a crash.
expect_failure() {   # WHAT EXPECTED-TEXT ARGS...
  local what="$1" text="$2" status=0; shift 2
  "$work/c-host" "$@" > /dev/null 2> "$work/stderr" || status=$?
  [ "$status" -eq 1 ] && grep -q "$text" "$work/stderr" \
    || { echo "error: c-host on $what exited $status: $(cat "$work/stderr")" >&2; exit 1; }
}
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[-1] ^= 1; open(sys.argv[2], "wb").write(b)' "$model" "$work/flipped.bsm"
expect_failure "a flipped byte" "CRC-32 mismatch" "$work/flipped.bsm" "$data" 1
{ gzip -dc "$data" || true; } | head -c 1000 > "$work/cut.idx"   # gzip stops on SIGPIPE
expect_failure "a cut IDX file" "ends inside image 1" "$model" "$work/cut.idx"
head -c 40 "$model" > "$work/short.bsm"
expect_failure "a 40-byte model" "not a .bsm model file" "$work/short.bsm" "$data"
echo "c-examples: examples/c-host refuses a flipped byte, a cut IDX file and a 40-byte model (exit 1, the reason on stderr)"

# The firmware example: the model as C source, the images as a loader blob ("BSIM", count, bytes, pixels).
"$convert" image "$model" --c-array bitshield_model_image -o "$work/model.c" >/dev/null
python3 - "$data" "$firmware_images" "$work/images.bin" <<'PY'
import gzip, struct, sys
src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
raw = gzip.open(src).read()
magic, count, rows, cols = struct.unpack(">IIII", raw[:16])
assert magic == 0x803 and count >= n, (magic, count)
open(out, "wb").write(b"BSIM" + struct.pack("<II", n, rows * cols) + raw[16:16 + n * rows * cols])
PY
cpu=(-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16)
# Links the firmware example against library $1 with the model source $2 into $work/$3.elf (and .map),
# runs it under QEMU on the image blob, output in $work/$3.txt; returns the firmware's exit status.
firmware() {
  arm-none-eabi-gcc "${cpu[@]}" -O2 -Wall -Wextra -Werror -ffunction-sections -fdata-sections -nostartfiles \
      -Iinclude -Iexamples/c-firmware -T examples/c-firmware/netduinoplus2.ld \
      examples/c-firmware/startup.c examples/c-firmware/main.c "$2" ".build-lib/$1/libbitshield.a" \
      --specs=nano.specs -Wl,--gc-sections -Wl,--no-enum-size-warning -Wl,-z,noexecstack -Wl,-Map="$work/$3.map" \
      -o "$work/$3.elf"
  # No heap: startup.c defines no allocator, so a library that reached one would not link; and none may
  # come in from newlib either.
  local alloc; alloc=$(arm-none-eabi-nm "$work/$3.elf" | grep -E ' (malloc|calloc|realloc|posix_memalign|aligned_alloc|_sbrk|_malloc_r|swift_slowAlloc|swift_allocObject)$' || true)
  [ -z "$alloc" ] || { echo "error: the firmware example ($1) links an allocator: $alloc" >&2; return 1; }
  timeout 120 qemu-system-arm -M netduinoplus2 -nographic -monitor none -serial none \
      -semihosting-config enable=on,target=native -icount shift=0 -kernel "$work/$3.elf" \
      -device loader,file="$work/images.bin",addr=0x08080000 > "$work/$3.txt"
}
# What the library contributes after --gc-sections, from a linker map: "CODE DATA" where CODE is its
# .text and .rodata input sections and DATA its .data and .bss.
library_code() {
  python3 - "$1" <<'PY'
import re, sys
code, data, section = 0, 0, None
lines = open(sys.argv[1]).read().split("Linker script and memory map", 1)[1].splitlines()
for line in lines:
    m = re.match(r"^ (\.[\w.$]+)\s*$", line)          # a long section name alone on its line
    if m: section = m.group(1); continue
    m = re.match(r"^ (\.[\w.$]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", line)
    if not m: continue
    name = m.group(1) or section
    section = None
    if name and "libbitshield.a" in m.group(4):
        if re.match(r"\.(text|rodata)", name): code += int(m.group(3), 16)
        elif re.match(r"\.(data|bss)", name): data += int(m.group(3), 16)
print(code, data)
PY
}
for lib in armv7em armv7em-minimal; do
  firmware "$lib" "$work/model.c" "$lib" || { echo "error: the firmware example ($lib) failed:" >&2; tail -3 "$work/$lib.txt" >&2; exit 1; }
  agree "$firmware_images" "examples/c-firmware (QEMU netduinoplus2, $lib)" "$work/$lib.txt"
  read -r lib_code lib_data < <(library_code "$work/$lib.map")
  echo "c-examples: firmware figures ($lib): library code $lib_code B (.text + .rodata after --gc-sections), library .data + .bss $lib_data B," \
       "$(grep '^#' "$work/$lib.txt" | sed 's/^# //')"
done

# A ternary model (format version 5: two weight planes per dense layer, spec/FORMAT.md) through the same
# library: the host example and the minimal firmware, against the Swift runtime on the same images.
ternary=Tests/Fixtures/fcn-ternary-1b-columns32.bsm
"$infer" "$ternary" --dataset mnist --limit "$count" --predictions "$work/swift-ternary.txt" >/dev/null
"$work/c-host" "$ternary" "$data" "$host_images" > "$work/host-ternary.txt"
agree "$host_images" "examples/c-host (x86-64), ternary fixture" "$work/host-ternary.txt" "$work/swift-ternary.txt"
"$convert" image "$ternary" --c-array bitshield_model_image -o "$work/ternary.c" >/dev/null
firmware armv7em-minimal "$work/ternary.c" ternary || { echo "error: the firmware example (armv7em-minimal, ternary) failed:" >&2; tail -3 "$work/ternary.txt" >&2; exit 1; }
agree "$firmware_images" "examples/c-firmware (QEMU netduinoplus2, armv7em-minimal), ternary fixture" "$work/ternary.txt" "$work/swift-ternary.txt"
echo "c-examples: firmware figures (armv7em-minimal, ternary fixture): $(grep '^#' "$work/ternary.txt" | sed 's/^# //')"

# The minimal build refuses a model whose dense weights are not columns32 (the bits8 fixture) at init: a
# code and numbers on the device, which the host library formats as the convert command to run.
"$convert" image Tests/Fixtures/fcn-binary-2b.bsm --c-array bitshield_model_image -o "$work/bits8.c" >/dev/null
if firmware armv7em-minimal "$work/bits8.c" refusal; then
  echo "error: the minimal firmware ran a bits8 model instead of refusing it:" >&2; tail -2 "$work/refusal.txt" >&2; exit 1
fi
refusal=$(grep '^error: code=' "$work/refusal.txt" || true)
read -r code a b c < <(echo "$refusal" | sed -n 's/^error: code=\([0-9-]*\) values=\([0-9-]*\),\([0-9-]*\),\([0-9-]*\)$/\1 \2 \3 \4/p')
[ "${code:-}" = 26 ] || { echo "error: the minimal firmware's refusal is '$refusal', not code 26 (BITSHIELD_E_LAYOUT_NOT_BUILT)" >&2; exit 1; }
cat > "$work/format.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include "bitshield.h"
int main(int argc, char **argv) {   /* formats a code and its numbers as the host library words them */
    bitshield_error e = {atoi(argv[1]), 0, {atoll(argv[2]), atoll(argv[3]), atoll(argv[4])}};
    char text[512];
    (void)argc;
    bitshield_error_message(&e, text, sizeof text);
    puts(text);
    return 0;
}
C
gcc -O1 -Iinclude "$work/format.c" .build-lib/x86_64-linux/libbitshield.a -o "$work/format"
echo "c-examples: minimal firmware refuses the bits8 fixture: '$refusal' -> $("$work/format" "$code" "$a" "$b" "$c")"

# Hostile images on the device (the minimal firmware): 32-bit fields past Int32.max, which a 32-bit Int
# conversion would trap on, refused with a code: a tensor dimension of 0xFFFFFFFF (shape overflow, 13) and
# an f32 tensor value that is a NaN pattern above 2^31 (bad field, 4). The host cannot write such an image
# (convert validates it), so its bytes are patched and written as C source here.
"$convert" image "$model" -o "$work/model.img" >/dev/null
hostile() {   # NAME EXPECTED-CODE PYTHON-PATCH (b: the image bytes, tt: the tensor table offset)
  python3 - "$work/model.img" "$work/$1.c" "$3" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
tt = struct.unpack_from("<I", b, 32)[0]
exec(sys.argv[3])
with open(sys.argv[2], "w") as f:
    f.write("#include <stddef.h>\n#include <stdint.h>\n__attribute__((aligned(64))) const uint8_t bitshield_model_image[] = {"
            + ",".join(map(str, b)) + "};\nconst size_t bitshield_model_image_len = %d;\n" % len(b))
PY
  if firmware armv7em-minimal "$work/$1.c" "$1"; then echo "error: the minimal firmware ran the $1 image" >&2; exit 1; fi
  grep -q "^error: code=$2 " "$work/$1.txt" \
    || { echo "error: the minimal firmware on the $1 image printed '$(head -c 300 "$work/$1.txt")', not code $2" >&2; exit 1; }
}
hostile huge-dim 13 'struct.pack_into("<I", b, tt + 4, 0xFFFFFFFF)'
# The first f32 tensor's first value.
hostile nan-value 4 '
n = struct.unpack_from("<H", b, 26)[0]
at = next(tt + 32 * i for i in range(n) if struct.unpack_from("<H", b, tt + 32 * i)[0] == 3)
struct.pack_into("<I", b, struct.unpack_from("<I", b, at + 20)[0], 0xFFC00000)'
echo "c-examples: minimal firmware refuses a tensor dimension of 0xFFFFFFFF (code 13) and a NaN f32 value above 2^31 (code 4), no trap"

# aarch64 Linux: a link test of every API function.
if command -v aarch64-linux-gnu-gcc >/dev/null; then
  cat > "$work/link.c" <<'C'
#include "bitshield.h"
int main(void) {
    static bitshield_model m; bitshield_error e; bitshield_footprint f; size_t n; char text[128]; static unsigned char a[64];
    bitshield_arena_bytes(a, 0, BITSHIELD_KERNELS_OPTIMIZED, &n, &e);
    bitshield_init(&m, a, 0, a, sizeof a, BITSHIELD_KERNELS_OPTIMIZED, &e);
    bitshield_footprint_of(&m, &f);
    bitshield_error_message(&e, text, sizeof text);
    return (int)bitshield_api_version() + bitshield_invoke(&m, a, 0);
}
C
  aarch64-linux-gnu-gcc -O2 -Iinclude "$work/link.c" .build-lib/aarch64-linux/libbitshield.a -Wl,--gc-sections -o "$work/link-aarch64"
  echo "c-examples: aarch64-linux: linked a C program against libbitshield.a with $(aarch64-linux-gnu-gcc --version | head -1) ($(stat -c %s "$work/link-aarch64") B)"
else
  echo "c-examples: aarch64-linux: skipped, aarch64-linux-gnu-gcc is not installed (scripts/install-cross-gcc.sh)"
fi
