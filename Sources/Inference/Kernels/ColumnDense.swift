import ModelFormat

// Dense layers on `columns32` weights (format version 3, BitPacking.swift) for 32-bit CPUs without a
// popcount instruction: the Cortex-M firmware. The row kernels (BlockedDense+CarrySave.swift) count
// every weight against every input, set or not. Here a layer adds whole weight columns instead, 32 rows
// per word operation, and only for the inputs that count:
//
//   first layer, codes 2q + 1 = sum_b 2^b P_b:  sum_i code_i w_oi = total - 2 sum_b 2^b C_b(o),
//       C_b(o) = sum of column i of row o (1 for -1) over the pixels i whose plane-b bit is set; the
//       constant plane 0 of 2q + 1 is every column, so C_0 is the row's stored count of -1 weights;
//       2-bit codes go by levels instead (`levels`: each drawn pixel's column added once);
//   binary input x (n bits, |x| set):  popcount(x XOR w_o) = |x| + c_o - 2 S(o) with S over the set
//       inputs, or |x| - c_o + 2 Z(o) with Z over the clear inputs (c_o: the stored row count), so
//       only the sparser side is added: at most n / 2 columns.
//
// The columns to add are listed once per image (u16 indices, in the scratch); then, for each group of
// 32 rows, the listed column words are summed by Harley-Seal carry-save adders (Muła, Kurz and
// Lemire, 2018) into a bit-sliced counter (plane j = bit j of the 32 rows' sums), and a bit-matrix
// transposition turns the planes into the 32 lane sums, two lanes per 32-bit word, for the sink
// (`emitSums`, one for every kernel). On MNIST, where most pixels are blank, the first layer adds a
// sixth of the columns the row kernels touch. docs/EMBEDDING.md has the Cortex-M4's per-layer counts
// (scripts/device-profile.py measures them).
//
// Bit-exact with BinaryDenseKernel's references (ColumnDenseTests, RandomModelTests); every target runs
// it, so the host tests check it. Rows hold at most 65,535 values (u16 indices and counts; the reader
// checks it).

/// Dense layers with `columns32` weights.
public enum ColumnDenseKernel {
    /// Bits of `v` (0 for 0).
    @_noAllocation @inline(__always)
    static func bitWidth(_ v: Int) -> Int { Int.bitWidth - v.leadingZeroBitCount }

    /// Counter planes for sums up to `maxSum` added at levels up to `topLevel` (the carry-save
    /// registers hold the four planes from a list's level), rounded up to the 16 or 32 planes
    /// `transpose` turns.
    @_noAllocation @inline(__always)
    static func counterStride(maxSum: Int, topLevel: Int = 0) -> Int { max(bitWidth(maxSum), topLevel + 4) <= 16 ? 16 : 32 }

    /// The highest counter level a first layer on `bits`-bit codes adds at (0 for binary inputs).
    @_noAllocation @inline(__always)
    static func topLevel(codeBits bits: Int) -> Int { bits > 0 ? PixelPlanes.count(bits: bits) &- 1 : 0 }

    /// Whether sums up to `maxSum` need the counter's planes past 16.
    @_noAllocation @inline(__always)
    static func wide(_ maxSum: Int) -> Bool { bitWidth(maxSum) > 16 }

    /// The largest column sum of a first layer on `bits`-bit codes (planes past the constant one) or,
    /// with `bits` 0, of a layer on n binary inputs (the sparser side: at most n / 2 columns).
    @_noAllocation @inline(__always)
    static func maxSum(n: Int, codeBits bits: Int) -> Int {
        guard bits > 0 else { return n / 2 }
        var weight = 0
        for b in (bits < 8 ? 1 : 0)..<PixelPlanes.count(bits: bits) { weight += 1 << b }
        return n * weight
    }

    /// Scratch bytes of a layer of `m` outputs over `n` inputs (binary inputs when `codeBits` is 0, else
    /// input codes of that many bits): the column list, the counters (of every lane group for codes,
    /// whose planes are added one after another; of one group for bits).
    @_noAllocation
    public static func scratchBytes(n: Int, m: Int, codeBits: Int) -> Int {
        if byLevels(n: n, codeBits: codeBits) { return listBytes(n) + 4 * 32 }   // the two counters of `levels`
        let groups = codeBits > 0 ? BitPacking.laneGroups(m) : 1
        // A binary layer lists the sparser side of its input: at most n / 2 columns.
        return (codeBits > 0 ? listBytes(n) : bitsListBytes(n: n)) + 4 * groups * counterStride(maxSum: maxSum(n: n, codeBits: codeBits), topLevel: topLevel(codeBits: codeBits))
    }

    @_noAllocation @inline(__always)
    static func listBytes(_ n: Int) -> Int { (2 * n + 15) & ~15 }

    /// Whether a binary layer (`bits`, `bitsBounds`) over `n` inputs lists its columns as u32 rather
    /// than u16, so that `accumulate` loads two indices with one 64-bit load (`ldrd` on the Cortex-M4:
    /// three loads per two column words, not four; issue 14 item 6, fourth round): rows of at most
    /// 1,024 (a list of at most 2 KiB: FCN2's hidden layers' 1,200 B stay below its first layer's
    /// 1,568 B, so its arena does not grow; the conv net's 1,600-input layer keeps 1,600 B). Never in
    /// the Cortex-M0 firmware or the minimal library (flash, code size: one `accumulate`).
    @_noAllocation @inline(__always)
    static func wideList(n: Int) -> Bool {
        #if COMPACT_COLUMN_SUMS || BITSHIELD_MINIMAL
        return false
        #else
        return n <= 1024
        #endif
    }

    /// Bytes of a binary layer's list over `n` inputs: at most n / 2 entries (`wideList`: u32 or u16), rounded to 16 B.
    @_noAllocation @inline(__always)
    static func bitsListBytes(n: Int) -> Int { ((wideList(n: n) ? 4 : 2) &* (n / 2) &+ 15) & ~15 }

    /// Binary input `x` (n bits): A_o = n - 2 popcount(x XOR w_o), into `sink`.
    @_noAllocation @inline(never)
    public static func bits(input x: UnsafePointer<UInt64>, weights: UnsafeRawPointer, n: Int, m: Int,
                            scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let halves = (n &+ 31) >> 5
        var set = 0
        for j in 0..<halves { set &+= x32[j].nonzeroBitCount }   // the padding bits are 0
        let ones = 2 &* set <= n
        // The counter first (16 planes: count <= n / 2 < 2^15, rows hold at most 65,535 values), then
        // the list of at most n / 2 columns.
        let planes = scratch.assumingMemoryBound(to: UInt32.self), stride = 16
        let list = UnsafeMutableRawPointer(scratch + 4 &* stride)
        let count = selectBits(x32, n: n, ones: ones, into: list)
        let w32 = weights.assumingMemoryBound(to: UInt32.self)
        let groups = BitPacking.laneGroups(m)
        let rowCounts = (weights + 4 &* groups &* n).assumingMemoryBound(to: UInt16.self)
        let base = Int32(truncatingIfNeeded: n &- 2 &* set), side: Int32 = ones ? -2 : 2
        for g in 0..<groups {
            clear(planes, stride)
            accumulate(w32 + g &* n, list: list, count, planes, n: n)
            transpose(planes, wide: false)
            // A = n - 2 (|x| + c - 2 S) with S over the set inputs, n - 2 (|x| - c + 2 S) over the clear ones.
            #if COMPACT_COLUMN_SUMS || BITSHIELD_MINIMAL   // one sink for both sides: the Cortex-M0's flash, the minimal library's code
            emitSums(group: g, m: m, planes: planes, rowCounts: rowCounts, k0: base, kc: side, ks: -2 &* side, sink: sink)
            #else
            // A sink per side, its factors constants: two registers fewer in the row loop, which
            // then keeps its values out of the stack.
            if ones {
                emitSums(group: g, m: m, planes: planes, rowCounts: rowCounts, k0: base, kc: -2, ks: 4, sink: sink)
            } else {
                emitSums(group: g, m: m, planes: planes, rowCounts: rowCounts, k0: base, kc: 2, ks: -4, sink: sink)
            }
            #endif
        }
    }

    /// Pixels input (`bits`-bit codes formed here, InputCodesKernel's rule): A_o = sum_i code_i w_oi,
    /// into `sink`. 2-bit codes go by levels (`levels`) where `byLevels`; other codes plane by plane.
    @_noAllocation @inline(never)
    public static func pixels(_ px: UnsafePointer<UInt8>, bits: Int, weights: UnsafeRawPointer, n: Int, m: Int,
                              scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        if byLevels(n: n, codeBits: bits) {
            levels(px, weights: weights, n: n, m: m, scratch: scratch, sink: sink)
            return
        }
        let constant = bits < 8
        let stride = counterStride(maxSum: maxSum(n: n, codeBits: bits), topLevel: topLevel(codeBits: bits))
        let groups = BitPacking.laneGroups(m)
        let list = scratch.assumingMemoryBound(to: UInt16.self)
        let counters = (scratch + listBytes(n)).assumingMemoryBound(to: UInt32.self)
        let w32 = weights.assumingMemoryBound(to: UInt32.self)
        let rowCounts = (weights + 4 &* groups &* n).assumingMemoryBound(to: UInt16.self)
        counters.initialize(repeating: 0, count: groups &* stride)
        var total = constant ? n : 0
        var weightedCount = 0   // the largest sum the listed columns can make (fits the counter)
        for b in (constant ? 1 : 0)..<PixelPlanes.count(bits: bits) {
            let count = selectPixels(px, n: n, bit: PixelPlanes.pixelBit(plane: b, bits: bits), into: list)
            total &+= count &<< b
            weightedCount &+= count &<< b
            for g in 0..<groups { accumulate(w32 + g &* n, list, count, counters + (g &* stride &+ b)) }
        }
        let sum = Int32(truncatingIfNeeded: total)
        let wide = Self.wide(weightedCount)
        for g in 0..<groups {
            let planes = counters + g &* stride
            transpose(planes, wide: wide)
            emitSums(group: g, m: m, planes: planes, wide: wide, rowCounts: rowCounts, k0: sum, kc: constant ? -2 : 0, ks: -2, sink: sink)
        }
    }

    /// Whether a first layer on `codeBits`-bit codes of rows of `n` goes by levels (`levels`): 2-bit
    /// codes of rows short enough (n <= 10,922) that S_12 + 6 S_3, up to 6n, stays below 2^16.
    @_noAllocation @inline(__always)
    static func byLevels(n: Int, codeBits: Int) -> Bool { codeBits == 2 && n <= 10922 }

    /// `pixels` for 2-bit codes (code 2q + 1, q = pixel >> 6) by levels rather than planes: a pixel of
    /// level q adds its column once, to one of two counters, not once per set bit of q:
    ///   sum_i code_i w_oi = total - 2 (c_o + S_12(o) + 6 S_3(o)),  total = n + sum_i 2 q_i,
    /// S_12 adding the columns of level 1 at weight 2 and of level 2 at weight 4 (counter levels 1 and
    /// 2), S_3 those of level 3 at weight 1 (its own counter). On MNIST most drawn pixels are level 3
    /// (85 of 124 on the test set's mean), so a lane group adds 124 columns where the planes add 209
    /// (103 + 105). The groups go one after another through the two counters (the lists of the three
    /// levels are disjoint, together in the list's n entries): two counters of scratch, not one per group.
    @_noAllocation @inline(never)
    static func levels(_ px: UnsafePointer<UInt8>, weights: UnsafeRawPointer, n: Int, m: Int,
                       scratch: UnsafeMutableRawPointer, sink: AccumulatorSink) {
        let groups = BitPacking.laneGroups(m)
        let list = scratch.assumingMemoryBound(to: UInt16.self)
        let twelve = (scratch + listBytes(n)).assumingMemoryBound(to: UInt32.self), three = twelve + 16
        let w32 = weights.assumingMemoryBound(to: UInt32.self)
        let rowCounts = (weights + 4 &* groups &* n).assumingMemoryBound(to: UInt16.self)
        // Level 3 from the front, levels 1 and 2 from the back in one pass, then level 1 moved after
        // level 3 (disjoint: n entries in all).
        let (c3, back) = selectLevels(px, n: n, into: list)
        let (c1, c2) = splitLevels(list, n: n, front: c3, back: back)
        let total = Int32(truncatingIfNeeded: n &+ 2 &* c1 &+ 4 &* c2 &+ 6 &* c3)
        // The level-3 counter is added into the other (`addSixTimes`, over the planes this image's largest
        // S_12 + 6 S_3 reaches: below 2^16, `byLevels`), and one counter is transposed, not two.
        let reach = bitWidth(2 &* c1 &+ 4 &* c2 &+ 6 &* c3)
        for g in 0..<groups {
            let column = w32 + g &* n
            clear(twelve, 32)   // both counters
            accumulate(column, list + c3, c1, twelve + 1)
            accumulate(column, list + (n &- c2), c2, twelve + 2)
            accumulate(column, list, c3, three)
            addSixTimes(three, into: twelve, planes: reach)
            transpose(twelve, wide: false)
            emitSums(group: g, m: m, planes: twelve, rowCounts: rowCounts, k0: total, kc: -2, ks: -2, sink: sink)
        }
    }

    /// Adds 6 x the bit-sliced counter `three` (2 x it plus 4 x it) into `twelve`, planes 0 ..< `planes`,
    /// where the sum stays (it is below 2^planes): per plane a carry-save adder of the three addends and a
    /// ripple-carry adder of its sums and carries. About 13 instructions a plane on the Cortex-M4, where the
    /// second transposition and the rows' 6 S_3 took about 340 a lane group (issue 14 item 6).
    @_noAllocation @inline(__always)
    static func addSixTimes(_ three: UnsafePointer<UInt32>, into twelve: UnsafeMutablePointer<UInt32>, planes: Int) {
        var twice: UInt32 = 0, previous: UInt32 = 0   // planes j - 1 and j - 2 of `three`: 2x and 4x at plane j
        var saved: UInt32 = 0, carry: UInt32 = 0       // the carry-save carries into plane j, the ripple carry
        for j in 0..<planes {
            let a = twelve[j], b = twice, c = previous
            let x = a ^ b, sum = x ^ c
            let up = (a & b) | (c & x)
            let t = sum ^ saved
            twelve[j] = t ^ carry
            carry = (sum & saved) | (carry & t)
            saved = up
            previous = twice
            twice = three[j]
        }
    }

    /// Lists the pixels of level 3 (q = pixel >> 6) from `list` up, and those of levels 1 and 2 from
    /// `list + n - 1` down, level 1's tagged with bit 15 (n <= 10,922, `byLevels`: indices fit 15 bits);
    /// returns both counts. Four pixels per load, and a group of four blank pixels costs one test. The
    /// front list is written as `selectPixels` writes (every pixel stored, the count advanced by its
    /// bit: no branch), which never reaches an entry of the back list (pixel i + 3 < n - back); the back
    /// list, of the rare levels 1 and 2, one set bit at a time. One pass over the pixels, where a pass
    /// per back level took about 1,900 instructions more on an MNIST image (issue 14 item 6, fourth round).
    @_noAllocation @inline(__always)
    static func selectLevels(_ px: UnsafePointer<UInt8>, n: Int, into list: UnsafeMutablePointer<UInt16>) -> (front: Int, back: Int) {
        var f = 0, b = 0
        var i = 0
        while i &+ 4 <= n {
            let x = UnsafeRawPointer(px + i).loadUnaligned(as: UInt32.self)
            if x & 0xC0C0_C0C0 != 0 {
                let lo = x >> 6, hi = x >> 7
                let u = lo & hi & 0x0101_0101   // level 3
                let at = UInt16(truncatingIfNeeded: i)
                list[f] = at; f &+= Int(u & 1)
                list[f] = at &+ 1; f &+= Int((u >> 8) & 1)
                list[f] = at &+ 2; f &+= Int((u >> 16) & 1)
                list[f] = at &+ 3; f &+= Int(u >> 24)
                listBack((lo ^ hi) & 0x0101_0101, ones: lo, at: i, list: list, n: n, count: &b)
            }
            i &+= 4
        }
        while i < n {
            let x = UInt32(px[i])
            let lo = x >> 6, hi = x >> 7
            if lo & hi & 1 != 0 { list[f] = UInt16(truncatingIfNeeded: i); f &+= 1 }
            listBack((lo ^ hi) & 1, ones: lo, at: i, list: list, n: n, count: &b)
            i &+= 1
        }
        return (f, b)
    }

    /// Lists pixel `at + k` for each byte k of `v` whose bit 0 is set at `list[n - 1 - count]` down,
    /// with bit 15 set where bit 0 of byte k of `ones` is (level 1).
    @_noAllocation @inline(__always)
    static func listBack(_ v: UInt32, ones: UInt32, at: Int, list: UnsafeMutablePointer<UInt16>, n: Int, count: inout Int) {
        var v = v
        while v != 0 {
            let z = UInt32(truncatingIfNeeded: v.trailingZeroBitCount)
            let i = UInt32(truncatingIfNeeded: at) &+ (z >> 3) | ((ones >> z) & 1) &<< 15
            list[n &- 1 &- count] = UInt16(truncatingIfNeeded: i)
            count &+= 1
            v &= v &- 1
        }
    }

    /// Splits the `back` entries `selectLevels` listed at the end of `list` (levels 1 and 2, level 1's
    /// tagged with bit 15) by level: level 2's stay at the end (`list + n - c2 ..< n`), level 1's move,
    /// untagged, after the `front` entries of level 3 (`list + front ..< front + c1`); returns (c1, c2).
    /// A partition of the back entries by swaps from both ends, then a copy down (the destination never
    /// passes the source: front <= n - back).
    @_noAllocation @inline(__always)
    static func splitLevels(_ list: UnsafeMutablePointer<UInt16>, n: Int, front: Int, back: Int) -> (Int, Int) {
        let start = n &- back
        var lo = start, hi = n &- 1
        while lo <= hi {
            let a = list[lo]
            if a & 0x8000 != 0 { lo &+= 1; continue }
            let z = list[hi]
            if z & 0x8000 == 0 { hi &-= 1; continue }
            list[lo] = z
            list[hi] = a
            lo &+= 1
            hi &-= 1
        }
        let c1 = lo &- start
        for k in 0..<c1 { list[front &+ k] = list[start &+ k] & 0x7FFF }
        return (c1, n &- lo)
    }

    /// Zeroes `count` counter words. By stores of a zero the compiler cannot see (the top bit of the
    /// address: 0 for the RAM of every target, else the plain clear below makes it right): with a
    /// literal 0 the loop became a `memset` call, about 100 instructions for a 64-byte counter on the
    /// Cortex-M4 (the firmware's word loop), these 16 stores about 20.
    @_noAllocation @inline(__always)
    static func clear(_ p: UnsafeMutablePointer<UInt32>, _ count: Int) {
        let zero = UInt32(truncatingIfNeeded: UInt(bitPattern: p) >> (UInt.bitWidth &- 1))
        for k in 0..<count { p[k] = zero }
        if zero != 0 { p.initialize(repeating: 0, count: count) }
    }

    /// Lists the indices i < n whose input bit is 1 (`ones`) or 0 into `list` (`wideList`: u32, else
    /// u16 entries); returns how many.
    @_noAllocation
    static func selectBits(_ x: UnsafePointer<UInt32>, n: Int, ones: Bool, into list: UnsafeMutableRawPointer) -> Int {
        #if !(COMPACT_COLUMN_SUMS || BITSHIELD_MINIMAL)
        if wideList(n: n) { return selectBits(x, n: n, ones: ones, into: list, entry: 4) }
        #endif
        return selectBits(x, n: n, ones: ones, into: list, entry: 2)
    }

    /// `selectBits` with entries of `entry` bytes (2 or 4).
    @_noAllocation @inline(__always)
    static func selectBits(_ x: UnsafePointer<UInt32>, n: Int, ones: Bool, into list: UnsafeMutableRawPointer, entry: Int) -> Int {
        var count = 0
        let halves = (n &+ 31) >> 5
        for j in 0..<halves {
            var v = ones ? x[j] : ~x[j]
            if j == halves &- 1 && n & 31 != 0 { v &= (1 &<< UInt32(n & 31)) &- 1 }
            let base = UInt32(truncatingIfNeeded: j &<< 5)
            while v != 0 {
                let i = base &+ UInt32(truncatingIfNeeded: v.trailingZeroBitCount)
                if entry == 4 {
                    list.storeBytes(of: i, toByteOffset: 4 &* count, as: UInt32.self)
                } else {
                    list.storeBytes(of: UInt16(truncatingIfNeeded: i), toByteOffset: 2 &* count, as: UInt16.self)
                }
                count &+= 1
                v &= v &- 1
            }
        }
        return count
    }

    /// Lists the pixels i < n with bit `bit` set; returns how many. Four pixels per load; a group of
    /// four with the bit clear in all (blank borders) costs one test.
    @_noAllocation
    static func selectPixels(_ px: UnsafePointer<UInt8>, n: Int, bit: Int, into list: UnsafeMutablePointer<UInt16>) -> Int {
        var count = 0
        var i = 0
        let s = UInt32(truncatingIfNeeded: bit)
        while i &+ 4 <= n {
            let v = (UnsafeRawPointer(px + i).loadUnaligned(as: UInt32.self) >> s) & 0x0101_0101
            if v != 0 {
                let at = UInt16(truncatingIfNeeded: i)
                list[count] = at; count &+= Int(v & 1)
                list[count] = at &+ 1; count &+= Int((v >> 8) & 1)
                list[count] = at &+ 2; count &+= Int((v >> 16) & 1)
                list[count] = at &+ 3; count &+= Int(v >> 24)
            }
            i &+= 4
        }
        while i < n {
            if (px[i] >> UInt8(truncatingIfNeeded: bit)) & 1 != 0 { list[count] = UInt16(truncatingIfNeeded: i); count &+= 1 }
            i &+= 1
        }
        return count
    }

    /// A binary layer's `accumulate`: over its list of u32 or u16 indices (`wideList`).
    @_noAllocation @inline(__always)
    static func accumulate(_ column: UnsafePointer<UInt32>, list: UnsafeRawPointer, _ count: Int, _ planes: UnsafeMutablePointer<UInt32>, n: Int) {
        #if !(COMPACT_COLUMN_SUMS || BITSHIELD_MINIMAL)
        if wideList(n: n) {
            accumulate(column, list.assumingMemoryBound(to: UInt32.self), count, planes)
            return
        }
        #endif
        accumulate(column, list.assumingMemoryBound(to: UInt16.self), count, planes)
    }

    /// Adds the listed columns of one lane group (`column[i]`: column i's word) to the bit-sliced
    /// counter `planes` (plane 0 at the list's weight): `columnSums` over a list of u16 indices.
    @_noAllocation @inline(never)
    static func accumulate(_ column: UnsafePointer<UInt32>, _ list: UnsafePointer<UInt16>, _ count: Int,
                           _ planes: UnsafeMutablePointer<UInt32>) {
        columnSums(column, UnsafeRawPointer(list), count, planes, entry: 2)
    }

    #if !(COMPACT_COLUMN_SUMS || BITSHIELD_MINIMAL)
    /// `accumulate` over a list of u32 indices (`wideList`), 8-byte aligned: two
    /// indices per 64-bit load.
    @_noAllocation @inline(never)
    static func accumulate(_ column: UnsafePointer<UInt32>, _ list: UnsafePointer<UInt32>, _ count: Int,
                           _ planes: UnsafeMutablePointer<UInt32>) {
        columnSums(column, UnsafeRawPointer(list), count, planes, entry: 4)
    }
    #endif

    /// Column indices `k` and `k + 1` (k even) of a list of `entry`-byte indices (2: u16; 4: u32, read
    /// as one 64-bit load, little-endian: entry k in its low half; the list 8-byte aligned).
    @_noAllocation @inline(__always)
    static func pair(_ p: UnsafeRawPointer, _ k: Int, entry: Int) -> (Int, Int) {
        if entry == 4 {
            let v = p.load(fromByteOffset: 4 &* k, as: UInt64.self)
            return (Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: v)), Int(truncatingIfNeeded: v >> 32))
        }
        return (Int(p.load(fromByteOffset: 2 &* k, as: UInt16.self)), Int(p.load(fromByteOffset: 2 &* k &+ 2, as: UInt16.self)))
    }

    /// Column index `k` of a list of `entry`-byte indices.
    @_noAllocation @inline(__always)
    static func single(_ p: UnsafeRawPointer, _ k: Int, entry: Int) -> Int {
        entry == 4 ? Int(truncatingIfNeeded: p.load(fromByteOffset: 4 &* k, as: UInt32.self)) : Int(p.load(fromByteOffset: 2 &* k, as: UInt16.self))
    }

    /// Adds the listed columns (`count` indices of `entry` bytes from `list`) of one lane group to the
    /// counter `planes`: thirty-two, then sixteen at a time through carry-save adders into the lowest
    /// four planes, whose carries of weight 16 ripple up; then eight, four, two, one.
    @_noAllocation @inline(__always)
    static func columnSums(_ column: UnsafePointer<UInt32>, _ list: UnsafeRawPointer, _ count: Int,
                           _ planes: UnsafeMutablePointer<UInt32>, entry: Int) {
        var o = planes[0], t = planes[1], f = planes[2], e = planes[3]
        var p = list
        var left = count
        #if !COMPACT_COLUMN_SUMS   // set for the Cortex-M0 firmware (scripts/build-firmware.sh): its 256 KiB of flash
        // Thirty-two at a time: the two blocks' carries of weight 16 go through one carry-save adder
        // with plane 4, and only its carries of weight 32 ripple on (about half the ripples).
        while left >= 32 {
            let e0 = eight(column, p, entry, &o, &t, &f), e1 = eight(column, p + 8 &* entry, entry, &o, &t, &f)
            let (s0, e2) = Popcount.carrySave(e, e0, e1)
            let e3 = eight(column, p + 16 &* entry, entry, &o, &t, &f), e4 = eight(column, p + 24 &* entry, entry, &o, &t, &f)
            let (s1, e5) = Popcount.carrySave(e2, e3, e4)
            e = e5
            let (c, s) = Popcount.carrySave(planes[4], s0, s1)
            planes[4] = s
            if c != 0 { ripple(c, planes + 5) }
            p += 32 &* entry
            left &-= 32
        }
        #endif
        while left >= 16 {
            let e0 = eight(column, p, entry, &o, &t, &f), e1 = eight(column, p + 8 &* entry, entry, &o, &t, &f)
            let (s, e2) = Popcount.carrySave(e, e0, e1)
            e = e2
            if s != 0 { ripple(s, planes + 4) }
            p += 16 &* entry
            left &-= 16
        }
        if left >= 8 {
            let e0 = eight(column, p, entry, &o, &t, &f)
            let s = e & e0
            e ^= e0
            if s != 0 { ripple(s, planes + 4) }
            p += 8 &* entry
            left &-= 8
        }
        if left >= 4 {
            let (i0, i1) = pair(p, 0, entry: entry), (i2, i3) = pair(p, 2, entry: entry)
            let (c0, o0) = Popcount.carrySave(o, column[i0], column[i1])
            let (c1, o1) = Popcount.carrySave(o0, column[i2], column[i3])
            let (c2, t1) = Popcount.carrySave(t, c0, c1)
            o = o1; t = t1
            let c3 = f & c2   // c2 has weight 4: half adders into f and e
            f ^= c2
            let up = e & c3
            e ^= c3
            if up != 0 { ripple(up, planes + 4) }
            p += 4 &* entry
            left &-= 4
        }
        if left >= 2 {
            let (i0, i1) = pair(p, 0, entry: entry)
            let (c, o1) = Popcount.carrySave(o, column[i0], column[i1])
            o = o1
            let up = carry(c, &t, &f, &e)
            if up != 0 { ripple(up, planes + 4) }
            p += 2 &* entry
            left &-= 2
        }
        if left == 1 {
            let v = column[single(p, 0, entry: entry)]
            let c = o & v
            o ^= v
            let up = carry(c, &t, &f, &e)
            if up != 0 { ripple(up, planes + 4) }
        }
        planes[0] = o; planes[1] = t; planes[2] = f; planes[3] = e
    }

    /// Eight listed columns from `p` (indices of `entry` bytes) into the planes of weight 1, 2 and 4;
    /// returns the carries of weight 8.
    @_noAllocation @inline(__always)
    static func eight(_ column: UnsafePointer<UInt32>, _ p: UnsafeRawPointer, _ entry: Int,
                      _ o: inout UInt32, _ t: inout UInt32, _ f: inout UInt32) -> UInt32 {
        let (i0, i1) = pair(p, 0, entry: entry), (i2, i3) = pair(p, 2, entry: entry)
        let (t0, o0) = Popcount.carrySave(o, column[i0], column[i1])
        let (t1, o1) = Popcount.carrySave(o0, column[i2], column[i3])
        let (f0, t2) = Popcount.carrySave(t, t0, t1)
        let (i4, i5) = pair(p, 4, entry: entry), (i6, i7) = pair(p, 6, entry: entry)
        let (t3, o2) = Popcount.carrySave(o1, column[i4], column[i5])
        let (t4, o3) = Popcount.carrySave(o2, column[i6], column[i7])
        let (f1, t5) = Popcount.carrySave(t2, t3, t4)
        let (e, f2) = Popcount.carrySave(f, f0, f1)
        o = o3; t = t5; f = f2
        return e
    }

    /// Adds the carries `c` of weight 2 to the planes of weight 2, 4 and 8 (half adders); returns the
    /// carries of weight 16.
    @_noAllocation @inline(__always)
    static func carry(_ c: UInt32, _ t: inout UInt32, _ f: inout UInt32, _ e: inout UInt32) -> UInt32 {
        let c2 = t & c
        t ^= c
        let c3 = f & c2
        f ^= c2
        let c4 = e & c3
        e ^= c3
        return c4
    }

    /// Adds `carry` (one bit per lane) to the counter planes from `planes`, plane by plane while a
    /// carry is left (the sums fit the counter, so it stops inside).
    @_noAllocation @inline(__always)
    static func ripple(_ carry: UInt32, _ planes: UnsafeMutablePointer<UInt32>) {
        var c = carry
        var q = planes
        while c != 0 {
            let v = q.pointee
            q.pointee = v ^ c
            c &= v
            q += 1
        }
    }


    /// Turns a bit-sliced counter (plane j = bit j of 32 lane sums) into the lane sums, in place: a
    /// transposition of the two 16 x 16 bit blocks of planes 0 ..< 16 (lanes 0 ..< 16 in the low
    /// halves, 16 ..< 32 in the high halves) by swaps of sub-blocks (Hacker's Delight, 7-3), both blocks
    /// in the same word operations; then word j holds lane j's sum in its low half and lane 16 + j's in
    /// its high half. With `wide`, planes 16 ..< 32 too (sums of 2^16 and more): `laneSums` adds them.
    @_noAllocation @inline(never)
    static func transpose(_ planes: UnsafeMutablePointer<UInt32>, wide: Bool) {
        transpose16(planes)
        if wide { transpose16(planes + 16) }
    }

    @_noAllocation @inline(__always)
    static func transpose16(_ p: UnsafeMutablePointer<UInt32>) {
        var a0 = p[0], a1 = p[1], a2 = p[2], a3 = p[3], a4 = p[4], a5 = p[5], a6 = p[6], a7 = p[7]
        var a8 = p[8], a9 = p[9], a10 = p[10], a11 = p[11], a12 = p[12], a13 = p[13], a14 = p[14], a15 = p[15]
        // Rows j and j + s exchange the high-column sub-block of j with the low-column one of j + s.
        @inline(__always) func swap(_ a: inout UInt32, _ b: inout UInt32, _ s: UInt32, _ mask: UInt32) {
            let t = ((a >> s) ^ b) & mask
            b ^= t
            a ^= t &<< s
        }
        swap(&a0, &a8, 8, 0x00FF_00FF); swap(&a1, &a9, 8, 0x00FF_00FF); swap(&a2, &a10, 8, 0x00FF_00FF); swap(&a3, &a11, 8, 0x00FF_00FF)
        swap(&a4, &a12, 8, 0x00FF_00FF); swap(&a5, &a13, 8, 0x00FF_00FF); swap(&a6, &a14, 8, 0x00FF_00FF); swap(&a7, &a15, 8, 0x00FF_00FF)
        swap(&a0, &a4, 4, 0x0F0F_0F0F); swap(&a1, &a5, 4, 0x0F0F_0F0F); swap(&a2, &a6, 4, 0x0F0F_0F0F); swap(&a3, &a7, 4, 0x0F0F_0F0F)
        swap(&a8, &a12, 4, 0x0F0F_0F0F); swap(&a9, &a13, 4, 0x0F0F_0F0F); swap(&a10, &a14, 4, 0x0F0F_0F0F); swap(&a11, &a15, 4, 0x0F0F_0F0F)
        swap(&a0, &a2, 2, 0x3333_3333); swap(&a1, &a3, 2, 0x3333_3333); swap(&a4, &a6, 2, 0x3333_3333); swap(&a5, &a7, 2, 0x3333_3333)
        swap(&a8, &a10, 2, 0x3333_3333); swap(&a9, &a11, 2, 0x3333_3333); swap(&a12, &a14, 2, 0x3333_3333); swap(&a13, &a15, 2, 0x3333_3333)
        swap(&a0, &a1, 1, 0x5555_5555); swap(&a2, &a3, 1, 0x5555_5555); swap(&a4, &a5, 1, 0x5555_5555); swap(&a6, &a7, 1, 0x5555_5555)
        swap(&a8, &a9, 1, 0x5555_5555); swap(&a10, &a11, 1, 0x5555_5555); swap(&a12, &a13, 1, 0x5555_5555); swap(&a14, &a15, 1, 0x5555_5555)
        p[0] = a0; p[1] = a1; p[2] = a2; p[3] = a3; p[4] = a4; p[5] = a5; p[6] = a6; p[7] = a7
        p[8] = a8; p[9] = a9; p[10] = a10; p[11] = a11; p[12] = a12; p[13] = a13; p[14] = a14; p[15] = a15
    }

    /// The sums of lanes j and 16 + j (j < 16) from a counter `transpose` has turned (`wide` as given to it).
    @_noAllocation @inline(__always)
    static func laneSums(_ planes: UnsafePointer<UInt32>, _ j: Int, wide: Bool) -> (Int32, Int32) {
        let v = planes[j], h = wide ? planes[16 &+ j] : 0
        return (Int32(truncatingIfNeeded: (v & 0xFFFF) | (h &<< 16)), Int32(truncatingIfNeeded: (v >> 16) | (h & 0xFFFF_0000)))
    }

    #if BITSHIELD_MINIMAL
    /// Whether a whole lane group's flips are taken as one word (`groupFlips`): not in the minimal
    /// library, whose goal is code size (every group then runs the last group's loop, flips row by row).
    static var flipsByWord: Bool { false }
    #else
    static var flipsByWord: Bool { true }
    #endif

    #if COMPACT_COLUMN_SUMS
    /// A whole lane group's flips as one word (`ThresholdSign.flipWord`), out of line on the Cortex-M0
    /// (its unaligned loads are four byte loads each): one copy serves the three sinks.
    @_noAllocation @inline(never)
    static func groupFlips(_ flips: UnsafePointer<UInt8>) -> UInt32 { ThresholdSign.flipWord(flips) }
    #else
    /// A whole lane group's flips as one word (`ThresholdSign.flipWord`), inline in each sink.
    @_noAllocation @inline(__always)
    static func groupFlips(_ flips: UnsafePointer<UInt8>) -> UInt32 { ThresholdSign.flipWord(flips) }
    #endif

    /// The column kernels' sinks, straight-line: A_o = k0 + kc c_o + ks s_o for the rows o = 32 g + k (k < 32, o < m) of lane group g, c_o the
    /// row's stored count, s_o lane k's sum in `planes` after `transpose` (`wide`: planes 16 ..< 32
    /// hold its bits 16 and up, `laneSums`' rule), into `sink`. A whole group's signs come from
    /// one pass over the counter's 16 words (lanes j and 16 + j from word j), shifted into two half
    /// words lane 15 and 31 first (one shift-or each), then flipped by one word of the group's flips;
    /// |A| <= 255 n < 2^24 (n < 2^16), so `ThresholdSign.bit(small:threshold:flip:)`.
    /// The closure-built sink of `emit` took about 25 instructions a row on the Cortex-M4, about 16 as one loop over the rows, and with its factors constant and the flips taken a word at once about 9.5 (item 6).
    @_noAllocation @inline(__always)
    static func emitSums(group g: Int, m: Int, planes: UnsafePointer<UInt32>, wide: Bool = false,
                         rowCounts: UnsafePointer<UInt16>, k0: Int32, kc: Int32, ks: Int32, sink: AccumulatorSink) {
        let first = g &<< 5
        let lanes = min(32, m &- first)
        let counts = rowCounts + first
        // The sum of lane j (< 16, `high` false) or 16 + j (`high`) and its accumulator.
        @inline(__always) func value(_ j: Int, high: Bool) -> Int32 {
            let v = planes[j], h = wide ? planes[16 &+ j] : 0
            let s = Int32(truncatingIfNeeded: high ? v >> 16 | h & 0xFFFF_0000 : v & 0xFFFF | h &<< 16)
            return k0 &+ kc &* Int32(truncatingIfNeeded: counts[high ? 16 &+ j : j]) &+ ks &* s
        }
        switch sink {
        case let .accumulators(out):
            for k in 0..<lanes { out[first &+ k] = value(k & 15, high: k >= 16) }
        case let .signs(thresholds, flips, _, _, bits):
            let t = thresholds + first, f = flips + first
            // Bit j of `low` (of `high`): lane j (16 + j) below its threshold, flipped: a whole group's
            // flips after, a word at once; a last group's row by row.
            var low: UInt32 = 0, high: UInt32 = 0
            var j = 15
            let flipped: UInt32
            if lanes == 32 && flipsByWord {
                while j >= 0 {
                    low = low &<< 1 | ThresholdSign.bit(small: value(j, high: false), threshold: t[j])
                    high = high &<< 1 | ThresholdSign.bit(small: value(j, high: true), threshold: t[16 &+ j])
                    j &-= 1
                }
                flipped = groupFlips(f)
            } else {
                while j >= 0 {
                    if 16 &+ j < lanes {
                        high = high &<< 1 | ThresholdSign.bit(small: value(j, high: true), threshold: t[16 &+ j], flip: f[16 &+ j])
                    }
                    if j < lanes { low = low &<< 1 | ThresholdSign.bit(small: value(j, high: false), threshold: t[j], flip: f[j]) }
                    j &-= 1
                }
                flipped = 0
            }
            UnsafeMutableRawPointer(bits).storeBytes(of: (high &<< 16 | low) ^ flipped, toByteOffset: 4 &* g, as: UInt32.self)
        }
    }
}
