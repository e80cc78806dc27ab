// FCN2 (784-600-600-600-600-10) in int8 with CMSIS-NN's arm_fully_connected_s8, the kernel TensorFlow
// Lite Micro calls for a fully-connected layer on a Cortex-M with the DSP extension. Per-tensor
// quantization as TFLite's converter writes it (models.py): input scale 1/255 with zero point -128,
// ReLU fused into the output clamp (zero point -128), activations ping-ponging between two buffers.
// The three hidden 600x600 layers read one shared weight matrix (each keeps its own bias and
// requantization): FCN2's distinct int8 weights (1,556,400 B) do not fit the board's 1 MiB flash.
#include "arm_nnfunctions.h"
#include "bench.h"
#include MODEL_H

#if !defined(ARM_MATH_DSP)
#error "ARM_MATH_DSP is not defined: build for the Cortex-M4 (-mcpu=cortex-m4), whose DSP path is measured"
#endif

typedef struct {
    int32_t inputs, outputs, weights, bias, input_offset, output_offset, multiplier, shift;
} s8_layer;
static const s8_layer layers[S8_LAYER_COUNT] = S8_LAYERS;
extern const uint8_t model_blob[];

static int8_t activations_a[784] __attribute__((aligned(4)));
static int8_t activations_b[600] __attribute__((aligned(4)));

const char net_name[] = "cmsis-nn-s8";
const uint32_t net_model_bytes = MODEL_BLOB_BYTES;
const uint32_t net_arena_bytes = sizeof activations_a + sizeof activations_b;

int net_init(void) {
    // On a DSP (non-MVE) core arm_fully_connected_s8 needs no scratch buffer (ctx.buf stays NULL).
    for (int l = 0; l < S8_LAYER_COUNT; l++) {
        cmsis_nn_dims filter = {.n = layers[l].inputs, .h = 1, .w = 1, .c = layers[l].outputs};
        if (arm_fully_connected_s8_get_buffer_size(&filter) != 0) return 1;
    }
    return 0;
}

static void fully_connected(const s8_layer *l, const int8_t *in, int8_t *out) {
    const cmsis_nn_context ctx = {.buf = 0, .size = 0};
    const cmsis_nn_fc_params params = {.input_offset = l->input_offset, .filter_offset = 0, .output_offset = l->output_offset,
                                       .activation = {.min = -128, .max = 127}};
    const cmsis_nn_per_tensor_quant_params quant = {.multiplier = l->multiplier, .shift = l->shift};
    const cmsis_nn_dims in_dims = {.n = 1, .h = 1, .w = 1, .c = l->inputs};
    const cmsis_nn_dims filter_dims = {.n = l->inputs, .h = 1, .w = 1, .c = l->outputs};
    const cmsis_nn_dims bias_dims = {.n = 1, .h = 1, .w = 1, .c = l->outputs};
    const cmsis_nn_dims out_dims = {.n = 1, .h = 1, .w = 1, .c = l->outputs};
    arm_fully_connected_s8(&ctx, &params, &quant, &in_dims, in, &filter_dims, (const int8_t *)(model_blob + l->weights),
                           &bias_dims, (const int32_t *)(model_blob + l->bias), &out_dims, out);
}

__attribute__((noinline)) int net_infer(const uint8_t *pixels) {
    for (int i = 0; i < 784; i++) activations_a[i] = (int8_t)(pixels[i] ^ 0x80);   // q = pixel - 128
    int8_t *in = activations_a, *out = activations_b;
    for (int l = 0; l < S8_LAYER_COUNT; l++) {
        fully_connected(&layers[l], in, out);
        int8_t *t = in; in = out; out = t;
    }
    int best = 0;                       // the first of the largest outputs
    for (int k = 1; k < 10; k++) if (in[k] > in[best]) best = k;
    return best;
}

uint32_t net_output_hash(void) {
    // After five layers the output sits in activations_b (layers alternate a->b, b->a, ...).
    return bench_fnv1a((const uint8_t *)activations_b, 10);
}
