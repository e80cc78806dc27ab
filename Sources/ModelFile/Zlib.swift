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

    /// Inflates `data`, which must decompress to exactly `expectedBytes`.
    public static func decompress(_ data: [UInt8], expectedBytes: Int) throws(ModelFormatError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(expectedBytes, 1))
        var size = UInt(expectedBytes)
        let rc = out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { i in uncompress(o.baseAddress, &size, i.baseAddress, UInt(i.count)) }
        }
        switch rc {
        case Z_OK:
            guard Int(size) == expectedBytes else {
                throw .container("image decompresses to \(size) bytes, the header says \(expectedBytes)")
            }
            return Array(out[0..<expectedBytes])
        case Z_BUF_ERROR:
            throw .container("image decompresses to more than the \(expectedBytes) bytes the header says (or the stream is truncated)")
        default:
            throw .container("corrupt zlib stream (zlib error \(rc))")
        }
    }
}
