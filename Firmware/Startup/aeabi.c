// The ARM run-time ABI helpers clang and Embedded Swift call and no library of the Swift toolchain
// provides for bare-metal ARM (there is no compiler-rt for these targets): memory clears and sets,
// 64-bit unsigned division, 64-bit integer to float conversion. Freestanding C.
#include <stddef.h>
#include <stdint.h>

void *memset(void *dst, int value, size_t n);

void __aeabi_memset(void *dst, size_t n, int value) { memset(dst, value, n); }
void __aeabi_memset4(void *dst, size_t n, int value) { memset(dst, value, n); }
void __aeabi_memset8(void *dst, size_t n, int value) { memset(dst, value, n); }
void __aeabi_memclr(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr4(void *dst, size_t n) { memset(dst, 0, n); }
void __aeabi_memclr8(void *dst, size_t n) { memset(dst, 0, n); }

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void __aeabi_memcpy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy4(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memcpy8(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
void __aeabi_memmove(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove4(void *dst, const void *src, size_t n) { memmove(dst, src, n); }
void __aeabi_memmove8(void *dst, const void *src, size_t n) { memmove(dst, src, n); }

/// Quotient and remainder of unsigned 64-bit division, by shift and subtract.
__attribute__((used)) static uint64_t udivmod64(uint64_t n, uint64_t d, uint64_t *remainder) {
    if (d == 0) { *remainder = n; return ~(uint64_t)0; }   // never reached: Swift traps on / 0 first
    uint64_t q = 0, r = 0;
    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= d) { r -= d; q |= (uint64_t)1 << i; }
    }
    *remainder = r;
    return q;
}

/// Signed: the quotient truncates toward zero, the remainder takes the dividend's sign.
__attribute__((used)) static int64_t sdivmod64(int64_t n, int64_t d, int64_t *remainder) {
    uint64_t un = n < 0 ? -(uint64_t)n : (uint64_t)n, ud = d < 0 ? -(uint64_t)d : (uint64_t)d, rem;
    uint64_t q = udivmod64(un, ud, &rem);
    *remainder = n < 0 ? -(int64_t)rem : (int64_t)rem;
    return (n < 0) != (d < 0) ? -(int64_t)q : (int64_t)q;
}

// The run-time ABI returns the quotient in {r0, r1} and the remainder in {r2, r3}, which no C
// return type gives: these wrappers call the C functions with a stack slot for the remainder.
// Thumb-1 instructions only, so they serve the Cortex-M0 too.
#define DIVMOD_WRAPPER(name, helper)                \
    __asm__(".text\n .thumb\n .align 2\n"           \
            ".global " #name "\n"                    \
            ".type " #name ", %function\n"           \
            ".thumb_func\n"                          \
            #name ":\n"                              \
            " push {r4, lr}\n"                       \
            " sub sp, #16\n"                         \
            " add r4, sp, #8\n"                      \
            " str r4, [sp]\n"                        \
            " bl " #helper "\n"                      \
            " ldr r2, [sp, #8]\n"                    \
            " ldr r3, [sp, #12]\n"                   \
            " add sp, #16\n"                         \
            " pop {r4, pc}\n")

DIVMOD_WRAPPER(__aeabi_uldivmod, udivmod64);
DIVMOD_WRAPPER(__aeabi_ldivmod, sdivmod64);

/// The float bits of an unsigned 64-bit magnitude, rounded to nearest, ties to even.
static uint32_t u64_to_float_bits(uint64_t u) {
    if (u == 0) return 0;
    int top = 63;
    while (!((u >> top) & 1)) top--;
    uint32_t mantissa;
    int exponent = top;
    if (top <= 23) {
        mantissa = (uint32_t)(u << (23 - top));
    } else {
        int shift = top - 23;
        uint64_t rest = u & (((uint64_t)1 << shift) - 1), half = (uint64_t)1 << (shift - 1);
        mantissa = (uint32_t)(u >> shift);
        if (rest > half || (rest == half && (mantissa & 1))) mantissa++;
        if (mantissa == (1u << 24)) { mantissa >>= 1; exponent++; }
    }
    return ((uint32_t)(exponent + 127) << 23) | (mantissa & 0x7FFFFFu);
}

static float bits_to_float(uint32_t b) {
    union { uint32_t u; float f; } v = {b};
    return v.f;
}

float __aeabi_ul2f(uint64_t x) { return bits_to_float(u64_to_float_bits(x)); }
float __aeabi_l2f(int64_t x) {
    uint64_t m = x < 0 ? -(uint64_t)x : (uint64_t)x;
    return bits_to_float(u64_to_float_bits(m) | (x < 0 ? 0x80000000u : 0));
}

// 64-bit shifts (called at -Osize), written with 32-bit halves so they cannot call themselves.
typedef union { uint64_t u; struct { uint32_t lo, hi; } w; } words64;

uint64_t __aeabi_llsl(uint64_t x, int n) {
    words64 v = {x}, r;
    if (n == 0) return x;
    if (n >= 32) { r.w.hi = v.w.lo << (n - 32); r.w.lo = 0; }
    else { r.w.hi = (v.w.hi << n) | (v.w.lo >> (32 - n)); r.w.lo = v.w.lo << n; }
    return r.u;
}

uint64_t __aeabi_llsr(uint64_t x, int n) {
    words64 v = {x}, r;
    if (n == 0) return x;
    if (n >= 32) { r.w.lo = v.w.hi >> (n - 32); r.w.hi = 0; }
    else { r.w.lo = (v.w.lo >> n) | (v.w.hi << (32 - n)); r.w.hi = v.w.hi >> n; }
    return r.u;
}

int64_t __aeabi_lasr(int64_t x, int n) {
    words64 v = {(uint64_t)x}, r;
    if (n == 0) return x;
    if (n >= 32) { r.w.lo = (uint32_t)((int32_t)v.w.hi >> (n - 32)); r.w.hi = (uint32_t)((int32_t)v.w.hi >> 31); }
    else { r.w.lo = (v.w.lo >> n) | (v.w.hi << (32 - n)); r.w.hi = (uint32_t)((int32_t)v.w.hi >> n); }
    return (int64_t)r.u;
}

#if defined(__ARM_ARCH_6M__)
// The Cortex-M0 (armv6-m) has no exclusive loads and stores, so clang turns the Embedded Swift
// runtime's atomic reference counting into these library calls. On one core it is enough to run
// each operation with interrupts masked (PRIMASK saved and restored; the firmware takes none anyway).
// The float, division and multiplication helpers come from compiler-rt (scripts/build-firmware.sh).
#include <stdbool.h>

static inline uint32_t irq_save(void) {
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask) :: "memory");
    return primask;
}
static inline void irq_restore(uint32_t primask) {
    __asm__ volatile("msr primask, %0" :: "r"(primask) : "memory");
}

uint32_t __atomic_load_4(const volatile void *p, int order) {
    (void)order;
    uint32_t s = irq_save(), v = *(const volatile uint32_t *)p;
    irq_restore(s);
    return v;
}

void __atomic_store_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t s = irq_save();
    *(volatile uint32_t *)p = v;
    irq_restore(s);
}

uint32_t __atomic_exchange_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t s = irq_save(), old = *(volatile uint32_t *)p;
    *(volatile uint32_t *)p = v;
    irq_restore(s);
    return old;
}

uint32_t __atomic_fetch_add_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t s = irq_save(), old = *(volatile uint32_t *)p;
    *(volatile uint32_t *)p = old + v;
    irq_restore(s);
    return old;
}

uint32_t __atomic_fetch_sub_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t s = irq_save(), old = *(volatile uint32_t *)p;
    *(volatile uint32_t *)p = old - v;
    irq_restore(s);
    return old;
}

bool __atomic_compare_exchange_4(volatile void *p, void *expected, uint32_t desired, int success, int failure) {
    (void)success; (void)failure;
    uint32_t s = irq_save(), old = *(volatile uint32_t *)p;
    bool equal = old == *(uint32_t *)expected;
    if (equal) *(volatile uint32_t *)p = desired;
    else *(uint32_t *)expected = old;
    irq_restore(s);
    return equal;
}
#endif
