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

    func testMutationsNeverCrash() {
        let good = file(compressed: false)
        var state: UInt64 = 0xF00D
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for _ in 0..<5000 {
            var b = good
            if next() % 2 == 0 {
                b[next() % b.count] ^= UInt8(1 << (next() % 8))
            } else {
                b = Array(b[0..<(next() % b.count)])
            }
            _ = try? ModelFile.parse(b)
        }
    }
}
