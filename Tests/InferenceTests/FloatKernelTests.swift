import XCTest
@testable import Inference
@testable import ModelFormat
@testable import Trainer

/// The host's float kernels bit for bit. The four-image dense kernel (`FloatDenseKernel.simd4`) against the
/// one-image `simd` on each image, over fan-ins either side of the 8-lane group, with and without a bias, on
/// strided inputs and outputs. The f32 max-pool (`MaxPoolKernel.simd`) against `run` with NaNs and signed
/// zeros in the windows, channels either side of the 8-lane group. The float conv (`FloatConvKernel.simd` after `planes`) against `FloatConvKernel.reference`, bit
/// for bit, over random shapes: kernels 1x1 to 5x5 (the format's convs are stride 1, no padding), channels
/// and filter counts either side of the 4-filter block and the 8-lane group, widths whose rows end inside
/// a lane group, single-output maps; f32 inputs of magnitudes 2^-12 to 2^12 (any change of summation
/// order shows in the last bits) with signed zeros, and codes. Nothing is written outside the output, and
/// the scratch is exactly what the kernel plans.
final class FloatKernelTests: XCTestCase {
    var state: UInt64 = 0x5DEE_CE66

    func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(truncatingIfNeeded: state >> 33)
    }

    /// A float of random sign, mantissa and exponent in -12...12; every 16th a signed zero.
    func value() -> Float {
        if next() % 16 == 0 { return next() % 2 == 0 ? 0 : -0.0 }
        let f = Float(sign: next() % 2 == 0 ? .plus : .minus, exponent: next() % 25 - 12, significand: 1 + Float(next() % 8_388_608) / 8_388_608)
        return f
    }

    /// Runs both kernels on `x` (NHWC, `kind` f32 or codes) and compares the outputs' bit patterns.
    func check(_ x: [UInt8], kind: ValueKind, h: Int, w: Int, c: Int, k: Int, m: Int, weights: [Float], _ label: String) {
        let (oh, ow) = (h - k + 1, w - k + 1), count = oh * ow * m, canary: Float = 12345.678
        let widened: [Float] = kind == .f32 ? x.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } : x.map { Float($0) }
        var expected = [Float](repeating: canary, count: count + 16), got = expected
        FloatConvKernel.reference(input: widened, h: h, w: w, c: c, k: k, weights: weights, m: m, output: &expected)
        var scratch = [Float](repeating: .nan, count: FloatConvKernel.scratchBytes(n: h * w * c) / 4)
        x.withUnsafeBytes { raw in
            scratch.withUnsafeMutableBufferPointer { s in
                FloatConvKernel.planes(raw.baseAddress!, kind: kind, pixels: h * w, c: c, into: s.baseAddress!)
                FloatConvKernel.simd(planes: s.baseAddress!, h: h, w: w, c: c, k: k, weights: weights, m: m, output: &got)
            }
        }
        XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), label)
        XCTAssertEqual(got[count...].filter { $0 != canary }.count, 0, "\(label): written past the output")
    }

    func testSIMDGridEqualsTheReferenceBitForBit() {
        for trial in 0..<200 {
            let k = 1 + next() % 5, c = [1, 2, 3, 7, 8, 9, 31, 32, 33][next() % 9], m = [1, 2, 3, 4, 5, 7, 8, 9, 33][next() % 9]
            let h = k + next() % 6, w = k + [0, 1, 2, 6, 7, 8, 9, 12, 25][next() % 9]
            let weights = (0..<(m * k * k * c)).map { _ in value() }
            let label = "trial \(trial): h \(h) w \(w) c \(c) k \(k) m \(m)"
            let floats = (0..<(h * w * c)).map { _ in value() }
            check(floats.withUnsafeBytes { Array($0) }, kind: .f32, h: h, w: w, c: c, k: k, m: m, weights: weights, label + " f32")
            check((0..<(h * w * c)).map { _ in UInt8(next() % 256) }, kind: .codes, h: h, w: w, c: c, k: k, m: m, weights: weights,
                  label + " codes")
        }
    }

    /// The Fashion-MNIST conv net's two convs (28x28x1 k3 m32 on codes; 13x13x32 k3 m64 on f32).
    func testTheConvNetsShapes() {
        let first = (0..<(3 * 3 * 32)).map { _ in value() }
        check((0..<784).map { _ in UInt8(next() % 4) }, kind: .codes, h: 28, w: 28, c: 1, k: 3, m: 32, weights: first, "conv 1")
        let second = (0..<(64 * 3 * 3 * 32)).map { _ in value() }, x = (0..<(13 * 13 * 32)).map { _ in value() }
        check(x.withUnsafeBytes { Array($0) }, kind: .f32, h: 13, w: 13, c: 32, k: 3, m: 64, weights: second, "conv 2")
    }

    func testDenseFourImagesEqualOneImageBitForBit() {
        for n in [1, 7, 8, 9, 15, 16, 17, 63, 600, 1600] {
            for (m, biased) in [(1, true), (5, false), (9, true)] {
                let (stride, outStride) = (n + 3, m + 2)   // floats from one image to the next
                let x = (0..<(4 * stride)).map { _ in value() }, w = (0..<(n * m)).map { _ in value() }
                let bias: [Float]? = biased ? (0..<m).map { _ in value() } : nil
                var expected = [Float](repeating: 7, count: 4 * outStride), got = expected
                x.withUnsafeBufferPointer { xp in
                    for b in 0..<4 {
                        expected.withUnsafeMutableBufferPointer { e in
                            FloatDenseKernel.simd(input: xp.baseAddress! + b * stride, n: n, weights: w, m: m, bias: bias,
                                                  output: e.baseAddress! + b * outStride)
                        }
                    }
                    FloatDenseKernel.simd4(input: xp.baseAddress!, stride: stride, n: n, weights: w, m: m, bias: bias, output: &got,
                                           outStride: outStride)
                }
                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "n \(n) m \(m) bias \(biased)")
            }
        }
    }

    func testMaxPoolSIMDEqualsTheScanBitForBit() {
        for trial in 0..<120 {
            let s = 1 + next() % 3, c = [1, 7, 8, 9, 15, 16, 17, 32, 33, 64][next() % 10]
            let h = s * (1 + next() % 4) + next() % s, w = s * (1 + next() % 4) + next() % s
            let x: [Float] = (0..<(h * w * c)).map { _ in next() % 10 == 0 ? .nan : next() % 3 == 0 ? Float(next() % 3) - 1 : value() }
            let count = (h / s) * (w / s) * c
            var expected = [Float](repeating: 7, count: count + 8), got = expected
            MaxPoolKernel.run(x, h: h, w: w, c: c, s: s, output: &expected)
            MaxPoolKernel.simd(x, h: h, w: w, c: c, s: s, output: &got)
            XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "trial \(trial): h \(h) w \(w) c \(c) s \(s)")
        }
    }

    /// The Fashion-MNIST conv net (untrained, 2-bit input) plans the host's float kernels in the arena it had with
    /// the reference ones, 108,160 B: the largest step is the first max-pool, its input 26·26·32·4 = 86,528 B and
    /// output 13·13·32·4 = 21,632 B; the convs' planes (4·(h·w·c + 8) B of scratch) fit beside their input and
    /// output (conv 1: 784 + 3,168 + 86,528 = 90,480 B; conv 2: 21,632 + 21,664 + 30,976 = 74,272 B), and the
    /// four-image dense reads its f32 input in place (no scratch), so a batch of 4 needs 4x the reference's too.
    func testTheConvNetsArenaIsUnchanged() throws {
        let bytes = try ImageExport.image(of: try Network(config: .conv(precision: .float, inputBits: 2), seed: 1))
        try bytes.withUnsafeBytes { raw in
            let image = try ModelImage(bytes: raw)
            for batch in [1, 4] {
                XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .simd, batch: batch), 108_160 * batch, "batch \(batch)")
                XCTAssertEqual(Interpreter.arenaBytes(for: image, kernels: .reference, batch: batch), 108_160 * batch, "batch \(batch)")
            }
            let kernels = Interpreter.plan(image: image, kernels: .simd).map { "\($0.kernel)" }
            XCTAssertEqual(kernels.filter { $0 == "floatConvSIMD" || $0 == "maxPoolF32SIMD" }.count, 4, "\(kernels)")
        }
    }
}
