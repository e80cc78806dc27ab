import ModelFormat

// Ternary dense layers on `bits8` weights in one pass (spec/FORMAT.md, "Ternary `dense` weights"; the rule is
// ModelFormat/BitPacking+Ternary.swift): w = (u + v) / 2 from two ±1 planes, non-zero where the planes agree,
// its sign u's. Ternary weights are TWN's (Li, Zhang, Liu: "Ternary Weight Networks", 2016) and the binary
// dot product as XOR-popcount is XNOR-Net's (Rastegari et al., 2016); counting only where a mask of the
// non-zero values is set is the standard sign-and-mask trick for ternary-binary dot products (TBN, Wan et al.,
// ECCV 2018, does the same with the ternary side on the inputs). On ±1 input x (bit 1 = −1, as every binary
// kernel here: BlockedDense.swift's A = n − 2 popcount(x XOR w)):
//
//     A_o = Σ_{w ≠ 0} x_i u_i = nnz_o − 2 popcount((x XOR u_o) AND NOT (u_o XOR v_o)),   nnz_o = n − popcount(u_o XOR v_o)
//
// which is (A_u + A_v) / 2 of the two-plane path (TernaryLayerStep.combine) exactly: where u = v both planes
// count the same mismatch, where they differ exactly one does. Padding bits are 0 in x, u and v (the reader
// checks), so they add nothing to either popcount and need no mask. One popcount per word pair instead of
// two, no i32 sums in scratch, and the signs fused (the sink's `store8`, as the binary kernels). The row
// counts nnz_o are the step's persistent data (`ternaryRowCounts`, the prepare pass; u16 per row while
// `keepsRowCounts`, else counted as the kernel goes). 64-bit hosts only: the device keeps the two-plane path
// (its code and instruction pins, DeviceTests), and so does the reference kernel set, which IS the reference.
//
// A first layer on input codes (PixelPlanes: code_i = Σ_b 2^b P_b[i], sum `total`) has Σ_i w_i P_b[i] =
// popcount(P_b AND NOT v) − popcount(P_b AND u) (w = +1 iff v = +1, w = −1 iff u = −1), so
//
//     A_o = total − Σ_b 2^b (popcount(P_b AND u_o) + popcount(P_b AND v_o))
//
// the two-plane path's (A_u + A_v) / 2 term for term: the same popcounts, but the planes built once, no sums in
// scratch and the signs fused. With codes 2q + 1 (plane 0 all n bits) plane 0's term is popcount(u_o) +
// popcount(v_o), a constant of the row: persistent (`ternaryPlaneRowCounts`) while 2n fits a u16.

#if !_pointerBitWidth(_32)
extension BlockedDenseKernel {
    /// nnz_o = n − popcount(u_o XOR v_o), the non-zero weights of each row (padding rows too: n), as u16
    /// (rows that `keepsRowCounts`): the ternary kernels' persistent data, written in the prepare pass.
    @_noAllocation
    public static func ternaryRowCounts(upper: UnsafePointer<UInt64>, lower: UnsafePointer<UInt64>, n: Int, m: Int,
                                        into counts: UnsafeMutablePointer<UInt16>) {
        let words = BitPacking.words(n)
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let nnz = ternaryNonZero(upper + g &* words &* 8, lower + g &* words &* 8, g, words: words, n: n, rowCounts: nil)
            for r in 0..<8 { counts[8 &* g &+ r] = UInt16(truncatingIfNeeded: nnz[r]) }
        }
    }

    /// The non-zero weights of block `g`'s eight rows (blocks `u`, `v` of the planes): from `rowCounts` when
    /// given, else n − popcount(u XOR v) counted here.
    @_noAllocation @inline(__always)
    static func ternaryNonZero(_ u: UnsafePointer<UInt64>, _ v: UnsafePointer<UInt64>, _ g: Int, words: Int, n: Int,
                               rowCounts: UnsafePointer<UInt16>?) -> SIMD8<Int32> {
        var a = SIMD8<Int32>()
        if let rowCounts {
            let c = UnsafeRawPointer(rowCounts + 8 &* g).loadUnaligned(as: SIMD8<UInt16>.self)
            for r in 0..<8 { a[r] = Int32(truncatingIfNeeded: c[r]) }   // a lane loop, not the generic init
            return a
        }
        var differ = SIMD8<UInt64>()
        var j = 0
        while j < words { differ &+= (row(u, j) ^ row(v, j)).nonzeroBitCount; j &+= 1 }
        return SIMD8(repeating: Int32(truncatingIfNeeded: n)) &- SIMD8<Int32>(truncatingIfNeeded: differ)
    }

    /// Word `j` of a block pair's eight rows: popcount((x XOR u) AND NOT (u XOR v)), the non-zero weights'
    /// mismatches with input word `x`, written as the two ways to mismatch: w = −1 (u AND v) on x = +1, or
    /// w = +1 (NOT (u OR v)) on x = −1. In that form LLVM keeps the lanes in one vector (two ternary-logic ops
    /// and a popcount with AVX-512); the masked form and (x XOR u) AND (x XOR v), on one broadcast input
    /// word, left it scalarizing lanes and permuting them back (standalone `swiftc -O -emit-assembly`).
    @_noAllocation @inline(__always)
    static func maskedMismatches(_ u: UnsafePointer<UInt64>, _ v: UnsafePointer<UInt64>, _ j: Int, _ x: UInt64) -> SIMD8<UInt64> {
        let wu = row(u, j), wv = row(v, j)
        return ((wu & wv & SIMD8(repeating: ~x)) | (SIMD8(repeating: x) & ~(wu | wv))).nonzeroBitCount
    }

    /// One image, binary input, `bits8` planes `upper` and `lower`: A_o = nnz_o − 2 popcount((x XOR u_o)
    /// AND NOT (u_o XOR v_o)), into `sink` (i32, or packed signs with threshold_sign fused); nnz_o from
    /// `rowCounts` (`ternaryRowCounts`) when given. Two blocks of eight rows per pass over the input, as
    /// `bitsRows16` (each broadcast input word serves 16 rows; four weight loads in flight), one add chain
    /// per block; an odd last block alone.
    @_noAllocation
    public static func ternaryBits(input x: UnsafePointer<UInt64>, upper: UnsafePointer<UInt64>, lower: UnsafePointer<UInt64>,
                                   n: Int, m: Int, sink: AccumulatorSink, rowCounts: UnsafePointer<UInt16>?) {
        let words = BitPacking.words(n), groups = BitPacking.blockedRows(m) >> 3
        var g = 0
        while g < groups {
            let pair = g &+ 1 < groups
            let ub = upper + g &* words &* 8, vb = lower + g &* words &* 8
            let (ud, vd) = pair ? (ub + words &* 8, vb + words &* 8) : (ub, vb)
            var cb = SIMD8<UInt64>(), cd = cb
            var j = 0
            while j < words {
                cb &+= maskedMismatches(ub, vb, j, x[j])
                if pair { cd &+= maskedMismatches(ud, vd, j, x[j]) }
                j &+= 1
            }
            sink.store8(group: g, ternaryNonZero(ub, vb, g, words: words, n: n, rowCounts: rowCounts)
                        &- (SIMD8<Int32>(truncatingIfNeeded: cb) &<< 1), outputs: m)
            if pair {
                sink.store8(group: g &+ 1, ternaryNonZero(ud, vd, g &+ 1, words: words, n: n, rowCounts: rowCounts)
                            &- (SIMD8<Int32>(truncatingIfNeeded: cd) &<< 1), outputs: m)
            }
            g &+= 2
        }
    }

    /// popcount(u_o) + popcount(v_o) of each row (padding rows too), as u16 (rows where `keepsRowCounts(n: 2n)`):
    /// `ternaryPlanes`' constant plane, the persistent data of a first layer on codes 2q + 1 (the prepare pass).
    @_noAllocation
    public static func ternaryPlaneRowCounts(upper: UnsafePointer<UInt64>, lower: UnsafePointer<UInt64>, n: Int, m: Int,
                                             into counts: UnsafeMutablePointer<UInt16>) {
        let words = BitPacking.words(n)
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let c = ternaryPlainCounts(upper + g &* words &* 8, lower + g &* words &* 8, g, words: words, rowCounts: nil)
            for r in 0..<8 { counts[8 &* g &+ r] = UInt16(truncatingIfNeeded: c[r]) }
        }
    }

    /// popcount(u_o) + popcount(v_o) of block `g`'s eight rows: from `rowCounts` when given, else counted here.
    @_noAllocation @inline(__always)
    static func ternaryPlainCounts(_ u: UnsafePointer<UInt64>, _ v: UnsafePointer<UInt64>, _ g: Int, words: Int,
                                   rowCounts: UnsafePointer<UInt16>?) -> SIMD8<UInt64> {
        if rowCounts != nil { return plainCounts(u, g, words: words, rowCounts: rowCounts) }
        return plainCounts(u, g, words: words, rowCounts: nil) &+ plainCounts(v, g, words: words, rowCounts: nil)
    }

    /// Per row of a block pair: popcount(P AND u) + popcount(P AND v) over the words set in `mask` (rows of at
    /// most 64 words; longer rows count every word, 64 at a time), each plane word broadcast once for both
    /// (about a tenth fewer ns on FCN2's first layer than maskedAndCounts on each plane).
    @_noAllocation @inline(__always)
    static func pairedAndCounts(_ p: UnsafePointer<UInt64>, _ u: UnsafePointer<UInt64>, _ v: UnsafePointer<UInt64>, mask: UInt64,
                                words: Int) -> SIMD8<UInt64> {
        var acc = SIMD8<UInt64>()
        var base = 0
        while base < words {
            var left = chunkMask(mask, base: base, words: words)
            while left != 0 {
                let j = base &+ left.trailingZeroBitCount
                left &= left &- 1
                let x = SIMD8(repeating: p[j])
                acc &+= (row(u, j) & x).nonzeroBitCount &+ (row(v, j) & x).nonzeroBitCount
            }
            base &+= 64
        }
        return acc
    }

    /// The words to count of the 64 from `base` on: `mask` (PixelPlanes.nonzeroWords) for rows of at most 64
    /// words, else every word of the chunk.
    @_noAllocation @inline(__always)
    static func chunkMask(_ mask: UInt64, base: Int, words: Int) -> UInt64 {
        let rest = words &- base
        return words <= 64 ? mask : rest >= 64 ? ~0 : (1 &<< UInt64(truncatingIfNeeded: rest)) &- 1
    }

    /// `ternaryPlanes` for four images at once, their planes `stride` words apart and their code sums in
    /// `totals`: each word pair of the weight planes is loaded once for the four, over the words nonzero in the
    /// plane of any of them; plane 0's term (codes 2q + 1) is the same for the four.
    @_noAllocation
    public static func ternaryPlanes4(_ p: UnsafePointer<UInt64>, stride s: Int, count: Int, totals: SIMD4<Int32>,
                                      upper: UnsafePointer<UInt64>, lower: UnsafePointer<UInt64>, n: Int, m: Int,
                                      sinks: (AccumulatorSink, AccumulatorSink, AccumulatorSink, AccumulatorSink),
                                      constantFirstPlane: Bool, rowCounts: UnsafePointer<UInt16>?) {
        let words = BitPacking.words(n)
        var masks = SIMD8<UInt64>(repeating: ~0)
        for b in 0..<count { masks[b] = PixelPlanes.nonzeroWords(p + b &* words, stride: s, images: 4, words: words) }
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let u = upper + g &* words &* 8, v = lower + g &* words &* 8
            var a0 = constantFirstPlane ? ternaryPlainCounts(u, v, g, words: words, rowCounts: rowCounts) : SIMD8<UInt64>()
            var (a1, a2, a3) = (a0, a0, a0)
            var b = constantFirstPlane ? 1 : 0
            while b < count {
                let q0 = p + b &* words   // a pointer per image, as in planes4
                let (q1, q2, q3) = (q0 + s, q0 + 2 &* s, q0 + 3 &* s)
                var c0 = SIMD8<UInt64>(), c1 = c0, c2 = c0, c3 = c0
                var base = 0
                while base < words {
                    var left = chunkMask(masks[b], base: base, words: words)
                    while left != 0 {
                        let j = base &+ left.trailingZeroBitCount
                        left &= left &- 1
                        andStep4(u, j, q0, q1, q2, q3, &c0, &c1, &c2, &c3)
                        andStep4(v, j, q0, q1, q2, q3, &c0, &c1, &c2, &c3)
                    }
                    base &+= 64
                }
                let shift = UInt64(truncatingIfNeeded: b)
                a0 &+= c0 &<< shift; a1 &+= c1 &<< shift; a2 &+= c2 &<< shift; a3 &+= c3 &<< shift
                b &+= 1
            }
            sinks.0.store8(group: g, SIMD8(repeating: totals[0]) &- SIMD8<Int32>(truncatingIfNeeded: a0), outputs: m)
            sinks.1.store8(group: g, SIMD8(repeating: totals[1]) &- SIMD8<Int32>(truncatingIfNeeded: a1), outputs: m)
            sinks.2.store8(group: g, SIMD8(repeating: totals[2]) &- SIMD8<Int32>(truncatingIfNeeded: a2), outputs: m)
            sinks.3.store8(group: g, SIMD8(repeating: totals[3]) &- SIMD8<Int32>(truncatingIfNeeded: a3), outputs: m)
        }
    }

    /// One image, input-code planes (PixelPlanes.build, which returned `total`), `bits8` planes `upper` and
    /// `lower`: A_o = total − Σ_b 2^b (popcount(P_b AND u_o) + popcount(P_b AND v_o)), eight outputs at a time,
    /// into `sink`. With `constantFirstPlane` plane 0's term is read from `rowCounts` (`ternaryPlaneRowCounts`)
    /// when given; of the other planes only the nonzero words are counted (PixelPlanes.nonzeroWords).
    @_noAllocation
    public static func ternaryPlanes(_ planes: UnsafePointer<UInt64>, count: Int, total: Int, upper: UnsafePointer<UInt64>,
                                     lower: UnsafePointer<UInt64>, n: Int, m: Int, sink: AccumulatorSink, constantFirstPlane: Bool,
                                     rowCounts: UnsafePointer<UInt16>?) {
        let words = BitPacking.words(n)
        let sum = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: total))
        var masks = SIMD8<UInt64>(repeating: ~0)
        for b in 0..<count { masks[b] = PixelPlanes.nonzeroWords(planes + b &* words, stride: 0, images: 1, words: words) }
        let first = constantFirstPlane ? 1 : 0
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let u = upper + g &* words &* 8, v = lower + g &* words &* 8
            var weighted = constantFirstPlane ? ternaryPlainCounts(u, v, g, words: words, rowCounts: rowCounts) : SIMD8<UInt64>()
            var b = first
            while b < count {
                weighted &+= pairedAndCounts(planes + b &* words, u, v, mask: masks[b], words: words) &<< UInt64(truncatingIfNeeded: b)
                b &+= 1
            }
            sink.store8(group: g, sum &- SIMD8<Int32>(truncatingIfNeeded: weighted), outputs: m)
        }
    }

    /// `ternaryBits` for four images at once, their inputs `stride` words apart and their outputs in `sinks`:
    /// each word pair of the planes is loaded, and its mask formed, once for the four.
    @_noAllocation
    public static func ternaryBits4(input x: UnsafePointer<UInt64>, stride s: Int, upper: UnsafePointer<UInt64>,
                                    lower: UnsafePointer<UInt64>, n: Int, m: Int,
                                    sinks: (AccumulatorSink, AccumulatorSink, AccumulatorSink, AccumulatorSink),
                                    rowCounts: UnsafePointer<UInt16>?) {
        let words = BitPacking.words(n)
        let (x0, x1, x2, x3) = (x, x + s, x + 2 * s, x + 3 * s)   // a row pointer per image, as in bits4
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let u = upper + g &* words &* 8, v = lower + g &* words &* 8
            var a0 = SIMD8<UInt64>(), a1 = a0, a2 = a0, a3 = a0
            var j = 0
            while j < words {
                let wu = row(u, j), wv = row(v, j)
                let mask = ~(wu ^ wv)
                a0 &+= ((wu ^ SIMD8(repeating: x0[j])) & mask).nonzeroBitCount
                a1 &+= ((wu ^ SIMD8(repeating: x1[j])) & mask).nonzeroBitCount
                a2 &+= ((wu ^ SIMD8(repeating: x2[j])) & mask).nonzeroBitCount
                a3 &+= ((wu ^ SIMD8(repeating: x3[j])) & mask).nonzeroBitCount
                j &+= 1
            }
            let nnz = ternaryNonZero(u, v, g, words: words, n: n, rowCounts: rowCounts)
            sinks.0.store8(group: g, nnz &- (SIMD8<Int32>(truncatingIfNeeded: a0) &<< 1), outputs: m)
            sinks.1.store8(group: g, nnz &- (SIMD8<Int32>(truncatingIfNeeded: a1) &<< 1), outputs: m)
            sinks.2.store8(group: g, nnz &- (SIMD8<Int32>(truncatingIfNeeded: a2) &<< 1), outputs: m)
            sinks.3.store8(group: g, nnz &- (SIMD8<Int32>(truncatingIfNeeded: a3) &<< 1), outputs: m)
        }
    }
}
#endif
