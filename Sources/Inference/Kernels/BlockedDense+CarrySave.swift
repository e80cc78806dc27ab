import ModelFormat

// Dense layers on `bits8` weights for 32-bit CPUs without a popcount instruction (the Cortex-M4/M0 of
// the device firmware), where BlockedDenseKernel's SIMD8<UInt64> code is scalarized into a bit-count
// sequence per word. Here each of the eight rows of a block is counted on its own, in 32-bit halves,
// by Harley-Seal carry-save accumulation (Muła, Kurz and Lemire, "Faster population counts using AVX2
// instructions", 2018): the row's words go through carry-save adders into `ones`, `twos`, `fours`,
// `eights` and `sixteens` vectors, and only these five are counted, once per row, with one combined
// bit-count sequence (their nibble and byte counts, weighted by shifts, summed in one word).
//
// Bit-exact with BinaryDenseKernel's references over every shape (KernelTests); the Interpreter
// chooses these kernels where pointers are 32 bits and keeps the SIMD8 kernels elsewhere, but they
// compile and run on every target, so the host tests check them.

extension BlockedDenseKernel {
    /// Words of a row counted per carry-save run: at most 30 halves add at most 30 to one bit position,
    /// which the five vectors (weights 1 ... 16) hold, and which fit the byte-wise final count.
    static let carrySaveChunk = 15

    /// `bits` by carry-save counts: A_o = n - 2 popcount(x XOR w_o).
    @_noAllocation
    public static func bitsCarrySave(input x: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                     sink: AccumulatorSink) {
        let words = BitPacking.words(n)
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let fanIn = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: n))
        var block = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let counts = SIMD8<Int32>(xorRow(x32, block, words: words), xorRow(x32, block + 2, words: words),
                                      xorRow(x32, block + 4, words: words), xorRow(x32, block + 6, words: words),
                                      xorRow(x32, block + 8, words: words), xorRow(x32, block + 10, words: words),
                                      xorRow(x32, block + 12, words: words), xorRow(x32, block + 14, words: words))
            sink.store8(group: g, fanIn &- (counts &<< 1), outputs: m)
            block += 16 &* words
        }
    }

    /// `planes` by carry-save counts: A_o = total - 2 sum_b 2^b popcount(P_b AND w_o). With
    /// `constantFirstPlane` (codes 2q + 1: plane 0 is all n bits), plane 0 counts popcount(w_o) alone.
    @_noAllocation
    public static func planesCarrySave(_ planes: UnsafePointer<UInt64>, count: Int, constantFirstPlane: Bool, total: Int,
                                       weights: UnsafePointer<UInt64>, n: Int, m: Int, sink: AccumulatorSink) {
        let words = BitPacking.words(n)
        let p32 = UnsafeRawPointer(planes).assumingMemoryBound(to: UInt32.self)
        let sum = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: total))
        var block = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        for g in 0..<(BitPacking.blockedRows(m) >> 3) {
            let counts = SIMD8<Int32>(planeRow(p32, block, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 2, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 4, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 6, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 8, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 10, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 12, count: count, constantFirstPlane: constantFirstPlane, words: words),
                                      planeRow(p32, block + 14, count: count, constantFirstPlane: constantFirstPlane, words: words))
            sink.store8(group: g, sum &- (counts &<< 1), outputs: m)
            block += 16 &* words
        }
    }

    /// sum_b 2^b popcount(P_b AND row) of one row.
    @_noAllocation @inline(never)
    static func planeRow(_ p: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, count: Int, constantFirstPlane: Bool,
                         words: Int) -> Int32 {
        var weighted: Int32 = 0
        var b = 0
        if constantFirstPlane {
            weighted = plainRow(row, words: words)
            b = 1
        }
        while b < count {
            weighted &+= andRow(p + 2 &* b &* words, row, words: words) &<< Int32(truncatingIfNeeded: b)
            b &+= 1
        }
        return weighted
    }

    /// popcount(x XOR row) of one row.
    @_noAllocation @inline(never)
    static func xorRow(_ x: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, words: Int) -> Int32 {
        rowCount(x, row, words: words, mode: 1)
    }

    /// popcount(x AND row) of one row.
    @_noAllocation @inline(never)
    static func andRow(_ x: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, words: Int) -> Int32 {
        rowCount(x, row, words: words, mode: 2)
    }

    /// popcount(row) of one row.
    @_noAllocation @inline(never)
    static func plainRow(_ row: UnsafePointer<UInt32>, words: Int) -> Int32 {
        rowCount(row, row, words: words, mode: 0)
    }

    /// One carry-save adder: the carry bits and sum bits of a + b + c, bit by bit.
    @_noAllocation @inline(__always)
    static func csa(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> (carry: UInt32, sum: UInt32) {
        let u = a ^ b
        return ((a & b) | (u & c), u ^ c)
    }

    /// popcount over a row of `words` u64 words of op(x_j, w_j), x contiguous (as u32 halves) and the
    /// row's word j at w[16 j], w[16 j + 1] (the bits8 layout: eight rows interleaved word by word).
    /// mode 0: w alone; 1: x XOR w; 2: x AND w (constant after inlining).
    @_noAllocation @inline(__always)
    static func rowCount(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, words: Int, mode: Int) -> Int32 {
        var total: Int32 = 0
        var xp = x, wp = w
        var left = words
        while left > 0 {
            let chunk = min(left, carrySaveChunk)
            total &+= chunkCount(xp, wp, words: chunk, mode: mode)
            xp += 2 &* chunk
            wp += 16 &* chunk
            left &-= chunk
        }
        return total
    }

    /// Half `half` of word `j` of op(x, w), x's words contiguous and w's 16 halves apart.
    @_noAllocation @inline(__always)
    static func value(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, _ j: Int, _ half: Int, mode: Int) -> UInt32 {
        let v = w[16 &* j &+ half]
        switch mode {
        case 1: return v ^ x[2 &* j &+ half]
        case 2: return v & x[2 &* j &+ half]
        default: return v
        }
    }

    /// Four words (eight halves) into `ones`, `twos` and `fours`; returns the carry of weight 8.
    @_noAllocation @inline(__always)
    static func eight(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, _ j: Int,
                      _ ones: inout UInt32, _ twos: inout UInt32, _ fours: inout UInt32, mode: Int) -> UInt32 {
        let (t0, o0) = csa(ones, value(x, w, j, 0, mode: mode), value(x, w, j, 1, mode: mode))
        let (t1, o1) = csa(o0, value(x, w, j &+ 1, 0, mode: mode), value(x, w, j &+ 1, 1, mode: mode))
        let (f0, w0) = csa(twos, t0, t1)
        let (t2, o2) = csa(o1, value(x, w, j &+ 2, 0, mode: mode), value(x, w, j &+ 2, 1, mode: mode))
        let (t3, o3) = csa(o2, value(x, w, j &+ 3, 0, mode: mode), value(x, w, j &+ 3, 1, mode: mode))
        let (f1, w1) = csa(w0, t2, t3)
        let (e, f) = csa(fours, f0, f1)
        ones = o3; twos = w1; fours = f
        return e
    }

    /// At most `carrySaveChunk` words, so no bit position sums past 31.
    @_noAllocation @inline(__always)
    static func chunkCount(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, words: Int, mode: Int) -> Int32 {
        var ones: UInt32 = 0, twos: UInt32 = 0, fours: UInt32 = 0, eights: UInt32 = 0, sixteens: UInt32 = 0
        var xp = x, wp = w
        var left = words
        if left >= 8 {
            let e0 = eight(xp, wp, 0, &ones, &twos, &fours, mode: mode)
            let e1 = eight(xp, wp, 4, &ones, &twos, &fours, mode: mode)
            (sixteens, eights) = csa(eights, e0, e1)
            xp += 16; wp += 128; left &-= 8
        }
        if left >= 4 {
            let c = eight(xp, wp, 0, &ones, &twos, &fours, mode: mode)
            sixteens |= eights & c   // no position reaches 32
            eights ^= c
            xp += 8; wp += 64; left &-= 4
        }
        if left >= 2 {
            let (t0, o0) = csa(ones, value(xp, wp, 0, 0, mode: mode), value(xp, wp, 0, 1, mode: mode))
            let (t1, o1) = csa(o0, value(xp, wp, 1, 0, mode: mode), value(xp, wp, 1, 1, mode: mode))
            let (f, tw) = csa(twos, t0, t1)
            ones = o1; twos = tw
            let e = fours & f
            fours ^= f
            sixteens |= eights & e
            eights ^= e
            xp += 4; wp += 32; left &-= 2
        }
        if left >= 1 {
            let (t, o) = csa(ones, value(xp, wp, 0, 0, mode: mode), value(xp, wp, 0, 1, mode: mode))
            ones = o
            let f = twos & t
            twos ^= t
            let e = fours & f
            fours ^= f
            sixteens |= eights & e
            eights ^= e
        }
        return weightedCount(ones, twos, fours, eights, sixteens)
    }

    /// popcount(o) + 2 popcount(t) + 4 popcount(f) + 8 popcount(e) + 16 popcount(s), for vectors whose
    /// weighted sum is at most 31 at every bit position: nibble counts (at most 4) are paired by a shift
    /// (at most 12), widened to bytes (at most 24), and the bytes weighted into one word (at most 248).
    @_noAllocation @inline(__always)
    static func weightedCount(_ o: UInt32, _ t: UInt32, _ f: UInt32, _ e: UInt32, _ s: UInt32) -> Int32 {
        @inline(__always) func nibbles(_ v: UInt32) -> UInt32 {
            let a = v &- ((v >> 1) & 0x5555_5555)
            return (a & 0x3333_3333) &+ ((a >> 2) & 0x3333_3333)
        }
        @inline(__always) func bytes(_ v: UInt32) -> UInt32 { (v & 0x0F0F_0F0F) &+ ((v >> 4) & 0x0F0F_0F0F) }
        let low = bytes(nibbles(o) &+ (nibbles(t) &<< 1))
        let high = bytes(nibbles(f) &+ (nibbles(e) &<< 1))
        let top = bytes(nibbles(s))
        let z = low &+ (high &<< 2) &+ (top &<< 4)
        let h = (z & 0x00FF_00FF) &+ ((z >> 8) & 0x00FF_00FF)
        return Int32(truncatingIfNeeded: (h &+ (h >> 16)) & 0xFFFF)
    }
}
