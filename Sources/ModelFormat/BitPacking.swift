// The one bit-packing rule of BitShield (spec/FORMAT.md, "Bit packing"):
//   a +/-1 value is one bit, bit 1 = -1 and bit 0 = +1; bits are packed along the innermost axis,
//   least significant bit first, into little-endian UInt64 words; each row is padded to a whole word
//   with 0 bits.
// Because activations and weights both pad with 0, padding bits never differ, and for a row of n values
//   dot(a, w) = n - 2 * popcount(a XOR w)
// with no correction for padding.
//
// The `bits8` layout (format version 2) keeps those rows and words but interleaves them in blocks of
// eight rows: word j of row r is at index ((r / 8) * words + j) * 8 + r % 8, and the rows are padded
// with all-zero rows to a multiple of eight. Eight consecutive words are then word j of eight rows,
// which a kernel loads as one vector and multiplies by one broadcast input word: eight outputs per
// vector, no horizontal sums (Inference/Kernels/BlockedDense.swift).
//
// The `columns32` layout (format version 3) stores dense weights [m, n] by columns, in lanes of 32
// rows: word (g, i), a little-endian UInt32 at index g * n + i, holds column i of rows 32 g ..< 32 g + 32,
// bit k for row 32 g + k (bit 1 = -1, as above); the lanes past row m are 0. After the
// laneGroups(m) * n words come the rows' counts of -1 weights, popcount(w_r), u16 each, then zero
// bytes to a multiple of four. A CPU without popcount then adds whole columns, 32 rows per word
// operation, for only the inputs that are set (Inference/Kernels/ColumnDense.swift).

/// Packing +/-1 rows into UInt64 words.
public enum BitPacking {
    /// Words for a row of `n` values.
    @inlinable public static func words(_ n: Int) -> Int { (n + 63) >> 6 }

    /// The bit of a value: 1 for negative (-1), 0 for >= 0 (+1; sign(0) = +1).
    @inlinable public static func bit(_ value: Float) -> UInt64 { value >= 0 ? 0 : 1 }

    /// Packs `rows` rows of `n` signs each (row-major) into `rows * words(n)` words.
    public static func pack(signs values: [Float], rows: Int, n: Int) -> [UInt64] {
        precondition(values.count == rows * n, "pack: \(values.count) values for \(rows) x \(n)")
        let w = words(n)
        var out = [UInt64](repeating: 0, count: rows * w)
        for r in 0..<rows {
            for i in 0..<n where bit(values[r * n + i]) == 1 {
                out[r * w + (i >> 6)] |= 1 << UInt64(i & 63)
            }
        }
        return out
    }

    /// The value (+1 or -1) at position `i` of a packed row starting at word `row`.
    @inlinable public static func value(_ words: UnsafePointer<UInt64>, _ i: Int) -> Int {
        (words[i >> 6] >> UInt64(i & 63)) & 1 == 1 ? -1 : 1
    }

    /// The mask of the valid bits of the last word of an `n`-value row (all ones when n is a multiple of 64).
    @inlinable public static func lastWordMask(_ n: Int) -> UInt64 {
        n & 63 == 0 ? ~0 : (1 << UInt64(n & 63)) - 1
    }

    /// Rows per block of the `bits8` layout.
    public static let blockRows = 8

    /// Rows of a `bits8` tensor of `rows` rows, padded to whole blocks.
    @inlinable public static func blockedRows(_ rows: Int) -> Int { (rows + 7) & ~7 }

    /// Index of word `j` of row `r` in a `bits8` tensor of `words` words per row.
    @inlinable public static func blockedIndex(row r: Int, word j: Int, words: Int) -> Int {
        ((r >> 3) * words + j) * 8 + (r & 7)
    }

    /// Interleaves `rows` rows of `words` words (the `bits` layout) into the `bits8` layout.
    public static func blocked(_ flat: [UInt64], rows: Int, words: Int) -> [UInt64] {
        precondition(flat.count == rows * words, "blocked: \(flat.count) words for \(rows) x \(words)")
        var out = [UInt64](repeating: 0, count: blockedRows(rows) * words)
        for r in 0..<rows {
            for j in 0..<words { out[blockedIndex(row: r, word: j, words: words)] = flat[r * words + j] }
        }
        return out
    }
}

extension BitPacking {
    /// Rows per lane group of the `columns32` layout.
    public static let laneRows = 32

    /// The most values a `columns32` row holds: kernels list columns and store row counts as u16.
    public static let maxColumns = 65535

    /// Lane groups of a `columns32` tensor of `rows` rows.
    @inlinable public static func laneGroups(_ rows: Int) -> Int { (rows + 31) >> 5 }

    /// Bytes of a `columns32` tensor of `rows` rows of `n` values: the words, then the u16 row counts
    /// padded to a multiple of four bytes.
    @inlinable public static func columnsBytes(rows: Int, n: Int) -> Int { 4 * laneGroups(rows) * n + 4 * ((rows + 1) >> 1) }

    /// The bounds of a `columns32s` tensor (ColumnBounds.swift) whose `columns32` bytes are `columns`
    /// (`rows` rows of `n` values), for the thresholds of the threshold_sign after it: per lane group,
    /// the set side's W words, then the clear side's; word j's bit k is bit j of the start of row 32g + k
    /// (two's complement, modulo 2^W), 0 for lanes past the last row.
    public static func columnBounds(_ columns: [UInt8], rows: Int, n: Int, thresholds: [Int32]) -> [UInt8] {
        precondition(thresholds.count == rows, "columnBounds: \(thresholds.count) thresholds for \(rows) rows")
        let groups = laneGroups(rows), w = ColumnBounds.planes(n: n)
        let countsAt = 4 * groups * n
        var out: [UInt8] = []
        out.reserveCapacity(ColumnBounds.bytes(rows: rows, n: n))
        for g in 0..<groups {
            for side in 0..<2 {
                var words = [UInt32](repeating: 0, count: w)
                for k in 0..<min(32, rows - 32 * g) {
                    let r = 32 * g + k
                    let count = Int(columns[countsAt + 2 * r]) | Int(columns[countsAt + 2 * r + 1]) << 8
                    let start = ColumnBounds.start(threshold: thresholds[r], count: count, n: n, side: side)
                    for j in 0..<w where (start >> j) & 1 == 1 { words[j] |= 1 << UInt32(k) }
                }
                for v in words { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
            }
        }
        return out
    }

    /// The `columns32` tensor bytes of `rows` rows of `n` values packed by `pack` (the `bits` layout).
    public static func columns(_ flat: [UInt64], rows: Int, n: Int) -> [UInt8] {
        let w = words(n)
        precondition(flat.count == rows * w, "columns: \(flat.count) words for \(rows) x \(n)")
        precondition(n <= maxColumns, "columns: \(n) values a row, columns32 holds at most \(maxColumns)")
        var lanes = [UInt32](repeating: 0, count: laneGroups(rows) * n)
        var counts = [Int](repeating: 0, count: rows)
        for r in 0..<rows {
            for i in 0..<n where (flat[r * w + (i >> 6)] >> UInt64(i & 63)) & 1 == 1 {
                lanes[(r >> 5) * n + i] |= 1 << UInt32(r & 31)
                counts[r] += 1
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(columnsBytes(rows: rows, n: n))
        for v in lanes { for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
        for c in counts { out.append(UInt8(truncatingIfNeeded: c)); out.append(UInt8(truncatingIfNeeded: c >> 8)) }
        while out.count % 4 != 0 { out.append(0) }
        return out
    }
}

/// Packed +/-1 rows in any of the three layouts, read one word or value at a time (the reference
/// kernels' view).
public struct PackedRows {
    /// How the rows are stored.
    public enum Layout: Sendable { case rows, blocked8, columns32 }
    /// The first word.
    public let base: UnsafePointer<UInt64>
    /// Words per row (64-bit).
    public let words: Int
    /// The storage layout.
    public let layout: Layout
    /// Values per row.
    public let n: Int

    /// Rows of `words` words at `base`, in the `bits8` layout when `blocked`, else `bits`.
    @inlinable public init(_ base: UnsafePointer<UInt64>, words: Int, blocked: Bool) {
        self.base = base
        self.words = words
        self.layout = blocked ? .blocked8 : .rows
        self.n = 64 * words
    }

    /// Rows of `n` values at `base` in the `columns32` layout.
    @inlinable public init(columns base: UnsafePointer<UInt64>, n: Int) {
        self.base = base
        self.words = BitPacking.words(n)
        self.layout = .columns32
        self.n = n
    }

    /// Word `j` of row `r` (the bits past the row's values are 0).
    @inlinable public func word(_ r: Int, _ j: Int) -> UInt64 {
        switch layout {
        case .rows: return base[r * words + j]
        case .blocked8: return base[BitPacking.blockedIndex(row: r, word: j, words: words)]
        case .columns32:
            var v: UInt64 = 0
            for i in (64 * j)..<min(n, 64 * j + 64) where bit(r, i) == 1 { v |= 1 << UInt64(i & 63) }
            return v
        }
    }

    /// Bit `i` of row `r` (1 = -1).
    @inlinable func bit(_ r: Int, _ i: Int) -> UInt32 {
        switch layout {
        case .columns32:
            let lanes = UnsafeRawPointer(base).assumingMemoryBound(to: UInt32.self)
            return (UInt32(littleEndian: lanes[(r >> 5) * n + i]) >> UInt32(r & 31)) & 1
        default:
            return UInt32(truncatingIfNeeded: word(r, i >> 6) >> UInt64(i & 63)) & 1
        }
    }

    /// The value (+1 or -1) at position `i` of row `r`.
    @inlinable public func value(_ r: Int, _ i: Int) -> Int {
        bit(r, i) == 1 ? -1 : 1
    }
}
