// FCN2 binary (784-600-600-600-600-10) in plain C with BitShield's semantics (spec/FORMAT.md): 2-bit
// input codes, weights +-1 stored as bits (1 = -1) row by row in 32-bit words (LSB first, padding
// bits 0), BatchNorm + sign folded into an integer threshold and a flip per neuron, and the last
// layer's BatchNorm as a float affine before the argmax. The straightforward XNOR-popcount loop a C
// programmer writes first, one row at a time; the Cortex-M4 has no popcount instruction, so
// __builtin_popcount is libgcc's __popcountsi2 (GCC) or an inline bit trick (clang).
//
// First layer on codes c_i = 2 q_i + 1, q_i = pixel_i >> 6, with bit-planes P0, P1 of q:
//   A_r = sum_i c_i w_ri = (784 - 2 m_r) + 2 (|P0| - 2 pc(P0 & W_r)) + 4 (|P1| - 2 pc(P1 & W_r)),
//   m_r the row's count of -1 weights (stored), pc the popcount.
// Hidden layers on signs: A_r = 600 - 2 pc(x XOR W_r). Sign: +1 (bit 0) iff (A_r >= t_r) != flip_r.
// Last layer: y_r = (A_r * c) * scale_r + shift_r in float32, the first largest wins.
#include <stdint.h>
#include "bench.h"
#include MODEL_H

extern const uint8_t model_blob[];
#define WORDS_IN 25     // 784 inputs
#define WORDS_HID 19    // 600 inputs
#define pc(x) ((uint32_t)__builtin_popcount(x))

static uint32_t planes[2][WORDS_IN];
static uint32_t signs_a[WORDS_HID], signs_b[WORDS_HID];
static int32_t scores[10];

const char net_name[] = "plain-c-binary";
const uint32_t net_model_bytes = MODEL_BLOB_BYTES;
const uint32_t net_arena_bytes = sizeof planes + sizeof signs_a + sizeof signs_b + sizeof scores;
int net_init(void) { return 0; }

static inline void set_sign(uint32_t *out, int r, int32_t a, int32_t threshold, uint8_t flip) {
    if ((a >= threshold) == (flip != 0)) out[r >> 5] |= 1u << (r & 31);   // -1
}

static void hidden(int layer, const uint32_t *in, uint32_t *out) {
    const uint32_t *w = (const uint32_t *)(model_blob + BIN_WEIGHTS[layer]);
    const int32_t *threshold = (const int32_t *)(model_blob + BIN_THRESHOLDS[layer]);
    const uint8_t *flip = model_blob + BIN_FLIPS[layer];
    for (int k = 0; k < WORDS_HID; k++) out[k] = 0;
    for (int r = 0; r < 600; r++, w += WORDS_HID) {
        uint32_t differ = 0;
        for (int k = 0; k < WORDS_HID; k++) differ += pc(in[k] ^ w[k]);
        set_sign(out, r, 600 - 2 * (int32_t)differ, threshold[r], flip[r]);
    }
}

__attribute__((noinline)) int net_infer(const uint8_t *pixels) {
    for (int k = 0; k < WORDS_IN; k++) planes[0][k] = planes[1][k] = 0;
    for (int i = 0; i < 784; i++) {
        uint32_t q = pixels[i] >> 6;
        planes[0][i >> 5] |= (q & 1u) << (i & 31);
        planes[1][i >> 5] |= (q >> 1) << (i & 31);
    }
    int32_t ones0 = 0, ones1 = 0;
    for (int k = 0; k < WORDS_IN; k++) { ones0 += (int32_t)pc(planes[0][k]); ones1 += (int32_t)pc(planes[1][k]); }

    const uint32_t *w = (const uint32_t *)(model_blob + BIN_WEIGHTS[0]);
    const uint16_t *minus = (const uint16_t *)(model_blob + BIN_MINUS_ONES);
    const int32_t *threshold = (const int32_t *)(model_blob + BIN_THRESHOLDS[0]);
    const uint8_t *flip = model_blob + BIN_FLIPS[0];
    for (int k = 0; k < WORDS_HID; k++) signs_a[k] = 0;
    for (int r = 0; r < 600; r++, w += WORDS_IN) {
        uint32_t s0 = 0, s1 = 0;
        for (int k = 0; k < WORDS_IN; k++) { s0 += pc(planes[0][k] & w[k]); s1 += pc(planes[1][k] & w[k]); }
        int32_t a = (784 - 2 * (int32_t)minus[r]) + 2 * (ones0 - 2 * (int32_t)s0) + 4 * (ones1 - 2 * (int32_t)s1);
        set_sign(signs_a, r, a, threshold[r], flip[r]);
    }
    hidden(1, signs_a, signs_b);
    hidden(2, signs_b, signs_a);
    hidden(3, signs_a, signs_b);

    w = (const uint32_t *)(model_blob + BIN_WEIGHTS[4]);
    const float *affine = (const float *)(model_blob + BIN_AFFINE);   // c, scale[10], shift[10]
    int best = 0;
    float top = 0;
    for (int r = 0; r < 10; r++, w += WORDS_HID) {
        uint32_t differ = 0;
        for (int k = 0; k < WORDS_HID; k++) differ += pc(signs_b[k] ^ w[k]);
        scores[r] = 600 - 2 * (int32_t)differ;
        float y = ((float)scores[r] * affine[0]) * affine[1 + r] + affine[11 + r];
        if (r == 0 || y > top) { top = y; best = r; }
    }
    return best;
}

uint32_t net_output_hash(void) { return bench_fnv1a((const uint8_t *)scores, sizeof scores); }
