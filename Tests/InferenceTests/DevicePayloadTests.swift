import DevicePayload
import Trainer
import XCTest

/// The device payload (Sources/DevicePayload) on the host, without QEMU: the encoder `infer --device`
/// uses and the reader the firmware compiles are the same code, so a payload written here and read
/// here is read the same way on the board. Hostile headers are refused with the field and the numbers,
/// never a trap (the firmware's `Int` is 32 bits: every product and sum is checked in 64 bits first).
final class DevicePayloadTests: XCTestCase {
    /// Reads `bytes` as a payload area of `capacity` bytes (the rest erased flash, 0xFF).
    func read(_ bytes: [UInt8], capacity: Int) -> Result<DevicePayload, DevicePayloadError> {
        var area = bytes + [UInt8](repeating: 0xFF, count: max(capacity - bytes.count, 0))
        area = Array(area.prefix(capacity))
        return area.withUnsafeBytes { buffer in Result(catching: { () throws(DevicePayloadError) in try DevicePayload(reading: buffer) }) }
    }

    /// A header with these u32 fields after a valid magic, version and header size.
    func header(modelOffset: UInt32 = 64, modelBytes: UInt32, imagesOffset: UInt32, imageCount: UInt32, imageBytes: UInt32,
                flags: UInt32 = 0, version: UInt32 = 1, headerBytes: UInt32 = 64) -> [UInt8] {
        var out: [UInt8] = [0x42, 0x53, 0x44, 0x56]
        for v in [version, headerBytes, modelOffset, modelBytes, imagesOffset, imageCount, imageBytes, flags] {
            out += (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
        }
        return out + [UInt8](repeating: 0, count: 28)
    }

    func testEncodedPayloadReadsBackWithTheFirmwaresReader() throws {
        let model = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        let pixels = (0..<15).map { UInt8(200 + $0) }
        let blob = try DevicePayload.encode(model: model, pixels: pixels[...], imageCount: 3, imageBytes: 5, capacity: 1024)
        // The layout: header at 0, model at 64, images at the next multiple of 64 after the model (192).
        XCTAssertEqual(Array(blob[0..<4]), Array("BSDV".utf8))
        let fields = (0..<8).map { i in (0..<4).reduce(0) { $0 | Int(blob[4 + 4 * i + $1]) << (8 * $1) } }
        XCTAssertEqual(fields, [1, 64, 64, 100, 192, 3, 5, 0], "version, header bytes, model offset and bytes, images offset, count, bytes, flags")
        XCTAssertEqual(blob.count, 192 + 15)
        let payload = try read(blob, capacity: 1024).get()
        XCTAssertEqual(payload, try DevicePayload(modelBytes: 100, imageCount: 3, imageBytes: 5, capacity: 1024))
        var area = blob + [UInt8](repeating: 0xFF, count: 1024 - blob.count)
        area.withUnsafeMutableBytes { raw in
            let buffer = UnsafeRawBufferPointer(raw)
            XCTAssertEqual(Array(payload.model(in: buffer)), model)
            for i in 0..<3 {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: payload.image(i, in: buffer), count: 5)), Array(pixels[(5 * i)..<(5 * i + 5)]))
            }
        }
    }

    func testAPayloadLargerThanTheBoardsCapacityIsAClearError() throws {
        let model = [UInt8](repeating: 1, count: 100)
        // 192 + 3 x 5 = 207 bytes: fits 207, not 206.
        XCTAssertNoThrow(try DevicePayload.encode(model: model, pixels: [UInt8](repeating: 0, count: 15)[...], imageCount: 3,
                                                  imageBytes: 5, capacity: 207))
        XCTAssertThrowsError(try DevicePayload.encode(model: model, pixels: [UInt8](repeating: 0, count: 15)[...], imageCount: 3,
                                                      imageBytes: 5, capacity: 206)) { error in
            XCTAssertEqual(error as? DevicePayloadError, .pastEnd(what: "images", end: 207, limit: 206))
            XCTAssertEqual((error as? DevicePayloadError)?.message, "payload images ends at byte 207, past 206")
        }
        XCTAssertThrowsError(try DevicePayload.encode(model: model, pixels: [][...], imageCount: 0, imageBytes: 5, capacity: 163)) { error in
            XCTAssertEqual(error as? DevicePayloadError, .pastEnd(what: "model image", end: 164, limit: 163))
        }
        XCTAssertThrowsError(try DevicePayload.encode(model: model, pixels: [0, 0][...], imageCount: 3, imageBytes: 5, capacity: 1024)) { error in
            XCTAssertEqual(error as? DevicePayloadError, .pixelCount(2, imageCount: 3, imageBytes: 5))
        }
        // How many images a run takes: the rest of the area after the model, whole images only.
        XCTAssertEqual(try DevicePayload.imagesPerPayload(modelBytes: 100, imageBytes: 5, capacity: 206), 2)
        XCTAssertEqual(try DevicePayload.imagesPerPayload(modelBytes: 100, imageBytes: 5, capacity: 207), 3)
        XCTAssertThrowsError(try DevicePayload.imagesPerPayload(modelBytes: 100, imageBytes: 5, capacity: 196))
        XCTAssertThrowsError(try DevicePayload.imagesPerPayload(modelBytes: Int.max, imageBytes: 5, capacity: 1 << 20))
        XCTAssertThrowsError(try DevicePayload.imagesPerPayload(modelBytes: 100, imageBytes: 0, capacity: 1 << 20))
        XCTAssertThrowsError(try DevicePayload.imagesPerPayload(modelBytes: 1, imageBytes: 1, capacity: -1))
        XCTAssertThrowsError(try DevicePayload.imagesPerPayload(modelBytes: -1, imageBytes: 1, capacity: 1 << 20))
    }

    func testHostileHeadersAreRefusedWithTheFieldAndNumbers() {
        let cap = 4096
        let cases: [([UInt8], Int, DevicePayloadError)] = [
            ([0x42, 0x53, 0x44, 0x57] + header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1).dropFirst(4), cap,
             .badMagic(0x5744_5342)),
            ([], cap, .badMagic(0xFFFF_FFFF)),   // erased flash: nothing loaded
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1), 63, .pastEnd(what: "header", end: 64, limit: 63)),
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1, version: 2), cap,
             .badField(field: "version", value: 2, rule: "this code reads version 1")),
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1, headerBytes: 32), cap,
             .badField(field: "header bytes", value: 32, rule: "version 1 has 64")),
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1, flags: 2), cap,
             .badField(field: "flags", value: 2, rule: "only bit 0 is defined")),
            (header(modelOffset: 0, modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1), cap,
             .badField(field: "model offset", value: 0, rule: "must be a multiple of 64 after the 64-byte header")),
            (header(modelOffset: 96, modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1), cap,
             .badField(field: "model offset", value: 96, rule: "must be a multiple of 64 after the 64-byte header")),
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 0), cap,
             .badField(field: "bytes per image", value: 0, rule: "must be at least 1")),
            (header(modelBytes: 4033, imagesOffset: 4097, imageCount: 0, imageBytes: 1), cap,
             .pastEnd(what: "model image", end: 4097, limit: 4096)),
            (header(modelOffset: 0xFFFF_FFC0, modelBytes: 0xFFFF_FFFF, imagesOffset: 0, imageCount: 0, imageBytes: 1), cap,
             .pastEnd(what: "model image", end: 0xFFFF_FFC0 + 0xFFFF_FFFF, limit: 4096)),
            (header(modelBytes: 100, imagesOffset: 128, imageCount: 1, imageBytes: 1), cap,
             .pastEnd(what: "model image", end: 164, limit: 128)),
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 0xFFFF_FFFF, imageBytes: 0xFFFF_FFFF), cap,
             .pastEnd(what: "images", end: 128 + 0xFFFF_FFFE_0000_0001, limit: 4096)),
            (header(modelBytes: 1, imagesOffset: 128, imageCount: 3969, imageBytes: 1), cap,
             .pastEnd(what: "images", end: 4097, limit: 4096)),
        ]
        for (bytes, capacity, expected) in cases {
            switch read(bytes, capacity: capacity) {
            case .success(let p): XCTFail("accepted \(p), expected \(expected.message)")
            case .failure(let e): XCTAssertEqual(e, expected, e.message)
            }
        }
        var reserved = header(modelBytes: 1, imagesOffset: 128, imageCount: 1, imageBytes: 1)
        reserved[63] = 1
        XCTAssertEqual(read(reserved, capacity: cap), .failure(.badField(field: "reserved byte", value: 63, rule: "must be zero")))
        // The edge that fits is accepted.
        XCTAssertEqual(try read(header(modelBytes: 1, imagesOffset: 128, imageCount: 3968, imageBytes: 1), capacity: cap).get().totalBytes, 4096)
    }

    /// Seeded random headers (valid magic and version, fields drawn from edges and random u32s): each is
    /// refused, or accepted with every part inside the area, in order, as the firmware indexes it.
    func testRandomHeadersAreRefusedOrLieInsideTheArea() {
        var r = SeededRandom(seed: 13)
        let edges: [UInt32] = [0, 1, 63, 64, 65, 128, 1000, 4095, 4096, 4097, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFC0, 0xFFFF_FFFF]
        // Each field an edge value or a plausible one (so a fair share of headers is valid).
        func draw(_ plausible: UInt64) -> UInt32 {
            r.next() % 3 == 0 ? edges[Int(r.next() % UInt64(edges.count))] : UInt32(r.next() % plausible)
        }
        var accepted = 0
        for _ in 0..<20_000 {
            let bytes = header(modelOffset: r.next() % 2 == 0 ? draw(256) : 64 * UInt32(1 + r.next() % 4), modelBytes: draw(1024),
                               imagesOffset: draw(2048), imageCount: draw(64), imageBytes: draw(64), flags: r.next() % 4 == 0 ? draw(4) : 0)
            guard case .success(let p) = read(bytes, capacity: 4096) else { continue }
            accepted += 1
            XCTAssertTrue(p.modelOffset >= 64 && p.modelOffset % 64 == 0 && p.modelOffset + p.modelBytes <= p.imagesOffset
                          && p.imageBytes >= 1 && p.totalBytes <= 4096 && p.flags & ~1 == 0, "\(p)")
        }
        XCTAssertGreaterThan(accepted, 100, "the draw reaches valid headers too")
    }
}
