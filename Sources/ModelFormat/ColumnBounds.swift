// The `columns32s` layout's threshold bounds (spec/FORMAT.md, "The `columns32s` weight layout", format
// version 4): the one statement of the rule, used by the writer (`BitPacking.columnsWithBounds`), the
// reader's check (`ModelImage.validateBounds`) and the Cortex-M kernel (`ColumnDenseKernel.bitsBounds`).
//
// A binary dense layer on n packed inputs x (|x| set) followed by threshold_sign (t_o, flip_o) outputs
// bit_o = [A_o < t_o] XOR flip_o with A_o = n - 2 pc_o, pc_o = popcount(x XOR w_o). In counts:
//   A_o < t_o  <=>  pc_o >= T_o,   T_o = floor((n - t_o) / 2) + 1, clamped to [0, n + 1] (pc_o is in
//   [0, n], so the clamp changes no answer).
// With c_o the row's count of -1 weights, S_o the column sum over the set inputs and Z_o over the clear
// ones (ColumnDense.swift: pc_o = |x| + c_o - 2 S_o = |x| - c_o + 2 Z_o):
//   set side:    pc_o >= T_o  <=>  V = (T_o - c_o - 1) - |x| + 2 S_o < 0
//   clear side:  pc_o >= T_o  <=>  V = -(c_o + T_o) + |x| + 2 Z_o >= 0
// So a lane group's counter starts at the row's stored start (T_o - c_o - 1, or -(c_o + T_o)) plus the
// image's -|x| (or +|x|) broadcast to all 32 lanes, adds the listed columns at weight 2, and the bit is
// its sign plane (set side) or that plane inverted (clear side): no transposition, no per-row compare.
// In W = 1 + bitWidth(n + ceil(n / 2)) planes of two's complement: the set side lists at most n / 2
// inputs, and V stays in [-(n + ceil(n / 2) + 1), n] on both sides (the bound's derivation in
// spec/FORMAT.md; ColumnBoundsTests checks every case for small n), so the sign plane is exact; the
// stored starts and |x| are kept modulo 2^W (a clear-side start reaches -(2n + 1)).

/// The `columns32s` bounds rule.
public enum ColumnBounds {
    /// Planes per side of a lane group for rows of `n` values: W = 1 + bitWidth(n + ceil(n / 2))
    /// (11 for n = 600, 18 for the largest row, 65,535).
    @inlinable public static func planes(n: Int) -> Int { 1 + (Int.bitWidth - (n + (n + 1) >> 1).leadingZeroBitCount) }

    /// Bytes of the bounds of `rows` rows of `n` values: two sides of `planes(n)` u32 words per lane group.
    @inlinable public static func bytes(rows: Int, n: Int) -> Int { 8 * BitPacking.laneGroups(rows) * planes(n: n) }

    /// The count bound T = floor((n - t) / 2) + 1 of threshold `t`, clamped to [0, n + 1]: 1 iff A < t
    /// is pc >= T. `t` is clamped to [-n, n + 2] first (every t past either end gives the same T), so
    /// the arithmetic fits 32 bits.
    @inlinable public static func countBound(threshold t: Int32, n: Int) -> Int {
        let c = Int(min(max(t, Int32(truncatingIfNeeded: -n)), Int32(truncatingIfNeeded: n + 2)))
        return min(max(((n - c) >> 1) + 1, 0), n + 1)
    }

    /// The stored start of a row with `count` -1 weights and threshold `t`: T - count - 1 on the set side
    /// (side 0), -(count + T) on the clear side (side 1).
    @inlinable public static func start(threshold t: Int32, count: Int, n: Int, side: Int) -> Int {
        let bound = countBound(threshold: t, n: n)
        return side == 0 ? bound - count - 1 : -(count + bound)
    }

    /// Which side a layer adds for an input with `set` of its `n` bits set: the set inputs (0) when
    /// they are at most half, else the clear ones (1).
    @inlinable public static func side(set: Int, n: Int) -> Int { 2 * set <= n ? 0 : 1 }
}
