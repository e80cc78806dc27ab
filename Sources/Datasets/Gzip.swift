import CZlib

/// Gzip decompression through zlib, for `.gz` IDX files.
public enum Gzip {
    /// True when `bytes` starts with the gzip magic 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// Inflates a whole gzip stream. `path` only names the file in errors.
    /// - Throws: `DatasetError.corruptGzip` on a bad or truncated stream.
    public static func decompress(_ input: [UInt8], path: String) throws(DatasetError) -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: zlib window of 32 KiB, expect a gzip header.
        var rc = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .corruptGzip(path: path, reason: "inflateInit2 returned \(rc)") }
        defer { inflateEnd(&stream) }

        var output = [UInt8]()
        output.reserveCapacity(input.count * 4)
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var input = input
        let total = input.count
        rc = input.withUnsafeMutableBufferPointer { inp -> Int32 in
            stream.next_in = inp.baseAddress
            stream.avail_in = UInt32(total)
            var status: Int32 = Z_OK
            while status != Z_STREAM_END {
                status = buffer.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.next_out = out.baseAddress
                    stream.avail_out = UInt32(chunk)
                    let s = inflate(&stream, Z_NO_FLUSH)
                    output.append(contentsOf: out[0..<(chunk - Int(stream.avail_out))])
                    return s
                }
                if status == Z_STREAM_END { break }
                if status != Z_OK { return status }
                if stream.avail_in == 0 && stream.avail_out != 0 { return Z_BUF_ERROR }
            }
            return Z_STREAM_END
        }
        guard rc == Z_STREAM_END else {
            let reason = rc == Z_BUF_ERROR ? "stream ends early (truncated file)" : "inflate returned \(rc)"
            throw .corruptGzip(path: path, reason: reason)
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
