// Roofline of binary multiply-accumulates on this CPU (issue 15): how many cycles one 512-bit
// XOR + vpopcntq + vpaddq takes when nothing else limits it, i.e. the cost of 512 binary MACs.
// Two loops: "registers" keeps 8 independent accumulators and weight vectors in registers (the issue
// ALU bound); "stream" loads each weight vector from an L1-resident block (as a dense layer does:
// load + XOR with a broadcast input word + popcount + add), 4 images per weight load like bits4.
// Times are the thread's CPU time (CLOCK_THREAD_CPUTIME_ID: other jobs on the machine do not count),
// converted to cycles at the TSC rate (this VM exposes no cycle counter to perf; the core may turbo above it).
// Build: cc -O2 -march=native bench/roofline/popcount512.c -o /tmp/popcount512
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

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

// A 600-output layer's block of weights for 13 words (784 inputs): 600/8 groups x 13 x 64 B = 62 KB (L1/L2).
#define WORDS 13
#define GROUPS 75
static __m512i weights[GROUPS * WORDS];

__attribute__((noinline)) static __m512i stream(long passes, const uint64_t *x) {
    __m512i total = _mm512_setzero_si512();
    for (long p = 0; p < passes; p++) {
        for (int g = 0; g < GROUPS; g++) {
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < WORDS; j++) {
                __m512i w = _mm512_load_si512(&weights[g * WORDS + j]);
                a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(w, _mm512_set1_epi64(x[j]))));
                a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_xor_si512(w, _mm512_set1_epi64(x[WORDS + j]))));
                a2 = _mm512_add_epi64(a2, _mm512_popcnt_epi64(_mm512_xor_si512(w, _mm512_set1_epi64(x[2 * WORDS + j]))));
                a3 = _mm512_add_epi64(a3, _mm512_popcnt_epi64(_mm512_xor_si512(w, _mm512_set1_epi64(x[3 * WORDS + j]))));
            }
            total = _mm512_add_epi64(total, _mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
        }
        __asm__ volatile("" : "+v"(total));
    }
    return total;
}

int main(void) {
    for (int i = 0; i < GROUPS * WORDS; i++) weights[i] = _mm512_set1_epi64(0x9e3779b97f4a7c15ull * (i + 1));
    uint64_t x[4 * WORDS];
    for (int i = 0; i < 4 * WORDS; i++) x[i] = 0xdeadbeefcafef00dull * (i + 7);
    long iters = 200000000;
    unsigned long long t0 = __rdtsc(); double s0 = now();
    __m512i r = registers(iters, _mm512_set1_epi64(12345));
    unsigned long long t1 = __rdtsc(); double s1 = now();
    double ops = 8.0 * iters;   // 512-bit XOR+popcount+add triples
    double tsc = 2.3e9;   // /proc/cpuinfo cpu MHz of this VM
    (void)t0; (void)t1;
    printf("registers: %.3f ns, %.2f cycles at %.1f GHz per 512 MACs (%.0f G binary MACs/s)\n",
           (s1 - s0) / ops * 1e9, (s1 - s0) / ops * tsc, tsc / 1e9, ops * 512 / (s1 - s0) / 1e9);
    long passes = 200000;
    t0 = __rdtsc(); s0 = now();
    __m512i q = stream(passes, x);
    t1 = __rdtsc(); s1 = now();
    ops = 4.0 * passes * GROUPS * WORDS;
    printf("stream (one load, 4 images): %.3f ns, %.2f cycles per 512 MACs (%.0f G binary MACs/s)\n",
           (s1 - s0) / ops * 1e9, (s1 - s0) / ops * tsc, ops * 512 / (s1 - s0) / 1e9);
    long long sink[8]; _mm512_storeu_si512(sink, _mm512_add_epi64(r, q));
    printf("(checksum %lld)\n", sink[0]);   // keeps both loops' results live
    return 0;
}
