import CZlib

/// Gzip decompression through zlib, for `.gz` IDX files.
public enum Gzip {
    /// True when `bytes` starts with the gzip magic 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Inflates a whole gzip file: every member of a multi-member file (RFC 1952 2.2, `cat a.gz b.gz`),
    /// concatenated; bytes after the last member that do not start another one are refused, and so is
    /// output beyond `limit` bytes. `path` only names the file in errors.
    /// - Throws: `DatasetError.corruptGzip` on a bad, truncated or trailing-garbage stream, or past `limit`.
    public static func decompress(_ input: [UInt8], path: String, limit: Int = Int.max) throws(DatasetError) -> [UInt8] {
        let stream = try GzipStream(input, path: path)
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, input.count * 4, 1 << 26))
        // One byte past the limit is asked for, so output beyond it is seen.
        while try stream.read(min(1 << 22, limit - output.count) + 1, into: &output) > 0 {
            guard output.count <= limit else {
                throw .corruptGzip(path: path, reason: "inflates to more than the limit of \(limit) bytes")
            }
        }
        return output
    }

    /// Compresses `input` into a gzip stream (zlib level 6), for writing `.gz` IDX files.
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        let rc = deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                               Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK, "deflateInit2 failed with \(rc)")
        defer { deflateEnd(&stream) }
        let bound = Int(deflateBound(&stream, UInt(input.count))) + 32
        var output = [UInt8](repeating: 0, count: bound)
        var input = input
        let produced = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                let status = deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate with a deflateBound-sized buffer returned \(status)")
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output[0..<produced])
    }
}

/// A gzip file inflated on demand, so a reader can take a header, check it, and then inflate exactly
/// what the header declares (a decompression bomb is never inflated past what the caller asks for).
/// Members are read one after another (RFC 1952 allows any number); after the last one, bytes that do
/// not start another member are refused with their offset and count.
public final class GzipStream {
    /// zlib keeps a pointer back to its z_stream, so it lives at a fixed address.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private let input: [UInt8]
    private let path: String
    /// Compressed bytes consumed so far.
    private var consumed = 0
    /// True between members: the previous one ended, the next (if any) has not started.
    private var betweenMembers = false
    /// True once inflateInit2 succeeded (inflateEnd is due).
    private var ready = false
    /// True once every member has been read and nothing follows.
    public private(set) var atEnd = false

    /// A stream over the compressed bytes of `path` (they must start with the gzip magic).
    public init(_ input: [UInt8], path: String) throws(DatasetError) {
        self.input = input
        self.path = path
        stream.initialize(to: z_stream())
        guard !input.isEmpty else { throw .corruptGzip(path: path, reason: "the file is empty") }
        // 15 + 16: zlib window of 32 KiB, expect a gzip header.
        let rc = inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .corruptGzip(path: path, reason: "inflateInit2 returned \(rc)") }
        ready = true
    }

    /// Size of the whole compressed input.
    public var compressedBytes: Int { input.count }

    /// The most the rest of the stream can inflate to: deflate codes at most 258 bytes in 2 bits
    /// (a 1,032:1 ratio, RFC 1951 3.2.5), counted over the unread input plus the 16 bytes zlib may
    /// already hold in its bit buffer and a pending 258-byte match.
    public var inflationBound: Int { (input.count - consumed + 16) * 1032 + 258 }

    // Runs after a throwing init too (the object is complete by then).
    deinit {
        if ready { inflateEnd(stream) }
        stream.deallocate()
    }

    /// Inflates into `buffer` until it is full or the last member ends; returns the bytes written.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(DatasetError) -> Int {
        var produced = 0
        while produced < buffer.count && !atEnd {
            if betweenMembers {
                let rest = input.count - consumed
                if rest == 0 { atEnd = true; break }
                guard rest >= 2, input[consumed] == 0x1f, input[consumed + 1] == 0x8b else {
                    throw .corruptGzip(path: path, reason: "\(rest) bytes of trailing garbage after the gzip stream, from byte \(consumed)")
                }
                inflateReset(stream)
                betweenMembers = false
            }
            let want = min(buffer.count - produced, Int(UInt32.max))
            var status: Int32 = Z_OK
            var got = 0
            var availIn: UInt32 = 0
            input.withUnsafeBufferPointer { inp in
                let avail = min(inp.count - consumed, Int(UInt32.max))
                stream.pointee.next_in = UnsafeMutablePointer(mutating: inp.baseAddress! + consumed)
                stream.pointee.avail_in = UInt32(avail)
                stream.pointee.next_out = (buffer.baseAddress! + produced).assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(want)
                status = inflate(stream, Z_NO_FLUSH)
                consumed += avail - Int(stream.pointee.avail_in)
                got = want - Int(stream.pointee.avail_out)
                availIn = stream.pointee.avail_in
            }
            produced += got
            switch status {
            case Z_STREAM_END:
                betweenMembers = true
            case Z_OK, Z_BUF_ERROR:
                // No output room left is fine; no input left inside a member is a truncated file.
                if got < want && availIn == 0 && consumed == input.count {
                    throw .corruptGzip(path: path, reason: "stream ends early (truncated file) at byte \(consumed)")
                }
                if got == 0 && status == Z_BUF_ERROR {
                    throw .corruptGzip(path: path, reason: "inflate made no progress at byte \(consumed)")
                }
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "inflate returned \(status)"
                throw .corruptGzip(path: path, reason: "\(message) near byte \(consumed)")
            }
        }
        return produced
    }

    /// Inflates up to `count` more bytes and appends them to `output`; returns how many it appended,
    /// fewer than `count` only at the end of the last member.
    @discardableResult
    public func read(_ count: Int, into output: inout [UInt8]) throws(DatasetError) -> Int {
        try readAppending(count, into: &output)
    }
}
