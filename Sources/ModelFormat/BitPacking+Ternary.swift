// The ternary rule, in one place (spec/FORMAT.md, "Ternary `dense` weights", format version 5): a weight
// w in {-1, 0, +1} is two ±1 values, the upper plane u and the lower plane v, with w = (u + v) / 2:
//
//     w = +1: u = +1, v = +1  (bits 0, 0)     w = -1: u = -1, v = -1  (bits 1, 1)     w = 0: u = +1, v = -1  (bits 0, 1)
//
// so every −1 of u is a −1 of v (the readers' check: u AND NOT v = 0), a weight is non-zero where the planes
// agree (NOT (u XOR v)), and its sign is u's. Each plane is packed by the project's rule (BitPacking.swift)
// and then laid out like any ±1 tensor (bits, bits8, columns32).

extension BitPacking {
    /// The two ±1 planes of ternary `weights` (each -1, 0 or +1; a value's sign picks the non-zero ones, and
    /// exactly 0 is the zero weight): `upper` = +1 where w is 0, `lower` = -1 where w is 0, both w elsewhere.
    public static func ternaryPlanes(_ weights: [Float]) -> (upper: [Float], lower: [Float]) {
        (weights.map { $0 == 0 ? 1 : ($0 > 0 ? 1 : -1) }, weights.map { $0 == 0 ? -1 : ($0 > 0 ? 1 : -1) })
    }

    /// The ternary weight (-1, 0 or +1) of an upper-plane bit and a lower-plane bit (1 = -1).
    @inlinable public static func ternary(upper: UInt64, lower: UInt64) -> Int {
        Int(lower &+ upper == 2 ? -1 : lower == upper ? 1 : 0)
    }

    /// The non-zero weights of a packed word pair: set where the planes agree (and within the row: padding
    /// bits are 0 in both planes, so mask them with `lastWordMask`).
    @inlinable public static func nonZero(upper: UInt64, lower: UInt64) -> UInt64 { ~(upper ^ lower) }
}

extension ModelImage {
    /// The rows of packed ±1 tensor `i` (`bits`, `bits8`, `columns32` or `columns32s`) of `n` values each, read in
    /// place through the one view every layout shares. Without validation (a validated image's weight tensor).
    public func packedRows(_ i: Int, n: Int) -> PackedRows {
        let base = data(i).assumingMemoryBound(to: UInt64.self)
        return isColumns(i) ? PackedRows(columns: base, n: n) : PackedRows(base, words: BitPacking.words(n), blocked: isBlocked(i))
    }

    /// The zero weights of a ternary dense layer of `rows` rows of `n` values with planes `upper` and `lower`:
    /// where u = +1 and v = −1.
    public func zeroWeights(upper: Int, lower: Int, rows: Int, n: Int) -> Int {
        let u = packedRows(upper, n: n), v = packedRows(lower, n: n)
        var zeros = 0
        for r in 0..<rows { for j in 0..<BitPacking.words(n) { zeros += (v.word(r, j) & ~u.word(r, j)).nonzeroBitCount } }
        return zeros
    }
}
