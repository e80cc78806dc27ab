/* A firmware application in C only, on QEMU's netduinoplus2 (Cortex-M4F), that runs a BitShield
 * model through the C API (include/bitshield.h) and the armv7em libbitshield.a. The model image is
 * linked in as C source (`convert image MODEL.bsm --c-array bitshield_model_image -o model.c`); the
 * test images arrive as a QEMU loader blob at 0x08080000 (IMAGES in netduinoplus2.ld):
 *   u32 magic "BSIM", u32 count, u32 bytes per image, then count x bytes pixels (little-endian).
 * Prints one predicted class per line on the semihosting console, then one summary line:
 *   # arena_bytes=.. init_instructions=.. instructions_mean=.. stack_init=.. stack_invoke=.. heap=..
 * and exits 0; on a failure, "error: code=C values=A,B,C" (bitshield.h's codes: the host formats
 * them, `bitshield_error_message`) and exits 1. Built and run by scripts/check-c-examples.sh. */
#include <stddef.h>
#include <stdint.h>
#include "bitshield.h"
#include "board.h"

extern const uint8_t bitshield_model_image[];
extern const size_t bitshield_model_image_len;
extern const uint8_t __images_start[], __images_end[];

#ifndef ARENA_BYTES
#define ARENA_BYTES 16384
#endif
static uint8_t arena[ARENA_BYTES] __attribute__((aligned(16)));
static bitshield_model model;

/* Decimal text of `v` (no printf: nothing formats on the device but these digits). */
static char *decimal(char *end, int64_t v) {
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    *--end = 0;
    do { *--end = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--end = '-';
    return end;
}

static void field(const char *name, int64_t value) {
    char digits[24];
    board_write(name);
    board_write(decimal(digits + sizeof digits, value));
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

int main(void) {
    volatile uint32_t mark = 0;   /* the call site's stack position: usage is measured below it */
    bitshield_error error;
    board_counter_start();
    board_paint_stack();
    uint32_t t0 = board_counter();
    int32_t status = bitshield_init(&model, bitshield_model_image, bitshield_model_image_len,
                                    arena, sizeof arena, BITSHIELD_KERNELS_OPTIMIZED, &error);
    uint32_t init_instructions = board_counter() - t0;
    uint32_t stack_init = board_stack_used_below((const void *)&mark);
    if (status != BITSHIELD_OK) {
        field("error: code=", error.code);
        field(" values=", error.values[0]);
        field(",", error.values[1]);
        field(",", error.values[2]);
        board_write("\n");
        return 1;
    }
    bitshield_footprint fp;
    bitshield_footprint_of(&model, &fp);

    const uint8_t *blob = __images_start;
    uint32_t count = le32(blob + 4), bytes = le32(blob + 8);
    if (le32(blob) != 0x4D495342u || bytes != fp.input_bytes
        || (uint64_t)count * bytes > (uint64_t)(__images_end - __images_start) - 12) {
        field("error: no image blob of the model's input size at 0x08080000: image bytes ", bytes);
        field(", model input bytes ", (int64_t)fp.input_bytes);
        field(", count ", count);
        board_write("\n");
        return 1;
    }
    board_paint_stack();
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t a = board_counter();
        int32_t cls = bitshield_invoke(&model, blob + 12 + (size_t)i * bytes, NULL);
        total += board_counter() - a;
        if (cls < 0) { field("error: invoke returned ", cls); board_write("\n"); return 1; }
        field("", cls);
        board_write("\n");
    }
    uint32_t stack_invoke = board_stack_used_below((const void *)&mark);
    field("# arena_bytes=", (int64_t)fp.arena_bytes);
    field(" init_instructions=", init_instructions);
    field(" instructions_mean=", count ? (int64_t)(total / count) : 0);
    field(" stack_init=", stack_init);
    field(" stack_invoke=", stack_invoke);
    field(" heap=", (int64_t)board_heap_used());
    board_write("\n");
    return 0;
}
