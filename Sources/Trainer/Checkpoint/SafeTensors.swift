import Foundation

// The safetensors format (huggingface/safetensors, docs "Format"):
//   u64 LE   N             header length in bytes
//   u8[N]    header        UTF-8 JSON: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}
//   bytes    data          tensors, offsets relative to the end of the header
// F32 tensors are written and loaded; other dtypes (a PyTorch state_dict's I64 num_batches_tracked,
// say) are validated like any tensor and listed in `skipped`. The reader checks every offset before it trusts it:
// header inside the file and under a cap, offsets ordered, inside the data, not overlapping, each
// span equal to its shape's byte size, and every data byte accounted for. The JSON header is parsed
// schema-first (SafeTensors+Header.swift): strict RFC 8259, exact integers only (a 4.5 offset or
// dimension is refused, not truncated), no duplicate tensor names or keys, string metadata values.

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
    public var tensors: [NamedArray] { didSet { index = SafeTensorsFile.firstIndices(tensors) } }
    /// Names of the valid tensors of other dtypes, which are not loaded.
    public var skipped: [String] = []
    /// The dtype of each tensor in `skipped`, in the same order (so a reader can say what it found).
    public var skippedDTypes: [String] = []
    /// Each name's first position in `tensors`: `tensor(_:)` is one hash lookup, not a scan (a header of
    /// 400,000 tiny entries made every lookup, and so a checkpoint's validation, linear in the file).
    private(set) var index: [String: Int]

    /// Largest header accepted (the format's own limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// A file with metadata and tensors.
    public init(metadata: [String: String], tensors: [NamedArray]) {
        self.metadata = metadata
        self.tensors = tensors
        index = SafeTensorsFile.firstIndices(tensors)
    }

    /// The tensor called `name` (the first, should a file built in memory hold two).
    public func tensor(_ name: String) -> NamedArray? { index[name].map { tensors[$0] } }

    /// Why `tensor(name)` is nil, for an error message: the tensor is stored with another dtype
    /// (only F32 is loaded), or it is absent.
    public func absence(of name: String) -> String {
        guard let i = skipped.firstIndex(of: name), i < skippedDTypes.count else { return "tensor '\(name)' is missing" }
        return "tensor '\(name)' is stored as \(skippedDTypes[i]); only F32 tensors are read"
    }

    /// Each name's first position in `tensors`.
    private static func firstIndices(_ tensors: [NamedArray]) -> [String: Int] {
        var index: [String: Int] = [:]
        index.reserveCapacity(tensors.count)
        for (i, t) in tensors.enumerated() where index[t.name] == nil { index[t.name] = i }
        return index
    }

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
        let (metadata, tensors, skipped) = try parts(bytes, dataStart: dataStart, include: include, fail: fail)
        // Built once the spans are freed (parts(...) returned), so the name index does not raise the peak.
        var file = SafeTensorsFile(metadata: metadata, tensors: tensors)
        file.skipped = skipped.map(\.name)
        file.skippedDTypes = skipped.map(\.dtype)
        return file
    }

    /// The header's metadata, the kept F32 tensors copied out in offset order, and the name and dtype of
    /// every tensor of another dtype, after every span is checked against the data section.
    private static func parts(_ bytes: UnsafeRawBufferPointer, dataStart: Int, include: (String) -> Bool,
                              fail: (String) -> TrainerError) throws(TrainerError)
        -> (metadata: [String: String], tensors: [NamedArray], skipped: [(name: String, dtype: String)]) {
        let dataLength = bytes.count - dataStart
        var header = try parseHeader(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart]), dataLength: dataLength,
                                     keep: include, fail: fail)
        header.spans.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        let spans = header.spans
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
        var tensors: [NamedArray] = []
        tensors.reserveCapacity(spans.reduce(0) { $0 + ($1.kept ? 1 : 0) })
        for s in spans where s.kept {
            let values = [Float](unsafeUninitializedCapacity: (s.end - s.begin) / 4) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: bytes[(dataStart + s.begin)..<(dataStart + s.end)]))
                count = (s.end - s.begin) / 4
            }
            tensors.append(NamedArray(name: s.name, shape: s.shape, values: values))
        }
        let skipped = spans.lazy.map { (name: $0.name, dtype: dtypeBytes[Int($0.dtype)].name) }.filter { $0.dtype != "F32" }
        return (header.metadata, tensors, Array(skipped))
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
