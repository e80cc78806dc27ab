/// Why a JSON document was refused, with the byte offset (from the start of the document) where the
/// reader stopped. After an error the reader's state is unspecified: do not call it again.
public enum JSONError: Error, Equatable, CustomStringConvertible {
    /// The document ends inside a value (or is empty).
    case unexpectedEnd(offset: Int)
    /// A byte that cannot appear here; `expected` says what could.
    case unexpectedByte(UInt8, offset: Int, expected: String)
    /// A byte sequence that is not UTF-8 (overlong, surrogate, above U+10FFFF, truncated, stray continuation).
    case invalidUTF8(offset: Int)
    /// An unescaped control character (below U+0020) inside a string.
    case controlCharacter(UInt8, offset: Int)
    /// A backslash escape that RFC 8259 does not define, or a malformed `\u` escape.
    case invalidEscape(offset: Int)
    /// A `\u` escape of a UTF-16 surrogate that is not part of a high-low pair.
    case unpairedSurrogate(offset: Int)
    /// A number that breaks RFC 8259's grammar (leading zero, no digits after `.` or `e`, a bare `-`).
    case invalidNumber(offset: Int)
    /// A number beyond the range of an IEEE binary64 (it would be an infinity).
    case numberOutOfRange(offset: Int)
    /// Arrays and objects nested deeper than the reader's cap.
    case tooDeep(maxDepth: Int, offset: Int)
    /// Non-whitespace bytes after the single top-level value.
    case trailingData(offset: Int, count: Int)
    /// `skipValue()` was called where the next token ends a container, so there is no value to skip.
    case noValue(offset: Int)

    /// Where the reader stopped.
    public var offset: Int {
        switch self {
        case .unexpectedEnd(let o), .unexpectedByte(_, let o, _), .invalidUTF8(let o), .controlCharacter(_, let o),
             .invalidEscape(let o), .unpairedSurrogate(let o), .invalidNumber(let o), .numberOutOfRange(let o), .tooDeep(_, let o),
             .trailingData(let o, _), .noValue(let o):
            return o
        }
    }

    public var description: String {
        switch self {
        case .unexpectedEnd(let o): return "JSON ends unexpectedly at byte \(o)"
        case .unexpectedByte(let b, let o, let expected):
            return "unexpected \(Self.show(b)) at byte \(o), expected \(expected)"
        case .invalidUTF8(let o): return "invalid UTF-8 at byte \(o)"
        case .controlCharacter(let b, let o): return "unescaped control character \(Self.show(b)) in a string at byte \(o)"
        case .invalidEscape(let o): return "invalid escape sequence at byte \(o)"
        case .unpairedSurrogate(let o): return "unpaired UTF-16 surrogate escape at byte \(o)"
        case .invalidNumber(let o): return "malformed number at byte \(o)"
        case .numberOutOfRange(let o): return "number at byte \(o) is beyond the range of a 64-bit float"
        case .tooDeep(let d, let o): return "JSON nested deeper than \(d) levels at byte \(o)"
        case .trailingData(let o, let n): return "\(n) bytes of trailing data after the JSON value, from byte \(o)"
        case .noValue(let o): return "no value to skip at byte \(o) (the container ends there)"
        }
    }

    /// A byte as a quoted printable character or as hex.
    private static func show(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        let hex = String(b, radix: 16, uppercase: true)
        return "byte 0x" + (hex.count == 1 ? "0" + hex : hex)
    }
}
