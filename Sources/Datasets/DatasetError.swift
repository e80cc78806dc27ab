/// Everything that can go wrong reading a data set. Each message names the file and the numbers.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The file is not there; `fetchHint` says which `make` target fetches it.
    case missingFile(path: String, fetchHint: String)
    /// The file could not be read (permissions, I/O error).
    case unreadable(path: String, reason: String)
    /// The gzip stream is corrupt or truncated.
    case corruptGzip(path: String, reason: String)
    /// The IDX magic number is wrong for the expected kind of file.
    case badMagic(path: String, found: UInt32, expected: UInt32)
    /// The magic is none of those of the accepted dimension counts (images: idx3 grey or idx4 colour).
    case badMagicOneOf(path: String, found: UInt32, expected: [UInt32])
    /// The file is shorter than its header says.
    case truncated(path: String, expectedBytes: Int, actualBytes: Int)
    /// The file is longer than its header says.
    case trailingBytes(path: String, expectedBytes: Int, actualBytes: Int)
    /// A dimension is zero or the product overflows.
    case badShape(path: String, dimensions: [Int])
    /// A header declares more payload than the reader accepts (`bytes` so far, over `limit`).
    case tooLarge(path: String, dimensions: [Int], bytes: Int, limit: Int)
    /// A gzip stream inflates to more than the header accounts for.
    case inflatesPastHeader(path: String, expectedBytes: Int)
    /// A whole-file read of something larger than its format allows (or a device such as /dev/zero).
    case fileTooLarge(path: String, what: String, bytes: Int?, limit: Int)
    /// A gzip stream too short to inflate to what its header declares (deflate's ratio is at most 1,032:1).
    case cannotInflate(path: String, expectedBytes: Int, compressedBytes: Int, maxBytes: Int)
    /// Images and labels disagree on how many items there are.
    case countMismatch(images: Int, labels: Int)
    /// A label is not below the number of classes.
    case labelOutOfRange(path: String, index: Int, label: Int, classes: Int)
    /// A file could not be written.
    case unwritable(path: String, reason: String)
    /// A data set name the tools do not know.
    case unknownDataset(name: String, known: [String])
    /// A tool's output path names the same file as one of its inputs (`FileIdentity.requireDistinct`).
    case outputIsInput(output: String, input: String)
    /// What a writer produced does not read back with its own reader; nothing was renamed into place.
    case invalidOutput(path: String, reason: String)
    /// Another process (a `holder`: "sweep", "training run") holds the flock on `lock`, which protects
    /// `target`; `pid` is the process id the lock file names, when it names one.
    case locked(target: String, lock: String, holder: String, pid: Int32?, reason: String?)

    public var description: String {
        switch self {
        case let .missingFile(path, hint):
            return "missing data file \(path) (\(hint))"
        case let .unreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .corruptGzip(path, reason):
            return "\(path): corrupt gzip stream: \(reason)"
        case let .badMagic(path, found, expected):
            return "\(path): bad IDX magic 0x\(hex(found)), expected 0x\(hex(expected))"
        case let .badMagicOneOf(path, found, expected):
            return "\(path): bad IDX magic 0x\(hex(found)), expected one of " + expected.map { "0x\(hex($0))" }.joined(separator: ", ")
        case let .truncated(path, expected, actual):
            return "\(path): truncated: header needs \(expected) bytes, file has \(actual)"
        case let .trailingBytes(path, expected, actual):
            return "\(path): \(actual - expected) trailing bytes: header accounts for \(expected), file has \(actual)"
        case let .badShape(path, dims):
            return "\(path): bad IDX dimensions \(dims)"
        case let .tooLarge(path, dims, bytes, limit):
            return "\(path): \(dims.isEmpty ? "" : "IDX dimensions \(dims) declare ")\(bytes) bytes, above the limit of \(limit)"
        case let .fileTooLarge(path, what, bytes, limit):
            return "\(path): \(bytes.map { "\($0) bytes" } ?? "more than \(limit) bytes"), above the \(limit) a \(what) may have"
        case let .inflatesPastHeader(path, expected):
            return "\(path): gzip stream inflates past the \(expected) bytes its IDX header accounts for (trailing data)"
        case let .cannotInflate(path, expected, compressed, max):
            return "\(path): truncated: header needs \(expected) bytes, but its \(compressed)-byte gzip stream inflates to at most \(max)"
        case let .countMismatch(images, labels):
            return "image/label count mismatch: \(images) images, \(labels) labels"
        case let .labelOutOfRange(path, index, label, classes):
            return "\(path): label \(label) at index \(index) is out of range 0..<\(classes)"
        case let .unwritable(path, reason):
            return "cannot write \(path): \(reason)"
        case let .unknownDataset(name, known):
            return "unknown data set '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .outputIsInput(output, input):
            return "output \(output) is the input \(input) (the same file): writing it would destroy the input; choose another output path"
        case let .invalidOutput(path, reason):
            return "not writing \(path): the output does not read back (\(reason)); nothing was written"
        case let .locked(target, lock, holder, pid, reason):
            return "another \(holder)\(pid.map { " (process \($0))" } ?? "") is writing \(target): it holds the lock \(lock)"
                + "\(reason.map { " (\($0))" } ?? ""); wait for it to finish"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
