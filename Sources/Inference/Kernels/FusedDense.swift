import ModelFormat

// Dense layers on v1 `bits` weights (one row after another), fused with their sink (AccumulatorSink.swift):
// row by row, popcounts of XOR (binary input) or of AND with the codes' bit-planes (PixelPlanes.swift).
// The references are BinaryDenseKernel's (BinaryDense.swift).

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
