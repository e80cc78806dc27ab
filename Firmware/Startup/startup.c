// BitShield firmware startup for QEMU's Cortex-M boards (netduinoplus2: STM32F405, Cortex-M4F;
// microbit: nRF51822, Cortex-M0). Freestanding: no libc. Provides the vector table, the reset
// handler (stack painting, .data/.bss, FPU), semihosting output and exit, the instruction counter,
// the few libc functions the Swift code needs (memcpy, memmove, memset, a bump allocator for the
// error path, putchar) and fault handlers that print and exit 1.
#include <stddef.h>
#include <stdint.h>
#include "firmware.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[], __heap_start[], __heap_end[];
extern uint8_t __arena_start[], __arena_end[], __payload_start[], __payload_end[], __flash_end[];
extern uint8_t __vectors_start[];

int bitshield_main(void);

#define PAINT 0xC5A5C5A5u

// ---- semihosting (ARM's bkpt 0xAB interface; QEMU needs -semihosting-config enable=on) ----

static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

// The host's stdout: SYS_OPEN of ":tt" for writing (mode 4) gives its handle.
static int32_t stdout_handle = -2;

void fw_write(const uint8_t *bytes, uint32_t count) {
    if (stdout_handle == -2) {
        uint32_t open[3] = {(uint32_t)":tt", 4, 3};    // name, mode "w", name length
        stdout_handle = (int32_t)semihost(0x01, open); // SYS_OPEN
    }
    if (count == 0) return;
    if (stdout_handle >= 0) {
        uint32_t block[3] = {(uint32_t)stdout_handle, (uint32_t)bytes, count};
        semihost(0x05, block);                         // SYS_WRITE
    } else {
        for (uint32_t i = 0; i < count; i++) semihost(0x03, &bytes[i]);   // SYS_WRITEC
    }
}

void fw_exit(uint32_t code) {
    uint32_t block[2] = {0x20026, code};               // ADP_Stopped_ApplicationExit, exit status
    semihost(0x20, block);                             // SYS_EXIT_EXTENDED
    semihost(0x18, (const void *)(code == 0 ? 0x20026 : 0x20024));   // SYS_EXIT, if the above is not implemented
    for (;;) {}
}

static void write_string(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    fw_write((const uint8_t *)s, n);
}

int putchar(int c) {
    uint8_t b = (uint8_t)c;
    fw_write(&b, 1);
    return c;
}

// ---- the instruction counter ----
// Under `-icount shift=0` QEMU's virtual clock advances exactly 1 ns per retired instruction.
// netduinoplus2: TIM2 (32-bit) counts QEMU's virtual clock at 1 GHz with prescaler 0: one tick per
// instruction. microbit: TIMER0 counts at 16 MHz, one tick per 62.5 ns; `infer --device microbit`
// runs QEMU with -icount shift=7 (128 ns per instruction), so a tick is 0.48828125 instructions and
// the counts resolve single instructions (fw_counter_read returns ticks; the host tool scales).

#if defined(BOARD_NETDUINOPLUS2)
#define TIM2 ((volatile uint32_t *)0x40000000u)
void fw_counter_start(void) {
    TIM2[0x28 / 4] = 0;            // PSC
    TIM2[0x2C / 4] = 0xFFFFFFFFu;  // ARR
    TIM2[0x14 / 4] = 1;            // EGR: UG, load the prescaler, counter 0
    TIM2[0x00 / 4] = 1;            // CR1: CEN
}
uint32_t fw_counter_read(void) { return TIM2[0x24 / 4]; }   // CNT
#elif defined(BOARD_MICROBIT)
#define TIMER0 ((volatile uint32_t *)0x40008000u)
void fw_counter_start(void) {
    TIMER0[0x504 / 4] = 0;         // MODE: timer
    TIMER0[0x508 / 4] = 3;         // BITMODE: 32 bit
    TIMER0[0x510 / 4] = 0;         // PRESCALER: 16 MHz
    TIMER0[0x00C / 4] = 1;         // TASKS_CLEAR
    TIMER0[0x000 / 4] = 1;         // TASKS_START
}
uint32_t fw_counter_read(void) {
    TIMER0[0x040 / 4] = 1;         // TASKS_CAPTURE[0]
    return TIMER0[0x540 / 4];      // CC[0]
}
#else
#error "define BOARD_NETDUINOPLUS2 or BOARD_MICROBIT"
#endif

// ---- memory figures ----

uint32_t fw_stack_high_water(void) {
    const uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == PAINT) p++;
    return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
uint32_t fw_stack_bytes(void) { return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_limit); }
uint32_t fw_data_bytes(void) { return (uint32_t)((uintptr_t)__data_end - (uintptr_t)__data_start); }
uint32_t fw_bss_bytes(void) { return (uint32_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start); }
uint32_t fw_flash_bytes(void) { return (uint32_t)((uintptr_t)__flash_end - (uintptr_t)__vectors_start); }
uint8_t *fw_arena_start(void) { return __arena_start; }
uint32_t fw_arena_bytes(void) { return (uint32_t)(__arena_end - __arena_start); }
const uint8_t *fw_payload(void) { return __payload_start; }
uint32_t fw_payload_capacity(void) { return (uint32_t)(__payload_end - __payload_start); }

static uint8_t line_buffer[128];
uint8_t *fw_line_buffer(void) { return line_buffer; }

// ---- the few libc functions Embedded Swift and clang call ----

void *memcpy(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
        for (; n >= 4; n -= 4, d += 4, s += 4) *(uint32_t *)d = *(const uint32_t *)s;
    }
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

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (size_t i = 0; i < n; i++) if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

// A bump allocator over the heap region. Inference never allocates (`@_noAllocation`); only
// formatting an error message does, once, before exiting. free() does nothing.
static uint8_t *heap_next = (uint8_t *)0;

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!heap_next) heap_next = (uint8_t *)__heap_start;
    if (alignment < 8) alignment = 8;
    uintptr_t p = ((uintptr_t)heap_next + alignment - 1) & ~(uintptr_t)(alignment - 1);
    if (p + size > (uintptr_t)__heap_end) {
        write_string("fatal: firmware heap exhausted\n");
        fw_exit(1);
    }
    heap_next = (uint8_t *)(p + size);
    *out = (void *)p;
    return 0;
}

void *malloc(size_t size) {
    void *p;
    posix_memalign(&p, 8, size);
    return p;
}

void free(void *p) { (void)p; }

uint32_t fw_heap_high_water(void) {
    return heap_next ? (uint32_t)(heap_next - (uint8_t *)__heap_start) : 0;
}

// ---- reset and faults ----

void reset_handler(void) {
    // Paint the stack below this frame, so the high-water mark can be found at the end.
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_limit; p < sp - 16; p++) *p = PAINT;
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;
#if defined(BOARD_NETDUINOPLUS2)
    // Swift code uses the FPU (fpv4-sp-d16): enable CP10 and CP11.
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n isb");
#endif
    fw_exit((uint32_t)bitshield_main());
}

static void write_hex(uint32_t v) {
    uint8_t digits[10] = {'0', 'x'};
    for (int i = 0; i < 8; i++) digits[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
    fw_write(digits, 10);
}

/// Prints the faulting pc (from the exception frame) and exits 1.
__attribute__((used)) static void fault_report(const uint32_t *frame) {
    write_string("fatal: hard fault at pc ");
    write_hex(frame[6]);
    write_string(" (a trap in Swift code: precondition, overflow or bounds; or a bad access)\n");
    fw_exit(1);
}

__attribute__((naked)) static void fault_handler(void) {
    __asm__ volatile("mov r0, sp\n b fault_report");
}

static void default_handler(void) {
    write_string("fatal: unexpected interrupt\n");
    fw_exit(1);
}

__attribute__((section(".vectors"), used)) void (*const vector_table[16])(void) = {
    (void (*)(void))__stack_top,
    reset_handler,
    default_handler,   // NMI
    fault_handler,     // HardFault
    fault_handler,     // MemManage
    fault_handler,     // BusFault
    fault_handler,     // UsageFault
    0, 0, 0, 0,
    default_handler,   // SVCall
    default_handler,   // DebugMonitor
    0,
    default_handler,   // PendSV
    default_handler,   // SysTick
};
