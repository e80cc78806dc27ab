import ModelFormat

// The carry-save dense kernel specialized for first layers on 2-bit codes with rows of 13 words
// (769 ... 832 inputs: 784-pixel images, BlockedDense+CarrySave.swift): P2 lies 26 halves after P1, so
// one pointer reads both planes, and runs of at most 26 halves need no loop. `planesCarrySave` takes
// this path when `unrollsWords13` says so; the kernel choice names it `.blockedPlanesCarrySave13`.
// Hand-unrolled for the Cortex-M4 (the instruction pins of DeviceTests).

extension BlockedDenseKernel {
    /// Whether `planesCarrySave` with `planes` planes runs rows of `words` words on this file's code.
    @_noAllocation @inline(__always)
    static func unrollsWords13(planes: Int, constantFirstPlane: Bool, words: Int) -> Bool {
        planes == 3 && constantFirstPlane && words == 13
    }

    /// `planesCarrySave` into packed signs for 13-word rows with persistent row counts: whole blocks of
    /// eight rows, one call each, the signs packed in registers; then the rows left over. The set bits
    /// of both planes lie in halves [low, high).
    @_noAllocation @inline(__always)
    static func signsWords13(_ p1: UnsafePointer<UInt32>, _ w32: UnsafePointer<UInt32>, low: Int, high: Int, words: Int, m: Int,
                             sum: Int32, counts: UnsafePointer<UInt16>, thresholds: UnsafePointer<Int32>, flips: UnsafePointer<UInt8>,
                             bits: UnsafeMutablePointer<UInt64>) {
        let bytes = UnsafeMutableRawPointer(bits).assumingMemoryBound(to: UInt8.self)
        let p = p1 + low, run = high &- low
        var o = 0
        var block = w32 + 8 &* low
        while o &+ 8 <= m {
            bytes[o >> 3] = UInt8(truncatingIfNeeded: weightedSigns13(p, block, thresholds + o, flips + o, counts + o, sum, run))
            block += 16 &* words
            o &+= 8
        }
        if o < m {
            var byte: UInt32 = 0, shift: UInt32 = 0
            let first = o
            while o < m {
                let a = sum &- ((Int32(truncatingIfNeeded: counts[o]) &+ (weightedRun13(p, block, halves: run) &<< 1)) &<< 1)
                byte |= ThresholdSign.bit(a, threshold: thresholds[o], flip: flips[o]) &<< shift
                shift &+= 1; block += 2; o &+= 1
            }
            bytes[first >> 3] = UInt8(truncatingIfNeeded: byte)
        }
    }

    /// `weightedRow` for 13-word rows (n in 769 ... 832: 784-pixel images), whose P2 is 26 halves
    /// after P1: one pointer for both planes.
    @_noAllocation @inline(never)
    static func weightedRow13(_ p1: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, from start: Int, to end: Int) -> Int32 {
        let p = p1 + start
        return weightedChunkCount(p, p + 26, row + 8 &* start, halves: end &- start)
    }

    /// `weightedRow13` from p = P1 + start and row + 8 start, over `halves` halves.
    @_noAllocation @inline(never)
    static func weightedRun13(_ p: UnsafePointer<UInt32>, _ row: UnsafePointer<UInt32>, halves: Int) -> Int32 {
        weightedShortRun(p, p + 26, row, halves: halves)
    }

    /// `weightedChunkCount` for at most 26 halves (at most three blocks of eight, at most 78 per
    /// position): the blocks first (the first into the empty vectors, folded), then at most one run of
    /// four, one of two and one half; no loops, so fewer spills on the M4.
    @_noAllocation @inline(__always)
    static func weightedShortRun(_ a: UnsafePointer<UInt32>, _ b: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>,
                                halves: Int) -> Int32 {
        var o: UInt32 = 0, t: UInt32 = 0, f: UInt32 = 0, eights: UInt32 = 0
        if halves >= 8 {
            weightedBlock(a, b, w, &o, &t, &f, &eights)
            if halves >= 16 {
                weightedBlock(a + 8, b + 8, w + 64, &o, &t, &f, &eights)
                if halves >= 24 { weightedBlock(a + 16, b + 16, w + 128, &o, &t, &f, &eights) }
            }
        }
        let blocks = halves & ~7
        var x = a + blocks, y = b + blocks, v = w + 8 &* blocks
        if halves & 4 != 0 {
            let w0 = v[0], w1 = v[1], w2 = v[16], w3 = v[17]
            let (t0, o1) = Popcount.carrySave(o, x[0] & w0, x[1] & w1)
            let (f0, u1) = Popcount.carrySave(t, y[0] & w0, y[1] & w1)
            let (t1, o2) = Popcount.carrySave(o1, x[2] & w2, x[3] & w3)
            let (f1, u2) = Popcount.carrySave(u1, y[2] & w2, y[3] & w3)
            let (f2, u3) = Popcount.carrySave(u2, t0, t1)
            o = o2; t = u3
            let (e0, g1) = Popcount.carrySave(f, f0, f1)
            let e1 = g1 & f2
            f = g1 ^ f2
            eights &+= bytes(nibbles(e0) &+ nibbles(e1))
            x += 4; y += 4; v += 32
        }
        if halves & 2 != 0 {
            let w0 = v[0], w1 = v[1]
            let (t0, o1) = Popcount.carrySave(o, x[0] & w0, x[1] & w1)
            let (f0, u1) = Popcount.carrySave(t, y[0] & w0, y[1] & w1)
            o = o1
            let f1 = u1 & t0
            t = u1 ^ t0
            let (e0, g1) = Popcount.carrySave(f, f0, f1)
            f = g1
            eights &+= bytes(nibbles(e0))
            x += 2; y += 2; v += 16
        }
        if halves & 1 != 0 {
            let w0 = v[0]
            let a0 = x[0] & w0
            let t0 = o & a0
            o ^= a0
            let (f0, u1) = Popcount.carrySave(t, y[0] & w0, t0)
            t = u1
            let e0 = f & f0
            f ^= f0
            eights &+= bytes(nibbles(e0))
        }
        // o + 2t (<= 3 per position) and 4f: bytes of at most 24 + 4 * 8; eights: bytes of at most 8 * 9.
        let low = bytes(nibbles(o) &+ (nibbles(t) &<< 1)) &+ (bytes(nibbles(f)) &<< 2)
        let h = pairs(low) &+ (pairs(eights) &<< 3)
        return Int32(truncatingIfNeeded: (h &+ (h >> 16)) & 0xFFFF)
    }

    /// The signs of the eight rows of a block of 13-word first-layer rows on 2-bit codes (`block`: the
    /// block's first row plus 8 start; p = P1 + start; t, f, counts from the block's first row): bit r
    /// is 1 (-1) iff (A_r >= t_r) == f_r, A_r = sum - 2 (counts_r + 2 weighted_r).
    @_noAllocation @inline(never)
    static func weightedSigns13(_ p: UnsafePointer<UInt32>, _ block: UnsafePointer<UInt32>, _ t: UnsafePointer<Int32>,
                                _ f: UnsafePointer<UInt8>, _ counts: UnsafePointer<UInt16>, _ sum: Int32, _ halves: Int) -> UInt32 {
        @inline(__always) func sign(_ r: Int) -> UInt32 {
            let weighted = weightedRun13(p, block + 2 &* r, halves: halves)
            let a = sum &- ((Int32(truncatingIfNeeded: counts[r]) &+ (weighted &<< 1)) &<< 1)
            return ThresholdSign.bit(a, threshold: t[r], flip: f[r])
        }
        var byte = sign(0)
        byte |= sign(1) &<< 1
        byte |= sign(2) &<< 2
        byte |= sign(3) &<< 3
        byte |= sign(4) &<< 4
        byte |= sign(5) &<< 5
        byte |= sign(6) &<< 6
        byte |= sign(7) &<< 7
        return byte
    }
}
