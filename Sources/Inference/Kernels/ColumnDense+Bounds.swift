import ModelFormat

// Dense layers on `columns32s` weights (format version 4: `columns32` with each lane group's threshold
// bounds bit-sliced after it; ModelFormat/ColumnBounds.swift states the rule) on packed bits, with their
// threshold_sign fused: a lane group's listed columns are summed into a counter from zero (S), and the
// group's 32 signs are plane W - 1 of V = start + K + 2 S, K the image's -|x| (set side) or +|x| (clear
// side) broadcast to the 32 lanes, inverted on the clear side, then flipped by the group's flip word.
// No transposition and no per-row sink. The three-operand sum is taken plane by plane after the column
// sums, only its top plane kept (`signPlane`: about 12 instructions a plane on the Cortex-M4): a counter
// started at start + K instead (issue 14's third round) made the column sums' carries ripple through
// the start's random high bits, about 79 instructions a group on FCN2, and its ripple-carry start cost
// about 10 a plane with its stores (fourth round: 205,471 -> see docs/EMBEDDING.md).
// Bit-exact with `referenceBits` below and with BinaryDenseKernel's references (ColumnBoundsTests).

extension ColumnDenseKernel {
    /// Counter words of a `bitsBounds` layer over `n` inputs: at least the W - 1 planes of S that
    /// `signPlane` reads (S <= n / 2 < 2^(W - 2)) and the five `accumulate` keeps (its registers and the
    /// plane its 32-column blocks add to), rounded to four words (16 B).
    @_noAllocation @inline(__always)
    static func boundsCounterWords(n: Int) -> Int { (max(ColumnBounds.planes(n: n), 5) &+ 3) & ~3 }

    /// Scratch bytes of `bitsBounds` over `n` inputs: its counter, K's W broadcast planes (rounded to
    /// four words), then the list of at most n / 2 columns.
    @_noAllocation @inline(__always)
    public static func boundsScratchBytes(n: Int) -> Int {
        4 &* (boundsCounterWords(n: n) &+ ((ColumnBounds.planes(n: n) &+ 3) & ~3)) &+ bitsListBytes(n: n)
    }

    /// Binary input `x` (n bits) through `columns32s` weights and the threshold_sign after them (its
    /// `flips`) into packed signs `bits` (zeroed; whole 32-bit words are stored, the last group's lanes
    /// past `m` as 0). V = start - |x| + 2 S (set side) or start + |x| + 2 Z (clear side) never leaves
    /// W planes' two's complement range, so its plane W - 1, taken modulo 2^W, is the sign.
    @_noAllocation @inline(never)
    public static func bitsBounds(input x: UnsafePointer<UInt64>, weights: UnsafeRawPointer, n: Int, m: Int,
                                  scratch: UnsafeMutableRawPointer, flips: UnsafePointer<UInt8>, bits: UnsafeMutablePointer<UInt64>) {
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let halves = (n &+ 31) >> 5
        var set = 0
        for j in 0..<halves { set &+= x32[j].nonzeroBitCount }   // the padding bits are 0
        let ones = 2 &* set <= n   // ColumnBounds.side's rule: the set inputs when they are at most half
        let words = boundsCounterWords(n: n)
        let top = ColumnBounds.planes(n: n)
        let planes = scratch.assumingMemoryBound(to: UInt32.self)
        let masks = planes + words
        let list = UnsafeMutableRawPointer(masks + ((top &+ 3) & ~3))
        let count = selectBits(x32, n: n, ones: ones, into: list)
        // K = -|x| or +|x| modulo 2^W, plane j broadcast to every lane: all ones where bit j of K is 1.
        var k = UInt32(bitPattern: Int32(truncatingIfNeeded: ones ? -set : set))
        for j in 0..<top {
            masks[j] = 0 &- (k & 1)
            k >>= 1
        }
        let w32 = weights.assumingMemoryBound(to: UInt32.self)
        let groups = BitPacking.laneGroups(m)
        let bounds = (weights + BitPacking.columnsBytes(rows: m, n: n)).assumingMemoryBound(to: UInt32.self) + (ones ? 0 : top)
        let invert: UInt32 = ones ? 0 : ~0
        let out = UnsafeMutableRawPointer(bits)
        for g in 0..<groups {
            clear(planes, words)
            accumulate(w32 + g &* n, list: list, count, planes, n: n)
            let first = g &<< 5
            var word = signPlane(bounds + g &* 2 &* top, masks, planes, planes: top) ^ invert
            if m &- first >= 32 {
                word ^= groupFlips(flips + first)
            } else {
                let lanes = m &- first
                for k in 0..<lanes { word ^= UInt32(flips[first &+ k]) &<< UInt32(truncatingIfNeeded: k) }
                word &= (1 &<< UInt32(truncatingIfNeeded: lanes)) &- 1
            }
            out.storeBytes(of: word, toByteOffset: 4 &* g, as: UInt32.self)
        }
    }

    /// Plane `planes - 1` of start + K + 2 S modulo 2^planes, lane by lane: `stored` the starts' planes,
    /// `masks` K's broadcast planes, `sums` the counter of S (plane j of 2 S is plane j - 1 of S). Per
    /// plane a ripple-carry adder of start and K, and the carry chain of that sum plus 2 S (only its
    /// carries: the planes below the top are not stored).
    @_noAllocation @inline(__always)
    static func signPlane(_ stored: UnsafePointer<UInt32>, _ masks: UnsafePointer<UInt32>, _ sums: UnsafePointer<UInt32>,
                          planes: Int) -> UInt32 {
        var carry: UInt32 = 0, chain: UInt32 = 0, twice: UInt32 = 0   // start + K's carry, the outer sum's, plane j of 2 S
        for j in 0..<(planes &- 1) {
            let a = stored[j], b = masks[j]
            let t = a ^ b
            let start = t ^ carry   // plane j of start + K
            carry = (a & b) | (carry & t)
            let u = start ^ twice
            chain = (start & twice) | (chain & u)
            twice = sums[j]
        }
        let last = planes &- 1
        return stored[last] ^ masks[last] ^ carry ^ twice ^ chain
    }

    /// The reference: A_o = n - 2 popcount(x XOR w_o) row by row from the `columns32` part of the
    /// weights (`PackedRows`), then `ThresholdSign.bit` with the thresholds themselves (the bounds are
    /// not read), packed into `bits` (zeroed).
    @_noAllocation
    public static func referenceBits(input x: UnsafePointer<UInt64>, weights: UnsafeRawPointer, n: Int, m: Int,
                                     thresholds: UnsafePointer<Int32>, flips: UnsafePointer<UInt8>, bits: UnsafeMutablePointer<UInt64>) {
        let rows = PackedRows(columns: weights.assumingMemoryBound(to: UInt64.self), n: n)
        for o in 0..<m {
            var count = 0
            for j in 0..<BitPacking.words(n) { count += (x[j] ^ rows.word(o, j)).nonzeroBitCount }   // padding bits are 0 in both
            let a = Int32(n - 2 * count)
            bits[o >> 6] |= UInt64(ThresholdSign.bit(a, threshold: thresholds[o], flip: flips[o])) << UInt64(o & 63)
        }
    }
}
