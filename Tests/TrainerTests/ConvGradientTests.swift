import XCTest
@testable import Trainer

final class ConvGradientTests: XCTestCase {
    let map = FeatureMap(height: 6, width: 5, channels: 3)

    func testConvFloat() {
        var random = SeededRandom(seed: 31)
        let conv = Conv2D(name: "c", input: map, outputChannels: 4, kernel: 3, weights: .float, random: &random)
        GradientCheck().run(conv, input: randomMatrix(2, map.size, seed: 32), outputs: conv.output.size)
    }

    func testConvBinaryIsStraightThroughSignOfWeights() {
        var random = SeededRandom(seed: 33)
        let conv = Conv2D(name: "c", input: map, outputChannels: 4, kernel: 3, weights: .binary, random: &random)
        var r2 = SeededRandom(seed: 34)
        let surrogate = Conv2D(name: "c", input: map, outputChannels: 4, kernel: 3, weights: .float, random: &r2)
        surrogate.weight.value = conv.weight.value.map(binarySign)
        GradientCheck().run(conv, surrogate: surrogate, input: randomMatrix(2, map.size, seed: 35), outputs: conv.output.size)
    }

    /// One input channel and blocks of 4 x 32 x 32 = 4,096 patch rows (8 images: a block per half of the batch):
    /// the forward product takes the direct short-inner kernel (k = 9, Matrix+SmallInner.swift), float and
    /// binary weights.
    func testFirstConvOverOneChannelTakesTheDirectKernel() {
        let one = FeatureMap(height: 34, width: 34, channels: 1)
        for kind in [WeightQuantizer.float, .binary] {
            var random = SeededRandom(seed: 43)
            let conv = Conv2D(name: "c", input: one, outputChannels: 8, kernel: 3, weights: kind, random: &random)
            XCTAssertGreaterThanOrEqual(min(4, conv.imagesPerBlock) * conv.output.height * conv.output.width,
                                        Matrix.smallInnerMinimumRows)
            XCTAssertLessThanOrEqual(conv.fanIn, Matrix.smallInnerLimit)
            var r2 = SeededRandom(seed: 44)
            let surrogate = Conv2D(name: "c", input: one, outputChannels: 8, kernel: 3, weights: .float, random: &r2)
            surrogate.weight.value = kind == .binary ? conv.weight.value.map(binarySign) : conv.weight.value
            // Few samples: each probe is a forward over 4,096 patches (seconds in a debug build otherwise).
            GradientCheck(samples: 5).run(conv, surrogate: surrogate, input: randomMatrix(8, one.size, seed: 45),
                                outputs: conv.output.size)
        }
    }

    func testConvMatchesDirectSum() {
        // im2col + GEMM against the defining sum, NHWC layout, [out, kh, kw, in] weights.
        var random = SeededRandom(seed: 36)
        let conv = Conv2D(name: "c", input: map, outputChannels: 2, kernel: 2, weights: .float, random: &random)
        let x = randomMatrix(2, map.size, seed: 37)
        var c = ForwardContext.evaluation
        let y = conv.forward(x, context: &c)
        let o = conv.output
        for b in 0..<2 {
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    for oc in 0..<o.channels {
                        var sum: Float = 0
                        for ky in 0..<2 {
                            for kx in 0..<2 {
                                for ic in 0..<map.channels {
                                    let xv = x.data[b * map.size + ((oy + ky) * map.width + ox + kx) * map.channels + ic]
                                    let wv = conv.weight.value[((oc * 2 + ky) * 2 + kx) * map.channels + ic]
                                    sum += xv * wv
                                }
                            }
                        }
                        XCTAssertEqual(y.data[b * o.size + (oy * o.width + ox) * o.channels + oc], sum, accuracy: 1e-5)
                    }
                }
            }
        }
    }

    func testMaxPool() {
        // Distinct values so the maximum of every window is unique and stays so under small steps.
        let pool = MaxPool2D(input: FeatureMap(height: 5, width: 4, channels: 2))
        var random = SeededRandom(seed: 38)
        let values = random.permutation(2 * 40).map { Float($0) * 0.1 }
        GradientCheck(step: 1e-3).run(pool, input: Matrix(rows: 2, cols: 40, data: values), outputs: pool.output.size)
        XCTAssertEqual(pool.output, FeatureMap(height: 2, width: 2, channels: 2), "odd rows are dropped")
    }

    func testBatchNormOverFeatureMapsIsPerChannel() {
        let bn = BatchNorm(name: "bn", features: 3)
        bn.gamma.value = [1.5, 0.5, -1]
        GradientCheck(tolerance: 3e-2).run(bn, input: randomMatrix(3, 4 * 3, seed: 39), outputs: 12)
        // Per channel over batch and positions: each channel of the output has mean beta = 0.
        var c = ForwardContext(training: true)
        let y = bn.forward(randomMatrix(3, 12, seed: 40), context: &c)
        for ch in 0..<3 {
            let values = stride(from: ch, to: 36, by: 3).map { y.data[$0] }
            XCTAssertEqual(values.reduce(0, +) / 12, 0, accuracy: 1e-5)
        }
    }

    func testConvNetworkTrainsOnQuadrants() throws {
        var model = ModelConfig.conv(input: FeatureMap(height: 4, width: 4, channels: 1), classes: 4,
                                     precision: .float, inputBits: 8)
        model.convChannels = [8]
        model.kernel = 1
        model.hidden = [16]
        model.dropout = 0
        let data = TestData.quadrants(count: 600, seed: 41)
        let s = try TrainingSession(model: model, training: TrainingConfig(epochs: 8, batchSize: 20, learningRate: 0.01, seed: 1))
        for _ in 0..<8 { _ = try s.trainEpoch(on: data) }
        XCTAssertGreaterThan(try Evaluation.accuracy(s.network, on: TestData.quadrants(count: 300, seed: 42)), 0.7)
    }
}
