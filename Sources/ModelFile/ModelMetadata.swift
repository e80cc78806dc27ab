import JSONReader
import ModelFormat

// The `.bsm` metadata (spec/FORMAT.md, "The .bsm container", table of keys), read with the strict
// pull reader: one JSON object, no duplicate keys, every listed key of its type and range, unknown
// keys skipped. `check(sha256:image:)` then refuses values that contradict the header or the image.

/// The metadata keys a reader understands, typed. Every key but `format` may be absent.
public struct ModelMetadata: Equatable {
    /// Always "bitshield.model".
    public var format = ""
    /// SHA-256 of the image, 64 lower-case hex digits (must equal the container header's).
    public var imageSHA256: String?
    /// SHA-256 of the converted checkpoint, 64 lower-case hex digits.
    public var sourceCheckpointSHA256: String?
    /// "bitshield" or "binarynet-pytorch" (other strings kept for later writers).
    public var sourceFormat: String?
    /// The training data set's name.
    public var dataset: String?
    /// "binary", "xnor" or "float".
    public var precision: String?
    /// Input bits δ, 1...8 (must equal op 0's).
    public var inputBits: Int?
    /// The trainer's architecture summary.
    public var architecture: String?
    /// Test accuracy at export, in [0, 1].
    public var testAccuracy: Double?
    /// The writing tool and its version.
    public var toolVersion: String?
    /// The tool that wrote the file.
    public var createdBy: String?
    /// "bits8", "columns32" or "columns32s": the tensor type of every binary dense weight in the image
    /// ("columns32s": of those on packed bits with threshold_sign after them, the others `columns32`).
    public var denseLayout: String?
    /// The input normalization mean an import folded into the first BatchNorm (BinaryNet.pytorch; spec/PYTORCH.md).
    public var inputMean: Double?
    /// The input normalization std an import folded in.
    public var inputStd: Double?

    /// The value of `format`.
    public static let formatName = "bitshield.model"
    /// The values `precision` may take.
    public static let precisions = ["binary", "xnor", "float"]
    /// The values `dense_layout` may take, with the tensor type each names.
    public static let denseLayouts: [(name: String, type: TensorType)] = [("bits8", .bits8), ("columns32", .columns32), ("columns32s", .columns32s)]

    /// A key's JSON type, for the messages.
    enum Kind: String { case string = "a string", integer = "an integer", number = "a number" }

    /// Parses and checks `bytes` (the metadata as stored) on their own: the JSON, the types and the ranges.
    public static func parse(_ bytes: [UInt8]) throws(ModelFormatError) -> ModelMetadata {
        var result: Result<ModelMetadata, ModelFormatError> = .failure(.container(""))
        bytes.withUnsafeBytes { raw in
            do throws(ModelFormatError) { result = .success(try read(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    private static func read(_ raw: UnsafeRawBufferPointer) throws(ModelFormatError) -> ModelMetadata {
        var reader = JSONReader(raw)
        func next() throws(ModelFormatError) -> JSONToken? {
            do { return try reader.next() } catch { throw .container("metadata is not valid JSON: \(error.description)") }
        }
        guard let first = try next() else { throw .container("metadata is not valid JSON: it is empty") }
        guard first == .beginObject else { throw .container("metadata must be a JSON object, it is \(describe(first))") }
        var m = ModelMetadata()
        var seen = Set<String>()
        var hasFormat = false
        while true {
            guard let token = try next() else { throw .container("metadata is not valid JSON: it ends inside the object") }
            if token == .endObject { break }
            guard case let .key(key) = token else { throw .container("metadata is not valid JSON: \(describe(token)) where a key belongs") }
            guard seen.insert(key).inserted else { throw .badMetadata(key: key, found: "a second time", rule: "each key may appear once") }
            func string() throws(ModelFormatError) -> String {
                let value = try next()
                guard case let .string(s)? = value else { throw wrongType(key, .string, value) }
                return s
            }
            switch key {
            case "format":
                m.format = try string()
                hasFormat = true
            case "image_sha256": m.imageSHA256 = try string()
            case "source_checkpoint_sha256": m.sourceCheckpointSHA256 = try string()
            case "source_format": m.sourceFormat = try string()
            case "dataset": m.dataset = try string()
            case "precision": m.precision = try string()
            case "architecture": m.architecture = try string()
            case "tool_version": m.toolVersion = try string()
            case "created_by": m.createdBy = try string()
            case "dense_layout": m.denseLayout = try string()
            case "input_bits":
                let value = try next()
                guard case let .number(n)? = value, let bits = n.integer else { throw wrongType(key, .integer, value) }
                m.inputBits = bits
            case "test_accuracy", "input_mean", "input_std":
                let value = try next()
                guard case let .number(n)? = value, let number = n.double else { throw wrongType(key, .number, value) }
                switch key {
                case "test_accuracy": m.testAccuracy = number
                case "input_mean": m.inputMean = number
                default: m.inputStd = number
                }
            default:
                do { try reader.skipValue() } catch { throw .container("metadata is not valid JSON: \(error.description)") }
            }
        }
        guard try next() == nil else { throw .container("metadata is not valid JSON: more after the object") }
        guard hasFormat else { throw .badMetadata(key: "format", found: "missing", rule: "a required key, \"\(formatName)\"") }
        try m.checkValues()
        return m
    }

    /// The ranges and spellings of the values, on their own.
    func checkValues() throws(ModelFormatError) {
        guard format == Self.formatName else { throw .badMetadata(key: "format", found: quoted(format), rule: "must be \"\(Self.formatName)\"") }
        for (key, value) in [("image_sha256", imageSHA256), ("source_checkpoint_sha256", sourceCheckpointSHA256)] {
            if let value, !Self.isDigest(value) {
                throw .badMetadata(key: key, found: quoted(value), rule: "must be 64 lower-case hex digits (a SHA-256)")
            }
        }
        if let precision, !Self.precisions.contains(precision) {
            throw .badMetadata(key: "precision", found: quoted(precision), rule: "must be \"binary\", \"xnor\" or \"float\"")
        }
        if let inputBits, !(1...8).contains(inputBits) {
            throw .badMetadata(key: "input_bits", found: "\(inputBits)", rule: "must be 1...8")
        }
        if let testAccuracy, !(0...1).contains(testAccuracy) {
            throw .badMetadata(key: "test_accuracy", found: "\(testAccuracy)", rule: "must be a fraction in [0, 1]")
        }
        if let denseLayout, !Self.denseLayouts.contains(where: { $0.name == denseLayout }) {
            throw .badMetadata(key: "dense_layout", found: quoted(denseLayout), rule: "must be \"bits8\", \"columns32\" or \"columns32s\"")
        }
    }

    /// Refuses values that contradict the container header's image SHA-256 (`sha256`) or the validated image.
    public func check(sha256: [UInt8], image: ModelImage) throws(ModelFormatError) {
        let headerHex = SHA256.hex(sha256)
        if let imageSHA256, imageSHA256 != headerHex {
            throw .badMetadata(key: "image_sha256", found: imageSHA256, rule: "the header's image SHA-256 is \(headerHex)")
        }
        if let inputBits, image.opKind(0) == .inputCodes, image.opParameter(0, 0) != inputBits {
            throw .badMetadata(key: "input_bits", found: "\(inputBits)", rule: "op 0 (input_codes) quantizes to \(image.opParameter(0, 0)) bits")
        }
        if let denseLayout, let wanted = Self.denseLayouts.first(where: { $0.name == denseLayout })?.type {
            var binaryDense = 0, withBounds = 0
            for k in 0..<image.opCount where image.opKind(k) == .dense && image.isBits(image.opParameter(k, 2)) {
                let type = image.tensor(image.opParameter(k, 2)).type
                // columns32s: the layers a threshold_sign follows on packed bits carry bounds, the others are columns32.
                let bounded = image.opParameter(k, 3) == Int(InputKind.bits.rawValue) && k + 1 < image.opCount
                    && image.opKind(k + 1) == .thresholdSign && image.lowerPlane(k) < 0   // ternary planes are never columns32s
                guard type == (wanted == .columns32s && !bounded ? .columns32 : wanted) else {
                    throw .badMetadata(key: "dense_layout", found: quoted(denseLayout), rule: "op \(k)'s binary dense weights are \(type)")
                }
                binaryDense += 1
                if type == .columns32s { withBounds += 1 }
            }
            guard binaryDense > 0 else {
                throw .badMetadata(key: "dense_layout", found: quoted(denseLayout), rule: "the image has no binary dense layer")
            }
            guard wanted != .columns32s || withBounds > 0 else {
                throw .badMetadata(key: "dense_layout", found: quoted(denseLayout), rule: "no dense layer has columns32s weights (the image is columns32)")
            }
        }
    }

    /// Whether `s` is 64 lower-case hex digits.
    static func isDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    private static func wrongType(_ key: String, _ kind: Kind, _ token: JSONToken?) -> ModelFormatError {
        .badMetadata(key: key, found: token.map(describe) ?? "missing", rule: "must be \(kind.rawValue)")
    }

    /// A token as the messages name it ("the number 4.5", "an object").
    static func describe(_ token: JSONToken) -> String {
        switch token {
        case .beginObject: return "an object"
        case .beginArray: return "an array"
        case .endObject, .endArray: return "the end of a container"
        case let .key(k): return "the key \(quoted(k))"
        case let .string(s): return "the string \(quoted(s))"
        case let .number(n): return "the number \(n.text)"
        case let .bool(b): return "\(b)"
        case .null: return "null"
        }
    }
}

extension ModelFormatError {
    /// A metadata key that is missing, of the wrong type, out of range or contradicting the file. A
    /// `container` error (host only): a new case in ModelFormat would grow the device firmware.
    static func badMetadata(key: String, found: String, rule: String) -> ModelFormatError {
        .container("metadata key '\(key)' is \(found): \(rule)")
    }
}

/// `s` in double quotes, cut to 80 characters (a hostile value may be a megabyte).
func quoted(_ s: String) -> String {
    s.count <= 80 ? "\"\(s)\"" : "\"\(s.prefix(80))…\" (\(s.utf8.count) bytes)"
}
