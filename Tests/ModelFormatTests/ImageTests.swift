import XCTest
@testable import ModelFormat

/// Small images built by hand.
enum Fixtures {
    /// 2x3x1 input, 2-bit codes -> binary dense 6->4 -> threshold (flat) -> binary dense 4->3 -> affine -> argmax;
    /// with `blocked`, the first dense weights are in the bits8 layout (4 rows padded to 8).
    /// with `columns`, both dense layers' weights are in the columns32 layout (one lane group each).
    static func tinyBinary(blocked: Bool = false, columns: Bool = false) -> [UInt8] {
        var b = ImageBuilder(inputHeight: 2, inputWidth: 3, inputChannels: 1, classes: 3)
        let first = BitPacking.pack(signs: [1, -1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, 1, -1, 1, -1, 1],
                                    rows: 4, n: 6)
        let w0 = b.addDense(first, rows: 4, n: 6, type: columns ? .columns32 : blocked ? .bits8 : .bits)
        let t0 = b.addI32([0, -3, 5, 2], dims: [4])
        let f0 = b.addU8([0, 1, 0, 1], dims: [4])
        let second = BitPacking.pack(signs: [1, 1, -1, 1, -1, 1, 1, -1, 1, -1, -1, -1], rows: 3, n: 4)
        let w1 = columns ? b.addColumns(second, rows: 3, n: 4) : b.addBits(second, dims: [3, 4])
        let s = b.addF32([0.5, -0.25, 1], dims: [3]), t = b.addF32([0.1, 0.2, -0.3], dims: [3])
        b.addOp(.inputCodes, [2])
        b.addOp(.dense, [6, 4, w0, Int(InputKind.codes.rawValue), 3, 0])
        b.addOp(.thresholdSign, [1, 1, 4, t0, f0, Int(BitLayout.flat.rawValue)])
        b.addOp(.dense, [4, 3, w1, Int(InputKind.bits.rawValue), 0, 0])
        b.addOp(.affine, [1, 1, 3, 0, s, t])
        b.addOp(.argmax, [3])
        return b.build()
    }

    /// Reads `bytes` as an image.
    /// The image keeps a pointer to its bytes, so they are copied into memory that is never freed
    /// (tests only; a few KB each).
    static func read(_ bytes: [UInt8]) throws(ModelFormatError) -> ModelImage {
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { copy.copyMemory(from: $0) }
        return try ModelImage(bytes: UnsafeRawBufferPointer(rebasing: copy[0..<bytes.count]))
    }
}

final class ImageTests: XCTestCase {
    func testRoundTripAndShapes() throws {
        let bytes = Fixtures.tinyBinary()
        XCTAssertEqual(bytes, Fixtures.tinyBinary(), "deterministic")
        XCTAssertEqual(bytes.count % 64, 0)
        let image = try Fixtures.read(bytes)
        XCTAssertEqual(image.opCount, 6)
        XCTAssertEqual(image.tensorCount, 6)
        XCTAssertEqual(image.header.classes, 3)
        let ops = image.ops
        XCTAssertEqual(ops.map(\.kind), [.inputCodes, .dense, .thresholdSign, .dense, .affine, .argmax])
        XCTAssertEqual(ops[1].output, Activation(kind: .i32, height: 1, width: 1, channels: 4))
        XCTAssertEqual(ops[2].output, Activation(kind: .bits, height: 1, width: 1, channels: 4, layout: .flat))
        XCTAssertEqual(ops[5].output.kind, .classIndex)
        XCTAssertEqual(image.tensor(0).bytes, 4 * 8, "four rows of one word")
        for i in 0..<image.tensorCount { XCTAssertEqual(image.tensor(i).offset % 64, 0) }
    }

    func testBitPackingRule() {
        // bit 1 = -1, LSB first, rows padded with 0 bits.
        XCTAssertEqual(BitPacking.pack(signs: [1, -1, -1, 1], rows: 1, n: 4), [0b0110])
        XCTAssertEqual(BitPacking.pack(signs: [0, -0.5], rows: 1, n: 2), [0b10], "sign(0) = +1")
        let long = (0..<65).map { $0 == 64 || $0 == 0 ? Float(-1) : 1 }
        XCTAssertEqual(BitPacking.pack(signs: long, rows: 1, n: 65), [1, 1])
        XCTAssertEqual(BitPacking.pack(signs: long + long, rows: 2, n: 65), [1, 1, 1, 1], "each row starts a new word")
        XCTAssertEqual(BitPacking.lastWordMask(65), 1)
        XCTAssertEqual(BitPacking.lastWordMask(64), ~0)
        // dot = n - 2 popcount(a ^ w) with zero padding, over lengths around word edges.
        for n in [1, 63, 64, 65, 130] {
            var r = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
            func next() -> Float { r = r &* 6364136223846793005 &+ 1442695040888963407; return (r >> 33) & 1 == 1 ? 1 : -1 }
            let a = (0..<n).map { _ in next() }, w = (0..<n).map { _ in next() }
            let pa = BitPacking.pack(signs: a, rows: 1, n: n), pw = BitPacking.pack(signs: w, rows: 1, n: n)
            var pop = 0
            for i in 0..<pa.count { pop += (pa[i] ^ pw[i]).nonzeroBitCount }
            XCTAssertEqual(n - 2 * pop, Int(zip(a, w).map { $0 * $1 }.reduce(0, +)), "n = \(n)")
        }
    }

    func expect(_ bytes: [UInt8], _ expected: ModelFormatError, line: UInt = #line) {
        XCTAssertThrowsError(try Fixtures.read(bytes), line: line) {
            XCTAssertEqual($0 as? ModelFormatError, expected, "\(($0 as? ModelFormatError)?.message ?? "")", line: line)
        }
    }

    func set16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) { b[at] = UInt8(v & 0xff); b[at + 1] = UInt8(v >> 8) }
    func set32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8((v >> (8 * UInt32(i))) & 0xff) } }

    /// Issue 14 item 5: the errors carry enums and integers (nothing is formatted on a device); the host's
    /// messages, formed from them, still name the part and the numbers as they did.
    func testHostMessagesNameThePartAndTheNumbers() {
        let cases: [(ModelFormatError, String)] = [
            (.badField(what: .opCodeBits(op: 1), value: 8, rule: .codeBits(delta: 2, expected: 3)),
             "op 1 code bits is 8: codes of 2-bit input (op 0) need 3 (δ + 1, or 8 when δ = 8)"),
            (.outOfOrder(what: .tensor(1), offset: 640, previous: .tensor(0), previousEnd: 672),
             "tensor 1 starts at 640, before the end of tensor 0 at 672 (parts must be in ascending order: header, op table, tensor table, tensors by index; none may overlap)"),
            (.badTensorReference(op: 2, reason: .wrongTensor(.outputScale, expected: .f32, shape: Dims(10), found: .i32, rank: 2)),
             "op 2: output scale tensor must be f32 [10], is i32 rank 2"),
            (.chainMismatch(op: 3, reason: .inputShape(height: 5, width: 5, channels: 8, given: Dims(4, 4, 8))),
             "op 3: expects a 5x5x8 input, the previous op gives 4x4x8"),
            (.badField(what: .tensorValue(tensor: 1, index: 1), value: 0x7FC0_0000, rule: .finite(nan: true)),
             "tensor 1 value 1 is 2143289344: f32 tensors hold finite values only (this is the bit pattern of a NaN)"),
            (.nonZeroPadding(what: .paddingBefore(.tensorTable), offset: 70), "padding before tensor table has a non-zero byte or bit at offset 70"),
            (.chainMismatch(op: 4, reason: .declares(.bits, given: .f32)), "op 4: declares bits input, the previous op gives f32"),
            (.badMagic(expected: .file), "bad magic: not a BitShield model file (BSM1)"),
        ]
        for (error, text) in cases { XCTAssertEqual(error.message, text) }
    }

    func testEachDefectGivesItsError() throws {
        let good = Fixtures.tinyBinary()
        let tensorTable = 64 + 6 * 64   // header + op table
        var b = good
        b[0] = 0x58
        expect(b, .badMagic(expected: .image))
        b = good; set16(&b, 4, 6)
        expect(b, .unsupportedVersion(found: 6, newest: 5))
        expect(Array(good.dropLast(64)), .truncated(what: .image, needs: good.count, has: good.count - 64))
        expect(good + [UInt8](repeating: 0, count: 64),
               .badField(what: .imageBytes, value: good.count, rule: .trailingBytes(imageBytes: good.count + 64)))
        b = good; set16(&b, 64, 77)
        expect(b, .unknownOp(index: 0, id: 77))
        b = good; set16(&b, tensorTable, 9)
        expect(b, .unknownTensorType(index: 0, id: 9))
        b = good; set32(&b, tensorTable + 4, 1 << 25)
        expect(b, .shapeOverflow(what: .tensorDim(tensor: 0, dim: 0, size: 33554432)))
        b = good; set32(&b, tensorTable + 24, 40)
        expect(b, .sizeMismatch(what: .part(.tensor(0)), bytes: 40, expected: 32))
        b = good; set32(&b, tensorTable + 20, UInt32(good.count))
        expect(b, .outOfBounds(what: .part(.tensor(0)), end: good.count + 32, size: good.count))
        b = good; set32(&b, tensorTable + 20, 100)
        expect(b, .misaligned(what: .part(.tensor(0)), offset: 100))
        // Tensor 1 placed on top of tensor 0.
        b = good
        let t0 = Int(b[tensorTable + 20]) | Int(b[tensorTable + 21]) << 8
        set32(&b, tensorTable + 32 + 20, UInt32(t0))
        expect(b, .outOfOrder(what: .tensor(1), offset: t0, previous: .tensor(0), previousEnd: t0 + 32))
        // An op pointing at a tensor that does not exist.
        b = good; set32(&b, 64 + 64 + 4 + 8, 99)
        expect(b, .badTensorReference(op: 1, reason: .missingTensor(.weight, index: 99, tensors: 6)))
        // A flip value that is not 0 or 1.
        b = good
        let f0 = Int(b[tensorTable + 64 + 20]) | Int(b[tensorTable + 64 + 21]) << 8
        b[f0 + 2] = 7
        expect(b, .badField(what: .opFlip(op: 2, channel: 2), value: 7, rule: .zeroOrOne))
        // A padding bit set in a packed row.
        b = good; b[t0 + 7] = 0x80
        XCTAssertThrowsError(try Fixtures.read(b)) { XCTAssertTrue(($0 as! ModelFormatError).message.contains("padding bits"), "\($0)") }
        // A chain mismatch: the second dense says it reads 5 values.
        b = good; set32(&b, 64 + 3 * 64 + 4, 5)
        expect(b, .chainMismatch(op: 3, reason: .denseInputs(expects: 5, given: 4)))
        // bits8 (version 2): a set bit in a padding row, the type in a version 1 image, the size rule.
        let blocked = Fixtures.tinyBinary(blocked: true)
        XCTAssertNoThrow(try Fixtures.read(blocked))
        let w0 = Int(blocked[tensorTable + 20]) | Int(blocked[tensorTable + 21]) << 8
        XCTAssertEqual(Int(blocked[tensorTable + 24]), 64, "4 rows of 1 word padded to 8 rows")
        b = blocked; b[w0 + 8 * 5] = 1
        XCTAssertThrowsError(try Fixtures.read(b)) { XCTAssertTrue(($0 as! ModelFormatError).message.contains("row 5 padding bits"), "\($0)") }
        b = blocked; b[w0 + 8 * 2 + 7] = 0x80
        XCTAssertThrowsError(try Fixtures.read(b)) { XCTAssertTrue(($0 as! ModelFormatError).message.contains("row 2 padding bits"), "\($0)") }
        b = blocked; set16(&b, 4, 1)
        expect(b, .unknownTensorType(index: 0, id: 5))
        b = blocked; set32(&b, tensorTable + 24, 32)
        expect(b, .sizeMismatch(what: .part(.tensor(0)), bytes: 32, expected: 64))
        // columns32 (version 3): rows 0...3 are bits 0...3 of six column words, then the counts of -1
        // (3, 2, 3, 3: the signs above), then 0 bytes; a set lane past the last row, a wrong count, a set
        // padding byte, the type in a version 2 image and the size rule are all refused.
        let columns = Fixtures.tinyBinary(columns: true)
        let read = try Fixtures.read(columns)
        XCTAssertTrue(read.isColumns(0) && read.isBits(0) && !read.isBlocked(0))
        let c0 = Int(columns[tensorTable + 20]) | Int(columns[tensorTable + 21]) << 8
        XCTAssertEqual(Int(columns[tensorTable + 24]), 4 * 6 + 8, "6 column words, 4 row counts")
        XCTAssertEqual(Array(columns[c0..<(c0 + 24)].enumerated().filter { $0.offset % 4 == 0 }.map(\.element)),
                       [0b1010, 0b0011, 0b1000, 0b0100, 0b1101, 0b0101], "column i holds rows 0...3 in bits 0...3")
        XCTAssertEqual(Array(columns[(c0 + 24)..<(c0 + 32)]), [3, 0, 2, 0, 3, 0, 3, 0])
        b = columns; b[c0 + 4 * 2] |= 0x10
        XCTAssertThrowsError(try Fixtures.read(b)) { XCTAssertTrue(($0 as! ModelFormatError).message.contains("column 2 lanes past row 4"), "\($0)") }
        b = columns; b[c0 + 24 + 4] = 4
        expect(b, .badField(what: .tensorRowCount(tensor: 0, row: 2), value: 4, rule: .rowCount(3)))
        b = columns; b[c0 + 24 + 7] = 1
        expect(b, .badField(what: .tensorRowCount(tensor: 0, row: 3), value: 259, rule: .rowCount(3)))
        let c3 = Int(columns[tensorTable + 3 * 32 + 20]) | Int(columns[tensorTable + 3 * 32 + 21]) << 8
        XCTAssertEqual(Int(columns[tensorTable + 3 * 32 + 24]), 4 * 4 + 8, "3 row counts and 2 padding bytes")
        b = columns; b[c3 + 4 * 4 + 7] = 1
        expect(b, .nonZeroPadding(what: .tensorCountsPadding(tensor: 3), offset: c3 + 23))
        b = columns; set16(&b, 4, 2)
        expect(b, .unknownTensorType(index: 0, id: 6))
        // Rank 3 with the same rows and row length (so the size rule holds): refused by its rank.
        b = columns; set16(&b, tensorTable + 2, 3); set32(&b, tensorTable + 8, 1); set32(&b, tensorTable + 12, 6)
        expect(b, .badField(what: .tensorRank(tensor: 0), value: 3, rule: .rank2(.columns32)))
        XCTAssertEqual(Int(columns[4]), 3, "a columns32 image is version 3")
        XCTAssertEqual(Int(Fixtures.tinyBinary(blocked: true)[4]), 2, "a bits8 image is written as version 2")
        XCTAssertEqual(Int(good[4]), 1, "an image of version 1 types is written as version 1")
        b = columns; set32(&b, tensorTable + 24, 28)
        expect(b, .sizeMismatch(what: .part(.tensor(0)), bytes: 28, expected: 32))
        // Reserved header bytes.
        b = good; b[40] = 1
        expect(b, .nonZeroPadding(what: .headerReserved, offset: 40))
    }

    /// columns32 rows past 65,535 values (the kernels' u16 indices and counts), and columns32 weights
    /// on a conv2d, are refused.
    func testColumnsLimits() {
        var b = ImageBuilder(inputHeight: 2, inputWidth: 2, inputChannels: 1, classes: 1)
        let w = b.addColumns(BitPacking.pack(signs: [-1], rows: 1, n: 1), rows: 1, n: 1)
        b.addOp(.inputCodes, [2])
        b.addOp(.conv2d, [2, 2, 1, 1, 1, w, Int(InputKind.codes.rawValue), 3])
        XCTAssertThrowsError(try Fixtures.read(b.build())) {
            XCTAssertEqual($0 as? ModelFormatError, .badTensorReference(op: 1, reason: .convWeightsBits(found: .columns32)))
        }
        var wide = ImageBuilder(inputHeight: 1, inputWidth: 1, inputChannels: 1, classes: 1)
        _ = wide.addTensor(.columns32, dims: [1, 65536], bytes: [UInt8](repeating: 0, count: BitPacking.columnsBytes(rows: 1, n: 65536)))
        wide.addOp(.argmax, [1])
        XCTAssertThrowsError(try Fixtures.read(wide.build())) {
            XCTAssertEqual($0 as? ModelFormatError, .badField(what: .tensorValuesPerRow(tensor: 0), value: 65536, rule: .maxColumns(65535)))
        }
    }

    func testTruncationAtEveryByteFailsCleanly() {
        let good = Fixtures.tinyBinary()
        for cut in 0..<good.count {
            XCTAssertThrowsError(try Fixtures.read(Array(good[0..<cut])), "cut at \(cut)")
        }
    }

    /// Seeded mutations of a valid image (bit flips, byte overwrites, truncations, splices): the reader
    /// must return or throw, never crash or hang. Runs 20,000 cases; `make fuzz` runs libFuzzer longer.
    func testMutantsThatLoadChangedNoFixedByte() {
        for good in [Fixtures.tinyBinary(), Fixtures.tinyBinary(blocked: true), Fixtures.tinyBinary(columns: true), ColumnBoundsImageTests.tiny()] {
            mutate(good)
        }
    }

    func mutate(_ good: [UInt8]) {
        var state: UInt64 = 0x5EED
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        var accepted = 0
        for _ in 0..<20_000 {
            var b = good
            switch next() % 4 {
            case 0: for _ in 0...(next() % 4) { b[next() % b.count] ^= UInt8(1 << (next() % 8)) }
            case 1: for _ in 0...(next() % 3) { b[next() % b.count] = UInt8(next() % 256) }
            case 2: b = Array(b[0..<(next() % b.count)])
            default:
                let from = next() % b.count, to = next() % b.count, n = next() % 64
                for i in 0..<n where from + i < b.count && to + i < b.count { b[to + i] = good[from + i] }
            }
            if (try? Fixtures.read(b)) != nil {
                accepted += 1
                // The oracle: an accepted mutant changed only bytes a valid image may hold with other
                // values (weights, thresholds, flips, scales, shifts, parameters that stay consistent);
                // it never changed a byte the spec fixes: the header's reserved bytes, padding between
                // parts, or a tensor record's reserved word.
                for i in fixed(good) where b.count > i && b[i] != good[i] {
                    XCTFail("a mutant that changed fixed byte \(i) was accepted")
                }
                XCTAssertEqual(b.count, good.count, "a mutant of another length was accepted")
            }
        }
        XCTAssertLessThan(accepted, 20_000, "mutations must be detected")
    }

    /// Offsets of the bytes the spec fixes in `good`: the header's reserved bytes (36..<64), the padding
    /// between parts and after the last one, and each tensor record's reserved word.
    func fixed(_ good: [UInt8]) -> [Int] {
        func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(good[at + $1]) << (8 * $1) } }
        func u16(_ at: Int) -> Int { Int(good[at]) | Int(good[at + 1]) << 8 }
        var out = Array(36..<64)
        let (ops, tensors, opTable, tensorTable) = (u16(24), u16(26), u32(28), u32(32))
        var parts = [(opTable, ops * 64), (tensorTable, tensors * 32)]
        for t in 0..<tensors {
            let record = tensorTable + 32 * t
            out += (record + 28)..<(record + 32)
            parts.append((u32(record + 20), u32(record + 24)))
        }
        var cursor = 64
        for (start, length) in parts.sorted(by: { $0.0 < $1.0 }) {
            out += cursor..<max(cursor, start)
            cursor = max(cursor, start + length)
        }
        out += cursor..<good.count
        return out
    }
}
