import CZlib
import ModelFormat

/// zlib's deflate/inflate and CRC-32, for the container.
public enum Zlib {
    /// CRC-32 (zlib's polynomial) of `data`.
    public static func crc32(_ data: [UInt8]) -> UInt32 {
        data.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
    }

    /// zlib-compresses `data` at level 9 (deterministic for the same zlib).
    public static func compress(_ data: [UInt8]) -> [UInt8] {
        var size = compressBound(UInt(data.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let rc = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in compress2(o.baseAddress, &size, i.baseAddress, UInt(i.count), 9) }
        }
        precondition(rc == Z_OK, "compress2 with a compressBound buffer returned \(rc)")
        return Array(out[0..<Int(size)])
    }

    /// Inflates `data`, which must be exactly one zlib stream (RFC 1950) that decompresses to exactly
    /// `expectedBytes`: a stream that ends early or late, a truncated stream, a preset dictionary and
    /// any byte after the stream's end (its Adler-32) are refused with the numbers. The output buffer
    /// is `expectedBytes` (checked by the caller against the container's cap) and never grows.
    public static func decompress(_ data: [UInt8], expectedBytes: Int) throws(ModelFormatError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(expectedBytes, 1))
        var stream = z_stream()
        guard inflateInit_(&stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .container("zlib could not start inflating (inflateInit failed)")
        }
        defer { inflateEnd(&stream) }
        // One call: the whole input and the whole output buffer are given (both are at most 64 MiB + a
        // little, so they fit zlib's 32-bit counts).
        let rc = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i -> Int32 in
                stream.next_in = UnsafeMutablePointer(mutating: i.baseAddress)
                stream.avail_in = UInt32(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = UInt32(expectedBytes)
                return inflate(&stream, Z_FINISH)
            }
        }
        let produced = Int(stream.total_out), consumed = Int(stream.total_in)
        switch rc {
        case Z_STREAM_END:
            guard produced == expectedBytes else {
                throw .container("image decompresses to \(produced) bytes, the header says \(expectedBytes)")
            }
            guard consumed == data.count else {
                throw .container("\(data.count - consumed) bytes after the end of the zlib stream (the stream ends at byte \(consumed) of the \(data.count) stored bytes)")
            }
            return Array(out[0..<expectedBytes])
        case Z_BUF_ERROR where stream.avail_out == 0:
            throw .container("image decompresses to more than the \(expectedBytes) bytes the header says")
        case Z_BUF_ERROR:
            throw .container("zlib stream is truncated: all \(data.count) stored bytes read, \(produced) of \(expectedBytes) image bytes produced, no end of stream")
        case Z_NEED_DICT:
            throw .container("zlib stream needs a preset dictionary (not allowed)")
        default:
            throw .container("corrupt zlib stream (zlib error \(rc)\(stream.msg.map { ": " + String(cString: $0) } ?? ""))")
        }
    }
}
