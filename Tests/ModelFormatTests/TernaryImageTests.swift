import XCTest
@testable import ModelFormat

/// The reader's checks of ternary dense weights (format version 5, spec/FORMAT.md "Ternary `dense`
/// weights"): each rule is broken once, on an image built here, and refused with the tensors and numbers.
final class TernaryImageTests: XCTestCase {
    /// How to break the tiny ternary net (input 2x3, δ 2: dense 6 → 4 on codes, threshold_sign, dense 4 → 3
    /// on bits, affine, argmax; both dense layers ternary).
    struct Variant {
        var version: UInt16? = nil            // overwrite the header's version
        var layout: TensorType = .bits        // both planes' layout
        var lowerLayout: TensorType? = nil    // the first layer's lower plane in another layout
        var lowerRows: Int? = nil             // the first layer's lower plane with another row count
        var lowerIndex: ((_ upper: Int, _ lower: Int) -> Int)? = nil   // the first layer's p6 − 1
        var stray = false                     // the first layer's upper plane −1 where its lower is +1
        var floatWeights = false              // the second layer with f32 weights and a lower plane
    }

    static let first: [Float] = [1, 0, -1, 0, 0, 1, -1, -1, 0, 1, 1, 0, 0, 0, 0, 0, 1, -1, 1, 1, -1, 0, 0, 1]
    static let second: [Float] = [0, 1, -1, 1, 1, 0, 0, -1, -1, 1, 0, 0]

    static func image(_ v: Variant = Variant()) -> [UInt8] {
        var b = ImageBuilder(inputHeight: 2, inputWidth: 3, inputChannels: 1, classes: 3)
        b.addOp(.inputCodes, [2])
        func add(_ signs: [Float], rows: Int, n: Int, _ layout: TensorType) -> Int {
            b.addDense(BitPacking.pack(signs: signs, rows: rows, n: n), rows: rows, n: n, type: layout)
        }
        var planes = BitPacking.ternaryPlanes(first)
        if v.stray { planes.upper[0] = -1 }   // weight (0, 0) is +1: u = v = +1; now u = −1, v = +1
        let upper = add(planes.upper, rows: 4, n: 6, v.layout)
        let rows = v.lowerRows ?? 4
        let lowerSigns = rows == 4 ? planes.lower : Array((planes.lower + planes.lower).prefix(rows * 6))
        let lower = add(lowerSigns, rows: rows, n: 6, v.lowerLayout ?? v.layout)
        b.addOp(.dense, [6, 4, upper, 1, 3, 0, (v.lowerIndex?(upper, lower) ?? lower) + 1])
        b.addOp(.thresholdSign, [1, 1, 4, b.addI32([0, 3, -2, 5], dims: [4]), b.addU8([0, 1, 0, 0], dims: [4]), 0])
        let second = BitPacking.ternaryPlanes(Self.second)
        if v.floatWeights {
            let w = b.addF32(Self.second, dims: [3, 4]), l = add(second.lower, rows: 3, n: 4, .bits)
            b.addOp(.dense, [4, 3, w, 2, 0, 0, l + 1])
        } else {
            let u = add(second.upper, rows: 3, n: 4, v.layout), l = add(second.lower, rows: 3, n: 4, v.layout)
            b.addOp(.dense, [4, 3, u, 2, 0, 0, l + 1])
        }
        b.addOp(.affine, [1, 1, 3, 0, b.addF32([0.5, -0.25, 1], dims: [3]), b.addF32([0, 1, -1], dims: [3])])
        b.addOp(.argmax, [3])
        var bytes = b.build()
        if let version = v.version { bytes[4] = UInt8(version & 0xff); bytes[5] = UInt8(version >> 8) }
        return bytes
    }

    func read(_ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBytes { raw throws(ModelFormatError) in Int(try ModelImage(bytes: raw).header.version) }
    }

    func expect(_ bytes: [UInt8], _ expected: ModelFormatError, line: UInt = #line) {
        XCTAssertThrowsError(try read(bytes), line: line) { XCTAssertEqual($0 as? ModelFormatError, expected, line: line) }
    }

    func testWellFormedTernaryImagesReadInEveryLayoutAsVersion5() throws {
        for layout in [TensorType.bits, .bits8, .columns32] {
            XCTAssertEqual(try read(Self.image(Variant(layout: layout))), 5, "\(layout)")
        }
        // A higher version than the image needs is fine; a version before 5 has no parameter 6.
        XCTAssertEqual(ImageLayout.version, 5)
        expect(Self.image(Variant(version: 4)), .nonZeroPadding(what: .opParameter(op: 1, index: 6), offset: 64 + 64 + 4 + 24))
    }

    func testEachRuleOfTheLowerPlaneIsChecked() {
        // Tensor indices: 0 upper, 1 lower (first layer); 2 thresholds, 3 flips; 4, 5 the second layer's planes.
        expect(Self.image(Variant(lowerIndex: { u, _ in u })), .badTensorReference(op: 1, reason: .lowerPlaneIsUpper(tensor: 0)))
        expect(Self.image(Variant(lowerIndex: { _, _ in 99 })), .badTensorReference(op: 1, reason: .missingTensor(.lowerPlane, index: 99, tensors: 8)))
        expect(Self.image(Variant(lowerLayout: .bits8)),
               .badTensorReference(op: 1, reason: .wrongTensor(.lowerPlane, expected: .bits, shape: Dims(4, 6), found: .bits8, rank: 2)))
        expect(Self.image(Variant(lowerRows: 5)),
               .badTensorReference(op: 1, reason: .wrongTensor(.lowerPlane, expected: .bits, shape: Dims(4, 6), found: .bits, rank: 2)))
        expect(Self.image(Variant(lowerIndex: { _, _ in 2 })),   // the thresholds: i32
               .badTensorReference(op: 1, reason: .wrongTensor(.lowerPlane, expected: .bits, shape: Dims(4, 6), found: .i32, rank: 1)))
        expect(Self.image(Variant(floatWeights: true)), .badTensorReference(op: 3, reason: .lowerPlaneNeedsBinary(.f32)))
    }

    /// The zero weight has one encoding (u = +1, v = −1): u = −1 with v = +1 is refused at the byte that holds it,
    /// in every layout (row 0, column 0: bit 0 of byte 0 in bits, bits8 and columns32 alike).
    func testTheUpperPlaneMustLieWithinTheLowerInEveryLayout() {
        let where_: [(TensorType, Int, Int)] = [(.bits, 0, 1), (.bits8, 0, 1), (.columns32, 0, 1)]
        for (layout, byte, value) in where_ {
            expect(Self.image(Variant(layout: layout, stray: true)),
                   .badField(what: .tensorPlanes(upper: 0, lower: 1, byte: byte), value: value, rule: .upperWithinLower))
        }
    }

    /// columns32s bounds describe one plane's sums, not A: refused as either plane.
    func testBoundedColumnsCannotBeAPlane() {
        var b = ImageBuilder(inputHeight: 1, inputWidth: 4, inputChannels: 1, classes: 2)
        b.addOp(.inputCodes, [1])
        let w0 = b.addBits(BitPacking.pack(signs: [Float](repeating: 1, count: 12), rows: 3, n: 4), dims: [3, 4])
        b.addOp(.dense, [4, 3, w0, 1, 2])
        b.addOp(.thresholdSign, [1, 1, 3, b.addI32([0, 0, 0], dims: [3]), b.addU8([0, 0, 0], dims: [3]), 0])
        let planes = BitPacking.ternaryPlanes([1, 0, -1, 0, 1, 1])
        let u = b.addColumns(BitPacking.pack(signs: planes.upper, rows: 2, n: 3), rows: 2, n: 3)
        let l = b.addColumns(BitPacking.pack(signs: planes.lower, rows: 2, n: 3), rows: 2, n: 3)
        b.addBounds(to: u, thresholds: [0, 1])
        b.addBounds(to: l, thresholds: [0, 1])
        b.addOp(.dense, [3, 2, u, 2, 0, 0, l + 1])
        b.addOp(.thresholdSign, [1, 1, 2, b.addI32([0, 1], dims: [2]), b.addU8([0, 0], dims: [2]), 0])
        let w2 = b.addBits(BitPacking.pack(signs: [1, -1, 1, 1], rows: 2, n: 2), dims: [2, 2])
        b.addOp(.dense, [2, 2, w2, 2, 0])
        b.addOp(.affine, [1, 1, 2, 0, b.addF32([1, 1], dims: [2]), b.addF32([0, 0], dims: [2])])
        b.addOp(.argmax, [2])
        expect(b.build(), .badTensorReference(op: 3, reason: .lowerPlaneNeedsBinary(.columns32s)))
    }

    /// The two planes' sums must fit an i32 together: 2·F·V ≤ 2^31 − 1. With 8-bit codes (V = 255) a binary
    /// layer takes 8,421,504 inputs, a ternary one 4,210,752; one more is refused with the numbers.
    func testTheSumOfThePlanesMustFitAnI32() throws {
        func wide(_ h: Int, _ w: Int) -> [UInt8] {   // an h x w input (each at most 65,535), fan-in n = h·w
            let n = h * w
            var b = ImageBuilder(inputHeight: h, inputWidth: w, inputChannels: 1, classes: 1)
            b.addOp(.inputCodes, [8])
            let words = [UInt64](repeating: 0, count: BitPacking.words(n))
            var lower = words
            lower[0] = 1   // weight 0 is zero, the rest +1
            b.addOp(.dense, [n, 1, b.addBits(words, dims: [1, n]), 1, 8, 0, b.addBits(lower, dims: [1, n]) + 1])
            b.addOp(.affine, [1, 1, 1, 0, b.addF32([1], dims: [1]), b.addF32([0], dims: [1])])
            b.addOp(.argmax, [1])
            return b.build()
        }
        XCTAssertEqual(Int(Int32.max) / 510, 4_210_752)
        XCTAssertEqual(try read(wide(192, 21_931)), 5)   // 4,210,752
        expect(wide(1609, 2617),   // 4,210,753
               .badTensorReference(op: 1, reason: .planesOverflow(fanIn: 4_210_753, largestInput: 255)))
        XCTAssertEqual(ModelFormatError.badTensorReference(op: 1, reason: .planesOverflow(fanIn: 4_210_753, largestInput: 255)).message,
                       "op 1: ternary weights: the two planes' sums reach 2 x fan-in 4210753 x largest input 255 = 2147484030, past the accumulator bound 2^31 - 1 (at most 4210752 inputs)")
    }
}
