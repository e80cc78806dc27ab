import ModelFormat

// Dense layers on `bits8` weights (BitPacking.swift): eight consecutive words are word j of eight output
// rows, so one vector load, one XOR (or AND) with the broadcast input word and one vector popcount give
// eight outputs' partial counts, with no horizontal sums. Built with AVX-512 VPOPCNTDQ (`make bench`'s
// native build) the popcount is one vpopcntq per eight words; a generic build gets a SIMD bit-count
// sequence, slower but correct everywhere. The references are BinaryDenseKernel's (BinaryDense.swift);
// KernelTests require bit-exact agreement over shape grids.

/// Binary dense layers on the `bits8` weight layout.
public enum BlockedDenseKernel {
    /// Bits input: A_o = n - 2 popcount(x XOR w_o), eight outputs at a time, then into `sink`.
    @_noAllocation
    public static func bits(input x: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                            sink: AccumulatorSink) {
        let words = BitPacking.words(n)
        let fanIn = SIMD8<Int32>(repeating: Int32(n))
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let counts = xorCounts(x, weights + g * words * 8, words: words)
            sink.store8(group: g, fanIn &- (counts &<< 1), outputs: m)
        }
    }

    /// Input-code planes (PixelPlanes.build, which returned `total`, the sum of the codes):
    /// A_o = total - 2 sum_b 2^b popcount(P_b AND w_o), eight outputs at a time, then into `sink`.
    /// With `constantFirstPlane` (codes 2q + 1: plane 0 is all n bits) plane 0 adds popcount(w_o), read
    /// from `rowCounts` (planeRowCounts, the step's persistent data) when given; of the other planes only
    /// the nonzero words are counted (PixelPlanes.nonzeroWords: the blank pixels of a 2-bit image have
    /// q = 0, so their codes are plane 0's constant alone).
    @_noAllocation
    public static func planes(_ planes: UnsafePointer<UInt64>, count: Int, total: Int, weights: UnsafePointer<UInt64>,
                              n: Int, m: Int, sink: AccumulatorSink, constantFirstPlane: Bool = false,
                              rowCounts: UnsafePointer<UInt16>? = nil) {
        let words = BitPacking.words(n)
        let sum = SIMD8<Int32>(repeating: Int32(total))
        var masks = SIMD8<UInt64>(repeating: ~0)
        for b in 0..<count { masks[b] = PixelPlanes.nonzeroWords(planes + b &* words, stride: 0, images: 1, words: words) }
        let first = constantFirstPlane ? 1 : 0
        let pair = count == 3 && constantFirstPlane && words <= 64   // 2-bit codes: planes 1 and 2 word by word
        let either = masks[1] | masks[2]
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let block = weights + g &* words &* 8
            var weighted = pair ? pairCounts(planes + words, planes + 2 &* words, block, mask: either)
                : weightedPlanes(planes, block, masks: masks, from: first, count: count, words: words)
            if constantFirstPlane { weighted &+= plainCounts(block, g, words: words, rowCounts: rowCounts) }
            sink.store8(group: g, sum &- (SIMD8<Int32>(truncatingIfNeeded: weighted) &<< 1), outputs: m)
        }
    }

    /// popcount(w_o) of a block's eight rows: read from `rowCounts` (planeRowCounts) when given, else counted.
    @_noAllocation @inline(__always)
    static func plainCounts(_ block: UnsafePointer<UInt64>, _ g: Int, words: Int, rowCounts: UnsafePointer<UInt16>?) -> SIMD8<UInt64> {
        var a = SIMD8<UInt64>()
        if let rowCounts {
            let c = UnsafeRawPointer(rowCounts + 8 &* g).loadUnaligned(as: SIMD8<UInt16>.self)
            for r in 0..<8 { a[r] = UInt64(c[r]) }   // a lane loop, not the generic init
            return a
        }
        var j = 0
        while j < words { a &+= UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self).nonzeroBitCount; j &+= 1 }
        return a
    }

    /// Per row of a block: sum over planes b in first ..< count of 2^b popcount(P_b AND row), plane b's
    /// words those set in `masks[b]` (maskedAndCounts).
    @_noAllocation @inline(__always)
    static func weightedPlanes(_ planes: UnsafePointer<UInt64>, _ block: UnsafePointer<UInt64>, masks: SIMD8<UInt64>, from first: Int,
                               count: Int, words: Int) -> SIMD8<UInt64> {
        var weighted = SIMD8<UInt64>()
        var b = first
        while b < count {
            weighted &+= maskedAndCounts(planes + b &* words, block, mask: masks[b], words: words) &<< UInt64(truncatingIfNeeded: b)
            b &+= 1
        }
        return weighted
    }

    /// Per row of a block: 2 popcount(P_1 AND row) + 4 popcount(P_2 AND row) over the words set in `mask`
    /// (either plane nonzero; rows of at most 64 words): both planes per weight load and per step of
    /// the mask, whose scalar bookkeeping shares ports with the vector popcounts.
    @_noAllocation @inline(__always)
    static func pairCounts(_ p1: UnsafePointer<UInt64>, _ p2: UnsafePointer<UInt64>, _ block: UnsafePointer<UInt64>, mask: UInt64) -> SIMD8<UInt64> {
        var c1 = SIMD8<UInt64>(), c2 = c1
        var left = mask
        while left != 0 {
            let j = left.trailingZeroBitCount
            left &= left &- 1
            let w = UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
            c1 &+= (w & SIMD8(repeating: p1[j])).nonzeroBitCount
            c2 &+= (w & SIMD8(repeating: p2[j])).nonzeroBitCount
        }
        return (c1 &<< 1) &+ (c2 &<< 2)
    }

    /// Per row of a block: popcount(x AND row) over the words whose bit is set in `mask` (rows of at
    /// most 64 words; longer rows count every word).
    @_noAllocation @inline(__always)
    static func maskedAndCounts(_ x: UnsafePointer<UInt64>, _ block: UnsafePointer<UInt64>, mask: UInt64, words: Int) -> SIMD8<UInt64> {
        var acc = SIMD8<UInt64>()
        if words <= 64 {
            var left = mask
            while left != 0 {
                let j = left.trailingZeroBitCount
                left &= left &- 1
                acc &+= (UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self) & SIMD8(repeating: x[j])).nonzeroBitCount
            }
            return acc
        }
        return SIMD8<UInt64>(truncatingIfNeeded: andCounts(x, block, words: words))
    }

    /// `bits` for four images at once, their inputs `stride` words apart and their outputs in `sinks`:
    /// each weight vector is loaded once for the four.
    @_noAllocation
    public static func bits4(input x: UnsafePointer<UInt64>, stride s: Int, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                             sinks: (AccumulatorSink, AccumulatorSink, AccumulatorSink, AccumulatorSink)) {
        let words = BitPacking.words(n)
        let fanIn = SIMD8<Int32>(repeating: Int32(n))
        // One row pointer per image and a wrapping index: the loop carries no overflow checks, whose
        // scalar adds took issue slots from the vector ports (perf annotate).
        let (x0, x1, x2, x3) = (x, x + s, x + 2 * s, x + 3 * s)
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let block = weights + g * words * 8
            var a0 = SIMD8<UInt64>(), a1 = a0, a2 = a0, a3 = a0
            var j = 0
            while j < words {
                let w = UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
                a0 &+= (w ^ SIMD8(repeating: x0[j])).nonzeroBitCount
                a1 &+= (w ^ SIMD8(repeating: x1[j])).nonzeroBitCount
                a2 &+= (w ^ SIMD8(repeating: x2[j])).nonzeroBitCount
                a3 &+= (w ^ SIMD8(repeating: x3[j])).nonzeroBitCount
                j &+= 1
            }
            // Signs of a whole block: compared in count space, the bounds and flips read once for the four.
            if case let .signs(thresholds, flips, _, _, _) = sinks.0, 8 &* g &+ 8 <= m {
                let k = ThresholdSign.countBounds(UnsafeRawPointer(thresholds + 8 &* g).loadUnaligned(as: SIMD8<Int32>.self), n: n)
                let f = UnsafeRawPointer(flips + 8 &* g).loadUnaligned(as: UInt64.self)
                sinks.0.storeByte(group: g, ThresholdSign.byte(counts: a0, bounds: k, flips: f))
                sinks.1.storeByte(group: g, ThresholdSign.byte(counts: a1, bounds: k, flips: f))
                sinks.2.storeByte(group: g, ThresholdSign.byte(counts: a2, bounds: k, flips: f))
                sinks.3.storeByte(group: g, ThresholdSign.byte(counts: a3, bounds: k, flips: f))
                continue
            }
            sinks.0.store8(group: g, fanIn &- (SIMD8<Int32>(truncatingIfNeeded: a0) &<< 1), outputs: m)
            sinks.1.store8(group: g, fanIn &- (SIMD8<Int32>(truncatingIfNeeded: a1) &<< 1), outputs: m)
            sinks.2.store8(group: g, fanIn &- (SIMD8<Int32>(truncatingIfNeeded: a2) &<< 1), outputs: m)
            sinks.3.store8(group: g, fanIn &- (SIMD8<Int32>(truncatingIfNeeded: a3) &<< 1), outputs: m)
        }
    }

    /// `planes` for four images at once, their planes `stride` words apart and their code sums in `totals`.
    /// With `constantFirstPlane` (codes 2q + 1, PixelPlanes' plane 0 is all n bits in every image),
    /// popcount(P_0 AND w) = popcount(w) is read from `rowCounts` when given, else counted once for the four.
    @_noAllocation
    public static func planes4(_ p: UnsafePointer<UInt64>, stride s: Int, count: Int, constantFirstPlane: Bool,
                               totals: SIMD4<Int32>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                               sinks: (AccumulatorSink, AccumulatorSink, AccumulatorSink, AccumulatorSink),
                               rowCounts: UnsafePointer<UInt16>? = nil) {
        let words = BitPacking.words(n)
        // Words that are zero in the plane of all four images are skipped (MNIST's blank rows): a mask per
        // plane, computed once per call, for rows of at most 64 words; longer rows count every word.
        var masks = SIMD8<UInt64>(repeating: ~0)
        for b in 0..<count { masks[b] = PixelPlanes.nonzeroWords(p + b * words, stride: s, images: 4, words: words) }
        // 2-bit codes: planes 1 and 2 word by word (pairCounts), over the words nonzero in either.
        let pair = count == 3 && constantFirstPlane && words <= 64
        let either = masks[1] | masks[2]
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let block = weights + g * words * 8
            var a0 = SIMD8<UInt64>(), a1 = a0, a2 = a0, a3 = a0
            if constantFirstPlane {
                a0 = plainCounts(block, g, words: words, rowCounts: rowCounts)
                (a1, a2, a3) = (a0, a0, a0)
            }
            if pair {
                var c = (SIMD8<UInt64>(), SIMD8<UInt64>(), SIMD8<UInt64>(), SIMD8<UInt64>())
                var d = c
                let q0 = p + words, r0 = p + 2 &* words
                let (q1, q2, q3) = (q0 + s, q0 + 2 * s, q0 + 3 * s), (r1, r2, r3) = (r0 + s, r0 + 2 * s, r0 + 3 * s)
                var left = either
                while left != 0 {
                    let j = left.trailingZeroBitCount
                    left &= left &- 1
                    andStep4(block, j, q0, q1, q2, q3, &c.0, &c.1, &c.2, &c.3)
                    andStep4(block, j, r0, r1, r2, r3, &d.0, &d.1, &d.2, &d.3)
                }
                a0 &+= (c.0 &<< 1) &+ (d.0 &<< 2); a1 &+= (c.1 &<< 1) &+ (d.1 &<< 2)
                a2 &+= (c.2 &<< 1) &+ (d.2 &<< 2); a3 &+= (c.3 &<< 1) &+ (d.3 &<< 2)
            }
            for b in (constantFirstPlane ? 1 : 0)..<(pair ? 1 : count) {
                var c0 = SIMD8<UInt64>(), c1 = c0, c2 = c0, c3 = c0
                let q0 = p + b * words   // as in bits4: a pointer per image, no overflow checks in the loop
                let (q1, q2, q3) = (q0 + s, q0 + 2 * s, q0 + 3 * s)
                if words <= 64 {
                    var left = masks[b]
                    while left != 0 {
                        let j = left.trailingZeroBitCount
                        left &= left &- 1
                        andStep4(block, j, q0, q1, q2, q3, &c0, &c1, &c2, &c3)
                    }
                } else {
                    var j = 0
                    while j < words { andStep4(block, j, q0, q1, q2, q3, &c0, &c1, &c2, &c3); j &+= 1 }
                }
                let shift = UInt64(b)
                a0 &+= c0 &<< shift; a1 &+= c1 &<< shift; a2 &+= c2 &<< shift; a3 &+= c3 &<< shift
            }
            sinks.0.store8(group: g, SIMD8(repeating: totals[0]) &- (SIMD8<Int32>(truncatingIfNeeded: a0) &<< 1), outputs: m)
            sinks.1.store8(group: g, SIMD8(repeating: totals[1]) &- (SIMD8<Int32>(truncatingIfNeeded: a1) &<< 1), outputs: m)
            sinks.2.store8(group: g, SIMD8(repeating: totals[2]) &- (SIMD8<Int32>(truncatingIfNeeded: a2) &<< 1), outputs: m)
            sinks.3.store8(group: g, SIMD8(repeating: totals[3]) &- (SIMD8<Int32>(truncatingIfNeeded: a3) &<< 1), outputs: m)
        }
    }

    /// Word `j` of four images' planes against a block's eight rows: c_i += popcount(w AND q_i[j]).
    @_noAllocation @inline(__always)
    static func andStep4(_ block: UnsafePointer<UInt64>, _ j: Int, _ q0: UnsafePointer<UInt64>, _ q1: UnsafePointer<UInt64>,
                         _ q2: UnsafePointer<UInt64>, _ q3: UnsafePointer<UInt64>, _ c0: inout SIMD8<UInt64>, _ c1: inout SIMD8<UInt64>,
                         _ c2: inout SIMD8<UInt64>, _ c3: inout SIMD8<UInt64>) {
        let w = UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
        c0 &+= (w & SIMD8(repeating: q0[j])).nonzeroBitCount
        c1 &+= (w & SIMD8(repeating: q1[j])).nonzeroBitCount
        c2 &+= (w & SIMD8(repeating: q2[j])).nonzeroBitCount
        c3 &+= (w & SIMD8(repeating: q3[j])).nonzeroBitCount
    }

    /// Per row of a block: popcount(x XOR row) over `words` words.
    @_noAllocation @inline(__always)
    static func xorCounts(_ x: UnsafePointer<UInt64>, _ block: UnsafePointer<UInt64>, words: Int) -> SIMD8<Int32> {
        blockCounts(x, block, words: words, xor: true)
    }

    /// Per row of a block: popcount(x AND row) over `words` words.
    @_noAllocation @inline(__always)
    static func andCounts(_ x: UnsafePointer<UInt64>, _ block: UnsafePointer<UInt64>, words: Int) -> SIMD8<Int32> {
        blockCounts(x, block, words: words, xor: false)
    }

    /// Per row of a block: popcount(x XOR row) (`xor`) or popcount(x AND row); `xor` is a constant at
    /// every call site, so the choice folds away.
    @_noAllocation @inline(__always)
    static func blockCounts(_ x: UnsafePointer<UInt64>, _ block: UnsafePointer<UInt64>, words: Int, xor: Bool) -> SIMD8<Int32> {
        // Two accumulators over alternate words (two add chains) and a wrapping index, as in bits4.
        var acc = SIMD8<UInt64>(), odd = acc
        var j = 0
        while j &+ 1 < words {
            let w0 = UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
            let w1 = UnsafeRawPointer(block + 8 &* (j &+ 1)).loadUnaligned(as: SIMD8<UInt64>.self)
            let v0 = SIMD8(repeating: x[j]), v1 = SIMD8(repeating: x[j &+ 1])
            acc &+= (xor ? w0 ^ v0 : w0 & v0).nonzeroBitCount
            odd &+= (xor ? w1 ^ v1 : w1 & v1).nonzeroBitCount
            j &+= 2
        }
        if j < words {
            let w = UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
            let v = SIMD8(repeating: x[j])
            acc &+= (xor ? w ^ v : w & v).nonzeroBitCount
        }
        return SIMD8<Int32>(truncatingIfNeeded: acc &+ odd)
    }
}

extension AccumulatorSink {
    /// The same sink writing `bytes` further on (the next image of a batch; a multiple of 8).
    @_noAllocation @inline(__always)
    func advanced(byBytes bytes: Int) -> AccumulatorSink {
        switch self {
        case let .accumulators(out): return .accumulators(out + bytes / 4)
        case let .signs(thresholds, flips, layout, channels, bits):
            return .signs(thresholds: thresholds, flips: flips, layout: layout, channels: channels, bits: bits + bytes / 8)
        }
    }

    /// Stores the packed signs of dense outputs 8g ..< 8g + 8 (a `.signs` sink; a whole block), as byte g.
    @_noAllocation @inline(__always)
    func storeByte(group g: Int, _ byte: UInt8) {
        if case let .signs(_, _, _, _, bits) = self { UnsafeMutableRawPointer(bits).storeBytes(of: byte, toByteOffset: g, as: UInt8.self) }
    }

    /// Stores the accumulators of dense outputs 8g ..< 8g + 8 (those below `m`). Dense outputs are one
    /// pixel, so both bit layouts put channel c at bit c, and a block of eight is one byte
    /// (little-endian words, as on every target).
    @_noAllocation @_transparent
    func store8(group g: Int, _ a: SIMD8<Int32>, outputs m: Int) {
        let valid = min(8, m - 8 * g)
        switch self {
        case let .accumulators(out):
            if valid == 8 {
                UnsafeMutableRawPointer(out + 8 * g).storeBytes(of: a, as: SIMD8<Int32>.self)
            } else {
                for r in 0..<valid { out[8 * g + r] = a[r] }
            }
        case let .signs(thresholds, flips, _, _, bits):
            var t = SIMD8<Int32>(), f: UInt64 = 0
            if valid == 8 {
                t = UnsafeRawPointer(thresholds + 8 * g).loadUnaligned(as: SIMD8<Int32>.self)
                f = UnsafeRawPointer(flips + 8 * g).loadUnaligned(as: UInt64.self)
            } else {
                for r in 0..<valid { t[r] = thresholds[8 * g + r]; f |= UInt64(flips[8 * g + r]) << (8 * r) }
            }
            var byte = ThresholdSign.byte(a, thresholds: t, flips: f)
            if valid < 8 { byte &= UInt8(truncatingIfNeeded: (1 << valid) - 1) }
            UnsafeMutableRawPointer(bits).storeBytes(of: byte, toByteOffset: g, as: UInt8.self)
        }
    }
}
