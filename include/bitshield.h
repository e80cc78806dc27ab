/* bitshield.h: the C API of the BitShield runtime (binarized neural networks on microcontrollers).
 *
 * The runtime is Embedded Swift compiled into a static library per target (`make lib` writes
 * .build-lib/TARGET/libbitshield.a: armv7em (Cortex-M4F, hard float), armv6m (Cortex-M0, soft float),
 * x86_64-linux). This header is the whole interface; docs/EMBEDDING.md ("From C") shows the link line.
 *
 * Shape (TensorFlow Lite Micro's): the caller owns everything.
 *   - the model image (the bare, uncompressed image of a .bsm file: `convert image MODEL.bsm -o
 *     model.img`, or `--c-array NAME` for C source) stays where it is (flash) and is read in place;
 *   - the arena (activations and scratch), 16-byte aligned, of at least `bitshield_arena_bytes`;
 *   - the `bitshield_model` handle (BITSHIELD_MODEL_BYTES, plain storage, no pointer inside it to
 *     itself: it may be copied once initialized, and it stays valid as long as image and arena do).
 * `bitshield_init` validates the whole image (every check the format specification asks of a reader)
 * and plans the arena; `bitshield_invoke` then runs without allocating and without validating again.
 * Nothing here formats text on the device: a failure is a `bitshield_error` (a code and up to three
 * integers) that the caller prints or sends on; the host library formats it (`bitshield_error_message`).
 *
 * Threads: a model handle is used by one thread at a time (its arena is its working memory); two
 * handles over the same image with two arenas may run in parallel.
 *
 * Stability: the functions, structs and codes below are version BITSHIELD_API_VERSION. A later
 * version only adds (new codes, new functions); `bitshield_api_version()` returns the library's.
 */
#ifndef BITSHIELD_H
#define BITSHIELD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The version of this header; compare with `bitshield_api_version()` at start-up. */
#define BITSHIELD_API_VERSION 1

/* ---- Kernel sets (the `kernels` argument), int32_t values ---- */

/** The fastest kernels for the target: carry-save counts on 32-bit CPUs, SIMD popcounts on 64-bit. */
#define BITSHIELD_KERNELS_OPTIMIZED 0
/** Plain loops on +/-1 integers: the definition (slow; for checking). */
#define BITSHIELD_KERNELS_REFERENCE 1
/** Carry-save counts on 32-bit words, on any target (a host plans a Cortex-M's arena with it). */
#define BITSHIELD_KERNELS_CARRY_SAVE 2

/* ---- Error codes (bitshield_error.code; negated, the failure result of bitshield_invoke) ----
 * values[] holds the numbers each code names, in order; unused values are 0. */

#define BITSHIELD_OK 0
/* The model image (spec/FORMAT.md, "The image"): */
#define BITSHIELD_E_BAD_MAGIC 1              /* the first bytes are not a BitShield model image; -     */
#define BITSHIELD_E_UNSUPPORTED_VERSION 2    /* [0] the image's version, [1] the newest this library reads */
#define BITSHIELD_E_TRUNCATED 3              /* [0] bytes a structure needs, [1] bytes there are       */
#define BITSHIELD_E_BAD_FIELD 4              /* [0] the value of a field the format forbids            */
#define BITSHIELD_E_MISALIGNED 5             /* [0] the offset of a part that is not 64-byte aligned   */
#define BITSHIELD_E_OUT_OF_BOUNDS 6          /* [0] where a part ends, [1] the image's bytes            */
#define BITSHIELD_E_OVERLAP 7                /* two parts overlap; -                                    */
#define BITSHIELD_E_OUT_OF_ORDER 8           /* [0] a part's offset, [1] where the part before it ends  */
#define BITSHIELD_E_ACCUMULATOR_OVERFLOW 9   /* [0] op, [1] fan-in, [2] largest input (bound 2^31 - 1)  */
#define BITSHIELD_E_NONZERO_PADDING 10       /* [0] the offset of a non-zero padding byte or bit        */
#define BITSHIELD_E_UNKNOWN_OP 11            /* [0] op index, [1] its op id                             */
#define BITSHIELD_E_UNKNOWN_TENSOR_TYPE 12   /* [0] tensor index, [1] its type id                       */
#define BITSHIELD_E_SHAPE_OVERFLOW 13        /* a shape overflows or exceeds the format's caps; -       */
#define BITSHIELD_E_SIZE_MISMATCH 14         /* [0] a tensor's bytes, [1] what its type and shape need  */
#define BITSHIELD_E_BAD_TENSOR_REFERENCE 15  /* [0] the op whose tensor is missing or of the wrong kind */
#define BITSHIELD_E_CHAIN_MISMATCH 16        /* [0] the op whose input is not the previous op's output  */
/* The runtime and the call: */
#define BITSHIELD_E_ARENA_TOO_SMALL 20       /* [0] arena bytes needed, [1] arena bytes given           */
#define BITSHIELD_E_ARENA_MISALIGNED 21      /* [0] the arena's address (must be 16-byte aligned)      */
#define BITSHIELD_E_PLAN_OVERFLOW 22         /* [0] the model's largest value (elements), [1] batch     */
#define BITSHIELD_E_BAD_ARGUMENT 23          /* [0] which argument (1-based), [1] its value (0: NULL),
                                                [2] the rule it breaks, BITSHIELD_ARGUMENT_...          */
#define BITSHIELD_ARGUMENT_NULL 0            /* NULL where a pointer is required (or another bad value) */
#define BITSHIELD_ARGUMENT_MISALIGNED 1      /* [1] an address off the 8-byte boundary (image, model)   */
#define BITSHIELD_ARGUMENT_OVERLAPS 2        /* [1] an address inside another buffer of the call        */
#define BITSHIELD_ARGUMENT_SIZE 3            /* [1] a size past SIZE_MAX / 2 (a negative ssize_t)        */
#define BITSHIELD_ARGUMENT_KERNELS 4         /* [1] not a BITSHIELD_KERNELS_ value                      */
#define BITSHIELD_E_NOT_INITIALIZED 24       /* the handle was not set up by a successful bitshield_init */
#define BITSHIELD_E_MODEL_STORAGE 25         /* [0] handle bytes this library needs, [1] BITSHIELD_MODEL_BYTES */
#define BITSHIELD_E_LAYOUT_NOT_BUILT 26      /* [0] op, [1] its weight tensor type (5 = bits8), [2] its op id
                                                (2 dense, 3 conv2d): the minimal build runs binary dense layers
                                                on columns32 weights only; for bits8, bits or columns32s
                                                (7) dense weights, convert it with `--layout columns32`    */

/** A failure: `code` (BITSHIELD_E_...) and the numbers it names. Filled by every call that takes one;
 *  all zero on success. */
typedef struct bitshield_error {
    int32_t code;
    int32_t reserved;   /* 0 */
    int64_t values[3];
} bitshield_error;

/** Bytes of a model handle (enough on every target; checked at init: BITSHIELD_E_MODEL_STORAGE). */
#define BITSHIELD_MODEL_BYTES 256

/** A prepared model: plain caller-owned storage (a global, a static or on the stack). */
typedef struct bitshield_model {
    uint64_t opaque[BITSHIELD_MODEL_BYTES / 8];
} bitshield_model;

/** What a prepared model uses, in bytes (the arena is exact; nothing else is allocated). */
typedef struct bitshield_footprint {
    uint64_t image_bytes;      /* the model image                                  */
    uint64_t arena_bytes;      /* the arena the plan uses (<= the arena given)       */
    uint64_t input_bytes;      /* one input image: uint8 pixels, NHWC               */
    uint64_t classes;          /* output classes (bitshield_invoke's scores: floats) */
    uint64_t max_scratch_bytes;/* the largest scratch any step uses (inside the arena) */
} bitshield_footprint;

/** The API version of the linked library (BITSHIELD_API_VERSION it was built with). */
uint32_t bitshield_api_version(void);

/** Validates `image` (8-byte aligned, as for bitshield_init) and writes to `*arena_bytes` the arena it
 *  needs with `kernels` (a kernel set planned on a host for a device: BITSHIELD_KERNELS_CARRY_SAVE). Returns BITSHIELD_OK or a code (also
 *  in `*error` when `error` is not NULL). */
int32_t bitshield_arena_bytes(const void *image, size_t image_bytes, int32_t kernels,
                              size_t *arena_bytes, bitshield_error *error);

/** Validates `image` in place (at an 8-byte aligned address, as `--c-array` and aligned_alloc(64, ...) give
 *  it, else BITSHIELD_E_BAD_ARGUMENT with [0] = 2 and [1] the address; it must stay readable and unchanged
 *  while the model is used; `model` too must be 8-byte aligned, as the struct is; image, arena and
 *  model must not overlap: BITSHIELD_E_BAD_ARGUMENT naming the arena (4) or the model (1)), plans
 *  `arena` (16-byte aligned, at least the bytes bitshield_arena_bytes gives) and sets up `*model`.
 *  Returns BITSHIELD_OK or a code (also in `*error` when not NULL); on failure `*model` is left
 *  uninitialized (bitshield_invoke on it returns -BITSHIELD_E_NOT_INITIALIZED). */
int32_t bitshield_init(bitshield_model *model, const void *image, size_t image_bytes,
                       void *arena, size_t arena_bytes, int32_t kernels, bitshield_error *error);

/** Runs the model on one image (`footprint.input_bytes` uint8 pixels) and returns its class (>= 0);
 *  writes `classes` float scores to `scores` when it is not NULL. No allocation, no validation.
 *  Returns -BITSHIELD_E_NOT_INITIALIZED or -BITSHIELD_E_BAD_ARGUMENT (NULL pixels; pixels inside the
 *  arena, or scores inside the arena or the image) instead of a class. */
int32_t bitshield_invoke(const bitshield_model *model, const uint8_t *pixels, float *scores);

/** Writes the footprint of an initialized model. Returns BITSHIELD_OK or BITSHIELD_E_NOT_INITIALIZED. */
int32_t bitshield_footprint_of(const bitshield_model *model, bitshield_footprint *footprint);

/** Host libraries only (x86_64, aarch64 Linux): formats `error` as one line of text with its numbers,
 *  as the BitShield tools word it ("arena too small: needs 2864, has 2048"), into `buffer` (always
 *  NUL-terminated when `capacity` > 0, cut short when it does not fit). Returns the length of the whole
 *  message without the NUL (a larger value than capacity - 1 means it was cut). */
size_t bitshield_error_message(const bitshield_error *error, char *buffer, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* BITSHIELD_H */
