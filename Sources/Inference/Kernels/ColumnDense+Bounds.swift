import ModelFormat

// Dense layers on `columns32s` weights (format version 4: `columns32` with each lane group's threshold
// bounds bit-sliced after it; ModelFormat/ColumnBounds.swift states the rule) on packed bits, with their
// threshold_sign fused: the counter of a lane group starts at the rows' stored starts plus the image's
// -|x| (set side) or +|x| (clear side) broadcast to the 32 lanes, the listed columns are added at weight 2
// (`accumulate` from plane 1), and the group's 32 signs are the counter's top plane (inverted on the
// clear side), flipped by the group's flip word. No transposition and no per-row sink: on the
// Cortex-M4 about 190 instructions a group besides the column sums (the list, the start, the flips),
// where `bits` took about 480. The lanes' starts make the column sums' carries ripple further (about 79
// instructions a group on FCN2); adding the start's high planes after the sums instead cost more (about
// 98 a group: a carry chain over six planes and six more words to clear), 218,086 against 216,189.
// Bit-exact with `referenceBits` below and with BinaryDenseKernel's references (ColumnBoundsTests).

extension ColumnDenseKernel {
    /// Counter words of a `bitsBounds` layer over `n` inputs: the W planes of ColumnBounds, at least the
    /// five `accumulate` keeps from plane 1 (its registers and the plane its 32-column blocks add to),
    /// one more for the carry out of the top plane, rounded to four words (16 B).
    @_noAllocation @inline(__always)
    static func boundsCounterWords(n: Int) -> Int { (max(ColumnBounds.planes(n: n), 5) &+ 4) & ~3 }

    /// Scratch bytes of `bitsBounds` over `n` inputs: its counter, then the list of at most n / 2 columns.
    @_noAllocation @inline(__always)
    public static func boundsScratchBytes(n: Int) -> Int { 4 &* boundsCounterWords(n: n) &+ bitsListBytes(n: n) }

    /// Binary input `x` (n bits) through `columns32s` weights and the threshold_sign after them (its
    /// `flips`) into packed signs `bits` (zeroed; whole 32-bit words are stored, the last group's lanes
    /// past `m` as 0). The counter of V = start - |x| + 2 S (set side) or start + |x| + 2 Z (clear side)
    /// never leaves W planes' two's complement range, so its plane W - 1 is the sign; it carries out of
    /// that plane at most once a lane (into the extra word, zeroed), since the start is below 2^W and
    /// 2 S at most n < 2^W.
    @_noAllocation @inline(never)
    public static func bitsBounds(input x: UnsafePointer<UInt64>, weights: UnsafeRawPointer, n: Int, m: Int,
                                  scratch: UnsafeMutableRawPointer, flips: UnsafePointer<UInt8>, bits: UnsafeMutablePointer<UInt64>) {
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let halves = (n &+ 31) >> 5
        var set = 0
        for j in 0..<halves { set &+= x32[j].nonzeroBitCount }   // the padding bits are 0
        let ones = 2 &* set <= n   // ColumnBounds.side's rule: the set inputs when they are at most half
        let words = boundsCounterWords(n: n)
        let planes = scratch.assumingMemoryBound(to: UInt32.self)
        let list = UnsafeMutableRawPointer(scratch + 4 &* words)
        let count = selectBits(x32, n: n, ones: ones, into: list)
        let w32 = weights.assumingMemoryBound(to: UInt32.self)
        let groups = BitPacking.laneGroups(m)
        let top = ColumnBounds.planes(n: n)
        let bounds = (weights + BitPacking.columnsBytes(rows: m, n: n)).assumingMemoryBound(to: UInt32.self) + (ones ? 0 : top)
        let add = UInt32(bitPattern: Int32(truncatingIfNeeded: ones ? -set : set))   // the broadcast -|x| or +|x|
        let invert: UInt32 = ones ? 0 : ~0
        let out = UnsafeMutableRawPointer(bits)
        for g in 0..<groups {
            start(planes, bounds + g &* 2 &* top, planes: top, add: add, words: words)
            accumulate(w32 + g &* n, list: list, count, planes + 1, n: n)
            let first = g &<< 5
            var word = planes[top &- 1] ^ invert
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

    /// Sets the counter's planes 0 ..< `planes` to the stored starts plus `add` (the same for every lane:
    /// a ripple-carry adder with one constant operand, modulo 2^planes) and zeroes planes ..< `words`.
    @_noAllocation @inline(__always)
    static func start(_ counter: UnsafeMutablePointer<UInt32>, _ stored: UnsafePointer<UInt32>, planes: Int, add: UInt32, words: Int) {
        var carry: UInt32 = 0, rest = add
        for j in 0..<planes {
            let a = stored[j], b = 0 &- (rest & 1)   // bit j of `add`, in every lane
            rest >>= 1
            let t = a ^ b
            counter[j] = t ^ carry
            carry = (a & b) | (carry & t)
        }
        clear(counter + planes, words &- planes)
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
