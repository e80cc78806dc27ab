import CBLAS
import Dispatch

/// Splits work over the machine's cores. Chunks are fixed by `count` and `chunks`, never by timing or by
/// the number of workers, so results do not depend on scheduling or on `workers`.
public enum Parallel {
    /// Threads the trainer's own parallel work uses, fixed when first asked: OpenBLAS's thread count as the
    /// library loaded (`OPENBLAS_NUM_THREADS`, else every core), so `OPENBLAS_NUM_THREADS=1` (what
    /// `train reproduce` gives each job) keeps a whole run on one core. OpenBLAS itself is then set to one
    /// thread: its workers spin in `sched_yield` inside and between products (a fifth of a conv epoch's CPU
    /// time, perf), so `Matrix.product` and the conv layers split their products here instead.
    public static let workers: Int = {
        let n = max(1, Int(openblas_get_num_threads()))
        openblas_set_num_threads(1)
        return n
    }()

    /// Length of every piece but the last when `forChunks` splits `count` into `chunks` (piece k starts at
    /// k times this).
    @inlinable
    public static func chunkSize(count: Int, chunks: Int = 2) -> Int { (count + chunks - 1) / chunks }

    /// Calls `body(lo, hi)` on `chunks` contiguous pieces of `0..<count`, concurrently when `count` is at
    /// least `minimum` and there is more than one worker (one after the other otherwise, the same pieces);
    /// each piece is handled by exactly one call. Below `minimum`, one call covers `0..<count`.
    @inlinable
    public static func forChunks(count: Int, chunks: Int = 2, minimum: Int = 65_536, _ body: (Int, Int) -> Void) {
        guard count >= minimum, chunks > 1 else {
            body(0, count)
            return
        }
        let size = chunkSize(count: count, chunks: chunks)
        guard workers > 1 else {
            for lo in stride(from: 0, to: count, by: size) { body(lo, min(lo + size, count)) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks are disjoint, so the callers' captured buffers are never shared between calls.
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: chunks) { k in
                let lo = k * size
                let hi = min(lo + size, count)
                if lo < hi { body(lo, hi) }
            }
        }
    }
}
