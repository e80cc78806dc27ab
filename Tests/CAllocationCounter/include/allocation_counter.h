// Counts heap allocations while enabled, by interposing malloc and friends in the test binary
// (they forward to glibc's __libc_* entry points). Used to prove that Interpreter.invoke() allocates
// nothing, and to pin the peak heap a parser needs. Test support only; never linked into the products.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H
/// Starts counting allocations and heap bytes from zero.
void bitshield_allocations_start(void);
/// Stops counting; returns the number of allocations since the start.
long bitshield_allocations_stop(void);
/// The highest net heap growth (usable bytes allocated minus freed, frees of older blocks included)
/// reached between the last start and stop.
long bitshield_allocations_peak_bytes(void);
#endif
