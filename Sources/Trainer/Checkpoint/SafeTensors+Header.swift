import JSONReader

// The safetensors header, parsed schema-first with the JSON pull reader: no document tree, so the
// memory a header costs is a small multiple of its own size (pinned in SafeTensorsTests) and the
// time is linear in it plus the sort of the tensors by offset.
//
// Memory, per top-level entry (at least 44 header bytes: `"a":{"dtype":"U8","shape":[],"data_offsets":[0,0]}`
// with its comma): one `Span` (48 bytes, the array reserved exactly after a counting pass), one slot of
// the duplicate-name set (16-byte `String` at a load factor of 3/4 to 3/8, so 21..43 bytes), the
// sort's scratch (at most one `Span` more), and for a kept F32 tensor its shape array (32 + 8 x rank
// bytes, rank at most `maxRank`) and `NamedArray` (32 bytes); names over 15 UTF-8 bytes add their
// own length plus 32. The name index of the kept tensors (SafeTensorsFile.tensor(_:), one slot per
// tensor, 21..43 bytes) is built after the spans are freed, so it does not raise the peak. Metadata is capped at `maxMetadataEntries` pairs, so a map of tiny pairs
// (a `Dictionary` costs ~85 bytes for an 8-byte `"k":"",`) cannot multiply the header either.

extension SafeTensorsFile {
    /// Most `__metadata__` pairs accepted (our checkpoints write a handful; PyTorch writes one).
    public static let maxMetadataEntries = 1024
    /// Highest tensor rank accepted (checkpoints hold rank 0...4).
    public static let maxRank = 8
    /// Largest single dimension accepted (a zero dimension elsewhere in the shape would otherwise let
    /// any size through the element-count check).
    public static let maxDimension = Int(Int32.max)

    /// Element sizes of the dtypes the format defines and we validate.
    static let dtypeBytes: [(name: String, bytes: Int)] = [
        ("BF16", 2), ("BOOL", 1), ("F16", 2), ("F32", 4), ("F64", 8), ("I16", 2), ("I32", 4), ("I64", 8), ("I8", 1), ("U8", 1),
    ]

    /// One tensor entry of the header, checked against the data section's length.
    struct Span {
        let name: String
        /// The shape, kept only for the F32 tensors that are copied out (empty otherwise).
        let shape: [Int]
        let begin: Int
        let end: Int
        /// Index of the dtype in `dtypeBytes`.
        let dtype: UInt8
        let kept: Bool
    }

    /// The header's contents: metadata and every tensor entry in file order.
    struct Header {
        var metadata: [String: String] = [:]
        var spans: [Span] = []
    }

    /// Parses the JSON header in `json` against a data section of `dataLength` bytes; `fail` builds the error.
    static func parseHeader(_ json: UnsafeRawBufferPointer, dataLength: Int, keep: (String) -> Bool,
                            fail: (String) -> TrainerError) throws(TrainerError) -> Header {
        // Each pass reports a JSON error with its position, and passes the header's own errors through.
        func pass(_ body: () throws -> Void) throws(TrainerError) {
            do { try body() } catch let e as JSONError {
                throw fail("header is not valid JSON (\(e), counting from the header's first byte, file byte 8)")
            } catch let e as TrainerError {
                throw e
            } catch {
                throw fail("\(error)")
            }
        }
        // Pass 1: check the whole document and count the entries, so pass 2 reserves exactly.
        var entries = 0
        try pass {
            var r = JSONReader(json)
            guard try r.next() == .beginObject else { throw fail("header is not a JSON object") }
            while case .key = try r.next() {
                entries += 1
                try r.skipValue()
            }
        }
        var header = Header()
        header.spans.reserveCapacity(entries)
        var names = Set<String>(minimumCapacity: entries)
        var sawMetadata = false
        var r = JSONReader(json)
        try pass {
            _ = try r.next()
            while case .key(let name)? = try r.next() {
                if name == "__metadata__" {
                    guard !sawMetadata else { throw fail("__metadata__ appears twice") }
                    sawMetadata = true
                    header.metadata = try parseMetadata(&r, fail: fail)
                    continue
                }
                guard names.insert(name).inserted else { throw fail("tensor '\(name)' appears twice") }
                header.spans.append(try parseEntry(&r, name: name, dataLength: dataLength, keep: keep, fail: fail))
            }
        }
        return header
    }

    /// `{"key": "string", ...}`: string values only, each key once, at most `maxMetadataEntries` pairs.
    private static func parseMetadata(_ r: inout JSONReader, fail: (String) -> TrainerError) throws -> [String: String] {
        guard try r.next() == .beginObject else { throw fail("__metadata__ is not an object") }
        var metadata: [String: String] = [:]
        while case .key(let key)? = try r.next() {
            guard metadata.count < maxMetadataEntries else {
                throw fail("__metadata__ has more than \(maxMetadataEntries) entries")
            }
            guard case .string(let value)? = try r.next() else {
                throw fail("__metadata__ value for '\(key)' is not a string")
            }
            guard metadata.updateValue(value, forKey: key) == nil else { throw fail("__metadata__ key '\(key)' appears twice") }
        }
        return metadata
    }

    /// `{"dtype": str, "shape": [int...], "data_offsets": [begin, end]}` (other keys are skipped), each
    /// number an exact non-negative integer, the span inside the data and equal to the shape's byte size.
    private static func parseEntry(_ r: inout JSONReader, name: String, dataLength: Int, keep: (String) -> Bool,
                                   fail: (String) -> TrainerError) throws -> Span {
        guard try r.next() == .beginObject else { throw fail("entry '\(name)' is not an object") }
        var dtype: String?
        var shape: [Int]?
        var count = 1
        var offsets: [Int]?
        while case .key(let key)? = try r.next() {
            switch key {
            case "dtype":
                guard dtype == nil else { throw fail("tensor '\(name)' has two dtype keys") }
                guard case .string(let s)? = try r.next() else { throw fail("tensor '\(name)' has a dtype that is not a string") }
                dtype = s
            case "shape":
                guard shape == nil else { throw fail("tensor '\(name)' has two shape keys") }
                guard try r.next() == .beginArray else { throw fail("tensor '\(name)' lacks shape or a two-number data_offsets") }
                var dims: [Int] = []
                while let token = try r.next(), token != .endArray {
                    guard dims.count < maxRank else { throw fail("tensor '\(name)' has more than \(maxRank) dimensions") }
                    guard case .number(let n) = token, let d = n.integer, d >= 0 else {
                        throw fail("tensor '\(name)' has a bad dimension \(show(token)) at index \(dims.count) of its shape (not a non-negative integer)")
                    }
                    dims.append(d)
                }
                // Judged whole, so that a message names every dimension (not the first ones only).
                if let i = dims.firstIndex(where: { $0 > maxDimension }) {
                    throw fail("tensor '\(name)' has dimension \(dims[i]) at index \(i) of its shape \(dims), above the cap of \(maxDimension)")
                }
                // Every running product is bounded (as when each dimension was judged as it came).
                for d in dims {
                    let (p, o) = count.multipliedReportingOverflow(by: d)
                    guard !o, p <= dataLength + 1 else {
                        throw fail("tensor '\(name)' shape \(dims) is larger than the file's \(dataLength) data bytes")
                    }
                    count = p
                }
                shape = dims
            case "data_offsets":
                guard offsets == nil else { throw fail("tensor '\(name)' has two data_offsets keys") }
                guard try r.next() == .beginArray else { throw fail("tensor '\(name)' lacks shape or a two-number data_offsets") }
                var values: [Int] = []
                while let token = try r.next(), token != .endArray {
                    guard values.count < 2 else { throw fail("tensor '\(name)' has more than two data_offsets") }
                    guard case .number(let n) = token, let v = n.integer, v >= 0 else {
                        throw fail("tensor '\(name)' has a bad data offset \(show(token)) (not a non-negative integer)")
                    }
                    values.append(v)
                }
                guard values.count == 2 else { throw fail("tensor '\(name)' lacks shape or a two-number data_offsets") }
                offsets = values
            default:
                try r.skipValue()
            }
        }
        guard let dtype else { throw fail("tensor '\(name)' has no dtype") }
        guard let dtypeIndex = dtypeBytes.firstIndex(where: { $0.name == dtype }) else {
            throw fail("tensor '\(name)' has dtype \(dtype), not one of \(dtypeBytes.map(\.name).joined(separator: ", "))")
        }
        let elementBytes = dtypeBytes[dtypeIndex].bytes
        guard let shape, let offsets else { throw fail("tensor '\(name)' lacks shape or a two-number data_offsets") }
        let (begin, end) = (offsets[0], offsets[1])
        guard end >= begin else { throw fail("tensor '\(name)' has bad data_offsets [\(begin), \(end)] (end before begin)") }
        guard end <= dataLength else { throw fail("tensor '\(name)' ends at data offset \(end), data has \(dataLength) bytes") }
        guard end - begin == count * elementBytes else {
            throw fail("tensor '\(name)' spans \(end - begin) bytes, its shape \(shape) needs \(count * elementBytes)")
        }
        let kept = dtype == "F32" && keep(name)
        return Span(name: name, shape: kept ? shape : [], begin: begin, end: end, dtype: UInt8(dtypeIndex), kept: kept)
    }

    /// A token as it would appear in the header, for error messages.
    private static func show(_ token: JSONToken) -> String {
        switch token {
        case .number(let n): return n.text
        case .string(let s): return jsonString(s)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .beginObject: return "an object"
        case .beginArray: return "an array"
        case .endObject, .endArray, .key: return "?"
        }
    }
}
