import Foundation

extension IDXFile {
    /// Largest payload (product of the dimensions) accepted from an IDX file: 4 GiB, about 90 times
    /// MNIST's training images. A header declaring more is refused before anything is read or inflated.
    public static let maxPayloadBytes = 1 << 32

    /// Checks an IDX header: magic for `expectedDims`, then that many big-endian u32 dimensions, each
    /// at least 1, their product at most `maxPayloadBytes`. `prefix` needs only the header's bytes
    /// (4 + 4 x `expectedDims`; more is ignored); returns the dimensions and the payload size they declare.
    static func header(_ prefix: [UInt8], expectedDims: Int, path: String) throws(DatasetError) -> (dimensions: [Int], payloadBytes: Int) {
        func be32(_ at: Int) -> UInt32 {
            UInt32(prefix[at]) << 24 | UInt32(prefix[at + 1]) << 16 | UInt32(prefix[at + 2]) << 8 | UInt32(prefix[at + 3])
        }
        let expectedMagic = magic(dims: expectedDims)
        guard prefix.count >= 4 else { throw .truncated(path: path, expectedBytes: 4, actualBytes: prefix.count) }
        guard be32(0) == expectedMagic else { throw .badMagic(path: path, found: be32(0), expected: expectedMagic) }
        let headerBytes = 4 + 4 * expectedDims
        guard prefix.count >= headerBytes else {
            throw .truncated(path: path, expectedBytes: headerBytes, actualBytes: prefix.count)
        }
        // Every dimension is read before any is judged, so an error names the whole shape.
        let dims = (0..<expectedDims).map { Int(be32(4 + 4 * $0)) }
        guard dims.allSatisfy({ $0 > 0 }) else { throw .badShape(path: path, dimensions: dims) }
        var total = 1
        for n in dims {
            let (product, overflow) = total.multipliedReportingOverflow(by: n)
            total = product
            guard !overflow, total <= maxPayloadBytes else {
                throw .tooLarge(path: path, dimensions: dims, bytes: overflow ? Int.max : total, limit: maxPayloadBytes)
            }
        }
        return (dims, total)
    }
}

/// An IDX file (raw or gzip) opened with its header read and checked and its payload not yet read,
/// so a caller can compare two headers before it reads either body. The payload is then read (or
/// inflated) exactly to the size the header declares: a raw file's size is checked against the header
/// before its body is read; a gzip stream is never inflated past the payload plus one byte, which
/// if present is refused as trailing data.
public struct IDXReader {
    /// The file actually opened (`path` or `path.gz`).
    public let path: String
    /// The dimensions from the header, outermost first.
    public let dimensions: [Int]
    /// Payload bytes the header declares (the product of `dimensions`, at most `IDXFile.maxPayloadBytes`).
    public let payloadBytes: Int
    private let headerBytes: Int
    private let source: any ByteSource

    /// Opens `path` (or `path.gz` when `path` is missing), gzip or raw by its magic, and checks the
    /// header for `expectedDims` dimensions.
    public init(path requested: String, expectedDims: Int, fetchHint: String) throws(DatasetError) {
        try self.init(path: requested, acceptedDims: expectedDims...expectedDims, fetchHint: fetchHint)
    }

    /// Opens `path` as `init(path:expectedDims:fetchHint:)` does, taking any number of dimensions in
    /// `acceptedDims` (its magic says how many: images are idx3, grey, or idx4, N x H x W x C).
    public init(path requested: String, acceptedDims: ClosedRange<Int>, fetchHint: String) throws(DatasetError) {
        let fm = FileManager.default
        var path = requested
        if !fm.fileExists(atPath: requested) {
            guard fm.fileExists(atPath: requested + ".gz") else {
                throw .missingFile(path: requested.hasSuffix(".gz") ? requested : requested + "[.gz]", fetchHint: fetchHint)
            }
            path = requested + ".gz"
        }
        let file = try RawFile(path: path)
        var magic: [UInt8] = []
        try file.readAppending(2, into: &magic)
        file.offset = 0
        guard Gzip.isGzip(magic) else {
            try self.init(source: file, rawSize: file.size, path: path, acceptedDims: acceptedDims)
            return
        }
        // Compressed bytes are read whole (their size is the file's); a gzip larger than the largest
        // payload cannot be an IDX file we accept.
        guard file.size <= IDXFile.maxPayloadBytes else {
            throw .tooLarge(path: path, dimensions: [], bytes: file.size, limit: IDXFile.maxPayloadBytes)
        }
        var compressed: [UInt8] = []
        try file.readAppending(file.size, into: &compressed)
        try self.init(bytes: compressed, path: path, acceptedDims: acceptedDims)
    }

    /// An IDX file's bytes already in memory, gzip or raw by their magic; `path` names it in errors.
    public init(bytes: [UInt8], path: String, expectedDims: Int) throws(DatasetError) {
        try self.init(bytes: bytes, path: path, acceptedDims: expectedDims...expectedDims)
    }

    /// `init(bytes:path:expectedDims:)` taking any number of dimensions in `acceptedDims`.
    public init(bytes: [UInt8], path: String, acceptedDims: ClosedRange<Int>) throws(DatasetError) {
        if Gzip.isGzip(bytes) {
            try self.init(source: GzipStream(bytes, path: path), rawSize: nil, path: path, acceptedDims: acceptedDims)
        } else {
            try self.init(source: MemoryBytes(bytes), rawSize: bytes.count, path: path, acceptedDims: acceptedDims)
        }
    }

    /// Reads and checks the header from `source`: its magic's dimension count must be in `acceptedDims`
    /// (else the magic of the first is the one expected); a raw file's `rawSize` must match the header
    /// exactly, and a gzip stream must be able to inflate to what it declares.
    private init(source: any ByteSource, rawSize: Int?, path: String, acceptedDims: ClosedRange<Int>) throws(DatasetError) {
        self.source = source
        self.path = path
        var header: [UInt8] = []
        try source.readAppending(4, into: &header)
        // The magic's last byte counts the dimensions. With one count accepted, the header check below
        // refuses any other magic; with several, a magic of none of them is refused here, naming them all.
        let declared = header.count == 4 ? Int(header[3]) : acceptedDims.lowerBound
        let dims = acceptedDims.contains(declared) ? declared : acceptedDims.lowerBound
        let found = header.count == 4 ? header.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } : 0
        if header.count == 4, acceptedDims.count > 1, found != IDXFile.magic(dims: dims) {
            throw .badMagicOneOf(path: path, found: found, expected: acceptedDims.map { IDXFile.magic(dims: $0) })
        }
        headerBytes = 4 + 4 * dims
        try source.readAppending(headerBytes - 4, into: &header)
        (dimensions, payloadBytes) = try IDXFile.header(header, expectedDims: dims, path: path)
        let expected = headerBytes + payloadBytes
        if let size = rawSize {
            if size < expected { throw .truncated(path: path, expectedBytes: expected, actualBytes: size) }
            if size > expected { throw .trailingBytes(path: path, expectedBytes: expected, actualBytes: size) }
        } else if let gzip = source as? GzipStream, payloadBytes > gzip.inflationBound {
            throw .cannotInflate(path: path, expectedBytes: expected, compressedBytes: gzip.compressedBytes,
                                 maxBytes: headerBytes + gzip.inflationBound)
        }
    }

    /// Reads the payload: exactly `payloadBytes`, and nothing may follow it.
    public func readPayload() throws(DatasetError) -> [UInt8] {
        // One buffer of the declared size: at most IDXFile.maxPayloadBytes, and for gzip at most what the
        // compressed bytes can inflate to (checked when the header was read).
        var payload: [UInt8] = []
        let got = try source.readAppending(payloadBytes, into: &payload)
        let expected = headerBytes + payloadBytes
        guard got == payloadBytes else {
            throw .truncated(path: path, expectedBytes: expected, actualBytes: headerBytes + got)
        }
        var extra: [UInt8] = []
        guard try source.readAppending(1, into: &extra) == 0 else { throw .inflatesPastHeader(path: path, expectedBytes: expected) }
        return payload
    }
}

/// Bytes of a file read on demand: the file itself, or a gzip stream inflating it.
protocol ByteSource: AnyObject {
    /// Fills `buffer` from the current position; returns the bytes written, fewer only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int
}

extension ByteSource {
    /// Reads up to `count` more bytes into a fresh part at the end of `output`; returns how many.
    @discardableResult
    func readAppending(_ count: Int, into output: inout [UInt8]) throws(DatasetError) -> Int {
        var failure: DatasetError?
        var got = 0
        let part = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(DatasetError) { got = try read(into: UnsafeMutableRawBufferPointer(buffer)) } catch { failure = error }
            initialized = got
        }
        if let failure { throw failure }
        if output.isEmpty { output = part } else { output += part }
        return got
    }
}

extension GzipStream: ByteSource {}

/// Bytes already in memory.
final class MemoryBytes: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
        offset += n
        return n
    }
}

/// A regular file read with pread(2) from a cursor; its size taken from fstat(2) when it is opened (a
/// FIFO, device or directory is refused, naming its kind).
final class RawFile: ByteSource {
    let path: String
    let size: Int
    var offset = 0
    private let fd: Int32

    init(path: String) throws(DatasetError) {
        self.path = path
        // O_NONBLOCK: a FIFO with no writer is refused below instead of blocking the open (regular files
        // ignore the flag).
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .unreadable(path: path, reason: reason)
        }
        do { try FileKind.requireRegular(st, path: path) } catch { close(fd); throw error }
        size = Int(st.st_size)
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        let want = max(0, min(buffer.count, size - offset))
        var done = 0
        while done < want {
            let n = pread(fd, buffer.baseAddress! + done, want - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                throw .unreadable(path: path, reason: n < 0 ? String(cString: strerror(errno)) : "file shrank while being read")
            }
            done += n
        }
        offset += want
        return want
    }
}
