import ModelFormat

// Binary convolutions fused with [max-pool] and their sink (AccumulatorSink.swift): every kernel set but
// the reference runs them. The references are BinaryConvKernel's (BinaryConv.swift).

/// Fused convolutions with binary weights (stride 1, no padding, NHWC), with optional max-pooling
/// over s x s windows of the accumulators before the sink.
public enum FusedConvKernel {
    /// The input of a fused conv: packed bits in the `pixel` layout, or pixels turned into codes here.
    public enum Input {
        /// Packed +/-1, each pixel's channels a row.
        case bits(UnsafePointer<UInt64>)
        /// 8-bit pixels and the input bits of their codes.
        case pixels(UnsafePointer<UInt8>, bits: Int)
    }

    /// Scratch bytes: one output pixel's m accumulators.
    @_noAllocation @inlinable public static func scratchBytes(m: Int) -> Int { 4 * m }

    /// Runs the conv (h x w x c -> oh x ow x m), pools by `pool` (1: none), and hands each output to `sink`.
    @_noAllocation @inline(never)
    public static func run(_ input: Input, h: Int, w: Int, c: Int, k: Int, weights: UnsafePointer<UInt64>, m: Int,
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
                            var a = 0
                            switch input {
                            case let .bits(x):
                                var count = 0
                                for ky in 0..<k {
                                    // A kernel row's k positions are k * words consecutive words in both.
                                    count += Popcount.xorWords(x + ((oy + ky) * w + ox) * words, weights + (o * k + ky) * k * words,
                                                          words: k * words)
                                }
                                a = k * k * c - 2 * count
                            case let .pixels(p, bits):
                                for ky in 0..<k {
                                    for kx in 0..<k {
                                        let wr = weights + ((o * k + ky) * k + kx) * words
                                        let at = ((oy + ky) * w + ox + kx) * c
                                        for i in 0..<c {
                                            let code = Int(InputCodes.code(p[at + i], delta: bits))
                                            let negative = Int((wr[i >> 6] >> UInt64(i & 63)) & 1)
                                            a += code - 2 * code * negative
                                        }
                                    }
                                }
                            }
                            if Int32(a) > accumulators[o] { accumulators[o] = Int32(a) }
                        }
                    }
                }
                for o in 0..<m { sink.store(pixel: py * pw + px, channel: o, channels: m, accumulators[o]) }
            }
        }
    }
}
