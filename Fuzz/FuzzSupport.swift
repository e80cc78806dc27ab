// Shared by the reader fuzz targets (compiled into each of them by scripts/fuzz.sh): a cursor over
// the fuzzer's bytes, and the rule for a broken invariant.

/// Reads control bytes and values from the fuzzer's input; past the end it yields zeros.
struct FuzzBytes {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isEmpty: Bool { offset >= bytes.count }

    mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }

    /// The unread bytes.
    mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }

    /// A float drawn from a table of awkward values (signs, zeros, NaN, infinities, extremes), or a
    /// small integer.
    mutating func float() -> Float {
        let table: [Float] = [0, -0.0, 1, -1, 0.5, -0.5, .nan, .infinity, -.infinity, .leastNonzeroMagnitude,
                              .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e-30, 65_536, 1e20, -3]
        let b = byte()
        return b < 32 ? table[Int(b) % table.count] : Float(Int(b) - 144) / 16
    }
}

/// A reader accepted something it must not have, or two readers disagree: libFuzzer records the input.
func broken(_ what: String) -> Never {
    fatalError("fuzz invariant broken: \(what)")
}
