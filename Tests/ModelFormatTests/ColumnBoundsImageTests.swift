import XCTest
@testable import ModelFormat

/// The `columns32s` layout (format version 4, ColumnBounds.swift): the reader recomputes every bounds
/// word from the thresholds of the threshold_sign after the dense op and the row counts, and refuses
/// truncated planes, planes that disagree with the thresholds, counts past n, lanes past the last row,
/// the layout on codes, without a threshold_sign after it, unreferenced or shared, and in a version 3 image.
final class ColumnBoundsImageTests: XCTestCase {
    static let hiddenThresholds: [Int32] = [0, -3, 5, Int32.min, 2]

    /// 2x3x1 input, 2-bit codes -> dense 6->4 (columns32) -> threshold -> dense 4->5 (columns32s, tensor 3)
    /// -> threshold (op 4) -> dense 5->3 (columns32; columns32s with `lastBounds`) -> affine -> argmax.
    /// `firstBounds` gives the first layer (on codes) bounds too; `unused` adds a columns32s tensor no op
    /// refers to; `shared` makes the last dense read tensor 3 (with a 5x4 shape that fails first otherwise).
    static func tiny(firstBounds: Bool = false, lastBounds: Bool = false, unused: Bool = false) -> [UInt8] {
        var b = ImageBuilder(inputHeight: 2, inputWidth: 3, inputChannels: 1, classes: 3)
        let first = BitPacking.pack(signs: [1, -1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, 1, -1, 1, -1, 1],
                                    rows: 4, n: 6)
        let w0 = b.addColumns(first, rows: 4, n: 6)
        let t0 = b.addI32([0, -3, 5, 2], dims: [4]), f0 = b.addU8([0, 1, 0, 1], dims: [4])
        if firstBounds { b.addBounds(to: w0, thresholds: [0, -3, 5, 2]) }
        let hidden = BitPacking.pack(signs: [1, 1, -1, 1, -1, 1, 1, -1, 1, -1, -1, -1, -1, -1, -1, -1, 1, 1, 1, 1], rows: 5, n: 4)
        let w1 = b.addColumns(hidden, rows: 5, n: 4)
        b.addBounds(to: w1, thresholds: hiddenThresholds)
        let t1 = b.addI32(hiddenThresholds, dims: [5]), f1 = b.addU8([1, 0, 0, 1, 0], dims: [5])
        let last = BitPacking.pack(signs: [1, 1, -1, 1, -1, 1, 1, -1, 1, -1, -1, -1, 1, 1, -1], rows: 3, n: 5)
        let w2 = b.addColumns(last, rows: 3, n: 5)
        if lastBounds { b.addBounds(to: w2, thresholds: [1, 2, 3]) }
        let s = b.addF32([0.5, -0.25, 1], dims: [3]), t = b.addF32([0.1, 0.2, -0.3], dims: [3])
        if unused {
            let spare = b.addColumns(hidden, rows: 5, n: 4)
            b.addBounds(to: spare, thresholds: hiddenThresholds)
        }
        b.addOp(.inputCodes, [2])
        b.addOp(.dense, [6, 4, w0, Int(InputKind.codes.rawValue), 3, 0])
        b.addOp(.thresholdSign, [1, 1, 4, t0, f0, Int(BitLayout.flat.rawValue)])
        b.addOp(.dense, [4, 5, w1, Int(InputKind.bits.rawValue), 0, 0])
        b.addOp(.thresholdSign, [1, 1, 5, t1, f1, Int(BitLayout.flat.rawValue)])
        b.addOp(.dense, [5, 3, w2, Int(InputKind.bits.rawValue), 0, 0])
        b.addOp(.affine, [1, 1, 3, 0, s, t])
        b.addOp(.argmax, [3])
        return b.build()
    }

    let tensorTable = 64 + 8 * 64   // header + op table

    func offset(_ b: [UInt8], tensor i: Int) -> Int { Int(b[tensorTable + 32 * i + 20]) | Int(b[tensorTable + 32 * i + 21]) << 8 }

    func expect(_ bytes: [UInt8], _ error: ModelFormatError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Fixtures.read(bytes), file: file, line: line) {
            XCTAssertEqual($0 as? ModelFormatError, error, file: file, line: line)
        }
    }

    /// The layout as written: version 4, the columns32 bytes then two sides of W(4) = 4 planes, each word
    /// the rows' starts (T - c - 1 and -(c + T), T = floor((4 - t) / 2) + 1 clamped to [0, 5]).
    func testWrittenLayoutAndItsWords() throws {
        let good = Self.tiny()
        let image = try Fixtures.read(good)
        XCTAssertEqual(Int(good[4]), 4, "a columns32s image is version 4")
        XCTAssertEqual(image.tensor(3).type, .columns32s)
        XCTAssertTrue(image.isColumns(3) && image.hasBounds(3) && image.isBits(3) && !image.hasBounds(0))
        XCTAssertEqual(ColumnBounds.planes(n: 4), 4)
        XCTAssertEqual(image.tensor(3).bytes, 4 * 4 + 4 * 3 + 8 * 4, "4 column words, 5 counts + 2 padding bytes, 2 x 4 planes")
        let counts = [1, 2, 3, 4, 0]   // the hidden rows' counts of -1 (signs above)
        let at = offset(good, tensor: 3) + 28
        for side in 0..<2 {
            for j in 0..<4 {
                var want: UInt32 = 0
                for (k, t) in Self.hiddenThresholds.enumerated() {
                    let bound = min(max((4 - max(Int(t), -4)) >> 1 + 1, 0), 5)
                    let start = side == 0 ? bound - counts[k] - 1 : -(counts[k] + bound)
                    want |= UInt32((start >> j) & 1) << UInt32(k)
                }
                let word = good[(at + 16 * side + 4 * j)..<(at + 16 * side + 4 * j + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                XCTAssertEqual(word, want, "side \(side) plane \(j)")
            }
        }
    }

    /// Each defect is refused with its error and numbers.
    func testEachDefectGivesItsError() throws {
        let good = Self.tiny()
        let w1 = offset(good, tensor: 3), bounds = w1 + 28
        // Every bit of every plane (lanes past row 5 included) disagrees with the thresholds when flipped.
        for byte in 0..<32 {
            for bit in 0..<8 {
                var b = good
                b[bounds + byte] ^= 1 << UInt8(bit)
                let word = byte / 4, base = bounds + 4 * word
                let stored = Int(b[base]) | Int(b[base + 1]) << 8 | Int(b[base + 2]) << 16 | Int(b[base + 3]) << 24
                let expected = Int(good[base]) | Int(good[base + 1]) << 8 | Int(good[base + 2]) << 16 | Int(good[base + 3]) << 24
                expect(b, .badField(what: .tensorBounds(tensor: 3, group: 0, side: word / 4, plane: word % 4), value: stored,
                                    rule: .bounds(expected: expected, op: 4)))
            }
        }
        // A threshold changed under unchanged planes: row 1's threshold -3 -> 3 moves its T from 4 to 1.
        var b = good
        b[offset(good, tensor: 4) + 4] = 3; b[offset(good, tensor: 4) + 5] = 0; b[offset(good, tensor: 4) + 6] = 0; b[offset(good, tensor: 4) + 7] = 0
        XCTAssertThrowsError(try Fixtures.read(b)) {
            guard case let .badField(what: .tensorBounds(tensor: 3, group: 0, side: 0, plane: _), value: _, rule: .bounds(expected: _, op: 4))? = $0 as? ModelFormatError else {
                return XCTFail("\($0)")
            }
            XCTAssertTrue(($0 as! ModelFormatError).message.contains("op 4's thresholds and the row counts give"), ($0 as! ModelFormatError).message)
        }
        // A row count past n (5 of 4 values), and one that disagrees with the lanes: the columns32 checks.
        b = good; b[w1 + 16 + 2 * 2] = 5
        expect(b, .badField(what: .tensorRowCount(tensor: 3, row: 2), value: 5, rule: .rowCount(3)))
        // Truncated planes: a record 4 bytes short (the size rule), and the image cut at every byte.
        b = good; b[tensorTable + 3 * 32 + 24] = 56
        expect(b, .sizeMismatch(what: .part(.tensor(3)), bytes: 56, expected: 60))
        for cut in stride(from: 0, to: good.count, by: 7) { XCTAssertThrowsError(try Fixtures.read(Array(good[0..<cut])), "cut at \(cut)") }
        // The type in a version 3 image.
        b = good; b[4] = 3
        expect(b, .unknownTensorType(index: 3, id: 7))
        // Rank 3 with the same rows and row length.
        b = good; b[tensorTable + 3 * 32 + 2] = 3; b[tensorTable + 3 * 32 + 8] = 1; b[tensorTable + 3 * 32 + 12] = 4
        expect(b, .badField(what: .tensorRank(tensor: 3), value: 3, rule: .rank2(.columns32s)))
    }

    /// columns32s where its bounds cannot be checked or mean nothing: on codes, without a threshold_sign
    /// right after its dense op, referred to by no op, or by two.
    func testPlacesTheLayoutIsRefused() throws {
        expect(Self.tiny(firstBounds: true), .badTensorReference(op: 1, reason: .boundsNeedBits))
        expect(Self.tiny(lastBounds: true), .chainMismatch(op: 5, reason: .boundsNeedThreshold(next: 6)))
        expect(Self.tiny(unused: true), .badField(what: .part(.tensor(9)), value: 7, rule: .boundsWithoutDense))
        // Two dense ops on one columns32s tensor (the same thresholds, so its bounds hold for both): the
        // second reference is refused, there is no next columns32s tensor (7 tensors).
        var b = ImageBuilder(inputHeight: 2, inputWidth: 2, inputChannels: 1, classes: 3)
        let square = BitPacking.pack(signs: [1, -1, 1, 1, -1, -1, 1, -1, 1, 1, -1, 1, -1, -1, -1, 1], rows: 4, n: 4)
        let w0 = b.addColumns(square, rows: 4, n: 4)
        let t = b.addI32([0, 1, -1, 2], dims: [4]), f = b.addU8([0, 1, 0, 0], dims: [4])
        let w1 = b.addColumns(square, rows: 4, n: 4)
        b.addBounds(to: w1, thresholds: [0, 1, -1, 2])
        let w2 = b.addColumns(Array(square[0..<3]), rows: 3, n: 4)
        let scale = b.addF32([1, 1, 1], dims: [3]), shift = b.addF32([0, 0, 0], dims: [3])
        b.addOp(.inputCodes, [2])
        b.addOp(.dense, [4, 4, w0, Int(InputKind.codes.rawValue), 3, 0])
        b.addOp(.thresholdSign, [1, 1, 4, t, f, 0])
        b.addOp(.dense, [4, 4, w1, Int(InputKind.bits.rawValue), 0, 0])
        b.addOp(.thresholdSign, [1, 1, 4, t, f, 0])
        b.addOp(.dense, [4, 4, w1, Int(InputKind.bits.rawValue), 0, 0])
        b.addOp(.thresholdSign, [1, 1, 4, t, f, 0])
        b.addOp(.dense, [4, 3, w2, Int(InputKind.bits.rawValue), 0, 0])
        b.addOp(.affine, [1, 1, 3, 0, scale, shift])
        b.addOp(.argmax, [3])
        expect(b.build(), .badTensorReference(op: 5, reason: .boundsOrder(tensor: 3, expected: 7)))
        XCTAssertEqual(ModelFormatError.badTensorReference(op: 5, reason: .boundsOrder(tensor: 3, expected: 7)).message,
                       "op 5: its weights are columns32s tensor 3, but the next unused columns32s tensor is 7 (each is the weights of one dense op, in tensor order)")
    }
}
