// The C peers' firmware for `make bench-device`: what the board code (startup.c) offers the runner,
// and what each network (net_*.c) offers the runner (runner.c). Measured the way BitShield's own
// firmware measures (Firmware/Startup/startup.c): TIM2 counting QEMU's virtual clock under
// -icount shift=0 (one tick per retired instruction), a painted stack, sizes from linker symbols.
#ifndef BENCH_DEVICE_H
#define BENCH_DEVICE_H
#include <stdint.h>

// ---- board (startup.c) ----
void bench_write(const char *bytes, uint32_t count);   // semihosting: the host's stdout
void bench_exit(uint32_t code) __attribute__((noreturn));
void bench_counter_start(void);                        // TIM2 free-running from 0
uint32_t bench_counter_read(void);                     // TIM2 CNT: retired instructions
uint32_t *bench_stack_limit(void);                     // lowest word of the (painted) stack
uint32_t bench_stack_top(void);
uint32_t bench_data_bytes(void);
uint32_t bench_bss_bytes(void);
uint32_t bench_flash_bytes(void);                      // vector table .. end of .data's load image
const uint8_t *bench_payload(void);                    // QEMU's generic loader puts the images here
uint32_t bench_payload_capacity(void);
#define BENCH_PAINT 0xC5A5C5A5u

// ---- one network (net_*.c) ----
extern const char net_name[];
extern const uint32_t net_model_bytes;   // weights and parameters in flash (the model blob)
extern const uint32_t net_arena_bytes;   // activations and scratch in RAM (inside .bss)
int net_init(void);                      // once, before any inference; 0 on success
int net_infer(const uint8_t *pixels);    // 784 u8 pixels -> class
uint32_t net_output_hash(void);          // FNV-1a of the last inference's raw outputs

static inline uint32_t bench_fnv1a(const uint8_t *p, uint32_t n) {
    uint32_t h = 0x811C9DC5u;
    for (uint32_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x01000193u; }
    return h;
}
#endif
