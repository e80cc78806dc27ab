/// The check of one lane group of a `columns32` tensor (spec/FORMAT.md, "The `columns32` weight
/// layout"): its `n` words have no bit set past lane `lanes`, and each lane's count of set bits equals
/// the u16 count stored for its row. Every word is read once. Lane L is counted in three widening sums:
/// nibble L >> 2 of `a[L & 3]` for up to 15 columns, then a byte for up to 255, then a halfword (a row
/// holds at most 65,535 values). Non-throwing, with no error buffer in its frame: ModelImage forms the
/// error from the fault it returns (init's stack is RAM on a device).
enum ColumnCounts {
    /// The first fault of a group: `column` >= 0 a word with a bit set past the last lane; else `lane`
    /// >= 0 a row whose stored count (`stored`) is not its count of set bits (`counted`); both -1 when
    /// the group is well-formed.
    struct Fault {
        var column = -1
        var lane = -1
        var stored = 0
        var counted = 0
    }

    /// Checks the group whose words start at byte `at` and whose rows' u16 counts start at `countsAt`.
    static func check(_ r: RawBytes, at: Int, n: Int, lanes: Int, countsAt: Int) -> Fault {
        let spare: UInt32 = lanes >= 32 ? 0 : ~0 << UInt32(lanes)
        let nibble: UInt32 = 0x1111_1111, byte: UInt32 = 0x0F0F_0F0F, half: UInt32 = 0x00FF_00FF
        // halves[k + 4 s]: lanes k + d and k + d + 16 in its low and high halfwords, d = 0, 8, 4, 12 for s = 0...3.
        var halves = InlineArray<16, UInt32>(repeating: 0)
        var column = 0
        var p = at
        while column < n {
            var e0: UInt32 = 0, e1: UInt32 = 0, e2: UInt32 = 0, e3: UInt32 = 0   // lanes k, k + 8, k + 16, k + 24
            var o0: UInt32 = 0, o1: UInt32 = 0, o2: UInt32 = 0, o3: UInt32 = 0   // lanes k + 4, k + 12, k + 20, k + 28
            let blockEnd = min(n, column + 255)
            while column < blockEnd {
                let chunkStart = column
                let chunkEnd = min(blockEnd, column + 15)
                var a0: UInt32 = 0, a1: UInt32 = 0, a2: UInt32 = 0, a3: UInt32 = 0
                var any: UInt32 = 0
                while column < chunkEnd {
                    let w = r.u32(p)
                    any |= w
                    a0 &+= w & nibble
                    a1 &+= (w >> 1) & nibble
                    a2 &+= (w >> 2) & nibble
                    a3 &+= (w >> 3) & nibble
                    p += 4
                    column += 1
                }
                if any & spare != 0 {   // rare: the chunk's first word with such a bit
                    var c = chunkStart
                    while r.u32(at + 4 * c) & spare == 0 { c += 1 }
                    return Fault(column: c)
                }
                e0 &+= a0 & byte; o0 &+= (a0 >> 4) & byte
                e1 &+= a1 & byte; o1 &+= (a1 >> 4) & byte
                e2 &+= a2 & byte; o2 &+= (a2 >> 4) & byte
                e3 &+= a3 & byte; o3 &+= (a3 >> 4) & byte
            }
            halves[0] &+= e0 & half; halves[4] &+= (e0 >> 8) & half; halves[8] &+= o0 & half; halves[12] &+= (o0 >> 8) & half
            halves[1] &+= e1 & half; halves[5] &+= (e1 >> 8) & half; halves[9] &+= o1 & half; halves[13] &+= (o1 >> 8) & half
            halves[2] &+= e2 & half; halves[6] &+= (e2 >> 8) & half; halves[10] &+= o2 & half; halves[14] &+= (o2 >> 8) & half
            halves[3] &+= e3 & half; halves[7] &+= (e3 >> 8) & half; halves[11] &+= o3 & half; halves[15] &+= (o3 >> 8) & half
        }
        for lane in 0..<lanes {
            // Lane L = k + 4 b with k = L & 3; b = L >> 2 (0...7) sits in halves[k + 4 s] with s from b's
            // low two bits (0, 2, 1, 3 for b & 3 = 0, 1, 2, 3), the high halfword when b >= 4.
            let b = lane >> 2
            let s = (b & 1) << 1 | (b & 2) >> 1
            let counted = Int((halves[(lane & 3) + 4 * s] >> UInt32(b >= 4 ? 16 : 0)) & 0xFFFF)
            let stored = Int(r.u16(countsAt + 2 * lane))
            if stored != counted { return Fault(lane: lane, stored: stored, counted: counted) }
        }
        return Fault()
    }
}
