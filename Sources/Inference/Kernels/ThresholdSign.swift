import ModelFormat

// spec/FORMAT.md `threshold_sign` and "Folding BatchNorm and sign into a threshold": BatchNorm and sign
// of a binary layer's accumulator A become one integer compare per channel. This file is the one
// statement of the rule (`ThresholdSign.bit`) and of where a sign bit goes (`ThresholdSign.bitIndex`);
// every sink that turns accumulators into packed signs (this op's kernel, the fused dense and conv
// sinks, the carry-save kernels) calls them. Two sinks write it out, for their code generation: the
// SIMD8 sink of `BlockedDenseKernel` (eight lanes in one vector compare) and the lane loop of
// `ColumnDenseKernel.emitLanes` (see there); the kernel tests hold both to this rule bit for bit.

/// The threshold-sign rule.
public enum ThresholdSign {
    /// The packed bit of accumulator `a` for a channel with `threshold` and `flip`: 0 (+1) iff
    /// (a >= threshold) != (flip == 1), else 1 (-1).
    @_noAllocation @inline(__always)
    public static func bit(_ a: Int32, threshold: Int32, flip: UInt8) -> UInt32 {
        (a < threshold ? 1 : 0) ^ UInt32(flip)
    }

    /// The bit position of channel `c` of output pixel `p` in a map of `channels` channels: `flat`
    /// packs the whole map as one row, `pixel` gives each pixel its own whole words.
    @_noAllocation @inline(__always)
    public static func bitIndex(pixel p: Int, channel c: Int, channels: Int, layout: BitLayout) -> Int {
        layout == .flat ? p &* channels &+ c : p &* BitPacking.words(channels) &* 64 &+ c
    }
}

/// BatchNorm + sign folded into thresholds (spec/FORMAT.md `threshold_sign`): +1 (bit 0) iff
/// (A >= threshold[c]) != flip[c]; output packed `flat` or `pixel`.
public enum ThresholdSignKernel {
    /// Thresholds an h x w x c map of accumulators into packed bits (words zeroed first).
    @_noAllocation @inline(never)
    public static func run(_ input: UnsafePointer<Int32>, h: Int, w: Int, c: Int, thresholds: UnsafePointer<Int32>,
                           flips: UnsafePointer<UInt8>, layout: BitLayout, output: UnsafeMutablePointer<UInt64>) {
        let pixels = h * w
        let rowWords = layout == .flat ? BitPacking.words(pixels * c) : BitPacking.words(c)
        let totalWords = layout == .flat ? rowWords : pixels * rowWords
        output.initialize(repeating: 0, count: totalWords)
        for p in 0..<pixels {
            for ch in 0..<c where ThresholdSign.bit(input[p * c + ch], threshold: thresholds[ch], flip: flips[ch]) == 1 {
                let bit = ThresholdSign.bitIndex(pixel: p, channel: ch, channels: c, layout: layout)
                output[bit >> 6] |= 1 << UInt64(bit & 63)
            }
        }
    }
}
