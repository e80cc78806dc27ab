import ModelFormat

/// The arena plan: where every step's output and scratch live, and the bytes the arena needs.
///
/// Layout (TensorFlow Lite Micro's persistent and non-persistent regions): the persistent bytes come
/// first (the carry-save kernels' row counts, `base` of them, filled by `Interpreter.init` and only read
/// by `invoke`); after them the activations alternate between the two ends of the rest: a step reads its
/// input at one end and writes its output at the other, with its scratch in between, so the arena is
/// max over steps of (input + scratch + output), the least a chain needs. The caller's pixels (the first
/// input) are outside the arena. `affine`, `hardtanh` and `relu` work in place and place nothing.
/// `Interpreter.walk` drives it in all three passes (plan, prepare, run), so they cannot disagree.
struct ArenaPlan {
    let arenaBytes: Int
    /// Where the activations start (after the persistent data).
    let base: Int
    var needed = 0, maxScratch = 0
    /// Offset of the current value (meaningless while `external`; negative while planning).
    var inputAt = 0
    /// The current value is the caller's pixels, not in the arena.
    var external = true
    var inputLow = false

    /// Every value and scratch starts 16-byte aligned (SIMD loads; each image of a batch too).
    @_noAllocation @inline(__always)
    static func align(_ n: Int) -> Int { (n + 15) & ~15 }

    /// A plan over an arena of `arenaBytes` whose first `base` bytes are persistent.
    @_noAllocation @inline(__always)
    init(arenaBytes: Int, base: Int) {
        self.arenaBytes = arenaBytes
        self.base = base
    }

    /// Places a step's output and scratch (all images), given its input's size; returns (output,
    /// scratch) offsets and makes the output the current value.
    @_noAllocation
    mutating func place(inBytes: Int, outBytes: Int, scratch: Int) -> (Int, Int) {
        let input = external ? 0 : ArenaPlan.align(inBytes)
        let out = ArenaPlan.align(outBytes), sc = ArenaPlan.align(scratch)
        needed = max(needed, input + sc + out)
        maxScratch = max(maxScratch, sc)
        external = false
        if !inputLow {
            inputLow = true
            inputAt = base
            return (base, out + base)
        }
        inputLow = false
        inputAt = arenaBytes - out
        return (arenaBytes - out, input + base)
    }
}
