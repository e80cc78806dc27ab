import XCTest
@testable import Inference
@testable import ModelFormat

/// Optimized kernels against their references, bit for bit, over shape grids around word edges.
final class KernelTests: XCTestCase {
    var state: UInt64 = 0x1234_5678

    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }

    func signs(_ n: Int) -> [Float] { (0..<n).map { _ in next() & 1 == 1 ? 1 : -1 } }

    func testBinaryDenseBitsGrid() {
        for n in [1, 2, 63, 64, 65, 127, 128, 129, 600, 784] {
            for m in [1, 3, 10] {
                let x = BitPacking.pack(signs: signs(n), rows: 1, n: n)
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                var a = [Int32](repeating: 0, count: m), b = [Int32](repeating: 7, count: m)
                BinaryDenseKernel.referenceBits(input: x, weights: w, n: n, m: m, output: &a)
                BinaryDenseKernel.popcountBits(input: x, weights: w, n: n, m: m, output: &b)
                XCTAssertEqual(a, b, "n \(n) m \(m)")
            }
        }
    }

    func testBinaryDenseCodesGrid() {
        for n in [1, 63, 64, 65, 784] {
            for codeBits in [2, 3, 5, 9] {
                let maxCode = codeBits == 9 ? 255 : (1 << codeBits) - 1
                let codes = (0..<n).map { _ in UInt8(Int(next() % UInt64(maxCode + 1))) }
                let m = 7
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                var a = [Int32](repeating: 0, count: m), b = [Int32](repeating: 0, count: m)
                var planes = [UInt64](repeating: 0xFF, count: BinaryDenseKernel.bitplaneScratchWords(n: n, codeBits: codeBits))
                BinaryDenseKernel.referenceCodes(codes: codes, weights: w, n: n, m: m, output: &a)
                BinaryDenseKernel.bitplaneCodes(codes: codes, codeBits: codeBits, weights: w, n: n, m: m, planes: &planes, output: &b)
                XCTAssertEqual(a, b, "n \(n) code bits \(codeBits)")
            }
        }
    }

    func testBinaryConvGrid() {
        for c in [1, 3, 63, 64, 65] {
            for k in [1, 2, 3] {
                let (h, w, m) = (k + 3, k + 2, 5)
                let cw = BitPacking.words(c)
                let x = BitPacking.pack(signs: signs(h * w * c), rows: h * w, n: c)
                let wt = BitPacking.pack(signs: signs(m * k * k * c), rows: m * k * k, n: c)
                XCTAssertEqual(x.count, h * w * cw)
                let outCount = (h - k + 1) * (w - k + 1) * m
                var a = [Int32](repeating: 0, count: outCount), b = [Int32](repeating: 0, count: outCount)
                BinaryConvKernel.referenceBits(input: x, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &a)
                BinaryConvKernel.popcountBits(input: x, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &b)
                XCTAssertEqual(a, b, "bits c \(c) k \(k)")
                let codes = (0..<(h * w * c)).map { _ in UInt8(next() % 256) }
                var signsScratch = [Int32](repeating: 0, count: BinaryConvKernel.signedScratchBytes(c: c, k: k, m: m) / 4)
                BinaryConvKernel.referenceCodes(codes: codes, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &a)
                BinaryConvKernel.signedCodes(codes: codes, h: h, w: w, c: c, k: k, weights: wt, m: m, signs: &signsScratch, output: &b)
                XCTAssertEqual(a, b, "codes c \(c) k \(k)")
            }
        }
    }

    func testFloatDenseSIMDWithinTolerance() {
        for n in [1, 7, 8, 9, 63, 600, 784] {
            let m = 5
            let x = (0..<n).map { _ in Float(Int(next() % 2001) - 1000) / 1000 }
            let w = (0..<(n * m)).map { _ in Float(Int(next() % 2001) - 1000) / 1000 }
            let bias = (0..<m).map { Float($0) }
            var a = [Float](repeating: 0, count: m), b = [Float](repeating: 0, count: m)
            FloatDenseKernel.reference(input: x, n: n, weights: w, m: m, bias: bias, output: &a)
            FloatDenseKernel.simd(input: x, n: n, weights: w, m: m, bias: bias, output: &b)
            for o in 0..<m { XCTAssertEqual(a[o], b[o], accuracy: 1e-5 * max(1, abs(a[o]) + Float(n).squareRoot())) }
        }
    }

    func testThresholdSignPacksBothLayouts() {
        // 2 pixels x 3 channels; thresholds 0 with flips [0, 1, 0].
        let acc: [Int32] = [5, 5, -1, 0, -2, 0]
        var flat = [UInt64](repeating: 99, count: 1), pixel = [UInt64](repeating: 99, count: 2)
        ThresholdSignKernel.run(acc, h: 1, w: 2, c: 3, thresholds: [0, 0, 0], flips: [0, 1, 0], layout: .flat, output: &flat)
        ThresholdSignKernel.run(acc, h: 1, w: 2, c: 3, thresholds: [0, 0, 0], flips: [0, 1, 0], layout: .pixel, output: &pixel)
        // signs: [+, -, -], [+, +, +] -> flat bits 1, 2 set; pixel: word 0 bits 1, 2; word 1 none.
        XCTAssertEqual(flat, [0b110])
        XCTAssertEqual(pixel, [0b110, 0])
    }
}
