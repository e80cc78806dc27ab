import XCTest
import CAllocationCounter
@testable import Trainer

/// Issue 12 items 6 and 15: the safetensors header under attack (numbers that are not exact
/// integers, duplicate names, header bombs that cost many times their size).
final class SafeTensorsHostileTests: XCTestCase {
    /// A file with a hand-written header over `data`.
    private func file(header: String, data: [UInt8] = []) -> [UInt8] {
        var h = Array(header.utf8)
        var out: [UInt8] = []
        var n = UInt64(h.count)
        withUnsafeBytes(of: &n) { out += $0 }
        out += h
        h = []
        return out + data
    }

    private func expectError(_ bytes: [UInt8], contains needle: String, line: UInt = #line) {
        do {
            let f = try SafeTensorsFile.parse(bytes, path: "bad.safetensors")
            XCTFail("parsed a hostile file (tensors \(f.tensors.map { ($0.name, $0.shape) }), metadata \(f.metadata)); wanted '\(needle)'", line: line)
        } catch {
            XCTAssertTrue(error.description.contains(needle), "error '\(error)' lacks '\(needle)'", line: line)
        }
    }

    /// A shape too large for the file was named by its first dimensions only ("shape [4611686018427387904]
    /// (so far)" for [2^62, 4]; the IDX reader had the same habit): every dimension is named.
    func testShapeErrorsNameTheWholeShape() {
        func entry(_ shape: String) -> String { #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":[0,0]}}"# }
        expectError(file(header: entry("[4611686018427387904,4]")), contains: "shape [4611686018427387904, 4], above the cap of 2147483647")
        expectError(file(header: entry("[100,100,3]")), contains: "tensor 'a' shape [100, 100, 3] is larger than the file's 0 data bytes")
    }

    func testNumbersMustBeExactIntegersAndNamesUnique() {
        let four = [UInt8](repeating: 0, count: 4)
        func entry(_ shape: String, _ offsets: String) -> String {
            #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#
        }
        // Fractional offsets and dimensions were truncated (4.5 -> 4, 1.9 -> 1) and loaded.
        expectError(file(header: entry("[1]", "[0,4.5]"), data: four), contains: "bad data offset 4.5")
        expectError(file(header: entry("[1]", "[0.0,4]"), data: four), contains: "bad data offset 0.0")
        expectError(file(header: entry("[1.9]", "[0,4]"), data: four), contains: "bad dimension 1.9 at index 0")
        expectError(file(header: entry("[1e0]", "[0,4]"), data: four), contains: "bad dimension 1e0")
        expectError(file(header: entry("[-1]", "[0,4]"), data: four), contains: "bad dimension -1")
        expectError(file(header: entry("[\"1\"]", "[0,4]"), data: four), contains: "bad dimension \"1\"")
        // Huge dimensions beside a zero one passed the element count check (or wrapped in NSNumber).
        expectError(file(header: entry("[0,4294967296]", "[0,0]")), contains: "dimension 4294967296 at index 1 of its shape [0, 4294967296], above the cap")
        expectError(file(header: entry("[0,1e30]", "[0,0]")), contains: "bad dimension 1e30")
        expectError(file(header: entry("[0,99999999999999999999]", "[0,0]")), contains: "bad dimension 99999999999999999999")
        expectError(file(header: entry("[1,1,1,1,1,1,1,1,1]", "[0,4]"), data: four), contains: "more than 8 dimensions")
        expectError(file(header: entry("[1]", "[0,4,4]"), data: four), contains: "more than two data_offsets")
        // A duplicate name was silently collapsed by the dictionary: one tensor's entry lost.
        expectError(file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
                         data: four), contains: "tensor 'a' appears twice")
        expectError(file(header: #"{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: four),
                    contains: "two dtype keys")
        expectError(file(header: #"{"__metadata__":{"k":"v","k":"w"}}"#), contains: "key 'k' appears twice")
        expectError(file(header: #"{"__metadata__":{},"__metadata__":{}}"#), contains: "__metadata__ appears twice")
        expectError(file(header: #"{"__metadata__":{"k":null}}"#), contains: "value for 'k' is not a string")
        expectError(file(header: #"{"__metadata__":{"k":["v"]}}"#), contains: "value for 'k' is not a string")
        // Strict JSON: what JSONSerialization let through.
        expectError(file(header: #"{"__metadata__":{"k":"v",}}"#), contains: "not valid JSON (unexpected '}' at byte 25")
        expectError(file(header: #"{"__metadata__":{}} x"#), contains: "1 bytes of trailing data")
        let metaPairs = (0...SafeTensorsFile.maxMetadataEntries).map { #""k\#($0)":"""# }.joined(separator: ",")
        expectError(file(header: #"{"__metadata__":{\#(metaPairs)}}"#), contains: "more than 1024 entries")
    }

    /// A header of `entries` tensors built to cost the parser the most per header byte: short names,
    /// F32 so every shape is kept, the highest rank with a zero dimension so no data is needed.
    private func bombHeader(entries: Int, nameLength: Int) -> [UInt8] {
        var h = "{\"__metadata__\":{\"format\":\"pt\"}"
        for i in 0..<entries {
            let digits = String(i)
            let name = String(repeating: "n", count: max(0, nameLength - digits.count)) + digits
            h += #","\#(name)":{"dtype":"F32","shape":[1,1,1,1,1,1,1,0],"data_offsets":[0,0]}"#
        }
        return file(header: h + "}")
    }

    /// Item 6: the old parser (JSONSerialization into a tree of NSObjects) used about 67x a header's
    /// size. Pinned: peak heap growth during `parse` at most 4.5x the header plus 64 KiB. The derivation
    /// (SafeTensors+Header.swift): a rank-8 entry with a short name is ~70 header bytes and costs a
    /// 48-byte span, <= 43 bytes of name set, a 96-byte shape, a 32-byte NamedArray and the sort's
    /// scratch, ~230 B; a 16-byte name adds 48 B of string for 15 header bytes. Measured (debug build,
    /// 2026-12-05): 3.30x with 1-byte names, 3.71x with 16-byte names (the worst case), 1.87x with
    /// 200-byte names; the rest of the 4.5 is headroom for allocator rounding.
    func testHeaderParseCostsAFewTimesTheHeader() throws {
        for (entries, nameLength) in [(20_000, 1), (20_000, 16), (4_000, 200)] {
            let bytes = bombHeader(entries: entries, nameLength: nameLength)
            let headerBytes = bytes.count - 8
            bitshield_allocations_start()
            let parsed = try SafeTensorsFile.parse(bytes, path: "bomb.safetensors")
            _ = bitshield_allocations_stop()
            let peak = bitshield_allocations_peak_bytes()
            XCTAssertEqual(parsed.tensors.count, entries)
            let factor = Double(peak) / Double(headerBytes)
            print("safetensors header \(headerBytes) B, \(entries) entries, names \(nameLength) B: peak \(peak) B = \(factor)x")
            XCTAssertLessThanOrEqual(Double(peak), 4.5 * Double(headerBytes) + 65_536, "peak \(peak) B for a \(headerBytes)-byte header (\(factor)x)")
        }
    }
}
