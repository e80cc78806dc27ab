import ModelFormat

// Fused binary layers: a weight layer's accumulators go straight into BatchNorm + sign (thresholds)
// and are packed, so they are never stored, and a first layer reads the pixels and forms its input
// codes itself. This is what keeps the arena small (an FCN2 needs its 80-byte bit vectors and the
// first layer's bit-planes, not 2,400-byte accumulator vectors). Every fused kernel computes exactly
// what the reference kernels compute op by op; the runtime's reference mode runs the unfused ops,
// and tests compare the two bit for bit.

/// Where a layer's accumulators go.
public enum AccumulatorSink {
    /// Stored as i32, `[pixel, channel]`.
    case accumulators(UnsafeMutablePointer<Int32>)
    /// Thresholded into packed bits (+1 iff (A >= threshold[c]) != flip[c]), in `layout`; `bits` must be zeroed.
    case signs(thresholds: UnsafePointer<Int32>, flips: UnsafePointer<UInt8>, layout: BitLayout, channels: Int,
               bits: UnsafeMutablePointer<UInt64>)

    /// Stores accumulator `a` of channel `c` at output pixel `p`.
    @_noAllocation @inline(__always)
    func store(pixel p: Int, channel c: Int, channels m: Int, _ a: Int32) {
        switch self {
        case let .accumulators(out):
            out[p * m + c] = a
        case let .signs(thresholds, flips, layout, channels, bits):
            if ThresholdSign.bit(a, threshold: thresholds[c], flip: flips[c]) == 0 { return }
            let bit = ThresholdSign.bitIndex(pixel: p, channel: c, channels: channels, layout: layout)
            bits[bit >> 6] |= 1 << UInt64(bit & 63)
        }
    }

    /// Words to zero before a layer of `pixels` x `channels` outputs writes packed signs.
    @_noAllocation static func words(pixels: Int, channels: Int, layout: BitLayout) -> Int {
        layout == .flat ? BitPacking.words(pixels * channels) : pixels * BitPacking.words(channels)
    }
}

/// Fused dense layers with binary weights.
public enum FusedDenseKernel {
    /// Bits input: A_o = n - 2 popcount(x XOR w_o), then into `sink`.
    @_noAllocation @inline(never)
    public static func popcountBits(input: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                    sink: AccumulatorSink) {
        let words = BitPacking.words(n)
        for o in 0..<m {
            let count = Popcount.xorWords(input, weights + o * words, words: words)
            sink.store(pixel: 0, channel: o, channels: m, Int32(n - 2 * count))
        }
    }

    /// Pixels input (codes formed here), by the bit-planes of PixelPlanes; `planes` is scratch of
    /// `PixelPlanes.count(bits:) * words(n)` words.
    @_noAllocation @inline(never)
    public static func bitplanePixels(pixels: UnsafePointer<UInt8>, bits: Int, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                      planes: UnsafeMutablePointer<UInt64>, sink: AccumulatorSink) {
        let words = BitPacking.words(n)
        let planeCount = PixelPlanes.count(bits: bits)
        let total = PixelPlanes.build(pixels: pixels, n: n, bits: bits, into: planes)
        for o in 0..<m {
            let row = weights + o * words
            var weighted = 0
            for b in 0..<planeCount { weighted += Popcount.andWords(planes + b * words, row, words: words) << b }
            sink.store(pixel: 0, channel: o, channels: m, Int32(total - 2 * weighted))
        }
    }
}

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
