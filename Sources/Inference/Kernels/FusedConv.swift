import ModelFormat

// Binary convolutions on packed bits fused with [max-pool] and their sink (AccumulatorSink.swift): the
// 64-bit hosts' hidden binary convs. The first conv, on codes formed from the pixels, runs
// PlaneConv32Kernel on every target (Kernel.choose). The references are BinaryConvKernel's (BinaryConv.swift).

/// Fused convolutions with binary weights on packed bits (stride 1, no padding, NHWC), with optional
/// max-pooling over s x s windows of the accumulators before the sink.
public enum FusedConvKernel {
    /// Scratch bytes: one output pixel's m accumulators.
    @_noAllocation @inlinable public static func scratchBytes(m: Int) -> Int { 4 * m }

    /// Runs the conv on packed +/-1 input `x` (each pixel's channels a row; h x w x c -> oh x ow x m),
    /// pools by `pool` (1: none), and hands each output to `sink`.
    @_noAllocation @inline(never)
    public static func run(_ x: UnsafePointer<UInt64>, h: Int, w: Int, c: Int, k: Int, weights: UnsafePointer<UInt64>, m: Int,
                           pool: Int, accumulators: UnsafeMutablePointer<Int32>, sink: AccumulatorSink) {
        let (ch, cw) = (h - k + 1, w - k + 1)
        let (ph, pw) = (ch / pool, cw / pool)
        let words = BitPacking.words(c)
        for py in 0..<ph {
            for px in 0..<pw {
                for o in 0..<m { accumulators[o] = Int32.min }
                for dy in 0..<pool {
                    for dx in 0..<pool {
                        let (oy, ox) = (py * pool + dy, px * pool + dx)
                        for o in 0..<m {
                            var count = 0
                            for ky in 0..<k {
                                // A kernel row's k positions are k * words consecutive words in both.
                                count += Popcount.xorWords(x + ((oy + ky) * w + ox) * words, weights + (o * k + ky) * k * words,
                                                           words: k * words)
                            }
                            let a = k * k * c - 2 * count
                            if Int32(a) > accumulators[o] { accumulators[o] = Int32(a) }
                        }
                    }
                }
                for o in 0..<m { sink.store(pixel: py * pw + px, channel: o, channels: m, accumulators[o]) }
            }
        }
    }
}
