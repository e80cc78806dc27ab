// Counts heap allocations while enabled, by interposing malloc and friends in the test binary
// (they forward to glibc's __libc_* entry points). Used to prove that Interpreter.invoke() allocates
// nothing. Test support only; never linked into the products.
#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H
void bitshield_allocations_start(void);
long bitshield_allocations_stop(void);
#endif
