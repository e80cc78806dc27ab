/// Everything a model image can be wrong about. Messages carry the numbers ("tensor 3 ends at 9120,
/// image has 9000 bytes"). Typed, so it works in Embedded Swift.
public enum ModelFormatError: Error, Equatable {
    /// The first four bytes are not the expected magic.
    case badMagic(expected: String)
    /// A version this reader does not know (newer than it).
    case unsupportedVersion(found: Int, newest: Int)
    /// Fewer bytes than a structure needs.
    case truncated(what: String, needs: Int, has: Int)
    /// A header field holds a value the format forbids.
    case badField(what: String, value: Int, rule: String)
    /// A table or tensor starts at an offset that is not 64-aligned.
    case misaligned(what: String, offset: Int)
    /// A table or tensor extends past the end of the image.
    case outOfBounds(what: String, end: Int, size: Int)
    /// Two regions overlap.
    case overlap(first: String, second: String)
    /// A part (table or tensor) starts before the end of the part the spec puts before it: parts are in
    /// ascending order (header, op table, tensor table, tensors by index) and never overlap.
    case outOfOrder(what: String, offset: Int, previous: String, previousEnd: Int)
    /// A binary layer whose accumulator could exceed the i32 range (spec/FORMAT.md, "Accumulator bound").
    case accumulatorOverflow(op: Int, fanIn: Int, largestInput: Int, bound: Int)
    /// Bytes that should be zero (padding, reserved fields, padding bits) are not.
    case nonZeroPadding(what: String, offset: Int)
    /// An op id this reader does not know.
    case unknownOp(index: Int, id: Int)
    /// A tensor type id this reader does not know.
    case unknownTensorType(index: Int, id: Int)
    /// A shape whose size overflows or exceeds the caps.
    case shapeOverflow(what: String)
    /// A tensor's byte count disagrees with its type and shape.
    case sizeMismatch(what: String, bytes: Int, expected: Int)
    /// An op refers to a tensor that does not exist or has the wrong type or shape.
    case badTensorReference(op: Int, reason: String)
    /// An op's input does not match the previous op's output.
    case chainMismatch(op: Int, reason: String)
    /// Container-level checks (CRC, compression, metadata).
    case container(String)

    /// A human-readable message with the numbers.
    public var message: String {
        switch self {
        case let .badMagic(expected): return "bad magic: not a BitShield \(expected)"
        case let .unsupportedVersion(found, newest):
            return "version \(found) is newer than this reader's \(newest)"
        case let .truncated(what, needs, has): return "\(what) needs \(needs) bytes, has \(has)"
        case let .badField(what, value, rule): return "\(what) is \(value): \(rule)"
        case let .misaligned(what, offset): return "\(what) at offset \(offset) is not 64-byte aligned"
        case let .outOfBounds(what, end, size): return "\(what) ends at \(end), image has \(size) bytes"
        case let .overlap(first, second): return "\(first) overlaps \(second)"
        case let .outOfOrder(what, offset, previous, previousEnd):
            return "\(what) starts at \(offset), before the end of \(previous) at \(previousEnd) (parts must be in ascending order: header, op table, tensor table, tensors by index; none may overlap)"
        case let .accumulatorOverflow(op, fanIn, largestInput, bound):
            return "op \(op): fan-in \(fanIn) x largest input \(largestInput) exceeds the accumulator bound \(bound) (2^31 - 1): at most \(bound / max(largestInput, 1)) inputs"
        case let .nonZeroPadding(what, offset): return "\(what) has a non-zero byte or bit at offset \(offset)"
        case let .unknownOp(index, id): return "op \(index) has unknown op id \(id)"
        case let .unknownTensorType(index, id): return "tensor \(index) has unknown type id \(id)"
        case let .shapeOverflow(what): return "\(what): shape overflows or exceeds the caps"
        case let .sizeMismatch(what, bytes, expected): return "\(what) has \(bytes) bytes, its type and shape need \(expected)"
        case let .badTensorReference(op, reason): return "op \(op): \(reason)"
        case let .chainMismatch(op, reason): return "op \(op): \(reason)"
        case let .container(s): return s
        }
    }
}
