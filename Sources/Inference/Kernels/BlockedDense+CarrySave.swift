import ModelFormat

// Dense layers on `bits8` weights for 32-bit CPUs without a popcount instruction (the Cortex-M4/M0 of
// the device firmware), where BlockedDenseKernel's SIMD8<UInt64> code is scalarized into a bit-count
// sequence per word. Here each of the eight rows of a block is counted on its own, in 32-bit halves,
// by Harley-Seal carry-save accumulation (Muła, Kurz and Lemire, "Faster population counts using AVX2
// instructions", 2018): the row's halves go through carry-save adders into vectors of weight 1, 2, 4,
// ..., and only these are counted, once per row, with one combined bit-count sequence (their nibble
// and byte counts, weighted by shifts, summed in one word).
//
// Only the ceil(n / 32) halves that hold columns are read (the padding bits are zero in weights and
// inputs). Each row is one call of a non-inlined row function (inlined into the row loop, the
// compiler hoists the input loads out of it and spills them); the hidden rows of FCN2 (19 halves:
// 577 ... 608 inputs) have their own, fully unrolled function (BlockedDense+Halves19.swift), and a
// first layer of 13 words (784 inputs) reads both planes from one pointer (BlockedDense+Words13.swift).
//
// A first layer on 2-bit input codes (2q + 1: plane 0 is all ones, planes 1 and 2 are q's bits) is
// counted in one weighted pass per row: P1 AND w enters the tree at weight 1 and P2 AND w at weight 2,
// so sum_b 2^b popcount(P_b AND w) = popcount(w) + 2 (popcount(P1 AND w) + 2 popcount(P2 AND w)), and
// popcount(w) depends on the weights only: the Interpreter counts it once per row at prepare time
// (`planeRowCounts`, into the persistent part of the arena). Halves where both planes are zero at
// the start and the end of the image (blank borders) are skipped: they add nothing.
//
// Bit-exact with BinaryDenseKernel's references over every shape (KernelTests); the Interpreter
// chooses these kernels where pointers are 32 bits and keeps the SIMD8 kernels elsewhere, but they
// compile and run on every target, so the host tests check them.

extension BlockedDenseKernel {
    /// Halves of a row counted per carry-save run of `bitsCarrySave`: at most 30 add at most 30 to one
    /// bit position, which the five vectors (weights 1 ... 16) hold.
    static let carrySaveChunk = 30
    /// Halves per weighted run (first layers on 2-bit codes): at most 3 per half, 120 in all (< 128).
    static let weightedChunk = 40

    /// `bits` by carry-save counts: A_o = n - 2 popcount(x XOR w_o).
    @_noAllocation @inline(never)
    public static func bitsCarrySave(input x: UnsafePointer<UInt64>, weights: UnsafePointer<UInt64>, n: Int, m: Int,
                                     sink: AccumulatorSink) {
        let halves = (n &+ 31) >> 5
        let words = BitPacking.words(n)
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let w32 = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        let fanIn = Int32(truncatingIfNeeded: n)
        if unrollsHalves19(halves: halves) {
            if case let .signs(thresholds, flips, _, _, bits) = sink {
                signsHalves19(x32, w32, words: words, m: m, fanIn: fanIn, thresholds: thresholds, flips: flips, bits: bits)
                return
            }
            emitRows(m: m, words: words, weights: w32, sink: sink) { _, row in fanIn &- (xorRow19(x32, row) &<< 1) }
        } else {
            emitRows(m: m, words: words, weights: w32, sink: sink) { _, row in fanIn &- (xorRow(x32, row, halves: halves) &<< 1) }
        }
    }

    /// Where row `o` of bits8 weights starts, in halves.
    @_noAllocation @inline(__always)
    static func rowOffset(_ o: Int, words: Int) -> Int {
        let group: Int = (o >> 3) &* 16 &* words
        return group &+ ((o & 7) &<< 1)
    }

    /// Hands the accumulator `value(o, row)` of every output o < m (`row`: where its weights start)
    /// to `sink`, row by row: into i32, or thresholded into signs, eight per byte (dense outputs are
    /// one pixel: channel c is bit c in both layouts; the bits are zeroed by the caller).
    @_noAllocation @inline(__always)
    static func emitRows(m: Int, words: Int, weights: UnsafePointer<UInt32>, sink: AccumulatorSink,
                         _ value: (Int, UnsafePointer<UInt32>) -> Int32) {
        var o = 0
        var block = weights
        switch sink {
        case let .accumulators(out):
            while o < m {
                let end = min(m, o &+ 8)
                var row = block
                while o < end { out[o] = value(o, row); row += 2; o &+= 1 }
                block += 16 &* words
            }
        case let .signs(thresholds, flips, _, _, bits):
            let bytes = UnsafeMutableRawPointer(bits).assumingMemoryBound(to: UInt8.self)
            // Bit 1 (-1) iff (A >= threshold) == flip (flips are 0 or 1), as AccumulatorSink.store.
            @inline(__always) func sign(_ o: Int, _ row: UnsafePointer<UInt32>) -> UInt32 {
                return ThresholdSign.bit(value(o, row), threshold: thresholds[o], flip: flips[o])
            }
            while o &+ 8 <= m {   // whole groups of eight, unrolled
                var byte = sign(o, block)
                byte |= sign(o &+ 1, block + 2) &<< 1
                byte |= sign(o &+ 2, block + 4) &<< 2
                byte |= sign(o &+ 3, block + 6) &<< 3
                byte |= sign(o &+ 4, block + 8) &<< 4
                byte |= sign(o &+ 5, block + 10) &<< 5
                byte |= sign(o &+ 6, block + 12) &<< 6
                byte |= sign(o &+ 7, block + 14) &<< 7
                bytes[o >> 3] = UInt8(truncatingIfNeeded: byte)
                block += 16 &* words
                o &+= 8
            }
            if o < m {
                var byte: UInt32 = 0, shift: UInt32 = 0
                var row = block
                while o < m {
                    byte |= sign(o, row) &<< shift
                    shift &+= 1; row += 2; o &+= 1
                }
                bytes[(o &- 1) >> 3] = UInt8(truncatingIfNeeded: byte)
            }
        }
    }

    /// popcount(x XOR row) over `halves` halves.
    @_noAllocation @inline(never)
    static func xorRow(_ x: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, halves: Int) -> Int32 {
        rowCount(x, row, halves: halves, mode: 1)
    }

    /// popcount(x AND row) over `halves` halves.
    @_noAllocation @inline(never)
    static func andRow(_ x: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, halves: Int) -> Int32 {
        rowCount(x, row, halves: halves, mode: 2)
    }

    /// popcount(row) over `halves` halves.
    @_noAllocation @inline(never)
    static func plainRow(_ row: UnsafePointer<UInt32>, halves: Int) -> Int32 {
        rowCount(row, row, halves: halves, mode: 0)
    }

    /// popcount(P1 AND row) + 2 popcount(P2 AND row) over halves [start, end).
    @_noAllocation @inline(never)
    static func weightedRow(_ p1: UnsafePointer<UInt32>, _ p2: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>,
                            from start: Int, to end: Int) -> Int32 {
        if end &- start <= weightedChunk {
            return weightedChunkCount(p1 + start, p2 + start, row + 8 &* start, halves: end &- start)
        }
        return weightedCount(p1, p2, row, from: start, to: end)
    }

    /// Whether rows of `n` inputs keep a persistent row count: each count is a u16, so rows of at most
    /// 65,535 inputs. `Interpreter` plans row counts only for those; for longer rows the kernels count
    /// popcount(w_o) as they go (the arena of every model whose rows fit is unchanged).
    @_noAllocation @inlinable
    public static func keepsRowCounts(n: Int) -> Bool { n <= 65_535 }

    /// popcount(w_o) of every row of `weights` (`blockedRows(m)` of them, the padding rows 0), for
    /// `planesCarrySave`'s constant plane; only for rows that `keepsRowCounts`.
    @_noAllocation
    public static func planeRowCounts(weights: UnsafePointer<UInt64>, n: Int, m: Int, into counts: UnsafeMutablePointer<UInt16>) {
        let words = BitPacking.words(n), halves = (n &+ 31) >> 5
        let w32 = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        for o in 0..<BitPacking.blockedRows(m) {
            let row = w32 + rowOffset(o, words: words)
            counts[o] = UInt16(truncatingIfNeeded: plainRow(row, halves: halves))
        }
    }

    /// `planes` by carry-save counts: A_o = total - 2 sum_b 2^b popcount(P_b AND w_o). With
    /// `constantFirstPlane` (codes 2q + 1: plane 0 is all n bits), plane 0 counts popcount(w_o) alone,
    /// read from `rowCounts` (planeRowCounts) when given. Two-bit codes (three planes, the first
    /// constant) take one weighted carry-save pass per row.
    @_noAllocation @inline(never)
    public static func planesCarrySave(_ planes: UnsafePointer<UInt64>, count: Int, constantFirstPlane: Bool, total: Int,
                                       weights: UnsafePointer<UInt64>, n: Int, m: Int, sink: AccumulatorSink,
                                       rowCounts: UnsafePointer<UInt16>? = nil) {
        let words = BitPacking.words(n)
        let p32 = UnsafeRawPointer(planes).assumingMemoryBound(to: UInt32.self)
        let w32 = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        if count == 3 && constantFirstPlane {
            let halves = (n &+ 31) >> 5
            let p1 = p32 + 2 &* words, p2 = p32 + 4 &* words
            // The halves [low, high) hold every set bit of both planes; low even (whole words).
            var low = 0, high = halves
            while low < high && p1[low] | p2[low] == 0 { low &+= 1 }
            while high > low && p1[high &- 1] | p2[high &- 1] == 0 { high &-= 1 }
            low &= ~1
            let sum = Int32(truncatingIfNeeded: total)
            if unrollsWords13(planes: count, constantFirstPlane: constantFirstPlane, words: words), let counts = rowCounts,
               case let .signs(thresholds, flips, _, _, bits) = sink {
                signsWords13(p1, w32, low: low, high: high, words: words, m: m, sum: sum, counts: counts,
                                thresholds: thresholds, flips: flips, bits: bits)
                return
            }
            emitRows(m: m, words: words, weights: w32, sink: sink) { o, row in
                let plain = rowCounts.map { Int32(truncatingIfNeeded: $0[o]) } ?? plainRow(row, halves: halves)
                let weighted = unrollsWords13(planes: count, constantFirstPlane: constantFirstPlane, words: words) ? weightedRow13(p1, row, from: low, to: high) : weightedRow(p1, p2, row, from: low, to: high)
                return sum &- ((plain &+ (weighted &<< 1)) &<< 1)
            }
            return
        }
        let halves = (n &+ 31) >> 5
        let sum = Int32(truncatingIfNeeded: total)
        emitRows(m: m, words: words, weights: w32, sink: sink) { o, row in
            var weighted: Int32 = 0
            var b = 0
            if constantFirstPlane {
                weighted = rowCounts.map { Int32(truncatingIfNeeded: $0[o]) } ?? plainRow(row, halves: halves)
                b = 1
            }
            while b < count {
                weighted &+= andRow(p32 + 2 &* b &* words, row, halves: halves) &<< Int32(truncatingIfNeeded: b)
                b &+= 1
            }
            return sum &- (weighted &<< 1)
        }
    }


    /// Half `k` of a row's op(x, w): x's halves contiguous, the row's word j at w[16 j], w[16 j + 1]
    /// (the bits8 layout: eight rows interleaved word by word). mode 0: w alone; 1: x XOR w; 2: x AND w.
    @_noAllocation @inline(__always)
    static func half(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, _ k: Int, mode: Int) -> UInt32 {
        let v = w[16 &* (k >> 1) &+ (k & 1)]
        switch mode {
        case 1: return v ^ x[k]
        case 2: return v & x[k]
        default: return v
        }
    }

    /// popcount over halves 0 ..< `halves` of a row of op(x_k, w_k), in runs of `carrySaveChunk`.
    @_noAllocation @inline(__always)
    static func rowCount(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, halves: Int, mode: Int) -> Int32 {
        if halves <= carrySaveChunk { return chunkCount(x, w, from: 0, to: halves, mode: mode) }
        var total: Int32 = 0
        var k = 0
        while k < halves {
            let end = min(halves, k &+ carrySaveChunk)
            total &+= chunkCount(x, w, from: k, to: end, mode: mode)
            k = end
        }
        return total
    }

    /// Eight halves k ..< k + 8 into `ones`, `twos` and `fours`; returns the carry of weight 8.
    @_noAllocation @inline(__always)
    static func eight(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, _ k: Int,
                      _ ones: inout UInt32, _ twos: inout UInt32, _ fours: inout UInt32, mode: Int) -> UInt32 {
        let (t0, o0) = Popcount.carrySave(ones, half(x, w, k, mode: mode), half(x, w, k &+ 1, mode: mode))
        let (t1, o1) = Popcount.carrySave(o0, half(x, w, k &+ 2, mode: mode), half(x, w, k &+ 3, mode: mode))
        let (f0, w0) = Popcount.carrySave(twos, t0, t1)
        let (t2, o2) = Popcount.carrySave(o1, half(x, w, k &+ 4, mode: mode), half(x, w, k &+ 5, mode: mode))
        let (t3, o3) = Popcount.carrySave(o2, half(x, w, k &+ 6, mode: mode), half(x, w, k &+ 7, mode: mode))
        let (f1, w1) = Popcount.carrySave(w0, t2, t3)
        let (e, f) = Popcount.carrySave(fours, f0, f1)
        ones = o3; twos = w1; fours = f
        return e
    }

    /// Halves k ..< end (at most `carrySaveChunk`, k even), so no bit position sums past 31.
    @_noAllocation @inline(__always)
    static func chunkCount(_ x: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>, from start: Int, to end: Int, mode: Int) -> Int32 {
        var ones: UInt32 = 0, twos: UInt32 = 0, fours: UInt32 = 0, eights: UInt32 = 0, sixteens: UInt32 = 0
        // The last (end - start) mod 8 halves first, into the empty vectors (the compiler folds the
        // operations on zeros; at most 7 per position, so nothing reaches the eights), then the blocks
        // of eight from `start` (whole words, for paired loads) add to them.
        let blocksEnd = end &- ((end &- start) & 7)
        var k = blocksEnd
        if end &- k >= 4 {
            let (t0, o0) = Popcount.carrySave(ones, half(x, w, k, mode: mode), half(x, w, k &+ 1, mode: mode))
            let (t1, o1) = Popcount.carrySave(o0, half(x, w, k &+ 2, mode: mode), half(x, w, k &+ 3, mode: mode))
            let (f, tw) = Popcount.carrySave(twos, t0, t1)
            ones = o1; twos = tw; fours = f
            k &+= 4
        }
        if end &- k >= 2 {
            let (t, o) = Popcount.carrySave(ones, half(x, w, k, mode: mode), half(x, w, k &+ 1, mode: mode))
            ones = o
            let f = twos & t
            twos ^= t
            fours ^= f   // fours & f is 0: at most 6 so far
            k &+= 2
        }
        if end &- k >= 1 {
            let v = half(x, w, k, mode: mode)
            let t = ones & v
            ones ^= v
            let f = twos & t
            twos ^= t
            fours ^= f   // fours & f is 0: at most 7
        }
        k = start
        if blocksEnd &- k >= 16 {
            let e0 = eight(x, w, k, &ones, &twos, &fours, mode: mode)
            let e1 = eight(x, w, k &+ 8, &ones, &twos, &fours, mode: mode)
            (sixteens, eights) = (e0 & e1, e0 ^ e1)
            k &+= 16
        }
        while blocksEnd &- k >= 8 {
            let c = eight(x, w, k, &ones, &twos, &fours, mode: mode)
            sixteens |= eights & c   // no position reaches 32
            eights ^= c
            k &+= 8
        }
        // Sixteens need 16 of at most 30 set bits at one position: rare, so counted only when present.
        let low = weightedCount4(ones, twos, fours, eights)
        return sixteens == 0 ? low : low &+ (Int32(truncatingIfNeeded: sixteens.nonzeroBitCount) &<< 4)
    }

    /// sum over halves k in [start, end) of popcount(P1_k AND w_k) + 2 popcount(P2_k AND w_k), in runs
    /// of `weightedChunk` halves (start even).
    @_noAllocation @inline(__always)
    static func weightedCount(_ p1: UnsafePointer<UInt32>, _ p2: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>,
                              from start: Int, to end: Int) -> Int32 {
        var total: Int32 = 0
        var k = start
        while k < end {
            let stop = min(end, k &+ weightedChunk)
            total &+= weightedChunkCount(p1 + k, p2 + k, w + 8 &* k, halves: stop &- k)
            k = stop
        }
        return total
    }

    /// One weighted run over `halves` halves (at most `weightedChunk`) from word-aligned pointers:
    /// P1 AND w at weight 1, P2 AND w at weight 2, at most 3 per half and position. The carries of
    /// weight 8 are not added up by more carry-save adders but counted as they come, into byte counts
    /// (at most 3 * 40 / 8 = 15 per position, 120 per byte): fewer live vectors, no spills on the M4.
    @_noAllocation @inline(__always)
    static func weightedChunkCount(_ p1: UnsafePointer<UInt32>, _ p2: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>,
                                   halves: Int) -> Int32 {
        var o: UInt32 = 0, t: UInt32 = 0, f: UInt32 = 0, eights: UInt32 = 0   // eights: byte counts, weight 8
        // The last halves mod 8 first, into the empty vectors, then the blocks of eight from the start.
        let blocks = halves & ~7
        var a = p1 + blocks, b = p2 + blocks, v = w + 8 &* blocks
        var left = halves &- blocks
        if left >= 2 {   // at most 6 per position: no carry of weight 8
            let w0 = v[0], w1 = v[1]
            let a0 = a[0] & w0, a1 = a[1] & w1, b0 = b[0] & w0, b1 = b[1] & w1
            let t0 = a0 & a1, u1 = b0 ^ b1
            o = a0 ^ a1
            t = u1 ^ t0
            f = (b0 & b1) ^ (u1 & t0)
            a += 2; b += 2; v += 16; left &-= 2
        } else if left == 1 {
            o = a[0] & v[0]
            t = b[0] & v[0]
            left = 0
        }
        while left >= 2 {
            let w0 = v[0], w1 = v[1]
            let (t0, o1) = Popcount.carrySave(o, a[0] & w0, a[1] & w1)
            let (f0, u1) = Popcount.carrySave(t, b[0] & w0, b[1] & w1)
            o = o1
            let f1 = u1 & t0
            t = u1 ^ t0
            let (e0, g1) = Popcount.carrySave(f, f0, f1)
            f = g1
            eights &+= bytes(nibbles(e0))
            a += 2; b += 2; v += 16; left &-= 2
        }
        if left == 1 {
            let w0 = v[0]
            let a0 = a[0] & w0
            let t0 = o & a0
            o ^= a0
            let (f0, u1) = Popcount.carrySave(t, b[0] & w0, t0)
            t = u1
            let e0 = f & f0
            f ^= f0
            eights &+= bytes(nibbles(e0))
        }
        if blocks <= 24 {   // at most three blocks (rows of at most 26 halves): unrolled, constant offsets
            if blocks >= 8 { weightedBlock(p1, p2, w, &o, &t, &f, &eights) }
            if blocks >= 16 { weightedBlock(p1 + 8, p2 + 8, w + 64, &o, &t, &f, &eights) }
            if blocks >= 24 { weightedBlock(p1 + 16, p2 + 16, w + 128, &o, &t, &f, &eights) }
        } else {
            a = p1; b = p2; v = w
            left = blocks
            while left >= 8 {
                weightedBlock(a, b, v, &o, &t, &f, &eights)
                a += 8; b += 8; v += 64; left &-= 8
            }
        }
        // o + 2t (<= 3 per position) and 4f: bytes of at most 24 + 4 * 8.
        let low = bytes(nibbles(o) &+ (nibbles(t) &<< 1)) &+ (bytes(nibbles(f)) &<< 2)
        let h = pairs(low) &+ (pairs(eights) &<< 3)   // halves of at most 112 + 8 * 240
        return Int32(truncatingIfNeeded: (h &+ (h >> 16)) & 0xFFFF)
    }

    /// Eight halves of both planes (from word-aligned a, b, v) into o, t, f and the byte counts of
    /// weight 8.
    @_noAllocation @inline(__always)
    static func weightedBlock(_ a: UnsafePointer<UInt32>, _ b: UnsafePointer<UInt32>, _ v: UnsafePointer<UInt32>,
                              _ o: inout UInt32, _ t: inout UInt32, _ f: inout UInt32, _ eights: inout UInt32) {
        // Word by word: the halves of P1 AND w, P2 AND w; row words 16 halves apart.
        let w0 = v[0], w1 = v[1], w2 = v[16], w3 = v[17]
        let (t0, o1) = Popcount.carrySave(o, a[0] & w0, a[1] & w1)
        let (f0, u1) = Popcount.carrySave(t, b[0] & w0, b[1] & w1)
        let (t1, o2) = Popcount.carrySave(o1, a[2] & w2, a[3] & w3)
        let (f1, u2) = Popcount.carrySave(u1, b[2] & w2, b[3] & w3)
        let (f2, u3) = Popcount.carrySave(u2, t0, t1)
        let w4 = v[32], w5 = v[33], w6 = v[48], w7 = v[49]
        let (t2, o3) = Popcount.carrySave(o2, a[4] & w4, a[5] & w5)
        let (f3, u4) = Popcount.carrySave(u3, b[4] & w4, b[5] & w5)
        let (t3, o4) = Popcount.carrySave(o3, a[6] & w6, a[7] & w7)
        let (f4, u5) = Popcount.carrySave(u4, b[6] & w6, b[7] & w7)
        let (f5, u6) = Popcount.carrySave(u5, t2, t3)
        o = o4; t = u6
        let (e0, g1) = Popcount.carrySave(f, f0, f1)
        let (e1, g2) = Popcount.carrySave(g1, f2, f3)
        let (e2, g3) = Popcount.carrySave(g2, f4, f5)
        f = g3
        eights &+= bytes(nibbles(e0) &+ nibbles(e1) &+ nibbles(e2))
    }

    @_noAllocation @inline(__always)
    static func nibbles(_ v: UInt32) -> UInt32 {
        let a = v &- ((v >> 1) & 0x5555_5555)
        return (a & 0x3333_3333) &+ ((a >> 2) & 0x3333_3333)
    }

    @_noAllocation @inline(__always)
    static func bytes(_ v: UInt32) -> UInt32 { (v & 0x0F0F_0F0F) &+ ((v >> 4) & 0x0F0F_0F0F) }

    /// The sum of the two 16-bit halves of the sums of byte pairs of z.
    @_noAllocation @inline(__always)
    static func pairs(_ z: UInt32) -> UInt32 { (z & 0x00FF_00FF) &+ ((z >> 8) & 0x00FF_00FF) }

    /// popcount(o) + 2 popcount(t) + 4 popcount(f) + 8 popcount(e) (vectors of at most 15 at every bit
    /// position): bytes of at most 24 + 4 * 24, summed in 16-bit halves.
    @_noAllocation @inline(__always)
    static func weightedCount4(_ o: UInt32, _ t: UInt32, _ f: UInt32, _ e: UInt32) -> Int32 {
        let low = bytes(nibbles(o) &+ (nibbles(t) &<< 1))
        let high = bytes(nibbles(f) &+ (nibbles(e) &<< 1))
        let h = pairs(low &+ (high &<< 2))
        return Int32(truncatingIfNeeded: (h &+ (h >> 16)) & 0xFFFF)
    }

    /// popcount(o) + 2 popcount(t) + 4 popcount(f) + 8 popcount(e) + 16 popcount(s), for vectors whose
    /// weighted sum is at most 31 at every bit position: nibble counts (at most 4) are paired by a shift
    /// (at most 12), widened to bytes (at most 24), and the bytes weighted into one word (at most 248).
    @_noAllocation @inline(__always)
    static func weightedCount(_ o: UInt32, _ t: UInt32, _ f: UInt32, _ e: UInt32, _ s: UInt32) -> Int32 {
        let low = bytes(nibbles(o) &+ (nibbles(t) &<< 1))
        let high = bytes(nibbles(f) &+ (nibbles(e) &<< 1))
        let top = bytes(nibbles(s))
        let h = pairs(low &+ (high &<< 2) &+ (top &<< 4))
        return Int32(truncatingIfNeeded: (h &+ (h >> 16)) & 0xFFFF)
    }
}
