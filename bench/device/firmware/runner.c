// The measuring runner shared by the C peers. It reads the test images that QEMU's loader placed in
// flash (payload: u32 magic "BSBD", u32 count, u32 image_bytes = 784, u32 index of the first image;
// then the images), runs the network on each with the counter read just before and just after the
// call (minus the cost of one read, as BitShield's firmware does), and prints lines run.py parses:
//
//   peer name=NAME
//   model model_bytes=.. arena_bytes=.. images=.. first=..
//   r INDEX CLASS OUTPUT_HASH INSTRUCTIONS        one per image
//   instructions overhead=..
//   memory data=.. bss=.. stack_high_water=.. stack_call_site=.. stack_reserved=.. flash=..
//   done
//
// Stack: the region below main's frame is repainted before every inference; stack_call_site is the
// deepest use of net_infer (and net_init) measured from that call site, stack_high_water the deepest
// use of the whole firmware (startup, main, the runner's printing), the figure BitShield's firmware
// reports.
#include <stdint.h>
#include "bench.h"

#define PAYLOAD_MAGIC 0x44425342u   // "BSBD" little-endian
#define IMAGE_BYTES 784u

static char line[96];
static uint32_t line_len;
static void put(const char *s) { while (*s && line_len < sizeof line - 1) line[line_len++] = *s++; }
static void put_u32(uint32_t v) {
    char digits[11];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n && line_len < sizeof line - 1) line[line_len++] = digits[--n];
}
static void put_hex(uint32_t v) {
    for (int i = 0; i < 8 && line_len < sizeof line - 1; i++) line[line_len++] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
}
static void put_field(const char *key, uint32_t v) { put(" "); put(key); put("="); put_u32(v); }
static void end_line(void) { line[line_len++] = '\n'; bench_write(line, line_len); line_len = 0; }

// The lowest painted word still intact, from the stack's limit up: everything below `sp` was
// painted by paint_below(sp).
static uint32_t *first_used(void) {
    uint32_t *p = bench_stack_limit();
    while (p < (uint32_t *)bench_stack_top() && *p == BENCH_PAINT) p++;
    return p;
}
static inline __attribute__((always_inline)) void paint_below(uint32_t *sp) {
    for (volatile uint32_t *p = bench_stack_limit(); p < sp; p++) *p = BENCH_PAINT;
}

int main(void) {
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    const uint32_t *header = (const uint32_t *)bench_payload();
    put("peer name="); put(net_name); end_line();
    if (header[0] != PAYLOAD_MAGIC) { put("error: no payload (magic "); put_hex(header[0]); put(")"); end_line(); return 1; }
    const uint32_t count = header[1], image_bytes = header[2], first = header[3];
    const uint32_t room = (bench_payload_capacity() - 16) / IMAGE_BYTES;
    if (image_bytes != IMAGE_BYTES || count > room) {
        put("error: bad payload:"); put_field("image_bytes", image_bytes); put_field("count", count); put_field("room", room);
        end_line(); return 1;
    }
    const uint8_t *images = bench_payload() + 16;

    // The startup code and main's callers reached at most this deep before main's frame.
    uint32_t whole = bench_stack_top() - (uint32_t)(uintptr_t)first_used();
    paint_below(sp);
    if (net_init() != 0) { put("error: net_init failed"); end_line(); return 1; }
    uint32_t call_site = (uint32_t)((uintptr_t)sp - (uintptr_t)first_used());
    put("model"); put_field("model_bytes", net_model_bytes); put_field("arena_bytes", net_arena_bytes);
    put_field("images", count); put_field("first", first); end_line();

    bench_counter_start();
    const uint32_t a = bench_counter_read(), b = bench_counter_read();
    const uint32_t overhead = b - a;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t used = bench_stack_top() - (uint32_t)(uintptr_t)first_used();   // since the last paint, printing included
        if (used > whole) whole = used;
        paint_below(sp);
        const uint8_t *pixels = images + i * IMAGE_BYTES;
        uint32_t t0 = bench_counter_read();
        int cls = net_infer(pixels);
        uint32_t t1 = bench_counter_read();
        uint32_t depth = (uint32_t)((uintptr_t)sp - (uintptr_t)first_used());
        if (depth > call_site) call_site = depth;
        put("r "); put_u32(first + i); put(" "); put_u32((uint32_t)cls); put(" "); put_hex(net_output_hash());
        put(" "); put_u32(t1 - t0 - overhead); end_line();
    }
    put("instructions"); put_field("overhead", overhead); end_line();
    uint32_t used = bench_stack_top() - (uint32_t)(uintptr_t)first_used();
    if (used > whole) whole = used;
    put("memory"); put_field("data", bench_data_bytes()); put_field("bss", bench_bss_bytes());
    put_field("stack_high_water", whole); put_field("stack_call_site", call_site);
    put_field("stack_reserved", bench_stack_top() - (uint32_t)(uintptr_t)bench_stack_limit());
    put_field("flash", bench_flash_bytes()); end_line();
    put("done"); end_line();
    return 0;
}
