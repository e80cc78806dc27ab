import ModelFormat

// spec/FORMAT.md `threshold_sign` and "Folding BatchNorm and sign into a threshold": BatchNorm and sign
// of a binary layer's accumulator A become one integer compare per channel. This file is the one
// statement of the rule (`ThresholdSign.bit`, and `ThresholdSign.byte` for eight lanes in one vector
// compare; `byte(counts:bounds:flips:)` the same rule on XOR counts, for the bits8 batch kernel) and of where a sign bit goes (`ThresholdSign.bitIndex`); every sink that turns accumulators
// into packed signs (this op's kernel, the fused dense and conv sinks, the SIMD8 and carry-save
// kernels, the column kernels' lanes) calls them; the kernel tests hold each sink to the rule bit for bit.

/// The threshold-sign rule.
public enum ThresholdSign {
    /// The packed bit of accumulator `a` for a channel with `threshold` and `flip`: 0 (+1) iff
    /// (a >= threshold) != (flip == 1), else 1 (-1).
    @_noAllocation @inline(__always)
    public static func bit(_ a: Int32, threshold: Int32, flip: UInt8) -> UInt32 {
        (a < threshold ? 1 : 0) ^ UInt32(flip)
    }

    /// The packed bit of accumulator `a` of channel `o`, its threshold and flip read here: `bit`'s rule
    /// for sinks that read per channel (ColumnDenseKernel's lanes). The same expression, not a call of
    /// `bit`: through that call swiftc's code for the column lanes took 3,315 more instructions per
    /// FCN2 inference on the Cortex-M4; through this one it takes none (DeviceTests pins the count).
    @_noAllocation @inline(__always)
    public static func bit(_ a: Int32, channel o: Int, thresholds: UnsafePointer<Int32>, flips: UnsafePointer<UInt8>) -> UInt32 {
        (a < thresholds[o] ? 1 : 0) ^ UInt32(flips[o])
    }

    /// `bit`'s rule for accumulators -2^30 <= a < 2^30 - 1 (the column kernels' sinks, |a| <= 255 n <
    /// 2^24): the sign of a - t', t' the threshold saturated to [-2^30, 2^30 - 1] (where a < t iff
    /// a < t'; one `ssat`), flipped by `flip`: subtract, exclusive or, shift; no compare. With `flip`
    /// left at 0 it is 1 iff a < threshold: a column sink takes a whole lane group's 32 of these,
    /// then its 32 flips at once (`flipWord`), a load and an exclusive or a row fewer.
    @_noAllocation @inline(__always)
    public static func bit(small a: Int32, threshold: Int32, flip: UInt8 = 0) -> UInt32 {
        (UInt32(bitPattern: a &- min(max(threshold, -0x4000_0000), 0x3FFF_FFFF)) ^ (UInt32(flip) &<< 31)) >> 31
    }

    /// The flips of 32 channels from `flips` (bytes of 0 or 1, as the reader checks) as a word, bit k
    /// the flip of channel k: `bit(small:)` for a lane group of 32 in one exclusive or. The eight loads
    /// of four flips are merged first, load q shifted by q, so bit 8b + q holds flip 4q + b; then four
    /// delta swaps (Hacker's Delight, 7-3) exchange the bit index's fields, (b, q) to (q, b): about 32
    /// instructions on the Cortex-M4, where a multiply per load gathering four flips took about 43
    /// (issue 14 item 6, fourth round).
    @_noAllocation @inline(__always)
    public static func flipWord(_ flips: UnsafePointer<UInt8>) -> UInt32 {
        var x: UInt32 = 0
        for q in 0..<8 {
            x |= UnsafeRawPointer(flips + 4 &* q).loadUnaligned(as: UInt32.self) &<< UInt32(truncatingIfNeeded: q)
        }
        // Index bits (b1 b0 q2 q1 q0) to (q2 q1 q0 b1 b0): swap index bits 0 and 3, 1 and 4, 2 and 3, 3 and 4.
        @inline(__always) func swap(_ x: UInt32, _ d: UInt32, _ mask: UInt32) -> UInt32 {
            let t = ((x >> d) ^ x) & mask
            return x ^ t ^ (t &<< d)
        }
        return swap(swap(swap(swap(x, 7, 0x00AA_00AA), 14, 0x0000_CCCC), 4, 0x00F0_00F0), 8, 0x0000_FF00)
    }

    /// The rule for eight lanes: bit r of the byte is `bit(a[r], threshold: t[r], flip: flip r)`, where
    /// `flips` holds the eight flips as bytes of 0 or 1 (lane r in byte r, little-endian): one vector
    /// compare, the lanes narrowed to bytes, and one multiply that gathers the bytes' low bits.
    /// The narrowing is a lane loop (LLVM makes it one vpmovdb), not `SIMD8<UInt8>(truncatingIfNeeded:)`:
    /// swiftc left that generic conversion as a call in the batch kernels, which cost FCN2 a fifth of
    /// its host throughput (`make bench BASELINE=`).
    @_noAllocation @inline(__always)
    public static func byte(_ a: SIMD8<Int32>, thresholds t: SIMD8<Int32>, flips: UInt64) -> UInt8 {
        let ge = SIMD8<Int32>().replacing(with: 1, where: a .>= t)
        var narrow = SIMD8<UInt8>()
        for r in 0..<8 { narrow[r] = UInt8(truncatingIfNeeded: ge[r]) }
        // Byte r: (a >= t) XOR flip XOR 1, that is 1 iff (a >= t) == flip.
        let lanes = unsafeBitCast(narrow, to: UInt64.self) ^ flips ^ 0x0101_0101_0101_0101
        return UInt8(truncatingIfNeeded: (lanes &* 0x0102_0408_1020_4080) >> 56)
    }

    /// `byte`'s rule in count space, for accumulators A = n - 2c of XOR counts c: A < t iff
    /// c >= (n - t + 2) >> 1 (an arithmetic shift: floor, for negative n - t + 2 too). `bounds` holds
    /// those bounds of eight lanes (`countBounds`); one 64-bit compare per lane and no conversion of the
    /// counts, computed once per block of rows for the four images of a batch kernel.
    @_noAllocation @inline(__always)
    public static func byte(counts c: SIMD8<UInt64>, bounds k: SIMD8<Int64>, flips: UInt64) -> UInt8 {
        let lt = SIMD8<Int64>().replacing(with: 1, where: unsafeBitCast(c, to: SIMD8<Int64>.self) .>= k)
        var narrow = SIMD8<UInt8>()
        for r in 0..<8 { narrow[r] = UInt8(truncatingIfNeeded: lt[r]) }   // a lane loop (vpmovqb), as in `byte`
        // Byte r: (A < t) XOR flip, the packed bit.
        let lanes = unsafeBitCast(narrow, to: UInt64.self) ^ flips
        return UInt8(truncatingIfNeeded: (lanes &* 0x0102_0408_1020_4080) >> 56)
    }

    /// The count bounds of eight thresholds for fan-in `n` (`byte(counts:bounds:flips:)`).
    @_noAllocation @inline(__always)
    public static func countBounds(_ t: SIMD8<Int32>, n: Int) -> SIMD8<Int64> {
        var k = SIMD8<Int64>()
        for r in 0..<8 { k[r] = (Int64(n) &+ 2 &- Int64(t[r])) >> 1 }
        return k
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
