import Foundation

// The safetensors format (huggingface/safetensors, docs "Format"):
//   u64 LE   N             header length in bytes
//   u8[N]    header        UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}
//   bytes    data          tensors, offsets relative to the end of the header
// F32 tensors are written and loaded; other dtypes (a PyTorch state_dict's I64 num_batches_tracked,
// say) are validated like any tensor and listed in `skipped`. The reader checks every offset before it trusts it:
// header inside the file and under a cap, offsets ordered, inside the data, not overlapping, each
// span equal to its shape's byte size, and every data byte accounted for.

/// A tensor read from or written to a safetensors file.
public struct NamedArray: Equatable, Sendable {
    /// Tensor name.
    public var name: String
    /// Shape, outermost first.
    public var shape: [Int]
    /// Values, row-major.
    public var values: [Float]

    /// A tensor.
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// A parsed safetensors file: string metadata and F32 tensors.
public struct SafeTensorsFile: Sendable {
    /// The `__metadata__` map.
    public var metadata: [String: String]
    /// F32 tensors in file order.
    public var tensors: [NamedArray]
    /// Names of the valid tensors of other dtypes, which are not loaded.
    public var skipped: [String] = []

    /// Largest header accepted (the format's own limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// A file with metadata and tensors.
    public init(metadata: [String: String], tensors: [NamedArray]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor called `name`.
    public func tensor(_ name: String) -> NamedArray? { tensors.first { $0.name == name } }

    /// The file's bytes: deterministic (sorted JSON keys, tensors in the given order, header padded with
    /// spaces to a multiple of 8 so the data is aligned).
    public func encoded() -> [UInt8] {
        var entries: [String] = []
        var offset = 0
        var metaPairs: [String] = []
        for key in metadata.keys.sorted() {
            metaPairs.append("\(jsonString(key)):\(jsonString(metadata[key]!))")
        }
        entries.append("\"__metadata__\":{\(metaPairs.joined(separator: ","))}")
        for t in tensors {
            let bytes = t.values.count * 4
            entries.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for t in tensors {
            t.values.withUnsafeBytes { raw in
                // Float32 values are stored little-endian; this machine family is little-endian.
                out.append(contentsOf: raw)
            }
        }
        return out
    }

    /// Parses and validates a file's bytes; `path` names it in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws(TrainerError) -> SafeTensorsFile {
        var result: Result<SafeTensorsFile, TrainerError>!
        bytes.withUnsafeBytes { raw in
            result = Result { () throws(TrainerError) in try parse(raw, path: path) }
        }
        return try result.get()
    }

    /// Parses and validates a file's bytes in place; only the F32 tensors whose names pass `include`
    /// are copied out (a converter skips the optimizer state, say).
    public static func parse(_ bytes: UnsafeRawBufferPointer, path: String,
                             include: (String) -> Bool = { _ in true }) throws(TrainerError) -> SafeTensorsFile {
        func fail(_ reason: String) -> TrainerError { .badCheckpoint(path: path, reason: reason) }
        guard bytes.count >= 8 else { throw fail("file has \(bytes.count) bytes, fewer than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderBytes) else { throw fail("header length \(n) exceeds the cap of \(maxHeaderBytes)") }
        let headerLength = Int(n)
        guard 8 + headerLength <= bytes.count else {
            throw fail("header ends at \(8 + headerLength), file has \(bytes.count) bytes")
        }
        let dataStart = 8 + headerLength
        let dataLength = bytes.count - dataStart
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])))
        } catch {
            throw fail("header is not valid JSON (\(error.localizedDescription))")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var metadata: [String: String] = [:]
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: Any] else { throw fail("__metadata__ is not an object") }
            for (k, v) in m {
                guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                metadata[k] = s
            }
        }
        struct Span { let name: String; let shape: [Int]; let begin: Int; let end: Int; let f32: Bool }
        var spans: [Span] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any] else { throw fail("entry '\(name)' is not an object") }
            guard let dtype = entry["dtype"] as? String else { throw fail("tensor '\(name)' has no dtype") }
            let sizes = ["F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]
            guard let elementBytes = sizes[dtype] else {
                throw fail("tensor '\(name)' has dtype \(dtype), not one of \(sizes.keys.sorted().joined(separator: ", "))")
            }
            guard let shapeAny = entry["shape"] as? [Any],
                  let offsetsAny = entry["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw fail("tensor '\(name)' lacks shape or a two-number data_offsets")
            }
            var shape: [Int] = []
            var count = 1
            for d in shapeAny {
                guard let di = (d as? NSNumber)?.intValue, di >= 0 else { throw fail("tensor '\(name)' has a bad dimension in \(shapeAny)") }
                let (p, o) = count.multipliedReportingOverflow(by: di)
                guard !o, p <= dataLength + 1 else { throw fail("tensor '\(name)' shape \(shapeAny) is larger than the file's \(dataLength) data bytes") }
                shape.append(di)
                count = p
            }
            guard let begin = (offsetsAny[0] as? NSNumber)?.intValue, let end = (offsetsAny[1] as? NSNumber)?.intValue,
                  begin >= 0, end >= begin else {
                throw fail("tensor '\(name)' has bad data_offsets \(offsetsAny)")
            }
            guard end <= dataLength else {
                throw fail("tensor '\(name)' ends at data offset \(end), data has \(dataLength) bytes")
            }
            guard end - begin == count * elementBytes else {
                throw fail("tensor '\(name)' spans \(end - begin) bytes, its shape \(shape) needs \(count * elementBytes)")
            }
            spans.append(Span(name: name, shape: shape, begin: begin, end: end, f32: dtype == "F32"))
        }
        spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var cursor = 0
        for s in spans {
            guard s.begin == cursor else {
                throw s.begin < cursor
                    ? fail("tensor '\(s.name)' at \(s.begin) overlaps the previous tensor, which ends at \(cursor)")
                    : fail("data bytes \(cursor)..<\(s.begin) belong to no tensor")
            }
            cursor = s.end
        }
        guard cursor == dataLength else { throw fail("\(dataLength - cursor) trailing data bytes after the last tensor") }
        let tensors = spans.filter { $0.f32 && include($0.name) }.map { s -> NamedArray in
            let values = [Float](unsafeUninitializedCapacity: (s.end - s.begin) / 4) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + s.begin)..<(dataStart + s.end)]))
                count = (s.end - s.begin) / 4
            }
            return NamedArray(name: s.name, shape: s.shape, values: values)
        }
        var file = SafeTensorsFile(metadata: metadata, tensors: tensors)
        file.skipped = spans.filter { !$0.f32 }.map(\.name)
        return file
    }

    /// Reads and validates the file at `path`, memory-mapped, copying out only the tensors `include` accepts.
    public static func read(path: String, include: (String) -> Bool = { _ in true }) throws(TrainerError) -> SafeTensorsFile {
        try withMappedFile(path) { (raw) throws(TrainerError) in try parse(raw, path: path, include: include) }
    }

    /// Calls `body` with the bytes of the file at `path`, memory-mapped (read-only, no copy).
    public static func withMappedFile<T>(_ path: String, _ body: (UnsafeRawBufferPointer) throws(TrainerError) -> T) throws(TrainerError) -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw .io(path: path, reason: "cannot read file (\(error.localizedDescription))")
        }
        var result: Result<T, TrainerError>!
        data.withUnsafeBytes { raw in result = Result { () throws(TrainerError) in try body(raw) } }
        return try result.get()
    }
}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 {
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out + "\""
}
