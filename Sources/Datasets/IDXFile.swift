/// The IDX file format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
///
///     u8  0, 0              magic, first two bytes
///     u8  type              0x08 = unsigned byte (the only type BitShield reads or writes)
///     u8  ndims             number of dimensions
///     u32 dims[ndims]       big-endian sizes
///     u8  data[prod(dims)]  row-major
///
/// Images are `idx3` (count, rows, cols), labels `idx1` (count).
public struct IDXFile: Equatable, Sendable {
    /// The dimensions, outermost first.
    public var dimensions: [Int]
    /// The unsigned-byte payload, row-major.
    public var bytes: [UInt8]

    /// A file with the given dimensions and payload (`bytes.count` must be their product).
    public init(dimensions: [Int], bytes: [UInt8]) {
        precondition(dimensions.reduce(1, *) == bytes.count, "IDX payload does not match its dimensions")
        self.dimensions = dimensions
        self.bytes = bytes
    }

    /// The magic number of an unsigned-byte IDX file with `dims` dimensions (0x801 labels, 0x803 images).
    public static func magic(dims: Int) -> UInt32 { 0x0800 | UInt32(dims) }

    /// Parses an uncompressed IDX file, requiring `expectedDims` dimensions.
    /// - Throws: `badMagic`, `badShape`, `truncated` or `trailingBytes`, with the numbers.
    public static func parse(_ raw: [UInt8], expectedDims: Int, path: String) throws(DatasetError) -> IDXFile {
        let expectedMagic = magic(dims: expectedDims)
        guard raw.count >= 4 else {
            throw .truncated(path: path, expectedBytes: 4, actualBytes: raw.count)
        }
        let found = readBE32(raw, 0)
        guard found == expectedMagic else {
            throw .badMagic(path: path, found: found, expected: expectedMagic)
        }
        let headerBytes = 4 + 4 * expectedDims
        guard raw.count >= headerBytes else {
            throw .truncated(path: path, expectedBytes: headerBytes, actualBytes: raw.count)
        }
        var dims: [Int] = []
        var total = 1
        for d in 0..<expectedDims {
            let n = Int(readBE32(raw, 4 + 4 * d))
            dims.append(n)
            let (product, overflow) = total.multipliedReportingOverflow(by: n)
            guard n > 0, !overflow, product <= 1 << 34 else { throw .badShape(path: path, dimensions: dims) }
            total = product
        }
        let expected = headerBytes + total
        if raw.count < expected { throw .truncated(path: path, expectedBytes: expected, actualBytes: raw.count) }
        if raw.count > expected { throw .trailingBytes(path: path, expectedBytes: expected, actualBytes: raw.count) }
        return IDXFile(dimensions: dims, bytes: Array(raw[headerBytes...]))
    }

    /// The file's bytes, uncompressed, as `parse` reads them.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + 4 * dimensions.count + bytes.count)
        appendBE32(&out, IDXFile.magic(dims: dimensions.count))
        for d in dimensions { appendBE32(&out, UInt32(d)) }
        out.append(contentsOf: bytes)
        return out
    }
}

@inline(__always)
private func readBE32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

private func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
    out.append(UInt8(v >> 24)); out.append(UInt8((v >> 16) & 0xff))
    out.append(UInt8((v >> 8) & 0xff)); out.append(UInt8(v & 0xff))
}
