/// A strict RFC 8259 pull reader over bytes in memory: standard library only, no document tree.
///
/// `next()` returns the document's tokens one at a time (`nil` after the single top-level value), so
/// a caller parses the schema it expects and builds only what it keeps. Memory is the container
/// stack (one byte per nesting level, capped by `maxDepth`) plus the strings returned; time is linear
/// in the input. Refused, with the byte offset: invalid UTF-8 anywhere, unescaped control characters,
/// unknown escapes and unpaired surrogates, trailing commas, NaN/Infinity and other non-grammar
/// numbers, nesting deeper than `maxDepth`, and anything but whitespace after the value (checked as
/// soon as the top-level value closes, so a caller that stops there is covered too).
public struct JSONReader {
    /// What the grammar allows at the current position.
    private enum Expect: UInt8 {
        case value          // a value (start of the document, after ':' or after ',' in an array)
        case keyOrEnd       // just after '{'
        case key            // after ',' in an object
        case valueOrEnd     // just after '['
        case commaOrEnd     // after a member or element
        case done           // the top-level value is complete
    }

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var pos = 0
    private var expect = Expect.value
    /// One entry per open container: true for an object, false for an array.
    private var stack: [Bool] = []
    /// While skipping, strings and numbers are checked but not built.
    private var skipping = false

    /// A reader over `bytes` (which must stay valid while it is used), refusing nesting deeper than `maxDepth`.
    public init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 64) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// The byte offset of the next unread byte.
    public var offset: Int { pos }

    /// The current nesting depth (open objects and arrays).
    public var depth: Int { stack.count }

    /// The next token, or nil once the top-level value is complete.
    public mutating func next() throws(JSONError) -> JSONToken? {
        while true {
            skipWhitespace()
            switch expect {
            case .done:
                return nil
            case .value:
                return try readValue()
            case .keyOrEnd:
                if try peek() == UInt8(ascii: "}") { return try close() }
                return try readKey()
            case .key:
                return try readKey()
            case .valueOrEnd:
                if try peek() == UInt8(ascii: "]") { return try close() }
                return try readValue()
            case .commaOrEnd:
                let inObject = stack[stack.count - 1]
                let c = try peek()
                if c == UInt8(ascii: ",") {
                    pos += 1
                    expect = inObject ? .key : .value
                    continue
                }
                if c == (inObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) { return try close() }
                throw .unexpectedByte(c, offset: pos, expected: inObject ? "',' or '}'" : "',' or ']'")
            }
        }
    }

    /// Skips the next value entirely (a whole object or array with everything in it), checking it as
    /// strictly as `next()` but building no strings. Where a key comes next, skips that key and its value.
    public mutating func skipValue() throws(JSONError) {
        skipping = true
        defer { skipping = false }
        let start = stack.count
        guard let first = try next() else { throw .noValue(offset: pos) }
        switch first {
        case .endObject, .endArray: throw .noValue(offset: pos - 1)
        case .key: try skipValue(); return
        case .beginObject, .beginArray: break
        default: return
        }
        while stack.count > start { _ = try next() }
    }

    // MARK: - Structure

    private mutating func readKey() throws(JSONError) -> JSONToken {
        let c = try peek()
        guard c == UInt8(ascii: "\"") else { throw .unexpectedByte(c, offset: pos, expected: "a string key") }
        let key = try readString()
        skipWhitespace()
        let colon = try peek()
        guard colon == UInt8(ascii: ":") else { throw .unexpectedByte(colon, offset: pos, expected: "':'") }
        pos += 1
        expect = .value
        return .key(key)
    }

    private mutating func readValue() throws(JSONError) -> JSONToken {
        let c = try peek()
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard stack.count < maxDepth else { throw .tooDeep(maxDepth: maxDepth, offset: pos) }
            pos += 1
            let object = c == UInt8(ascii: "{")
            stack.append(object)
            expect = object ? .keyOrEnd : .valueOrEnd
            return object ? .beginObject : .beginArray
        case UInt8(ascii: "\""):
            let s = try readString()
            try valueEnded()
            return .string(s)
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let n = try readNumber()
            try valueEnded()
            return .number(n)
        default:
            throw .unexpectedByte(c, offset: pos, expected: "a value")
        }
    }

    /// Consumes the closing bracket of the innermost container.
    private mutating func close() throws(JSONError) -> JSONToken {
        pos += 1
        let object = stack.removeLast()
        try valueEnded()
        return object ? .endObject : .endArray
    }

    /// A value just ended: continue the container, or finish the document and refuse trailing bytes.
    private mutating func valueEnded() throws(JSONError) {
        guard stack.isEmpty else {
            expect = .commaOrEnd
            return
        }
        expect = .done
        skipWhitespace()
        guard pos == bytes.count else { throw .trailingData(offset: pos, count: bytes.count - pos) }
    }

    private mutating func literal(_ word: StaticString) throws(JSONError) {
        let start = pos
        for i in 0..<word.utf8CodeUnitCount {
            guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
            guard bytes[pos] == word.utf8Start[i] else {
                throw .unexpectedByte(bytes[pos], offset: pos, expected: "'\(word)' (from byte \(start))")
            }
            pos += 1
        }
        try valueEnded()
    }

    // MARK: - Bytes

    private func peek() throws(JSONError) -> UInt8 {
        guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
        return bytes[pos]
    }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    // MARK: - Numbers

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`; what follows is left to the grammar.
    private mutating func readNumber() throws(JSONError) -> JSONNumber {
        let start = pos
        func isDigit(_ i: Int) -> Bool { i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard isDigit(pos) else { throw pos < bytes.count ? .invalidNumber(offset: start) : .unexpectedEnd(offset: pos) }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if isDigit(pos) { throw .invalidNumber(offset: start) }
        } else {
            while isDigit(pos) { pos += 1 }
        }
        if pos < bytes.count && bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard isDigit(pos) else { throw .invalidNumber(offset: start) }
            while isDigit(pos) { pos += 1 }
        }
        if pos < bytes.count && (bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E")) {
            pos += 1
            if pos < bytes.count && (bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-")) { pos += 1 }
            guard isDigit(pos) else { throw .invalidNumber(offset: start) }
            while isDigit(pos) { pos += 1 }
        }
        // RFC 8259 section 6 lets a reader limit the range: numbers beyond binary64 (1e999999) are
        // refused, skipped or not, since other readers turn them into infinities or fail on them.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw .numberOutOfRange(offset: start) }
        return JSONNumber(text: skipping ? "" : text)
    }

    // MARK: - Strings

    /// Reads a string starting at its opening quote; validates UTF-8 and escapes.
    private mutating func readString() throws(JSONError) -> String {
        pos += 1
        let start = pos
        var decoded: [UInt8]? = nil     // built only once an escape appears
        var runStart = pos              // unescaped bytes not yet copied into `decoded`
        while true {
            guard pos < bytes.count else { throw .unexpectedEnd(offset: pos) }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                defer { pos += 1 }
                if skipping { return "" }
                guard var out = decoded else {
                    return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
                return String(decoding: out, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") {
                if !skipping {
                    if decoded == nil { decoded = [] }
                    decoded!.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[runStart..<pos]))
                }
                let scalar = try readEscape()
                if !skipping { decoded!.append(contentsOf: UTF8.encode(scalar)!) }
                runStart = pos
                continue
            }
            if b < 0x20 { throw .controlCharacter(b, offset: pos) }
            if b < 0x80 { pos += 1; continue }
            try skipUTF8Sequence()
        }
    }

    /// Reads one escape starting at its backslash, joining a `\uD8xx\uDCxx` pair into one scalar.
    private mutating func readEscape() throws(JSONError) -> Unicode.Scalar {
        let start = pos
        guard pos + 1 < bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
        let c = bytes[pos + 1]
        pos += 2
        switch c {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try readHex4(escapeAt: start)
            switch unit {
            case 0xD800...0xDBFF:
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw .unpairedSurrogate(offset: start)
                }
                let lowStart = pos
                pos += 2
                let low = try readHex4(escapeAt: lowStart)
                guard (0xDC00...0xDFFF).contains(low) else { throw .unpairedSurrogate(offset: start) }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!
            case 0xDC00...0xDFFF:
                throw .unpairedSurrogate(offset: start)
            default:
                return Unicode.Scalar(unit)!
            }
        default:
            throw .invalidEscape(offset: start)
        }
    }

    private mutating func readHex4(escapeAt start: Int) throws(JSONError) -> UInt32 {
        guard pos + 4 <= bytes.count else { throw .unexpectedEnd(offset: bytes.count) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let h = bytes[pos]
            let d: UInt8
            switch h {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = h - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = h - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = h - UInt8(ascii: "A") + 10
            default: throw .invalidEscape(offset: start)
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    /// Checks one multi-byte UTF-8 sequence at `pos` (its lead byte is >= 0x80), per RFC 3629's table:
    /// no overlong forms, no surrogates, nothing above U+10FFFF.
    private mutating func skipUTF8Sequence() throws(JSONError) {
        let lead = bytes[pos]
        let length: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF     // the allowed range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: throw .invalidUTF8(offset: pos)
        }
        guard pos + length <= bytes.count else { throw .invalidUTF8(offset: pos) }
        guard bytes[pos + 1] >= lo && bytes[pos + 1] <= hi else { throw .invalidUTF8(offset: pos) }
        for i in 2..<max(length, 2) where bytes[pos + i] & 0xC0 != 0x80 { throw .invalidUTF8(offset: pos) }
        pos += length
    }
}
