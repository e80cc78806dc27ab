import XCTest
@testable import JSONReader

/// Reads every token of `text` (or throws the reader's error).
private func tokens(_ text: String, maxDepth: Int = 64) throws(JSONError) -> [JSONToken] {
    try tokens(Array(text.utf8), maxDepth: maxDepth)
}

private func tokens(_ bytes: [UInt8], maxDepth: Int = 64) throws(JSONError) -> [JSONToken] {
    var result: Result<[JSONToken], JSONError>!
    bytes.withUnsafeBytes { raw in
        result = Result { () throws(JSONError) in
            var reader = JSONReader(raw, maxDepth: maxDepth)
            var out: [JSONToken] = []
            while let t = try reader.next() { out.append(t) }
            return out
        }
    }
    return try result.get()
}

private func num(_ s: String) -> JSONToken { .number(JSONNumber(text: s)) }

final class JSONReaderTests: XCTestCase {
    func testValidDocuments() throws {
        let table: [(String, [JSONToken])] = [
            ("0", [num("0")]),
            (" -0 ", [num("-0")]),
            ("true", [.bool(true)]),
            ("\t\r\nnull\n", [.null]),
            ("\"\"", [.string("")]),
            ("[]", [.beginArray, .endArray]),
            ("{}", [.beginObject, .endObject]),
            ("[1,2.5,-3e2,4E+1,5e-1]", [.beginArray, num("1"), num("2.5"), num("-3e2"), num("4E+1"), num("5e-1"), .endArray]),
            ("{\"a\":[true,false,null],\"b\":{}}",
             [.beginObject, .key("a"), .beginArray, .bool(true), .bool(false), .null, .endArray,
              .key("b"), .beginObject, .endObject, .endObject]),
            ("{\"a\":1,\"a\":2}", [.beginObject, .key("a"), num("1"), .key("a"), num("2"), .endObject]),
            ("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", [.string("\"\\/\u{08}\u{0C}\n\r\t")]),
            ("\"\\u00e9\\u20AC\\ud83d\\ude00\"", [.string("é€😀")]),
            ("\"é€😀\u{10FFFF}\"", [.string("é€😀\u{10FFFF}")]),
            ("\"a\\u0000b\"", [.string("a\u{0}b")]),
            (" [ { \"k\" : \"v\" } ] ", [.beginArray, .beginObject, .key("k"), .string("v"), .endObject, .endArray]),
        ]
        for (text, expected) in table {
            XCTAssertEqual(try tokens(text), expected, text)
        }
    }

    func testInvalidDocuments() {
        let table: [(String, JSONError)] = [
            ("", .unexpectedEnd(offset: 0)),
            ("   ", .unexpectedEnd(offset: 3)),
            ("[1,]", .unexpectedByte(UInt8(ascii: "]"), offset: 3, expected: "a value")),
            ("{\"a\":1,}", .unexpectedByte(UInt8(ascii: "}"), offset: 7, expected: "a string key")),
            ("[1 2]", .unexpectedByte(UInt8(ascii: "2"), offset: 3, expected: "',' or ']'")),
            ("{\"a\" 1}", .unexpectedByte(UInt8(ascii: "1"), offset: 5, expected: "':'")),
            ("{1:2}", .unexpectedByte(UInt8(ascii: "1"), offset: 1, expected: "a string key")),
            ("[1}", .unexpectedByte(UInt8(ascii: "}"), offset: 2, expected: "',' or ']'")),
            ("NaN", .unexpectedByte(UInt8(ascii: "N"), offset: 0, expected: "a value")),
            ("Infinity", .unexpectedByte(UInt8(ascii: "I"), offset: 0, expected: "a value")),
            ("-Infinity", .invalidNumber(offset: 0)),
            ("01", .invalidNumber(offset: 0)),
            ("-", .unexpectedEnd(offset: 1)),
            ("1.", .invalidNumber(offset: 0)),
            (".5", .unexpectedByte(UInt8(ascii: "."), offset: 0, expected: "a value")),
            ("1e", .invalidNumber(offset: 0)),
            ("1e999999", .numberOutOfRange(offset: 0)),
            ("[0, -2e308]", .numberOutOfRange(offset: 4)),
            ("{\"zz\":1e400}", .numberOutOfRange(offset: 6)),
            ("+1", .unexpectedByte(UInt8(ascii: "+"), offset: 0, expected: "a value")),
            ("0x10", .trailingData(offset: 1, count: 3)),
            ("tru", .unexpectedEnd(offset: 3)),
            ("nul1", .unexpectedByte(UInt8(ascii: "1"), offset: 3, expected: "'null' (from byte 0)")),
            ("{} {}", .trailingData(offset: 3, count: 2)),
            ("1 2", .trailingData(offset: 2, count: 1)),
            ("[1", .unexpectedEnd(offset: 2)),
            ("{\"a\":", .unexpectedEnd(offset: 5)),
            ("\"abc", .unexpectedEnd(offset: 4)),
            ("\"a\tb\"", .controlCharacter(0x09, offset: 2)),
            ("\"\\x\"", .invalidEscape(offset: 1)),
            ("\"\\u12G4\"", .invalidEscape(offset: 1)),
            ("\"\\ud83d\"", .unpairedSurrogate(offset: 1)),
            ("\"\\ud83d\\u0041\"", .unpairedSurrogate(offset: 1)),
            ("\"\\ude00\"", .unpairedSurrogate(offset: 1)),
            ("'a'", .unexpectedByte(UInt8(ascii: "'"), offset: 0, expected: "a value")),
            ("[1]//", .trailingData(offset: 3, count: 2)),
        ]
        for (text, expected) in table {
            XCTAssertThrowsError(try tokens(text), text) { XCTAssertEqual($0 as? JSONError, expected, text) }
        }
    }

    func testInvalidUTF8IsRefusedWithItsOffset() {
        let cases: [[UInt8]] = [
            [0xC0, 0xAF],              // overlong '/'
            [0xE0, 0x80, 0xAF],        // overlong
            [0xED, 0xA0, 0x80],        // UTF-8 encoded surrogate
            [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
            [0xF5, 0x80, 0x80, 0x80],
            [0x80],                    // stray continuation
            [0xC3],                    // truncated at the closing quote
            [0xE2, 0x82],
            [0xFF],
        ]
        for bad in cases {
            let doc = Array("[\"ab".utf8) + bad + Array("\"]".utf8)
            XCTAssertThrowsError(try tokens(doc), "\(bad)") { XCTAssertEqual($0 as? JSONError, .invalidUTF8(offset: 4)) }
        }
        // Outside strings, any byte >= 0x80 is unexpected, and a byte-order mark is not skipped.
        XCTAssertThrowsError(try tokens([0xEF, 0xBB, 0xBF, 0x31])) {
            XCTAssertEqual($0 as? JSONError, .unexpectedByte(0xEF, offset: 0, expected: "a value"))
        }
    }

    func testDepthIsCapped() throws {
        XCTAssertEqual(try tokens("[[[]]]", maxDepth: 3).count, 6)
        XCTAssertThrowsError(try tokens("[[[[]]]]", maxDepth: 3)) {
            XCTAssertEqual($0 as? JSONError, .tooDeep(maxDepth: 3, offset: 3))
        }
        // A deep bomb is refused at the cap without recursion or a large stack.
        let bomb = String(repeating: "[", count: 1_000_000)
        XCTAssertThrowsError(try tokens(bomb)) { XCTAssertEqual($0 as? JSONError, .tooDeep(maxDepth: 64, offset: 64)) }
    }

    func testNumbersConvertExactlyOrNotAtAll() {
        XCTAssertEqual(JSONNumber(text: "42").integer, 42)
        XCTAssertEqual(JSONNumber(text: "-0").integer, 0)
        XCTAssertEqual(JSONNumber(text: "9223372036854775807").integer, Int.max)
        XCTAssertNil(JSONNumber(text: "9223372036854775808").integer)
        XCTAssertNil(JSONNumber(text: "4.5").integer)
        XCTAssertNil(JSONNumber(text: "4.0").integer)
        XCTAssertNil(JSONNumber(text: "1e3").integer)
        XCTAssertEqual(JSONNumber(text: "4.5").double, 4.5)
        XCTAssertEqual(JSONNumber(text: "-1E-2").double, -0.01)
        XCTAssertNil(JSONNumber(text: "1e400").double)
    }

    func testSkipValueSkipsWholeContainersAndChecksThem() throws {
        let doc = Array("{\"skip\":{\"a\":[1,{\"b\":\"\\u00e9\"}],\"c\":null},\"keep\":7}".utf8)
        try doc.withUnsafeBytes { raw in
            var r = JSONReader(raw)
            XCTAssertEqual(try r.next(), .beginObject)
            XCTAssertEqual(try r.next(), .key("skip"))
            try r.skipValue()
            XCTAssertEqual(try r.next(), .key("keep"))
            XCTAssertEqual(try r.next(), num("7"))
            XCTAssertEqual(try r.next(), .endObject)
            XCTAssertNil(try r.next())
            XCTAssertEqual(r.offset, doc.count)
        }
        // A skipped member is checked as strictly as a read one.
        let bad = Array("{\"skip\":[1,\"\\q\"],\"keep\":7}".utf8)
        try bad.withUnsafeBytes { raw in
            var r = JSONReader(raw)
            _ = try? r.next(); _ = try? r.next()
            XCTAssertThrowsError(try r.skipValue()) { XCTAssertEqual($0 as? JSONError, .invalidEscape(offset: 12)) }
        }
        // Where a key comes next, the whole member is skipped; at a container's end there is nothing to skip.
        let member = Array("{\"a\":[1],\"b\":2}".utf8)
        try member.withUnsafeBytes { raw in
            var r = JSONReader(raw)
            _ = try r.next()
            try r.skipValue()
            XCTAssertEqual(try r.next(), .key("b"))
            try r.skipValue()
            XCTAssertThrowsError(try r.skipValue()) { XCTAssertEqual($0 as? JSONError, .noValue(offset: 14)) }
        }
    }

    func testTrailingDataIsRefusedWhenTheValueCloses() throws {
        // A caller that stops at the closing brace still learns of the trailing bytes.
        let doc = Array("{\"a\":1}  x".utf8)
        try doc.withUnsafeBytes { raw in
            var r = JSONReader(raw)
            XCTAssertEqual(try r.next(), .beginObject)
            XCTAssertEqual(try r.next(), .key("a"))
            XCTAssertEqual(try r.next(), num("1"))
            XCTAssertThrowsError(try r.next()) { XCTAssertEqual($0 as? JSONError, .trailingData(offset: 9, count: 1)) }
        }
    }

    func testErrorMessagesCarryTheOffset() {
        XCTAssertEqual(JSONError.trailingData(offset: 9, count: 1).description,
                       "1 bytes of trailing data after the JSON value, from byte 9")
        XCTAssertEqual(JSONError.unexpectedByte(0x00, offset: 4, expected: "a value").description,
                       "unexpected byte 0x00 at byte 4, expected a value")
        XCTAssertEqual(JSONError.unexpectedByte(UInt8(ascii: "}"), offset: 3, expected: "a value").description,
                       "unexpected '}' at byte 3, expected a value")
    }
}
