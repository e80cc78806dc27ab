import ModelFormat

// One-image dense kernels on `bits8` weights that take two blocks of eight rows (16 outputs) per pass
// over the input (issue 15, the batch-1 roofline, bench/roofline/popcount512.c): each broadcast input
// word serves 16 rows instead of 8, and each block keeps two add chains (alternate words), so eight
// weight loads are in flight. At batch 1 every layer streams its whole weight block from L2 (FCN2's
// 208 KB do not fit the 48 KB L1d), and the one-block, one-chain loop of `bits`/`planes` ran at about
// half the rate this shape reaches in the roofline's C loop. An odd last block runs on the one-block
// code. 64-bit hosts only (the device's code is untouched): the kernel choice names them
// `.blockedBitsRows16` and `.blockedPlanesRows16`.

#if !_pointerBitWidth(_32)
extension BlockedDenseKernel {
    /// Whether `planesRows16` runs `planes` planes of `words`-word rows on its two-block path: the
    /// 2-bit codes' planes (plane 0 constant, planes 1 and 2 word by word) of rows of at most 64 words
    /// (one nonzero-word mask). Other codes run on `planes`.
    @_noAllocation @inline(__always)
    static func pairsRows16(planes: Int, constantFirstPlane: Bool, words: Int) -> Bool {
        planes == 3 && constantFirstPlane && words <= 64
    }

    /// Whether `bitsRows16` runs rows of `words` words on its two-block path: rows of at least two
    /// words, whose two add chains per block alternate words (FCN2's hidden layers: 10). One-word rows
    /// run on `bits`.
    @_noAllocation @inline(__always)
    static func xorsRows16(words: Int) -> Bool { words >= 2 }

    /// `bits` two blocks of rows at a time, for the rows `xorsRows16` accepts (others run `bits`):
    /// A_o = n - 2 popcount(x XOR w_o), into `sink`.
    @_noAllocation
    public static func bitsRows16(input x: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                  sink: AccumulatorSink) {
        let words = BitPacking.words(n)
        guard xorsRows16(words: words) else { return bits(input: x, weights: weights, n: n, m: m, sink: sink) }
        let fanIn = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: n))
        let groups = BitPacking.blockedRows(m) >> 3
        var g = 0
        while g &+ 1 < groups {
            let b = weights + g &* words &* 8
            let (cb, cd) = xorCounts16(x, b, b + words &* 8, words: words)
            sink.store8(group: g, fanIn &- (SIMD8<Int32>(truncatingIfNeeded: cb) &<< 1), outputs: m)
            sink.store8(group: g &+ 1, fanIn &- (SIMD8<Int32>(truncatingIfNeeded: cd) &<< 1), outputs: m)
            g &+= 2
        }
        if g < groups { sink.store8(group: g, fanIn &- (xorCounts(x, weights + g &* words &* 8, words: words) &<< 1), outputs: m) }
    }

    /// Per row of blocks `b` and `d`: popcount(x XOR row) over `words` words, each input word broadcast
    /// once for both, two add chains per block.
    @_noAllocation @inline(__always)
    static func xorCounts16(_ x: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, _ d: UnsafePointer<UInt64>,
                            words: Int) -> (SIMD8<UInt64>, SIMD8<UInt64>) {
        var b0 = SIMD8<UInt64>(), b1 = b0, d0 = b0, d1 = b0
        var j = 0
        while j &+ 1 < words {
            let v0 = SIMD8(repeating: x[j]), v1 = SIMD8(repeating: x[j &+ 1])
            b0 &+= (row(b, j) ^ v0).nonzeroBitCount
            b1 &+= (row(b, j &+ 1) ^ v1).nonzeroBitCount
            d0 &+= (row(d, j) ^ v0).nonzeroBitCount
            d1 &+= (row(d, j &+ 1) ^ v1).nonzeroBitCount
            j &+= 2
        }
        if j < words {
            let v = SIMD8(repeating: x[j])
            b0 &+= (row(b, j) ^ v).nonzeroBitCount
            d0 &+= (row(d, j) ^ v).nonzeroBitCount
        }
        return (b0 &+ b1, d0 &+ d1)
    }

    /// `planes` two blocks of rows at a time, for the codes `pairsRows16` accepts (others run `planes`):
    /// A_o = total - 2 (popcount(w_o) + 2 popcount(P_1 AND w_o) + 4 popcount(P_2 AND w_o)), planes 1 and
    /// 2 over the words nonzero in either, popcount(w_o) from `rowCounts` when given, else counted.
    @_noAllocation
    public static func planesRows16(_ planes: UnsafePointer<UInt64>, count: Int, total: Int, weights: UnsafePointer<UInt64>,
                                    n: Int, m: Int, sink: AccumulatorSink, constantFirstPlane: Bool,
                                    rowCounts: UnsafePointer<UInt16>? = nil) {
        let words = BitPacking.words(n)
        guard pairsRows16(planes: count, constantFirstPlane: constantFirstPlane, words: words) else {
            Self.planes(planes, count: count, total: total, weights: weights, n: n, m: m, sink: sink,
                        constantFirstPlane: constantFirstPlane, rowCounts: rowCounts)
            return
        }
        let p1 = planes + words, p2 = planes + 2 &* words
        let mask = PixelPlanes.nonzeroWords(p1, stride: 0, images: 1, words: words)
            | PixelPlanes.nonzeroWords(p2, stride: 0, images: 1, words: words)
        let sum = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: total))
        let groups = BitPacking.blockedRows(m) >> 3
        var g = 0
        while g &+ 1 < groups {
            let b = weights + g &* words &* 8, d = b + words &* 8
            var (kb, kd) = rowCounts == nil ? plainCounts16(b, d, words: words)
                : (plainCounts(b, g, words: words, rowCounts: rowCounts), plainCounts(d, g &+ 1, words: words, rowCounts: rowCounts))
            var b1 = SIMD8<UInt64>(), b2 = b1, d1 = b1, d2 = b1
            var left = mask
            while left != 0 {
                let j = left.trailingZeroBitCount
                left &= left &- 1
                let wb = row(b, j), wd = row(d, j)
                let v1 = SIMD8(repeating: p1[j]), v2 = SIMD8(repeating: p2[j])
                b1 &+= (wb & v1).nonzeroBitCount
                b2 &+= (wb & v2).nonzeroBitCount
                d1 &+= (wd & v1).nonzeroBitCount
                d2 &+= (wd & v2).nonzeroBitCount
            }
            kb &+= (b1 &<< 1) &+ (b2 &<< 2)
            kd &+= (d1 &<< 1) &+ (d2 &<< 2)
            sink.store8(group: g, sum &- (SIMD8<Int32>(truncatingIfNeeded: kb) &<< 1), outputs: m)
            sink.store8(group: g &+ 1, sum &- (SIMD8<Int32>(truncatingIfNeeded: kd) &<< 1), outputs: m)
            g &+= 2
        }
        if g < groups {
            let b = weights + g &* words &* 8
            let weighted = pairCounts(p1, p2, b, mask: mask) &+ plainCounts(b, g, words: words, rowCounts: rowCounts)
            sink.store8(group: g, sum &- (SIMD8<Int32>(truncatingIfNeeded: weighted) &<< 1), outputs: m)
        }
    }

    /// popcount(w_o) of the rows of blocks `b` and `d` over `words` words, two add chains per block.
    @_noAllocation @inline(__always)
    static func plainCounts16(_ b: UnsafePointer<UInt64>, _ d: UnsafePointer<UInt64>, words: Int) -> (SIMD8<UInt64>, SIMD8<UInt64>) {
        var b0 = SIMD8<UInt64>(), b1 = b0, d0 = b0, d1 = b0
        var j = 0
        while j &+ 1 < words {
            b0 &+= row(b, j).nonzeroBitCount
            b1 &+= row(b, j &+ 1).nonzeroBitCount
            d0 &+= row(d, j).nonzeroBitCount
            d1 &+= row(d, j &+ 1).nonzeroBitCount
            j &+= 2
        }
        if j < words {
            b0 &+= row(b, j).nonzeroBitCount
            d0 &+= row(d, j).nonzeroBitCount
        }
        return (b0 &+ b1, d0 &+ d1)
    }

    /// Word `j` of a block's eight rows.
    @_noAllocation @inline(__always)
    static func row(_ block: UnsafePointer<UInt64>, _ j: Int) -> SIMD8<UInt64> {
        UnsafeRawPointer(block + 8 &* j).loadUnaligned(as: SIMD8<UInt64>.self)
    }
}
#endif
