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

/// Packed +/-1 rows in either layout, read one word or value at a time (the reference kernels' view).
public struct PackedRows {
    /// The first word.
    public let base: UnsafePointer<UInt64>
    /// Words per row.
    public let words: Int
    /// `bits8` (true) or `bits` (false).
    public let blocked: Bool

    /// Rows of `words` words at `base`, in the `bits8` layout when `blocked`.
    @inlinable public init(_ base: UnsafePointer<UInt64>, words: Int, blocked: Bool) {
        self.base = base
        self.words = words
        self.blocked = blocked
    }

    /// Word `j` of row `r`.
    @inlinable public func word(_ r: Int, _ j: Int) -> UInt64 {
        base[blocked ? BitPacking.blockedIndex(row: r, word: j, words: words) : r * words + j]
    }

    /// The value (+1 or -1) at position `i` of row `r`.
    @inlinable public func value(_ r: Int, _ i: Int) -> Int {
        (word(r, i >> 6) >> UInt64(i & 63)) & 1 == 1 ? -1 : 1
    }
}
