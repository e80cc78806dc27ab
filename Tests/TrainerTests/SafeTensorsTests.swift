import XCTest
@testable import Trainer

final class SafeTensorsTests: XCTestCase {
    let sample = SafeTensorsFile(metadata: ["format": "x", "model": "{\"a\":1}"], tensors: [
        NamedArray(name: "fc0.weight", shape: [2, 3], values: [1, -2, 3, 4.5, 0, -0.25]),
        NamedArray(name: "bn0.bias", shape: [2], values: [0.5, -0.5]),
    ])

    func testRoundTripAndDeterminism() throws {
        let bytes = sample.encoded()
        XCTAssertEqual(bytes, sample.encoded())
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual(headerLength % 8, 0, "data must start 8-byte aligned")
        let parsed = try SafeTensorsFile.parse(bytes, path: "t")
        XCTAssertEqual(parsed.metadata, sample.metadata)
        XCTAssertEqual(parsed.tensors, sample.tensors)
    }

    /// Rebuilds a file with a hand-written header over `data`.
    func file(header: String, data: [UInt8]) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var out: [UInt8] = []
        var n = UInt64(h.count)
        withUnsafeBytes(of: &n) { out += $0 }
        return out + h + data
    }

    func expectError(_ bytes: [UInt8], contains needle: String, line: UInt = #line) {
        do {
            _ = try SafeTensorsFile.parse(bytes, path: "bad.safetensors")
            XCTFail("parsed a malformed file; wanted an error containing '\(needle)'", line: line)
        } catch {
            XCTAssertTrue(error.description.contains(needle), "error '\(error)' lacks '\(needle)'", line: line)
        }
    }

    func testMalformedFilesGiveSpecificErrors() {
        let eight = [UInt8](repeating: 0, count: 8)
        expectError([1, 2, 3], contains: "fewer than the 8-byte header length")
        expectError([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], contains: "exceeds the cap")
        expectError([64, 0, 0, 0, 0, 0, 0, 0, 0x7b], contains: "header ends at 72, file has 9 bytes")
        expectError(file(header: "{not json", data: []), contains: "not valid JSON")
        expectError(file(header: #"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                    contains: "dtype Q4, not one of")
        expectError(file(header: #"{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]),
                    contains: "spans 4 bytes, its shape [1] needs 8")
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#, data: eight),
                    contains: "ends at data offset 16, data has 8 bytes")
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight),
                    contains: "spans 8 bytes, its shape [3] needs 12")
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: eight),
                    contains: "4 trailing data bytes")
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight),
                    contains: "data bytes 0..<4 belong to no tensor")
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: eight),
                    contains: "overlaps")
        expectError(file(header: #"{"__metadata__":{"k":3}}"#, data: []), contains: "value for 'k' is not a string")
        // A dimension above the cap is named with the whole shape; dimensions under it whose product exceeds
        // the file are refused by their size.
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}"#, data: eight),
                    contains: "dimension 4611686018427387904 at index 0 of its shape [4611686018427387904, 4], above the cap of 2147483647")
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[2147483647,2147483647,4],"data_offsets":[0,8]}}"#, data: eight),
                    contains: "larger than the file")
    }

    func testOtherDtypesAreValidatedAndSkipped() throws {
        let f = try SafeTensorsFile.parse(file(header: #"{"n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                                               data: [UInt8](repeating: 0, count: 12)), path: "t")
        XCTAssertEqual(f.skipped, ["n"])
        XCTAssertEqual(f.tensors.map(\.name), ["w"])
    }

    func testEveryTruncationFailsCleanly() {
        let bytes = sample.encoded()
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensorsFile.parse(Array(bytes[0..<cut]), path: "t"), "cut at \(cut)")
        }
    }
}
