/* Start-up for the C firmware example (QEMU netduinoplus2, Cortex-M4F): vector table, reset
 * (stack painting, .data and .bss, FPU on), semihosting output and exit, the TIM2 instruction counter
 * (one tick per instruction under QEMU's -icount shift=0) and the stack high-water mark. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "board.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_limit[], __stack_top[];

int main(void);

#define PAINT 0xA5C3A5C3u

static uint32_t semihost(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void board_write(const char *text) {
    static int32_t handle = -2;
    if (handle == -2) {
        uint32_t open[3] = {(uint32_t)":tt", 4, 3};   /* ":tt" for writing: the host's stdout */
        handle = (int32_t)semihost(0x01, open);
    }
    uint32_t block[3] = {(uint32_t)handle, (uint32_t)text, (uint32_t)strlen(text)};
    semihost(0x05, block);                            /* SYS_WRITE */
}

void board_exit(int status) {
    uint32_t block[2] = {0x20026, (uint32_t)status};  /* ADP_Stopped_ApplicationExit */
    semihost(0x20, block);                            /* SYS_EXIT_EXTENDED */
    for (;;) {}
}

#define TIM2 ((volatile uint32_t *)0x40000000u)
void board_counter_start(void) {
    TIM2[0x28 / 4] = 0;            /* PSC */
    TIM2[0x2C / 4] = 0xFFFFFFFFu;  /* ARR */
    TIM2[0x14 / 4] = 1;            /* EGR: UG */
    TIM2[0x00 / 4] = 1;            /* CR1: CEN */
}
uint32_t board_counter(void) { return TIM2[0x24 / 4]; }

void board_paint_stack(void) {
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_limit; p < sp - 64; p++) *p = PAINT;
}

uint32_t board_stack_used_below(const void *mark) {
    const uint32_t *p = __stack_limit;
    while (p < (const uint32_t *)mark && *p == PAINT) p++;
    return (uint32_t)((uintptr_t)mark - (uintptr_t)p);
}

/* No heap: the runtime allocates nothing, on success or on a failing bitshield_init (its errors are a
 * code and integers). There is no malloc, posix_memalign or free here, so a library that reached one
 * would not link (scripts/check-c-examples.sh also refuses an image that holds an allocator). */
size_t board_heap_used(void) { return 0; }

void reset_handler(void) {
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) *d++ = *s++;
    for (uint32_t *d = __bss_start; d < __bss_end;) *d++ = 0;
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;  /* CPACR: CP10, CP11 full access (the FPU) */
    __asm__ volatile("dsb\n isb");
    board_exit(main());
}

static void fault(void) {
    board_write("fatal: fault (a trap in the runtime or a bad access)\n");
    board_exit(1);
}

__attribute__((section(".vectors"), used)) void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top, reset_handler, fault, fault, fault, fault, fault, 0, 0, 0, 0,
    fault, fault, 0, fault, fault,
};
