// Roofline of binary multiply-accumulates on this CPU (issue 15), and per layer of FCN2 the floor at
// batch 1 and at batch 256.
//
// 1. "registers": 8 independent XOR + vpopcntq + vpaddq chains on register operands, the cost of 512
//    binary MACs when nothing but the vector ports limits it (the popcount roofline).
// 2. "L2 read": plain 512-bit loads (4 add chains) cycling over all of FCN2's weight blocks (~208 KB,
//    beyond the 48 KB L1d), the bandwidth a batch-1 pass over the weights can have at best.
// 3. Per layer, batch 1: each layer's block streamed once per image with the minimum work of today's
//    kernels (one load per 64 B; hidden layers one XOR + popcount + add per load; the first layer, on
//    2-bit codes, an AND + popcount + add for each of the two code planes that vary, over the words
//    that are nonzero in the image: 9.24 of 13 on MNIST's test set, plane 0's popcount(w) taken as
//    precomputed). Measured in a chain over the whole model per image, so each layer's block comes from
//    L2 as it does in `infer --batch 1`; the chain's thread CPU time is split over the layers by their
//    TSC cycles. Also each block alone, repeated (L1 where it fits).
// 4. Per layer, batch 256: the block loaded once per 4 images (today's bits4/planes4) or once per 8,
//    64 (or 32) passes over the block in a row as a batch of 256 does; the first layer over the words
//    nonzero in any of the 4 (10.50 of 13) or 8 (10.94) images.
// Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: other jobs on the machine do not count),
// medians of REPEATS runs; cycles at the TSC rate (this VM exposes no cycle counter to perf; the core
// may turbo above it).
// Build: cc -O2 -march=native bench/roofline/popcount512.c -o /tmp/popcount512
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPEATS 7
static const double tsc = 2.3e9;   // /proc/cpuinfo cpu MHz of this VM

static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static int cmp(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, cmp); return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2; }

__attribute__((noinline)) static __m512i registers(long iters, __m512i seed) {
    __m512i w0 = seed, w1 = _mm512_add_epi64(seed, _mm512_set1_epi64(1)), w2 = _mm512_add_epi64(seed, _mm512_set1_epi64(2)),
            w3 = _mm512_add_epi64(seed, _mm512_set1_epi64(3));
    __m512i x = _mm512_set1_epi64(0x5555aaaa3333cccc);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (long i = 0; i < iters; i++) {
        a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(w0, x)));
        a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_xor_si512(w1, x)));
        a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_xor_si512(w2, x)));
        a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_xor_si512(w3, x)));
        a4 = _mm512_add_epi64(a4, _mm512_popcnt_epi64(_mm512_xor_si512(w0, a0)));
        a5 = _mm512_add_epi64(a5, _mm512_popcnt_epi64(_mm512_xor_si512(w1, a1)));
        a6 = _mm512_add_epi64(a6, _mm512_popcnt_epi64(_mm512_xor_si512(w2, a2)));
        a7 = _mm512_add_epi64(a7, _mm512_popcnt_epi64(_mm512_xor_si512(w3, a3)));
        __asm__ volatile("" : "+v"(x));
    }
    return _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)),
                            _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7)));
}

// FCN2 (784-600-600-600-10, bits8 weights: blocks of 8 rows x `words` 64-bit words, 64 B per word).
// `planes` 2: the first layer on the 2-bit codes' planes 1 and 2 (AND); 1: binary input (XOR).
// `active`: words counted per row on average (first layer: MNIST words nonzero at batch 1, 4, 8).
typedef struct { const char *name; int words, groups, planes; double active[3]; __m512i *block; } Layer;
static Layer layers[] = {
    {"784->600 (2 planes)", 13, 75, 2, {9.2427, 10.504, 10.9368}, 0},
    {"600->600 hidden 1", 10, 75, 1, {10, 10, 10}, 0},
    {"600->600 hidden 2", 10, 75, 1, {10, 10, 10}, 0},
    {"600->600 hidden 3", 10, 75, 1, {10, 10, 10}, 0},
    {"600->10", 10, 2, 1, {10, 10, 10}, 0},
};
#define LAYERS (int)(sizeof layers / sizeof layers[0])
static uint64_t xs[16 * 13];   // the inputs: 8 images x 2 planes x 13 words

// Words counted in pass p when `active` are counted on average (a Bresenham split of the fraction).
static int wordsIn(long p, double active) { return (int)((p + 1) * active) - (int)(p * active); }

// One image through layer L's block: the words [lo, lo + k) of every row. Two blocks of rows at a
// time, each with two accumulators over alternate words (per plane), so eight loads are in flight: with
// one block and one accumulator the loop ran at half this rate even from L1.
#define OPS(w, v, p) ((p) ? _mm512_and_si512(w, v) : _mm512_xor_si512(w, v))
static inline __m512i oneGroups(const __m512i *b, const __m512i *d, int lo, int k, int planes) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, e0 = a0, e1 = a0, c0 = a0, c1 = a0, f0 = a0, f1 = a0;
    int p2 = planes == 2, j = lo;
    for (; j + 1 < lo + k; j += 2) {
        __m512i v0 = _mm512_set1_epi64(xs[j]), v1 = _mm512_set1_epi64(xs[j + 1]);
        __m512i w0 = _mm512_load_si512(&b[j]), w1 = _mm512_load_si512(&b[j + 1]);
        __m512i y0 = _mm512_load_si512(&d[j]), y1 = _mm512_load_si512(&d[j + 1]);
        a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(OPS(w0, v0, p2)));
        a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(OPS(w1, v1, p2)));
        e0 = _mm512_add_epi64(e0, _mm512_popcnt_epi64(OPS(y0, v0, p2)));
        e1 = _mm512_add_epi64(e1, _mm512_popcnt_epi64(OPS(y1, v1, p2)));
        if (p2) {
            __m512i u0 = _mm512_set1_epi64(xs[13 + j]), u1 = _mm512_set1_epi64(xs[13 + j + 1]);
            c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(_mm512_and_si512(w0, u0)));
            c1 = _mm512_add_epi64(c1, _mm512_popcnt_epi64(_mm512_and_si512(w1, u1)));
            f0 = _mm512_add_epi64(f0, _mm512_popcnt_epi64(_mm512_and_si512(y0, u0)));
            f1 = _mm512_add_epi64(f1, _mm512_popcnt_epi64(_mm512_and_si512(y1, u1)));
        }
    }
    if (j < lo + k) {
        __m512i v0 = _mm512_set1_epi64(xs[j]), w0 = _mm512_load_si512(&b[j]), y0 = _mm512_load_si512(&d[j]);
        a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(OPS(w0, v0, p2)));
        e0 = _mm512_add_epi64(e0, _mm512_popcnt_epi64(OPS(y0, v0, p2)));
        if (p2) {
            __m512i u0 = _mm512_set1_epi64(xs[13 + j]);
            c0 = _mm512_add_epi64(c0, _mm512_popcnt_epi64(_mm512_and_si512(w0, u0)));
            f0 = _mm512_add_epi64(f0, _mm512_popcnt_epi64(_mm512_and_si512(y0, u0)));
        }
    }
    __m512i s = _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_slli_epi64(_mm512_add_epi64(c0, c1), 1));
    __m512i t = _mm512_add_epi64(_mm512_add_epi64(e0, e1), _mm512_slli_epi64(_mm512_add_epi64(f0, f1), 1));
    return _mm512_add_epi64(s, t);   // (one sum for the checksum; a kernel keeps the two blocks apart)
}

__attribute__((noinline)) static __m512i one(const Layer *L, int k) {
    __m512i total = _mm512_setzero_si512();
    int lo = (L->words - k) / 2, g = 0;
    for (; g + 1 < L->groups; g += 2) {
        const __m512i *b = L->block + g * L->words;
        total = _mm512_add_epi64(total, oneGroups(b, b + L->words, lo, k, L->planes));
    }
    if (g < L->groups) {   // an odd block of rows: counted twice (the time of one more block: a slight overestimate)
        const __m512i *b = L->block + g * L->words;
        total = _mm512_add_epi64(total, oneGroups(b, b, lo, k, L->planes));
    }
    return total;
}

// One pass of 4 or 8 images (`n`) over layer L's block, each weight vector loaded once for all; the
// accumulators are named variables (an array went through memory once per block of rows).
#define ADD(a, v) a = _mm512_add_epi64(a, _mm512_popcnt_epi64(v))
#define STEP(i) ADD(a##i, OP(w, _mm512_set1_epi64(x[(i) * 26 + j])))
#define STEP2(i) STEP(i); ADD(c##i, OP(w, _mm512_set1_epi64(x[(i) * 26 + 13 + j])))
#define PASS(NAME, BODY)                                                                                   \
    __attribute__((noinline)) static __m512i NAME(const Layer *L, int k, const uint64_t *x) {             \
        __m512i total = _mm512_setzero_si512();                                                            \
        int lo = (L->words - k) / 2;                                                                       \
        for (int g = 0; g < L->groups; g++) {                                                              \
            const __m512i *b = L->block + g * L->words;                                                    \
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0; \
            __m512i c0 = a0, c1 = a0, c2 = a0, c3 = a0, c4 = a0, c5 = a0, c6 = a0, c7 = a0;                \
            for (int j = lo; j < lo + k; j++) {                                                            \
                __m512i w = _mm512_load_si512(&b[j]);                                                      \
                BODY                                                                                       \
            }                                                                                              \
            __m512i s = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)), \
                                         _mm512_add_epi64(_mm512_add_epi64(a4, a5), _mm512_add_epi64(a6, a7))); \
            __m512i t = _mm512_add_epi64(_mm512_add_epi64(_mm512_add_epi64(c0, c1), _mm512_add_epi64(c2, c3)), \
                                         _mm512_add_epi64(_mm512_add_epi64(c4, c5), _mm512_add_epi64(c6, c7))); \
            total = _mm512_add_epi64(total, _mm512_add_epi64(s, t));                                       \
        }                                                                                                  \
        return total;                                                                                      \
    }
#define OP _mm512_xor_si512
PASS(xor4, STEP(0); STEP(1); STEP(2); STEP(3);)
PASS(xor8, STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5); STEP(6); STEP(7);)
#undef OP
#define OP _mm512_and_si512
PASS(and4, STEP2(0); STEP2(1); STEP2(2); STEP2(3);)
PASS(and8, STEP2(0); STEP2(1); STEP2(2); STEP2(3); STEP2(4); STEP2(5); STEP2(6); STEP2(7);)
#undef OP

static __m512i sink;   // keeps every loop's result live

// Plain loads over every layer's block in turn: ns per 64 B from L2.
static double l2Read(void) {
    double v[REPEATS];
    long bytes = 0;
    for (int l = 0; l < LAYERS; l++) bytes += (long)layers[l].groups * layers[l].words * 64;
    long passes = 20000;
    for (int r = 0; r < REPEATS; r++) {
        __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
        double s = now();
        for (long p = 0; p < passes; p++)
            for (int l = 0; l < LAYERS; l++) {
                const __m512i *b = layers[l].block;
                int n = layers[l].groups * layers[l].words, i = 0;
                for (; i + 4 <= n; i += 4) {
                    a0 = _mm512_add_epi64(a0, _mm512_load_si512(&b[i])); a1 = _mm512_add_epi64(a1, _mm512_load_si512(&b[i + 1]));
                    a2 = _mm512_add_epi64(a2, _mm512_load_si512(&b[i + 2])); a3 = _mm512_add_epi64(a3, _mm512_load_si512(&b[i + 3]));
                }
                for (; i < n; i++) a0 = _mm512_add_epi64(a0, _mm512_load_si512(&b[i]));
                __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3));
            }
        v[r] = (now() - s) / ((double)passes * bytes / 64) * 1e9;
        sink = _mm512_add_epi64(sink, _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
    }
    return median(v, REPEATS);
}

int main(void) {
    for (int l = 0; l < LAYERS; l++) {
        Layer *L = &layers[l];
        L->block = aligned_alloc(64, (size_t)L->groups * L->words * 64);
        for (int i = 0; i < L->groups * L->words; i++) L->block[i] = _mm512_set1_epi64(0x9e3779b97f4a7c15ull * (i + 1 + 1000 * l));
    }
    for (int i = 0; i < 16 * 13; i++) xs[i] = 0xdeadbeefcafef00dull * (i + 7);

    double v[REPEATS];
    long iters = 50000000;
    for (int r = 0; r < REPEATS; r++) {
        double s = now();
        sink = _mm512_add_epi64(sink, registers(iters, _mm512_set1_epi64(12345 + r)));
        v[r] = (now() - s) / (8.0 * iters) * 1e9;
    }
    double reg = median(v, REPEATS);
    printf("registers: %.3f ns, %.2f cycles at %.1f GHz per 512-bit XOR+popcount+add, 512 MACs (%.0f G binary MACs/s)\n",
           reg, reg * tsc / 1e9, tsc / 1e9, 512 / reg);
    double l2 = l2Read();
    printf("L2 read (plain 512-bit loads over all %d blocks, 208 KB): %.3f ns per 64 B, %.1f GB/s\n", LAYERS, l2, 64 / l2);

    // Batch 1: the chain over the whole model per image. Each layer's time is its TSC cycles per image
    // (constant 2.3 GHz), averaged over the images whose count is below twice the layer's median (an
    // interval that a context switch fell into counts other work: the machine is shared); the chain's
    // thread CPU time per image is printed beside their sum as a check.
    static double cyc[LAYERS][20000], sorted[20000];
    double chain[LAYERS][REPEATS], alone[LAYERS][REPEATS], cpuChain[REPEATS];
    long images = 20000;
    for (int r = 0; r < REPEATS; r++) {
        double s = now();
        for (long i = 0; i < images; i++)
            for (int l = 0; l < LAYERS; l++) {
                unsigned long long t0 = __rdtsc();
                sink = _mm512_add_epi64(sink, one(&layers[l], wordsIn(i, layers[l].active[0])));
                cyc[l][i] = (double)(__rdtsc() - t0);
            }
        cpuChain[r] = (now() - s) / images * 1e9;
        for (int l = 0; l < LAYERS; l++) {
            memcpy(sorted, cyc[l], images * sizeof(double));
            double cut = 2 * median(sorted, (int)images), sum = 0;
            long kept = 0;
            for (long i = 0; i < images; i++) if (cyc[l][i] < cut) { sum += cyc[l][i]; kept++; }
            chain[l][r] = sum / kept / tsc * 1e9;
        }
    }
    for (int l = 0; l < LAYERS; l++)
        for (int r = 0; r < REPEATS; r++) {
            double s = now();
            for (long i = 0; i < images; i++) sink = _mm512_add_epi64(sink, one(&layers[l], wordsIn(i, layers[l].active[0])));
            alone[l][r] = (now() - s) / images * 1e9;
        }

    // Batch 256: 256 / n passes over the block in a row, n images per weight load.
    double by4[LAYERS][REPEATS], by8[LAYERS][REPEATS];
    long batches = 400;
    for (int l = 0; l < LAYERS; l++) {
        Layer *L = &layers[l];
        for (int r = 0; r < REPEATS; r++) {
            double s = now();
            for (long p = 0; p < batches * 64; p++)
                sink = _mm512_add_epi64(sink, (L->planes == 2 ? and4 : xor4)(L, wordsIn(p, L->active[1]), xs));
            by4[l][r] = (now() - s) / (batches * 256.0) * 1e9;
            s = now();
            for (long p = 0; p < batches * 32; p++)
                sink = _mm512_add_epi64(sink, (L->planes == 2 ? and8 : xor8)(L, wordsIn(p, L->active[2]), xs));
            by8[l][r] = (now() - s) / (batches * 256.0) * 1e9;
        }
    }

    printf("\nper layer, ns per image (medians of %d; popcount floor = popcounts x registers; L2 floor = 64 B loads x L2 read):\n", REPEATS);
    printf("%-20s %9s %8s | %-10s %8s %8s %8s %8s | %-9s %8s %8s %8s\n", "layer", "words", "KB", "batch 1:", "popcount", "L2", "chain",
           "alone", "b256:", "popcount", "4/load", "8/load");
    double t[6] = {0};
    char floors[LAYERS][160];
    for (int l = 0; l < LAYERS; l++) {
        Layer *L = &layers[l];
        double pops = L->groups * L->active[0] * L->planes, loads = L->groups * L->active[0];
        double pop256 = L->groups * L->active[1] * L->planes * reg;
        double c = median(chain[l], REPEATS), a = median(alone[l], REPEATS), f4 = median(by4[l], REPEATS), f8 = median(by8[l], REPEATS);
        printf("%-20s %9.2f %8.1f | %-10s %8.0f %8.0f %8.0f %8.0f | %-9s %8.0f %8.0f %8.0f\n", L->name, L->active[0],
               L->groups * L->words * 64 / 1024.0, "", pops * reg, loads * l2, c, a, "", pop256, f4, f8);
        snprintf(floors[l], sizeof floors[l], "floor %d %.0f %.0f %.0f %.0f %.0f %.0f", l, pops * reg, loads * l2, c, pop256, f4, f8);
        t[0] += pops * reg; t[1] += loads * l2; t[2] += c; t[3] += pop256; t[4] += f4; t[5] += f8;
    }
    printf("%-20s %9s %8s | %-10s %8.0f %8.0f %8.0f %8s | %-9s %8.0f %8.0f %8.0f\n", "total", "", "", "", t[0], t[1], t[2], "", "", t[3],
           t[4], t[5]);
    printf("(batch-1 chain: thread CPU time %.0f ns per image, with the rdtsc reads and the calls)\n", median(cpuChain, REPEATS));
    printf("(first layer words: nonzero of 13 in MNIST's 2-bit test images, %.2f per image, %.2f per 4, %.2f per 8)\n",
           layers[0].active[0], layers[0].active[1], layers[0].active[2]);
    // For scripts/bench-roofline.sh: "floor LAYER b1-popcount b1-L2 b1-chain b256-popcount b256-4/load b256-8/load".
    for (int l = 0; l < LAYERS; l++) printf("%s\n", floors[l]);
    long long out[8]; _mm512_storeu_si512(out, sink);
    printf("(checksum %lld)\n", out[0]);
    return 0;
}
