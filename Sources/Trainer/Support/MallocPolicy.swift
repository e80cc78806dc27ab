#if canImport(Glibc)
import Glibc
#endif

/// How the `train` process's allocator treats freed memory (issue 18 item 4: the conv edge attack spent
/// a third of its CPU in the kernel). The trainer allocates its layer outputs, im2col blocks and gradients
/// afresh on every forward and backward pass: the conv net's are tens of megabytes per batch, hundreds
/// of passes per attack batch. glibc serves an allocation above its mmap threshold (at most 32 MB) with
/// its own mmap and returns it on free (munmap), and gives the top of the heap back (brk) once more than
/// the trim threshold is free, so each pass faulted its buffers in again, page by page, zeroed by the
/// kernel: 1.3 million minor faults and 2.35 s of system time against 11.3 s of user time for the edge
/// attack on 100 images of the binary conv net (`/usr/bin/time -f '%U %S %R'`). Here every allocation
/// comes from the heap and freed memory stays mapped for the next pass (the process keeps its peak
/// footprint until it exits, which a batch job does): 31,000 faults and 0.06 s. No number changes: only
/// where the bytes live.
public enum MallocPolicy {
    /// Serve every allocation from the heap (no mmap per allocation) and never trim the heap.
    /// Call once at process start, before threads start. A no-op where the C library is not glibc.
    public static func keepFreedMemory() {
        #if canImport(Glibc)
        // <malloc.h> is not part of the Glibc module: mallopt by name, with its parameters' values from it.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }  // RTLD_DEFAULT
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapMax: Int32 = -4  // M_TRIM_THRESHOLD, M_MMAP_MAX
        _ = mallopt(mmapMax, 0)
        _ = mallopt(trimThreshold, Int32.max)
        #endif
    }
}
