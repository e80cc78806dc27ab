#include "allocation_counter.h"
#include <stddef.h>
#include <stdatomic.h>
#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int counting;
static atomic_long allocations;
/* Net bytes (usable sizes) allocated minus freed since the start, and the highest it reached. */
static atomic_long live_bytes;
static atomic_long peak_bytes;

static inline void count(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add(&allocations, 1);
}

static inline void *track(void *p) {
    if (p && atomic_load_explicit(&counting, memory_order_relaxed)) {
        long now = atomic_fetch_add(&live_bytes, (long)malloc_usable_size(p)) + (long)malloc_usable_size(p);
        long peak = atomic_load(&peak_bytes);
        while (now > peak && !atomic_compare_exchange_weak(&peak_bytes, &peak, now)) {}
    }
    return p;
}

static inline void untrack(void *p) {
    if (p && atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_sub(&live_bytes, (long)malloc_usable_size(p));
}

void *malloc(size_t n) { count(); return track(__libc_malloc(n)); }
void *calloc(size_t n, size_t size) { count(); return track(__libc_calloc(n, size)); }
void *realloc(void *p, size_t n) { count(); untrack(p); return track(__libc_realloc(p, n)); }
void free(void *p) { untrack(p); __libc_free(p); }
void *aligned_alloc(size_t alignment, size_t n) { count(); return track(__libc_memalign(alignment, n)); }
void *memalign(size_t alignment, size_t n) { count(); return track(__libc_memalign(alignment, n)); }
int posix_memalign(void **out, size_t alignment, size_t n) {
    count();
    void *p = __libc_memalign(alignment, n);
    if (!p) return 12; /* ENOMEM */
    *out = track(p);
    return 0;
}

void bitshield_allocations_start(void) {
    atomic_store(&allocations, 0);
    atomic_store(&live_bytes, 0);
    atomic_store(&peak_bytes, 0);
    atomic_store(&counting, 1);
}

long bitshield_allocations_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&allocations);
}

long bitshield_allocations_peak_bytes(void) { return atomic_load(&peak_bytes); }
