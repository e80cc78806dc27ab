// Bare-metal board code for QEMU netduinoplus2 (STM32F405, Cortex-M4F), for the C peers of
// `make bench-device`. Freestanding (no libc): vector table and reset (stack paint, .data, .bss,
// FPU on), semihosting output and exit, the TIM2 instruction counter, sizes from the linker's
// symbols, and the memory functions GCC and clang may call. Faults print the PC and exit 1.
#include <stddef.h>
#include <stdint.h>
#include "bench.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];
extern uint8_t __vectors_start[], __flash_end[], __payload_start[], __payload_end[];
int main(void);

// ---- semihosting (bkpt 0xAB; QEMU: -semihosting-config enable=on,target=native) ----
static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void bench_write(const char *bytes, uint32_t count) {
    static int32_t handle = -2;
    if (handle == -2) {
        uint32_t open[3] = {(uint32_t)":tt", 4, 3};     // ":tt" opened "w": the host's stdout
        handle = (int32_t)semihost(0x01, open);         // SYS_OPEN
    }
    if (count == 0) return;
    if (handle >= 0) {
        uint32_t block[3] = {(uint32_t)handle, (uint32_t)bytes, count};
        semihost(0x05, block);                          // SYS_WRITE
    } else {
        for (uint32_t i = 0; i < count; i++) semihost(0x03, &bytes[i]);   // SYS_WRITEC
    }
}

void bench_exit(uint32_t code) {
    uint32_t block[2] = {0x20026, code};                // ADP_Stopped_ApplicationExit, status
    semihost(0x20, block);                              // SYS_EXIT_EXTENDED
    semihost(0x18, (const void *)(code == 0 ? 0x20026 : 0x20024));   // SYS_EXIT, older hosts
    for (;;) {}
}

// ---- TIM2: under -icount shift=0 QEMU's virtual clock advances 1 ns per instruction and TIM2
// counts it at 1 GHz with prescaler 0, so one tick is one retired instruction ----
#define TIM2 ((volatile uint32_t *)0x40000000u)
void bench_counter_start(void) {
    TIM2[0x28 / 4] = 0;             // PSC
    TIM2[0x2C / 4] = 0xFFFFFFFFu;   // ARR
    TIM2[0x14 / 4] = 1;             // EGR: UG (load PSC, CNT = 0)
    TIM2[0x00 / 4] = 1;             // CR1: CEN
}
uint32_t bench_counter_read(void) { return TIM2[0x24 / 4]; }

// ---- sizes ----
uint32_t *bench_stack_limit(void) { return __stack_limit; }
uint32_t bench_stack_top(void) { return (uint32_t)(uintptr_t)__stack_top; }
uint32_t bench_data_bytes(void) { return (uint32_t)((uintptr_t)__data_end - (uintptr_t)__data_start); }
uint32_t bench_bss_bytes(void) { return (uint32_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start); }
uint32_t bench_flash_bytes(void) { return (uint32_t)((uintptr_t)__flash_end - (uintptr_t)__vectors_start); }
const uint8_t *bench_payload(void) { return __payload_start; }
uint32_t bench_payload_capacity(void) { return (uint32_t)(__payload_end - __payload_start); }

// ---- memory functions the compilers emit calls to (word-wise when aligned, like BitShield's firmware) ----
void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0)
        for (; n >= 4; n -= 4, d += 4, s += 4) *(uint32_t *)d = *(const uint32_t *)s;
    while (n--) *d++ = *s++;
    return dst;
}
void *memmove(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (d <= s || d >= s + n) return memcpy(dst, src, n);
    while (n--) d[n] = s[n];
    return dst;
}
void *memset(void *dst, int value, size_t n) {
    uint8_t *d = dst;
    while (n && ((uintptr_t)d & 3)) { *d++ = (uint8_t)value; n--; }
    uint32_t word = (uint8_t)value * 0x01010101u;
    for (; n >= 4; n -= 4, d += 4) *(uint32_t *)d = word;
    while (n--) *d++ = (uint8_t)value;
    return dst;
}

// The run-time ABI's memory helpers, which clang emits for the same loops.
void __aeabi_memcpy(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memcpy4(void *d, const void *s, size_t n) { memcpy(d, s, n); }
void __aeabi_memset(void *d, size_t n, int v) { memset(d, v, n); }
void __aeabi_memset4(void *d, size_t n, int v) { memset(d, v, n); }
void __aeabi_memclr(void *d, size_t n) { memset(d, 0, n); }
void __aeabi_memclr4(void *d, size_t n) { memset(d, 0, n); }

// ---- reset, faults ----
__attribute__((noreturn)) void reset_handler(void) {
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_limit; p < sp - 16; p++) *p = BENCH_PAINT;
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;    // CPACR: CP10, CP11 (the FPU) full access
    __asm__ volatile("dsb\n isb");
    bench_exit((uint32_t)main());
}

static void write_text(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    bench_write(s, n);
}

__attribute__((used)) static void fault_report(const uint32_t *frame) {
    char hex[] = "fatal: hard fault at pc 0x00000000\n";
    for (int i = 0; i < 8; i++) hex[26 + i] = "0123456789abcdef"[(frame[6] >> (28 - 4 * i)) & 15];
    write_text(hex);
    bench_exit(1);
}
__attribute__((naked)) static void fault_handler(void) { __asm__ volatile("mov r0, sp\n b fault_report"); }
static void other_handler(void) { write_text("fatal: unexpected interrupt\n"); bench_exit(1); }

__attribute__((section(".vectors"), used)) void (*const vector_table[16])(void) = {
    (void (*)(void))__stack_top, reset_handler, other_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, other_handler, other_handler, 0, other_handler,
    other_handler,
};
