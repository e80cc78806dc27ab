// The one bit-packing rule of BitShield (spec/FORMAT.md, "Bit packing"):
//   a +/-1 value is one bit, bit 1 = -1 and bit 0 = +1; bits are packed along the innermost axis,
//   least significant bit first, into little-endian UInt64 words; each row is padded to a whole word
//   with 0 bits.
// Because activations and weights both pad with 0, padding bits never differ, and for a row of n values
//   dot(a, w) = n - 2 * popcount(a XOR w)
// with no correction for padding.

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
}
