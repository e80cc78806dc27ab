import ImageFixtures
import XCTest
@testable import ModelFormat

/// Images that are well formed byte by byte but that the spec forbids (issue 12: parts out of order,
/// accumulators past i32, code bits that contradict δ, non-finite floats), and the cost of validating the
/// largest table the format allows. Each hostile image is built here, a few KB at most.
final class HostileImageTests: XCTestCase {
    func set32(_ b: inout [UInt8], _ at: Int, _ v: Int) { for i in 0..<4 { b[at + i] = UInt8((v >> (8 * i)) & 0xff) } }
    func u32(_ b: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }

    func expect(_ bytes: [UInt8], _ expected: ModelFormatError, line: UInt = #line) {
        XCTAssertThrowsError(try Fixtures.read(bytes), line: line) {
            XCTAssertEqual($0 as? ModelFormatError, expected, line: line)
        }
    }

    /// Item 13: the spec requires header, op table, tensor table, tensors by index, ascending; one pass
    /// checks it. A tensor placed before its predecessor, a tensor table before the op table, and a tensor
    /// inside a table are each refused with both positions.
    func testPartsMustBeInAscendingOrder() throws {
        let good = Fixtures.tinyBinary()
        XCTAssertNoThrow(try Fixtures.read(good))
        let opTable = u32(good, 28), tensorTable = u32(good, 32)
        let t0 = u32(good, tensorTable + 20), t1 = u32(good, tensorTable + 32 + 20)
        // Swap tensors 0 and 1 (both 32 bytes, both 64-aligned): every byte is still accounted for.
        var b = good
        set32(&b, tensorTable + 20, t1); set32(&b, tensorTable + 32 + 20, t0)
        for i in 0..<32 { b.swapAt(t0 + i, t1 + i) }
        expect(b, .outOfOrder(what: .tensor(1), offset: t0, previous: .tensor(0), previousEnd: t1 + 32))
        // The tensor table before the op table.
        b = good; set32(&b, 32, opTable)
        expect(b, .outOfOrder(what: .tensorTable, offset: opTable, previous: .opTable, previousEnd: opTable + 6 * 64))
        // A tensor on top of the tensor table.
        b = good; set32(&b, tensorTable + 20, tensorTable)
        expect(b, .outOfOrder(what: .tensor(0), offset: tensorTable, previous: .tensorTable, previousEnd: tensorTable + 6 * 32))
    }

    /// Item 13: 4,096 tensors and 1,024 ops (the format's caps) validate in one pass. The old all-pairs
    /// overlap check took ~1.3 s here; the figure is reported by `make bench-validate`, not asserted.
    func testLargestTablesValidate() throws {
        let bytes = HostileImages.largestTables()
        let image = try Fixtures.read(bytes)
        XCTAssertEqual(image.opCount, ImageLayout.maxOps)
        XCTAssertEqual(image.tensorCount, ImageLayout.maxTensors)
        // Two unreferenced tensors swapped in place: refused, naming the first one out of order.
        var b = bytes
        let table = u32(b, 32)
        let a = u32(b, table + 4000 * 32 + 20), c = u32(b, table + 4001 * 32 + 20)
        set32(&b, table + 4000 * 32 + 20, c); set32(&b, table + 4001 * 32 + 20, a)
        expect(b, .outOfOrder(what: .tensor(4001), offset: a, previous: .tensor(4000), previousEnd: c + 1))
    }

    /// Item 3: fan-in x the largest input must fit an i32. 8-bit codes reach 255, so a dense layer takes
    /// at most 8,421,504 inputs (2,688 x 3,133 pixels); one more pixel row is refused with the numbers,
    /// and so is a conv2d whose k x k x C fan-in passes the bound.
    func testAccumulatorBound() throws {
        let bound = Int(Int32.max)
        XCTAssertEqual(bound / 255, 2688 * 3133)
        XCTAssertNoThrow(try Fixtures.read(HostileImages.wideDense(h: 2688, w: 3133, delta: 8)))
        expect(HostileImages.wideDense(h: 2689, w: 3133, delta: 8),
               .accumulatorOverflow(op: 1, fanIn: 2689 * 3133, largestInput: 255, bound: bound))
        // 7-bit codes (2q + 1 <= 255) share the bound; 3-bit codes reach 15.
        expect(HostileImages.wideDense(h: 2689, w: 3133, delta: 7),
               .accumulatorOverflow(op: 1, fanIn: 2689 * 3133, largestInput: 255, bound: bound))
        XCTAssertNoThrow(try Fixtures.read(HostileImages.wideDense(h: 2689, w: 3133, delta: 2)), "3-bit codes: 7 x 8.4 M fits")
        // conv2d: a 184 x 184 kernel over 184 x 184 x 255 codes: fan-in 8,633,280.
        var c = ImageBuilder(inputHeight: 184, inputWidth: 184, inputChannels: 255, classes: 1)
        let wc = c.addBits([UInt64](repeating: 0, count: 184 * 184 * BitPacking.words(255)), dims: [1, 184, 184, 255])
        let s = c.addF32([1], dims: [1]), t = c.addF32([0], dims: [1])
        c.addOp(.inputCodes, [8])
        c.addOp(.conv2d, [184, 184, 255, 184, 1, wc, Int(InputKind.codes.rawValue), 8])
        c.addOp(.affine, [1, 1, 1, 0, s, t])
        c.addOp(.argmax, [1])
        expect(c.build(), .accumulatorOverflow(op: 1, fanIn: 184 * 184 * 255, largestInput: 255, bound: bound))
    }

    /// Item 16: a layer on codes states the code bits of the δ that produced them (δ + 1, or 8 for δ = 8).
    func testCodeBitsMustMatchDelta() throws {
        XCTAssertNoThrow(try Fixtures.read(HostileImages.wideDense(h: 2, w: 3, delta: 2)))
        expect(HostileImages.wideDense(h: 2, w: 3, delta: 2, codeBits: 8),
               .badField(what: .opCodeBits(op: 1), value: 8, rule: .codeBits(delta: 2, expected: 3)))
        expect(HostileImages.wideDense(h: 2, w: 3, delta: 8, codeBits: 9),
               .badField(what: .opCodeBits(op: 1), value: 9, rule: .codeBits(delta: 8, expected: 8)))
    }

    /// f32 tensors hold finite values: a NaN or an infinity in a scale, shift or weight is refused with
    /// the tensor, the index and the bit pattern.
    func testNonFiniteFloatsAreRefused() throws {
        let good = HostileImages.wideDense(h: 2, w: 3, delta: 2)
        let table = u32(good, 32)
        let scale = u32(good, table + 32 + 20)
        for (pattern, name) in [(0x7FC0_0000, "a NaN"), (0x7F80_0000, "an infinity"), (0xFF80_0000, "an infinity")] {
            var b = good
            set32(&b, scale + 4, pattern)
            expect(b, .badField(what: .tensorValue(tensor: 1, index: 1), value: pattern, rule: .finite(nan: name == "a NaN")))
        }
    }

    /// A float conv2d on packed bits (pixel layout) was widened as if flat: scrambled scores with exit 0.
    /// No writer produces it; the reader refuses it.
    func testFloatConvOnBitsIsRefused() throws {
        var b = ImageBuilder(inputHeight: 3, inputWidth: 3, inputChannels: 1, classes: 3)
        let w0 = b.addBits([UInt64](repeating: 1, count: 2 * 2 * 2), dims: [2, 2, 2, 1])
        let t = b.addI32([0, 1], dims: [2]), f = b.addU8([0, 1], dims: [2])
        let w1 = b.addF32((0..<24).map { Float($0) / 8 - 1 }, dims: [3, 2, 2, 2])
        b.addOp(.inputCodes, [2])
        b.addOp(.conv2d, [3, 3, 1, 2, 2, w0, Int(InputKind.codes.rawValue), 3])
        b.addOp(.thresholdSign, [2, 2, 2, t, f, Int(BitLayout.pixel.rawValue)])
        b.addOp(.conv2d, [2, 2, 2, 2, 3, w1, Int(InputKind.bits.rawValue), 0])
        b.addOp(.argmax, [3])
        expect(b.build(), .badTensorReference(op: 3, reason: .floatConvOnBits))
    }
}
