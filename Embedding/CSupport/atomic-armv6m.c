/* The 4-byte atomics Embedded Swift's runtime calls on the Cortex-M0 (armv6m has no LDREX/STREX, so
 * clang emits calls: reference counting and lazy globals on error paths), for libbitshield.a's armv6m
 * build (scripts/build-lib.sh). The M0 is single-core: masking interrupts around each access makes it
 * atomic. Weak, so an application (or a compiler-rt) that has them wins. */
#include <stdbool.h>
#include <stdint.h>

static inline uint32_t mask(void) {
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask) :: "memory");
    return primask;
}
static inline void unmask(uint32_t primask) { __asm__ volatile("msr primask, %0" :: "r"(primask) : "memory"); }

__attribute__((weak)) uint32_t __atomic_load_4(const volatile void *p, int order) {
    (void)order;
    uint32_t m = mask(), v = *(const volatile uint32_t *)p;
    unmask(m);
    return v;
}
__attribute__((weak)) void __atomic_store_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t m = mask();
    *(volatile uint32_t *)p = v;
    unmask(m);
}
__attribute__((weak)) uint32_t __atomic_fetch_add_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t m = mask(), old = *(volatile uint32_t *)p;
    *(volatile uint32_t *)p = old + v;
    unmask(m);
    return old;
}
__attribute__((weak)) uint32_t __atomic_fetch_sub_4(volatile void *p, uint32_t v, int order) {
    (void)order;
    uint32_t m = mask(), old = *(volatile uint32_t *)p;
    *(volatile uint32_t *)p = old - v;
    unmask(m);
    return old;
}
__attribute__((weak)) bool __atomic_compare_exchange_4(volatile void *p, void *expected, uint32_t desired,
                                                       bool weak, int success, int failure) {
    (void)weak; (void)success; (void)failure;
    uint32_t m = mask(), old = *(volatile uint32_t *)p;
    bool equal = old == *(uint32_t *)expected;
    if (equal) *(volatile uint32_t *)p = desired; else *(uint32_t *)expected = old;
    unmask(m);
    return equal;
}
