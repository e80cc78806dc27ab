/// One step of a JSON document as `JSONReader.next()` returns it. An object's members come as
/// `key` followed by the member's value; keys are returned as written, so a caller that cares about
/// duplicate keys (RFC 8259 leaves them to the application) sees every occurrence.
public enum JSONToken: Equatable {
    case beginObject, endObject, beginArray, endArray
    case key(String)
    case string(String)
    case number(JSONNumber)
    case bool(Bool)
    case null
}

/// A JSON number as written in the document (already checked against RFC 8259's grammar), with exact
/// conversions: a caller decides which it needs, and nothing is rounded behind its back.
public struct JSONNumber: Equatable {
    /// The literal as written, e.g. `-12`, `4.5`, `1e3`.
    public let text: String

    /// A number literal; `text` must already match RFC 8259's number grammar (the reader checks it).
    public init(text: String) { self.text = text }

    /// The exact integer value, or nil if the literal has a fraction or exponent part (`4.0` and `1e3`
    /// included: integers are written as integers) or lies outside `Int`'s range.
    public var integer: Int? {
        for b in text.utf8 where b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
            return nil
        }
        return Int(text)
    }

    /// The value rounded to the nearest `Double`, or nil if it overflows to infinity.
    public var double: Double? {
        guard let d = Double(text), d.isFinite else { return nil }
        return d
    }
}
