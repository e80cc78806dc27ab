import XCTest
@testable import Trainer

/// Issue 16, item 3: the stable-unit penalty (`train fit --stable-penalty`) keeps sign units away from their
/// folded thresholds; its backward pass through BatchNorm matches finite differences, and rescaling gamma
/// (which leaves the folded thresholds alone) cannot lower it.
final class StableUnitPenaltyTests: XCTestCase {
    /// A BatchNorm with varied gamma (one negative, one below the clamp) and beta, and the penalty on.
    func penalized(features: Int = 6, weight: Float = 3) -> BatchNorm {
        let layer = BatchNorm(name: "bn", features: features)
        var random = SeededRandom(seed: 8)
        layer.gamma.value = (0..<features).map { _ in random.uniform(0.5, 1.5) }
        layer.gamma.value[1] = -0.8
        layer.beta.value = (0..<features).map { _ in random.uniform(-0.8, 0.8) }
        layer.stablePenalty = weight
        return layer
    }

    func testBackwardMatchesFiniteDifferences() {
        let layer = penalized()
        GradientCheck(step: 1e-2, tolerance: 3e-2, samples: 48).run(layer, input: randomMatrix(8, 6, seed: 4), outputs: 6)
        XCTAssertGreaterThan(layer.lastPenalty, 0)
        // The penalty alone (a zero upstream gradient): every gradient is the penalty's.
        let alone = penalized(weight: 10)
        var context = ForwardContext(training: true, random: SeededRandom(seed: 1))
        let x = randomMatrix(8, 6, seed: 5)
        _ = alone.forward(x, context: &context)
        let dx = alone.backward(Matrix(rows: 8, cols: 6), inputGradient: true)!
        XCTAssertTrue(dx.data.contains { $0 != 0 }, "the penalty reaches the input")
        XCTAssertTrue(alone.beta.grad.contains { $0 != 0 } && alone.gamma.grad.contains { $0 != 0 })
    }

    /// A penalty on y = gamma * xhat + beta alone is met by growing gamma and beta together, which leaves the
    /// folded integer threshold (and every verification problem) as it was: this one does not move.
    func testRescalingGammaAndBetaLeavesThePenalty() {
        let x = randomMatrix(16, 6, seed: 11)
        func penalty(_ scale: Float) -> Float {
            let layer = penalized()
            layer.gamma.value = layer.gamma.value.map { $0 * scale }
            layer.beta.value = layer.beta.value.map { $0 * scale }
            var context = ForwardContext(training: true, random: SeededRandom(seed: 1))
            _ = layer.forward(x, context: &context)
            return layer.lastPenalty
        }
        XCTAssertEqual(penalty(1), penalty(7), accuracy: 1e-5)
        XCTAssertGreaterThan(penalty(1), 0)
        // Off (0) means no penalty and the backward pass as without the option.
        let off = penalized(weight: 0), plain = BatchNorm(name: "bn", features: 6)
        plain.gamma.value = off.gamma.value
        plain.beta.value = off.beta.value
        var c1 = ForwardContext(training: true, random: SeededRandom(seed: 1)), c2 = c1
        _ = off.forward(x, context: &c1)
        _ = plain.forward(x, context: &c2)
        let r = randomMatrix(16, 6, seed: 12)
        XCTAssertEqual(off.backward(r, inputGradient: true)!.data, plain.backward(r, inputGradient: true)!.data)
        XCTAssertEqual(off.lastPenalty, 0)
    }

    /// The session puts the penalty on the BatchNorms that feed a sign, never on the logits' BatchNorm.
    func testPenaltyGoesOnSignUnitsOnly() throws {
        var model = ModelConfig.fcn(hidden: [16, 16], input: FeatureMap(height: 4, width: 4, channels: 1), precision: .binary, inputBits: 2)
        model.classes = 3
        let network = try Network(config: model, seed: 1)
        let set = network.setStablePenalty(2)
        let all = network.layers.compactMap { $0 as? BatchNorm }
        XCTAssertEqual(set.count, 2)
        XCTAssertEqual(all.map(\.stablePenalty), [2, 2, 0])
        network.setStablePenalty(0)
        XCTAssertEqual(all.map(\.stablePenalty), [0, 0, 0])
        var training = TrainingConfig(learningRate: 0.01)
        training.stablePenalty = 101
        XCTAssertThrowsError(try training.validate()) { XCTAssertTrue("\($0)".contains("stable penalty"), "\($0)") }
        training.stablePenalty = .nan
        XCTAssertThrowsError(try training.validate())
    }
}
