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
    /// - Throws: `badMagic`, `badShape`, `tooLarge`, `truncated` or `trailingBytes`, with the numbers.
    public static func parse(_ raw: [UInt8], expectedDims: Int, path: String) throws(DatasetError) -> IDXFile {
        let (dims, total) = try header(raw, expectedDims: expectedDims, path: path)
        let headerBytes = 4 + 4 * expectedDims
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

private func appendBE32(_ out: inout [UInt8], _ v: UInt32) {
    out.append(UInt8(v >> 24)); out.append(UInt8((v >> 16) & 0xff))
    out.append(UInt8((v >> 8) & 0xff)); out.append(UInt8(v & 0xff))
}
