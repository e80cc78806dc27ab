import XCTest
@testable import Trainer

final class LayerGradientTests: XCTestCase {
    func testDenseFloatWithBias() {
        var random = SeededRandom(seed: 1)
        let layer = Dense(name: "fc", inputs: 13, outputs: 7, weights: .float, bias: true, random: &random)
        GradientCheck().run(layer, input: randomMatrix(5, 13, seed: 2), outputs: 7)
    }

    func testDenseBinaryIsStraightThroughSignOfWeights() {
        // The latent-weight gradient is the gradient with respect to sign(W): check it against a
        // float layer holding sign(W).
        var random = SeededRandom(seed: 1)
        let binary = Dense(name: "fc", inputs: 11, outputs: 6, weights: .binary, bias: false, random: &random)
        var r2 = SeededRandom(seed: 5)
        let surrogate = Dense(name: "fc", inputs: 11, outputs: 6, weights: .float, bias: false, random: &r2)
        surrogate.weight.value = binary.weight.value.map(binarySign)
        GradientCheck().run(binary, surrogate: surrogate, input: randomMatrix(4, 11, seed: 3), outputs: 6)
    }

    func testBatchNormTraining() {
        let layer = BatchNorm(name: "bn", features: 6)
        var random = SeededRandom(seed: 8)
        layer.gamma.value = (0..<6).map { _ in random.uniform(0.5, 1.5) }
        layer.beta.value = (0..<6).map { _ in random.uniform(-0.5, 0.5) }
        GradientCheck(step: 1e-2, tolerance: 3e-2).run(layer, input: randomMatrix(8, 6, seed: 4), outputs: 6)
    }

    func testBatchNormEvaluation() {
        let layer = BatchNorm(name: "bn", features: 5)
        layer.runningMean.value = [0.1, -0.2, 0.3, 0, 1]
        layer.runningVar.value = [1, 2, 0.5, 4, 0.1]
        layer.gamma.value = [1, -1, 2, 0.5, 1]
        var check = GradientCheck()
        check.training = false
        // Only the input gradient is defined in eval mode (attacks use it).
        var context = ForwardContext.evaluation
        let x = randomMatrix(3, 5, seed: 6)
        _ = layer.forward(x, context: &context)
        let r = randomMatrix(3, 5, seed: 7)
        let dx = layer.backward(r, inputGradient: true)!
        for i in 0..<x.data.count {
            var xp = x, xm = x
            xp.data[i] += 1e-2
            xm.data[i] -= 1e-2
            let numeric = (check.value(layer, xp, r) - check.value(layer, xm, r)) / 2e-2
            XCTAssertEqual(numeric, Double(dx.data[i]), accuracy: 1e-3)
        }
    }

    func testHardTanh() {
        GradientCheck().run(HardTanh(), input: randomMatrix(4, 9, seed: 9, avoid: [-1, 1]), outputs: 9)
    }

    func testReLU() {
        GradientCheck().run(ReLU(), input: randomMatrix(4, 9, seed: 10, avoid: [0]), outputs: 9)
    }

    func testSignActivationStraightThroughIsHardTanhGradient() {
        GradientCheck().run(SignActivation(), surrogate: HardTanh(),
                            input: randomMatrix(4, 9, seed: 11, avoid: [-1, 1]), outputs: 9)
    }

    func testInputQuantizerStraightThroughIsIdentityInValueSpace() {
        // The layer emits codes = value / scale; straight through in value space means d code / d x = 1 / scale.
        final class Codes: Layer {
            let inverse: Float
            init(scale: Float) { inverse = 1 / scale }
            func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix { x.map { $0 * inverse } }
            func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? { nil }
        }
        for bits in [2, 8] {
            let q = InputQuantizer(bits: bits)
            GradientCheck(step: 1e-3).run(q, surrogate: Codes(scale: q.scale),
                                          input: randomMatrix(3, 10, seed: 12, lo: 0, hi: 1), outputs: 10)
        }
    }

    func testFirstLayerInputScaleFloatAndXNOR() {
        for kind in [WeightQuantizer.float, .xnor] {
            var random = SeededRandom(seed: 17)
            let layer = Dense(name: "fc", inputs: 8, outputs: 5, weights: kind, bias: false, random: &random)
            layer.product.inputScale = 0.25
            if kind == .xnor {
                layer.weight.value = randomMatrix(5, 8, seed: 18, lo: -0.9, hi: 0.9, avoid: [0]).data
                let surrogate = XNORSurrogate(copying: layer)
                surrogate.inputScale = 0.25
                GradientCheck(step: 1e-3).run(layer, surrogate: surrogate, input: randomMatrix(3, 8, seed: 19), outputs: 5)
            } else {
                GradientCheck().run(layer, input: randomMatrix(3, 8, seed: 19), outputs: 5)
            }
        }
    }

    func testDropoutWithFixedMask() {
        // Same seed in every forward: the mask is fixed, so dropout is linear and checkable.
        GradientCheck().run(Dropout(p: 0.3), input: randomMatrix(4, 12, seed: 13), outputs: 12)
    }

    func testSoftmaxCrossEntropy() {
        let logits = randomMatrix(4, 5, seed: 14)
        let labels = [0, 3, 4, 1]
        let (_, grad, _) = try! SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
        for i in 0..<logits.data.count {
            var p = logits, m = logits
            p.data[i] += 1e-2
            m.data[i] -= 1e-2
            let numeric = (try! SoftmaxCrossEntropy.evaluate(logits: p, labels: labels).loss
                - (try! SoftmaxCrossEntropy.evaluate(logits: m, labels: labels).loss)) / 2e-2
            XCTAssertEqual(Double(numeric), Double(grad.data[i]), accuracy: 2e-3, "logit \(i)")
        }
    }

    func testWholeNetworkInputGradient() throws {
        // A float network end to end (quantizer straight through): dL/dinput against differences of
        // the same network with the quantizer at 8 bits and dropout off, in eval mode.
        var config = ModelConfig.fcn2(precision: .float, inputBits: 8)
        config.input = FeatureMap(height: 1, width: 12, channels: 1)
        config.hidden = [9, 7]
        config.classes = 4
        config.dropout = 0
        let net = try Network(config: config, seed: 3)
        // Give the BatchNorms non-trivial statistics.
        for s in net.state where s.name.hasSuffix("running_var") { s.value = s.value.map { $0 * 0.7 } }
        let x = randomMatrix(2, 12, seed: 15, lo: 0.1, hi: 0.9)
        let labels = [1, 3]
        func loss(_ x: Matrix) -> Double {
            var c = ForwardContext.evaluation
            return Double(try! SoftmaxCrossEntropy.evaluate(logits: net.forward(x, context: &c), labels: labels).loss)
        }
        var c = ForwardContext.evaluation
        let (_, g, _) = try SoftmaxCrossEntropy.evaluate(logits: net.forward(x, context: &c), labels: labels)
        let dx = try XCTUnwrap(net.backward(g, inputGradient: true))
        for i in 0..<x.data.count {
            // 8-bit input rounds to the pixel grid, so step by whole pixels.
            let h: Float = 3 / 255
            var p = x, m = x
            p.data[i] += h
            m.data[i] -= h
            let numeric = (loss(p) - loss(m)) / Double(2 * h)
            XCTAssertEqual(numeric, Double(dx.data[i]), accuracy: 0.05 * max(1, abs(numeric)), "input \(i)")
        }
    }
}

/// The XNOR latent-weight gradient is the derivative of W -> alpha(W) * (S + W - W0) at W0, with
/// S = sign(W0) frozen: the straight-through sign plus the exact derivative of alpha = mean |W|.
final class XNORSurrogate: Layer {
    let weight: Parameter
    let frozenSign: [Float]
    let origin: [Float]
    let inputs: Int, outputs: Int
    var inputScale: Float = 1

    init(copying dense: Dense) {
        inputs = dense.inputs
        outputs = dense.outputs
        origin = dense.weight.value
        frozenSign = origin.map(binarySign)
        weight = Parameter(name: "w", shape: dense.weight.shape, value: origin, decays: true)
    }

    var parameters: [Parameter] { [weight] }

    func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        var w = Matrix(rows: outputs, cols: inputs)
        for o in 0..<outputs {
            var alpha: Float = 0
            for i in 0..<inputs { alpha += abs(weight.value[o * inputs + i]) }
            alpha /= Float(inputs)
            for i in 0..<inputs {
                let k = o * inputs + i
                w.data[k] = inputScale * alpha * (frozenSign[k] + weight.value[k] - origin[k])
            }
        }
        return Matrix.product(x, w, transposeB: true)
    }

    func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? { nil }
}

final class XNORGradientTests: XCTestCase {
    func testXNORDenseLatentGradient() {
        var random = SeededRandom(seed: 21)
        let layer = Dense(name: "fc", inputs: 9, outputs: 5, weights: .xnor, bias: false, random: &random)
        // Latent weights inside (-1, 1) and away from 0, where sign and |.| are smooth.
        layer.weight.value = randomMatrix(5, 9, seed: 22, lo: -0.9, hi: 0.9, avoid: [0], margin: 0.05).data
        GradientCheck(step: 1e-3, tolerance: 2e-2).run(layer, surrogate: XNORSurrogate(copying: layer),
                                                      input: randomMatrix(4, 9, seed: 23), outputs: 5)
    }

    func testXNORScalesAreMeanAbsoluteWeights() {
        var random = SeededRandom(seed: 1)
        let layer = Dense(name: "fc", inputs: 2, outputs: 2, weights: .xnor, bias: false, random: &random)
        layer.weight.value = [0.5, -0.1, 0, -0.4]
        XCTAssertEqual(layer.product.outputScales(), [0.3, 0.2])
        XCTAssertEqual(layer.product.forwardWeights().data, [1, -1, 1, -1])
        var c = ForwardContext.evaluation
        XCTAssertEqual(layer.forward(Matrix(rows: 1, cols: 2, data: [1, 2]), context: &c).data, [0.3 * -1, 0.2 * -1])
    }
}
