// Checks compiler-rt's soft-float helpers on the Cortex-M0 against the host's IEEE 754 hardware:
// the same seeded inputs, the same FNV-1a hash of every result. Built twice by
// scripts/check-softfloat.sh: for the microbit (run under QEMU, the operations become __aeabi_fadd,
// __aeabi_fmul, __aeabi_fcmpgt/fcmplt, __aeabi_ui2f, __aeabi_i2f, __aeabi_idiv, __aeabi_uidivmod)
// and for the host (SSE), then the printed hashes must be equal. NaN results hash as one value (the
// two sides may choose different NaN payloads; the runtime never produces NaN).
#include <stdint.h>

#ifndef CHECK_COUNT
#define CHECK_COUNT 200000
#endif

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint32_t next(void) {   // xorshift64*
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (uint32_t)((state * 0x2545F4914F6CDD1Dull) >> 32);
}

typedef union { uint32_t u; float f; } bits;

/// Random float bits: half fully random patterns (every class: zeros, subnormals, infinities, NaNs),
/// half "ordinary" values with nearby exponents (cancellation and rounding cases).
static float operand(uint32_t base_exponent) {
    bits b;
    uint32_t r = next();
    if (r & 1) {
        b.u = next();
    } else {
        uint32_t m = next() & 0x807FFFFFu, e = (base_exponent + next() % 48) & 0xFF;
        b.u = m | e << 23;
    }
    return b.f;
}

static uint32_t hash = 2166136261u;
static void mix(uint32_t v) {
    for (int i = 0; i < 4; i++) { hash ^= (v >> (8 * i)) & 0xFF; hash *= 16777619u; }
}
static void mix_float(float f) {
    bits b; b.f = f;
    mix(f != f ? 0x7FC00000u : b.u);
}

#if defined(__arm__)
// On the microbit: the firmware's startup (startup.c) calls bitshield_main and exits with its value.
void fw_write(const uint8_t *bytes, uint32_t count);
static void check_report(const char *name, uint32_t value) {
    uint32_t n = 0;
    while (name[n]) n++;
    fw_write((const uint8_t *)name, n);
    uint8_t digits[11] = {' '};
    for (int i = 0; i < 8; i++) digits[1 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xF];
    digits[9] = '\n';
    fw_write(digits, 10);
}
#else
#include <stdio.h>
static void check_report(const char *name, uint32_t value) { printf("%s %08x\n", name, value); }
#endif

void softfloat_check(void) {
    for (uint32_t i = 0; i < CHECK_COUNT; i++) {
        uint32_t e = next() % 232;
        float a = operand(e), b = operand(e);
        mix_float(a + b);
        mix_float(a * b);
        mix((uint32_t)(a > b) | (uint32_t)(a < b) << 1);
        uint32_t u = next(), shift = next() % 32;
        mix_float((float)(u >> shift));
        mix_float((float)(int32_t)next());
        int32_t n = (int32_t)next();
        uint32_t dividend = next(), dshift = next() % 32;
        int32_t d = (int32_t)((dividend >> 1 >> dshift) | 1);   // positive: no INT_MIN / -1
        mix((uint32_t)(n / d));
        mix((uint32_t)n / (uint32_t)d);
        mix((uint32_t)n % (uint32_t)d);
    }
    check_report("softfloat", hash);
}

#if defined(__arm__)
int bitshield_main(void) { softfloat_check(); return 0; }
#else
int main(void) { softfloat_check(); return 0; }
#endif
