import XCTest
@testable import Trainer

/// The conv layer's block-by-block products (Conv2D+Blocks.swift) against one product over the whole batch's
/// patches (what Conv2D computed before), and by finite differences on the paths only blocks take: several
/// blocks per half of the batch, an odd batch, XNOR scales and a first layer's input scale (the scaled
/// gradient goes through the block's scratch).
final class ConvBlockTests: XCTestCase {
    let map = FeatureMap(height: 7, width: 6, channels: 5)

    /// The whole batch's patches, row (b, oy, ox) = x[b, oy + ky, ox + kx, c] in (ky, kx, c) order, by index.
    func wholeBatchPatches(_ conv: Conv2D, _ x: Matrix) -> Matrix {
        let (o, k, c) = (conv.output, conv.kernel, conv.input.channels)
        var p = Matrix(rows: x.rows * o.height * o.width, cols: conv.fanIn)
        for b in 0..<x.rows {
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    for ky in 0..<k {
                        for kx in 0..<k {
                            for ch in 0..<c {
                                p[(b * o.height + oy) * o.width + ox, (ky * k + kx) * c + ch] =
                                    x.data[b * conv.input.size + ((oy + ky) * conv.input.width + ox + kx) * c + ch]
                            }
                        }
                    }
                }
            }
        }
        return p
    }

    func conv(_ kind: WeightQuantizer, outputs: Int = 6, blockImages: Int) -> Conv2D {
        var random = SeededRandom(seed: 61)
        let conv = Conv2D(name: "c", input: map, outputChannels: outputs, kernel: 3, weights: kind, random: &random)
        conv.patchBlockFloats = blockImages * conv.output.height * conv.output.width * conv.fanIn
        XCTAssertEqual(conv.imagesPerBlock, blockImages)
        return conv
    }

    /// Forward, dL/dW and dL/dx of 7 images in blocks of 2 (halves of 4 and 3: blocks 2+2 and 2+1) against
    /// one product over all 7 images' patches, for float, binary and XNOR weights, input scale 1 and 0.25.
    /// Tolerance 1e-5 relative to max(1, |value|): forward values and dL/dx are sums over one patch in the same
    /// order either way; dL/dW's sum over the batch's rows is re-associated (blocks, then the two halves).
    func testBlocksMatchOneProductOverTheBatch() {
        for kind in [WeightQuantizer.float, .binary, .xnor] {
            for scale: Float in [1, 0.25] {
                let layer = conv(kind, blockImages: 2)
                layer.product.inputScale = scale
                let x = randomMatrix(7, map.size, seed: 62)
                let dy = randomMatrix(7, layer.output.size, seed: 63)
                var context = ForwardContext(training: true)
                let y = layer.forward(x, context: &context)
                let dx = layer.backward(dy, inputGradient: true)!

                let patches = wholeBatchPatches(layer, x)
                let s = layer.product.forwardWeights()
                let c = layer.product.outputScales() ?? [Float](repeating: 1, count: layer.output.channels)
                var want = Matrix.product(patches, s, transposeB: true)
                want.scaleColumns(c)
                let g = Matrix(rows: patches.rows, cols: layer.output.channels, data: dy.data)
                var h = Matrix.product(g, transposeA: true, patches).data
                h = kind.latentGradient(h, latent: layer.weight.value, rows: layer.output.channels, cols: layer.fanIn)
                    .map { $0 * scale }
                var scaled = g
                scaled.scaleColumns(c)
                let dPatches = Matrix.product(scaled, s)
                var wantDx = [Float](repeating: 0, count: x.data.count)
                let (o, k, ch) = (layer.output, layer.kernel, map.channels)
                for b in 0..<7 {
                    for oy in 0..<o.height {
                        for ox in 0..<o.width {
                            for i in 0..<layer.fanIn {
                                let (ky, kx, cc) = (i / (k * ch), (i / ch) % k, i % ch)
                                wantDx[b * map.size + ((oy + ky) * map.width + ox + kx) * ch + cc] +=
                                    dPatches[(b * o.height + oy) * o.width + ox, i]
                            }
                        }
                    }
                }
                let what = "\(kind) scale \(scale)"
                assertClose(y.data, want.data, what + " forward")
                assertClose(layer.weight.grad, h, what + " dL/dW")
                assertClose(dx.data, wantDx, what + " dL/dx")
            }
        }
    }

    /// Finite differences through blocks of one image (so every block boundary is crossed) with a first
    /// layer's input scale of 1/3 (the scaled gradient goes through the block's scratch): float weights, and
    /// binary weights against their straight-through surrogate (a float conv on sign(W)).
    func testGradientsAcrossBlocksWithInputScale() {
        for kind in [WeightQuantizer.float, .binary] {
            let layer = conv(kind, outputs: 4, blockImages: 1)
            layer.product.inputScale = 1.0 / 3
            var random = SeededRandom(seed: 64)
            let surrogate = Conv2D(name: "c", input: map, outputChannels: 4, kernel: 3, weights: .float, random: &random)
            surrogate.weight.value = kind == .binary ? layer.weight.value.map(binarySign) : layer.weight.value
            surrogate.product.inputScale = 1.0 / 3
            GradientCheck().run(layer, surrogate: surrogate, input: randomMatrix(3, map.size, seed: 65), outputs: layer.output.size)
        }
    }

    /// Without the weight gradient (attacks) dL/dx is the same and no weight gradient is written; without
    /// either there is nothing to return.
    func testInputGradientAloneAndNeither() {
        let layer = conv(.binary, blockImages: 3)
        let x = randomMatrix(5, map.size, seed: 66)
        let dy = randomMatrix(5, layer.output.size, seed: 67)
        var context = ForwardContext(training: true)
        _ = layer.forward(x, context: &context)
        let both = layer.backward(dy, inputGradient: true)!
        layer.product.computesWeightGradient = false
        layer.weight.grad = [7]
        XCTAssertEqual(layer.backward(dy, inputGradient: true), both)
        XCTAssertEqual(layer.weight.grad, [7])
        XCTAssertNil(layer.backward(dy, inputGradient: false))
    }

    func assertClose(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        var worst: Float = 0
        for (a, b) in zip(got, want) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
        XCTAssertLessThanOrEqual(worst, 1e-5, what, file: file, line: line)
    }
}

/// `Matrix.product` splits large products between the workers by rows or columns of C, never by the inner
/// dimension. OpenBLAS's kernels for a block's edges sum in another order than its inner tiles, so a half can
/// differ from the same rows of one call by float rounding (measured up to 1.3e-5 on sums of size ~40):
/// tolerance 1e-6 relative to the sum of |terms|.
final class GEMMSplitTests: XCTestCase {
    func testSplitProductsMatchOneCall() {
        // (m, k, n): split by rows (m >= n), by columns (n > m), the short-inner kernel in both halves; odd sizes
        // so the halves differ; every transpose.
        for (m, k, n) in [(301, 97, 41), (37, 113, 257), (2 * Matrix.smallInnerMinimumRows + 3, 9, 32)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = randomMatrix(ta ? k : m, ta ? m : k, seed: 71)
                    let b = randomMatrix(tb ? n : k, tb ? k : n, seed: 72)
                    XCTAssertGreaterThanOrEqual(m * n * k, Matrix.splitMinimumWork)
                    let split = Matrix.product(a, transposeA: ta, b, transposeB: tb)
                    var one = Matrix(rows: m, cols: n)
                    a.data.withUnsafeBufferPointer { pa in
                        b.data.withUnsafeBufferPointer { pb in
                            one.data.withUnsafeMutableBufferPointer { pc in
                                Matrix.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, a: pa.baseAddress!, lda: a.cols,
                                            b: pb.baseAddress!, ldb: b.cols, c: pc.baseAddress!, ldc: n)
                            }
                        }
                    }
                    // |terms| <= 4 each: the sum of |terms| is at most 4k.
                    var worst: Float = 0
                    for (x, y) in zip(split.data, one.data) { worst = max(worst, abs(x - y)) }
                    XCTAssertLessThanOrEqual(worst, 1e-6 * 4 * Float(k), "m \(m) k \(k) n \(n) ta \(ta) tb \(tb)")
                }
            }
        }
    }
}
