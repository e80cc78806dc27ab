import XCTest
@testable import ModelFile
@testable import ModelFormat

final class ContainerTests: XCTestCase {
    let metadata = Array(#"{"format":"bitshield.model","precision":"binary"}"#.utf8)

    func file(compressed: Bool = true) -> [UInt8] {
        ModelFile(metadata: metadata, image: Fixtures.tinyBinary(), compressed: compressed).encoded()
    }

    func expect(_ bytes: [UInt8], contains needle: String, line: UInt = #line) {
        XCTAssertThrowsError(try ModelFile.parse(bytes), line: line) {
            let m = ($0 as? ModelFormatError)?.message ?? "\($0)"
            XCTAssertTrue(m.contains(needle), "'\(m)' lacks '\(needle)'", line: line)
        }
    }

    func testRoundTripCompressedAndStored() throws {
        for compressed in [true, false] {
            let bytes = file(compressed: compressed)
            XCTAssertEqual(bytes, file(compressed: compressed), "deterministic")
            let parsed = try ModelFile.parse(bytes)
            XCTAssertEqual(parsed.image, Fixtures.tinyBinary())
            XCTAssertEqual(parsed.metadata, metadata)
            XCTAssertEqual(parsed.compressed, compressed)
        }
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256.hex(SHA256.hash([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(Zlib.crc32(Array("123456789".utf8)), 0xCBF4_3926)
    }

    func testEachContainerDefect() {
        let good = file()
        var b = good
        b[1] = 0
        expect(b, contains: "bad magic")
        b = good; b[4] = 9
        expect(b, contains: "version 9 is newer than this reader's 1")
        b = good; b[6] = 4
        expect(b, contains: "container flags is 4")
        expect(good + [0, 0], contains: "2 trailing bytes")
        b = good; b[64 + 3] ^= 1
        expect(b, contains: "metadata CRC-32")
        b = good; b[b.count - 3] ^= 0x10
        expect(b, contains: "stored image CRC-32")
        // Header CRC field itself wrong.
        b = good; b[20] ^= 0xff
        expect(b, contains: "stored image CRC-32")
        b = good; b[28] ^= 1
        expect(b, contains: "image CRC-32")
        // Decompressed size disagreeing with the header (and the CRCs fixed up so only the size is wrong).
        b = good
        let size = Int(b[24]) | Int(b[25]) << 8
        b[24] = UInt8((size - 64) & 0xff); b[25] = UInt8((size - 64) >> 8)
        expect(b, contains: "decompresses to more than")
        // A corrupt zlib stream with correct CRCs over the corrupt bytes.
        let image = Fixtures.tinyBinary()
        var stored = Zlib.compress(image)
        stored[2] ^= 0xff
        var forged = Array(good[0..<64]) + metadata + stored
        let crc = Zlib.crc32(stored)
        for i in 0..<4 { forged[20 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xff) }
        let n = stored.count
        for i in 0..<4 { forged[16 + i] = UInt8((n >> (8 * i)) & 0xff) }
        expect(forged, contains: "corrupt zlib stream")
    }

    /// A file whose checksums are all right around a zlib stream with `suffix` appended (issue 12 item 15).
    func testBytesAfterTheZlibStreamAreRefused() {
        let image = Fixtures.tinyBinary()
        let stream = Zlib.compress(image)
        for suffix: [UInt8] in [[0], [0, 0, 0, 0], Array(stream)] {   // a zero byte, padding, a second whole stream
            let bytes = ModelFile.assemble(metadata: metadata, stored: stream + suffix, image: image, compressed: true)
            expect(bytes, contains: "\(suffix.count) bytes after the end of the zlib stream (the stream ends at byte \(stream.count) of the \(stream.count + suffix.count) stored bytes)")
        }
        // A stream cut short (checksums over the cut bytes) is truncated, not "too large".
        let cut = Array(stream.dropLast(6))
        expect(ModelFile.assemble(metadata: metadata, stored: cut, image: image, compressed: true), contains: "zlib stream is truncated")
        // A stream that ends before the header's image size.
        let short = Array(image.dropLast(64))
        expect(ModelFile.assemble(metadata: metadata, stored: Zlib.compress(short), image: image, compressed: true),
               contains: "image decompresses to \(image.count - 64) bytes, the header says \(image.count)")
        // A zlib header asking for a preset dictionary (FDICT; 0x78BB is a multiple of 31) and its DICTID.
        let dictionary = [0x78, 0xBB, 0, 0, 0, 1] + stream.dropFirst(2)
        expect(ModelFile.assemble(metadata: metadata, stored: Array(dictionary), image: image, compressed: true),
               contains: "zlib stream needs a preset dictionary")
        // A gzip stream instead of a zlib one.
        expect(ModelFile.assemble(metadata: metadata, stored: [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3] + stream.dropFirst(2),
                                  image: image, compressed: true), contains: "corrupt zlib stream")
    }

    /// A file around `Fixtures.tinyBinary(columns:)` (2-bit input) with `json` as its metadata and every checksum right.
    func file(metadata json: String, columns: Bool = false) -> [UInt8] {
        ModelFile(metadata: Array(json.utf8), image: Fixtures.tinyBinary(columns: columns)).encoded()
    }

    /// The tiny image's SHA-256 in hex.
    func imageHex(columns: Bool = false) -> String { SHA256.hex(SHA256.hash(Fixtures.tinyBinary(columns: columns))) }

    /// Metadata that is not one JSON object (issue 12 item 16).
    func testMetadataMustBeOneJSONObject() {
        let cases: [(String, String)] = [
            ("", "metadata is not valid JSON: JSON ends unexpectedly at byte 0"),
            (#"["bitshield.model"]"#, "metadata must be a JSON object, it is an array"),
            (#""bitshield.model""#, #"metadata must be a JSON object, it is the string "bitshield.model""#),
            ("42", "metadata must be a JSON object, it is the number 42"),
            (#"{"format":"bitshield.model"} {}"#, "metadata is not valid JSON: 2 bytes of trailing data"),
            (#"{"format":"bitshield.model",}"#, "metadata is not valid JSON"),
            (#"{"format":"bitshield.model""#, "metadata is not valid JSON"),
            (#"{"format":"bitshield.model","format":"bitshield.model"}"#, "metadata key 'format' is a second time: each key may appear once"),
        ]
        for (json, needle) in cases { expect(file(metadata: json), contains: needle) }
        // A byte that is not UTF-8 inside a string.
        let notUTF8 = Array(#"{"format":"bitshield.model","x":""#.utf8) + [0xFF] + Array(#""}"#.utf8)
        expect(ModelFile(metadata: notUTF8, image: Fixtures.tinyBinary()).encoded(), contains: "metadata is not valid JSON: invalid UTF-8 at byte 33")
    }

    /// `format` missing, of another type or another value.
    func testMetadataFormatMustBeBitshieldModel() {
        expect(file(metadata: #"{"precision":"binary"}"#), contains: #"metadata key 'format' is missing: a required key, "bitshield.model""#)
        expect(file(metadata: #"{"format":"onnx"}"#), contains: #"metadata key 'format' is "onnx": must be "bitshield.model""#)
        expect(file(metadata: #"{"format":1}"#), contains: "metadata key 'format' is the number 1: must be a string")
        expect(file(metadata: #"{"format":null}"#), contains: "metadata key 'format' is null: must be a string")
    }

    /// `image_sha256` that is not the header's (another digest, upper case, not hex).
    func testMetadataImageSHA256MustEqualTheHeaders() throws {
        let right = imageHex()
        XCTAssertNoThrow(try ModelFile.parse(file(metadata: #"{"format":"bitshield.model","image_sha256":"\#(right)"}"#)))
        let other = SHA256.hex(SHA256.hash([1, 2, 3]))
        expect(file(metadata: #"{"format":"bitshield.model","image_sha256":"\#(other)"}"#),
               contains: "metadata key 'image_sha256' is \(other): the header's image SHA-256 is \(right)")
        expect(file(metadata: #"{"format":"bitshield.model","image_sha256":"\#(right.uppercased())"}"#),
               contains: "must be 64 lower-case hex digits")
        expect(file(metadata: #"{"format":"bitshield.model","image_sha256":"\#(right.dropLast())"}"#),
               contains: "must be 64 lower-case hex digits")
        expect(file(metadata: #"{"format":"bitshield.model","image_sha256":7}"#),
               contains: "metadata key 'image_sha256' is the number 7: must be a string")
    }

    /// Every listed key of the wrong type or out of its range.
    func testMetadataKeysOfTheWrongTypeOrRange() {
        let cases: [(String, String)] = [
            (#""precision":3"#, "metadata key 'precision' is the number 3: must be a string"),
            (#""precision":"ternary""#, #"metadata key 'precision' is "ternary": must be "binary", "xnor" or "float""#),
            (#""input_bits":"2""#, #"metadata key 'input_bits' is the string "2": must be an integer"#),
            (#""input_bits":2.0"#, "metadata key 'input_bits' is the number 2.0: must be an integer"),
            (#""input_bits":99999999999999999999"#, "metadata key 'input_bits' is the number 99999999999999999999: must be an integer"),
            (#""input_bits":9"#, "metadata key 'input_bits' is 9: must be 1...8"),
            (#""test_accuracy":"0.9""#, #"metadata key 'test_accuracy' is the string "0.9": must be a number"#),
            (#""test_accuracy":1.5"#, "metadata key 'test_accuracy' is 1.5: must be a fraction in [0, 1]"),
            (#""test_accuracy":-0.1"#, "metadata key 'test_accuracy' is -0.1: must be a fraction in [0, 1]"),
            (#""test_accuracy":1e999"#, "metadata is not valid JSON: number at byte 44 is beyond the range of a 64-bit float"),
            (#""zz":-1e999999"#, "metadata is not valid JSON: number at byte 33 is beyond the range of a 64-bit float"),
            (#""dense_layout":"rows""#, #"metadata key 'dense_layout' is "rows": must be "bits8", "columns32" or "columns32s""#),
            (#""source_checkpoint_sha256":"abc""#, #"metadata key 'source_checkpoint_sha256' is "abc": must be 64 lower-case hex digits"#),
            (#""dataset":["mnist"]"#, "metadata key 'dataset' is an array: must be a string"),
            (#""architecture":{}"#, "metadata key 'architecture' is an object: must be a string"),
            (#""source_format":true"#, "metadata key 'source_format' is true: must be a string"),
            (#""tool_version":null"#, "metadata key 'tool_version' is null: must be a string"),
            (#""created_by":1"#, "metadata key 'created_by' is the number 1: must be a string"),
        ]
        for (member, needle) in cases {
            expect(file(metadata: #"{"format":"bitshield.model",\#(member)}"#), contains: needle)
        }
    }

    /// `input_bits` and `dense_layout` that contradict the image (2-bit input; `bits` or `columns32` dense weights).
    func testMetadataThatContradictsTheImage() {
        expect(file(metadata: #"{"format":"bitshield.model","input_bits":3}"#),
               contains: "metadata key 'input_bits' is 3: op 0 (input_codes) quantizes to 2 bits")
        expect(file(metadata: #"{"format":"bitshield.model","dense_layout":"bits8"}"#, columns: true),
               contains: #"metadata key 'dense_layout' is "bits8": op 1's binary dense weights are columns32"#)
        expect(file(metadata: #"{"format":"bitshield.model","dense_layout":"columns32"}"#),
               contains: #"metadata key 'dense_layout' is "columns32": op 1's binary dense weights are bits"#)
    }

    /// What `convert` writes, with unknown keys of any type beside it, reads back.
    func testEveryKeyOfTheRightTypeIsAccepted() throws {
        let json = #"{"architecture":"fcn-6-4-3-binary-2b","created_by":"convert","dataset":"mnist","dense_layout":"columns32","#
            + #""format":"bitshield.model","image_sha256":"\#(imageHex(columns: true))","input_bits":2,"precision":"binary","#
            + #""source_checkpoint_sha256":"\#(String(repeating: "0a", count: 32))","source_format":"bitshield","test_accuracy":1,"#
            + #""tool_version":"bitshield-convert 0.1.0","golden":{"nested":[1,2.5,null,true,"é"]},"later_key":[]}"#
        let parsed = try ModelFile.parse(file(metadata: json, columns: true))
        XCTAssertEqual(parsed.metadata, Array(json.utf8))
        let fields = try ModelMetadata.parse(Array(json.utf8))
        XCTAssertEqual(fields.inputBits, 2)
        XCTAssertEqual(fields.testAccuracy, 1)
        XCTAssertEqual(fields.denseLayout, "columns32")
    }

    /// Random byte edits of a full metadata object never crash the reader (it throws or returns), and every
    /// edit it accepts is a JSON object to Foundation's parser too.
    func testMetadataMutationsNeverCrash() {
        let json = Array((#"{"architecture":"fcn-6-4-3-binary-2b","dense_layout":"bits8","format":"bitshield.model","#
            + #""image_sha256":"\#(imageHex())","input_bits":2,"test_accuracy":0.5,"x":[{"y":["\u00e9",1e5,-0.0]}]}"#).utf8)
        var state: UInt64 = 0xBEEF
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        let alphabet = Array(#"{}[]",:0123456789.eE-+\u"tfn "#.utf8) + [0x00, 0x80, 0xC3, 0xFF]
        var accepted = 0
        for _ in 0..<20_000 {
            var b = json
            for _ in 0..<(1 + next() % 3) {
                switch next() % 3 {
                case 0: b[next() % b.count] = alphabet[next() % alphabet.count]
                case 1: b.insert(alphabet[next() % alphabet.count], at: next() % b.count)
                default: if b.count > 1 { b.remove(at: next() % b.count) }
                }
            }
            if (try? ModelMetadata.parse(b)) != nil {
                accepted += 1
                // The oracle: what the strict reader accepts is one JSON object to an independent parser
                // (Foundation's) too; the reverse need not hold (the reader refuses more: duplicate keys,
                // numbers beyond binary64, non-string format fields).
                let object = try? JSONSerialization.jsonObject(with: Data(b)) as? [String: Any]
                XCTAssertNotNil(object, "the reader accepted metadata that is not a JSON object: \(String(decoding: b, as: UTF8.self))")
            }
        }
        XCTAssertGreaterThan(accepted, 0, "no edit kept the metadata valid: the oracle above checked nothing")
        XCTAssertLessThan(accepted, 20_000, "some edits must be refused")
    }

    func testTruncationAtEveryByte() {
        let good = file()
        for cut in 0..<good.count {
            XCTAssertThrowsError(try ModelFile.parse(Array(good[0..<cut])), "cut at \(cut)")
        }
    }

    /// Every single-bit flip anywhere in a model file is detected with an error, compressed or stored.
    func testEverySingleBitFlipIsDetected() {
        for compressed in [true, false] {
            let good = file(compressed: compressed)
            var undetected: [Int] = []
            for bit in 0..<(good.count * 8) {
                var b = good
                b[bit / 8] ^= UInt8(1 << (bit % 8))
                if (try? ModelFile.parse(b)) != nil { undetected.append(bit) }
            }
            XCTAssertEqual(undetected, [], "compressed \(compressed): flips at these bit offsets went unnoticed")
        }
    }

    /// Every single-bit flip and every truncation of a container is refused, stored or compressed: each
    /// byte is under a checksum, a digest, or a header field the reader checks (magic, version, flags,
    /// sizes), so no mutant may load.
    func testEveryMutationIsRefused() {
        for compressed in [false, true] {
            let good = file(compressed: compressed)
            XCTAssertNoThrow(try ModelFile.parse(good))
            var state: UInt64 = 0xF00D
            func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
            var accepted: [String] = []
            for _ in 0..<5000 {
                var b = good
                let what: String
                if next() % 2 == 0 {
                    let at = next() % b.count, bit = next() % 8
                    b[at] ^= UInt8(1 << bit)
                    what = "bit \(bit) of byte \(at)"
                } else {
                    b = Array(b[0..<(next() % b.count)])
                    what = "truncation to \(b.count) bytes"
                }
                if (try? ModelFile.parse(b)) != nil { accepted.append(what) }
            }
            XCTAssertEqual(accepted, [], "compressed \(compressed): mutants that loaded")
        }
    }
}
