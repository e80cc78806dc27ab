import Dispatch

/// Splits element-wise work over the machine's cores. Chunks are fixed by `count` and `chunks`, never
/// by timing, so results do not depend on scheduling.
public enum Parallel {
    /// Calls `body(lo, hi)` on `chunks` contiguous pieces of `0..<count`, concurrently when `count` is at
    /// least `minimum`; each piece is handled by exactly one call.
    @inlinable
    public static func forChunks(count: Int, chunks: Int = 2, minimum: Int = 65_536, _ body: (Int, Int) -> Void) {
        guard count >= minimum, chunks > 1 else {
            body(0, count)
            return
        }
        let size = (count + chunks - 1) / chunks
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
