import XCTest
@testable import Trainer

final class QuantizerTests: XCTestCase {
    func testSignOfZeroIsPlusOne() {
        XCTAssertEqual(binarySign(0), 1)
        XCTAssertEqual(binarySign(-0.0), 1)
        XCTAssertEqual(binarySign(1e-30), 1)
        XCTAssertEqual(binarySign(-1e-30), -1)
        XCTAssertEqual(signSTEGradient(1), 1)
        XCTAssertEqual(signSTEGradient(-1), 1)
        XCTAssertEqual(signSTEGradient(1.0001), 0)
    }

    /// The paper's Eq. 2, written out in doubles, against the quantizer for every pixel and bit width.
    func testEquationTwoForEveryPixelAndBitWidth() {
        for bits in 1...8 {
            let binWidth = 256.0 / Double(1 << bits)
            for pixel in 0...255 {
                let expected = bits == 8
                    ? Double(pixel) / 255
                    : ((Double(pixel) / binWidth).rounded(.down) * binWidth + binWidth / 2) / 255
                let got = InputQuantizer.value(pixel: UInt8(pixel), bits: bits)
                XCTAssertEqual(Double(got), expected, accuracy: 1e-6, "pixel \(pixel), \(bits) bits")
                // The integer form of ARCHITECTURE.md: level q = I >> (8 - bits).
                if bits < 8 {
                    let q = pixel >> (8 - bits)
                    XCTAssertEqual(Double(got), (Double(q) + 0.5) * Double(1 << (8 - bits)) / 255, accuracy: 1e-6)
                }
            }
        }
    }

    func testTwoBitLevels() {
        // 2 bits: four levels at 32, 96, 160, 224 (out of 255).
        XCTAssertEqual(Set((0...255).map { InputQuantizer.value(pixel: UInt8($0), bits: 2) }).count, 4)
        XCTAssertEqual(InputQuantizer.value(pixel: 63, bits: 2) * 255, 32, accuracy: 1e-4)
        XCTAssertEqual(InputQuantizer.value(pixel: 64, bits: 2) * 255, 96, accuracy: 1e-4)
        XCTAssertEqual(InputQuantizer.value(pixel: 255, bits: 2) * 255, 224, accuracy: 1e-4)
    }

    func testLayerRoundsToTheNearestPixelFirst() {
        let q = InputQuantizer(bits: 2)
        var c = ForwardContext.evaluation
        // 64/255 computed in float is not exactly 64/255 * 255 == 64; the layer must still put it in bin 1.
        let x = Matrix(rows: 1, cols: 5, data: [Float(64) / 255, Float(63) / 255, 63.6 / 255, -0.2, 1.7])
        let y = q.forward(x, context: &c)
        XCTAssertEqual(y.data, [3, 1, 3, 1, 7], "codes 2q + 1")
        XCTAssertEqual(y.data.map { ($0 * q.scale * 255).rounded() }, [96, 32, 96, 32, 224], "code * scale is Eq. 2")
    }

    func testCodeTimesScaleIsEquationTwo() {
        for bits in 1...8 {
            for pixel in 0...255 {
                let code = InputQuantizer.code(pixel: UInt8(pixel), bits: bits)
                XCTAssertEqual(Float(code) * InputQuantizer.scale(bits: bits),
                               InputQuantizer.value(pixel: UInt8(pixel), bits: bits), accuracy: 1e-6)
            }
        }
    }
}
