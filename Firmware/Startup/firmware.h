// The C side of the BitShield firmware, as Swift sees it (imported as a bridging header).
// Startup, semihosting output, the instruction counter and the stack high-water mark live in
// startup.c; everything else (validation, inference, printing) is Swift.
#ifndef BITSHIELD_FIRMWARE_H
#define BITSHIELD_FIRMWARE_H

#include <stdint.h>

/// Writes `count` bytes to the host's stdout (semihosting SYS_WRITE to handle 1).
void fw_write(const uint8_t *bytes, uint32_t count);

/// Ends the simulation with `code` (semihosting SYS_EXIT_EXTENDED: QEMU exits with it). Never returns.
void fw_exit(uint32_t code) __attribute__((noreturn));

/// Starts the instruction counter (a free-running timer ticking once per retired instruction under
/// QEMU's `-icount shift=0`).
void fw_counter_start(void);

/// The counter's value (instructions since `fw_counter_start`, plus the read's own constant cost).
uint32_t fw_counter_read(void);

/// Bytes of the stack ever used since reset (the painted pattern scanned from the bottom).
uint32_t fw_stack_high_water(void);

/// Bytes reserved for the stack by the linker script.
uint32_t fw_stack_bytes(void);

/// Bytes of initialized data (.data) and zeroed data (.bss) in RAM.
uint32_t fw_data_bytes(void);
uint32_t fw_bss_bytes(void);

/// Bytes of flash the firmware itself occupies (vector table, code, read-only data, .data's image).
uint32_t fw_flash_bytes(void);

/// The RAM region for the interpreter's arena: start (16-byte aligned) and size.
uint8_t *fw_arena_start(void);
uint32_t fw_arena_bytes(void);

/// Bytes the small error-path allocator has handed out (0 when no error message was formatted).
uint32_t fw_heap_high_water(void);

/// Where QEMU's generic loader places the payload (header + model image + test images).
const uint8_t *fw_payload(void);
/// Bytes of flash from the payload address to the end of flash.
uint32_t fw_payload_capacity(void);

/// A 128-byte line buffer for the console (kept in C: no large Swift globals).
uint8_t *fw_line_buffer(void);

#endif
