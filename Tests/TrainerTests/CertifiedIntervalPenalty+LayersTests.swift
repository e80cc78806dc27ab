import XCTest
import Datasets
import ModelFormat
@testable import Trainer

/// Issue 16: the certified-interval penalty past the first layer (`train fit --certify-layers N`). A deeper
/// layer's interval is the bound `verify` computes at the root (its fixed inputs summed exactly, each open input
/// ±1), its weight gradient matches finite differences, the setting is stored in the checkpoint and changes what
/// training does, and a count above the net's hidden layers is refused naming both numbers.
final class CertifiedIntervalPenaltyLayersTests: XCTestCase {
    /// A 4x4, 2-bit binary net with two hidden layers of 6, no dropout (so the second layer sees ±1), 3 classes.
    func tinyNetwork() throws -> Network {
        var model = ModelConfig.fcn(hidden: [6, 6], input: FeatureMap(height: 4, width: 4, channels: 1), precision: .binary, inputBits: 2)
        (model.classes, model.dropout) = (3, 0)
        return try Network(config: model, seed: 3)
    }

    /// The second layer's interval from a training forward pass equals, per image and unit, the verifier's bound
    /// from the first layer's open units: fixed sum − open ... fixed sum + open around the clean accumulator.
    func testSecondLayerIntervalIsTheOpenInputCountBound() throws {
        let network = try tinyNetwork()
        let x = CertifiedIntervalPenaltyTests.pixels(rows: 7, seed: 11)
        var context = ForwardContext(training: true)
        let (_, blocks) = try network.forwardCertified(x, budget: 25, weight: 1, count: 2, context: &context)
        XCTAssertEqual(blocks.count, 2)
        let first = blocks[0].norm.lastOpen, second = try XCTUnwrap(blocks[1].norm.certifiedInterval)
        XCTAssertTrue(first.contains(1) && first.contains(0), "some first-layer units open, some fixed: \(first)")
        // The second Dense's input is sign(first BatchNorm's output); recompute it from the pass.
        var h = x
        var plain = ForwardContext(training: true)
        for layer in network.layers[0..<4] { h = layer.forward(h, context: &plain) }
        let w = blocks[1].dense.product.forwardWeights()
        var openSeen = false
        for r in 0..<7 {
            for o in 0..<6 {
                var clean = 0, fixedSum = 0, open = 0
                for i in 0..<6 {
                    let a = Int(h.data[r * 6 + i]), s = Int(w.data[o * 6 + i])
                    clean += a * s
                    if first[r * 6 + i] != 0 { open += 1 } else { fixedSum += a * s }
                }
                openSeen = openSeen || open > 0
                // Reachable accumulators: fixedSum − open ... fixedSum + open = clean − down ... clean + up.
                XCTAssertEqual(second.up[r * 6 + o], Float(fixedSum + open - clean), "image \(r) unit \(o)")
                XCTAssertEqual(second.down[r * 6 + o], Float(clean - (fixedSum - open)), "image \(r) unit \(o)")
            }
        }
        XCTAssertTrue(openSeen)
        network.finishCertified(blocks)
        XCTAssertNil(blocks[1].norm.certifiedInterval)
    }

    /// The weight gradient of a deeper layer's term (through u = (T + s·D)/2 with the hidden slack) matches
    /// finite differences on real-valued weights, with dropout's scaled and zeroed inputs, in both forms (the
    /// bounded one deeper layers use, and softplus).
    func testHiddenWeightGradientMatchesFiniteDifferences() {
        for bounded in [true, false] { checkHiddenWeightGradient(bounded: bounded) }
    }

    /// The bounded form's backward pass through BatchNorm (x̂, the batch σ, γ, β) matches finite differences.
    func testBoundedBackwardMatchesFiniteDifferences() {
        let layer = CertifiedIntervalPenaltyTests.penalized(rows: 8, bounded: true)
        GradientCheck(step: 1e-2, tolerance: 3e-2, samples: 48).run(layer, input: randomMatrix(8, 6, seed: 4), outputs: 6)
        XCTAssertGreaterThan(layer.lastPenalty, 0)
    }

    func checkHiddenWeightGradient(bounded: Bool) {
        var random = SeededRandom(seed: 17)
        let x = Matrix(rows: 6, cols: 8, data: (0..<48).map { _ in [1.25, -1.25, 0][Int(random.next() % 3)] })
        let open = (0..<48).map { _ in Float(random.next() % 2) }
        let slack = CertifiedIntervalPenalty.hiddenSlack(x, open: open)
        XCTAssertEqual(slack.total[0], (0..<8).reduce(Float(0)) { $0 + 2 * abs(x.data[$1]) * open[$1] })
        let s = Matrix(rows: 6, cols: 8, data: (0..<48).map { _ in random.uniform(-1, 1) })
        let y = randomMatrix(6, 6, seed: 6)
        func penalty(_ s: Matrix) -> (Double, BatchNorm) {
            let layer = CertifiedIntervalPenaltyTests.penalized(rows: 6)
            layer.certifiedInterval = CertifiedIntervalPenalty.interval(slack, weights: s, scale: 1, weight: 3, bounded: bounded)
            var context = ForwardContext(training: true)
            _ = layer.forward(y, context: &context)
            return (Double(layer.lastPenalty), layer)
        }
        let (_, layer) = penalty(s)
        let g = CertifiedIntervalPenalty.weightGradient(slack, dUp: layer.intervalGradient.up, dDown: layer.intervalGradient.down, units: 6, scale: 1)
        XCTAssertTrue(g.contains { $0 != 0 })
        CertifiedIntervalPenaltyTests.assertWeightGradient(g, at: s, every: 5, ", bounded \(bounded)") { penalty($0).0 }
    }

    /// Two layers train the second layer differently from one; the count is in the checkpoint (absent for one, so
    /// older checkpoints read back as they were); more layers than the net has, or 0, is refused naming the numbers.
    func testSessionStoresLayersAndRefusesTooMany() throws {
        var model = ModelConfig.fcn(hidden: [16, 16], input: FeatureMap(height: 8, width: 8, channels: 1), precision: .binary, inputBits: 2)
        model.classes = 3
        var random = SeededRandom(seed: 2)
        let data = try ImageSet(height: 8, width: 8, channels: 1, classes: 3,
                                pixels: (0..<(40 * 64)).map { _ in UInt8(random.next() % 256) },
                                labels: (0..<40).map { UInt8($0 % 3) })
        func secondWeights(_ layers: Int?) throws -> ([Float], Data) {
            var training = TrainingConfig(epochs: 1, batchSize: 10, learningRate: 0.01)
            training.certify = .init(epsilon: 0.1, weight: 5, layers: layers)
            let session = try TrainingSession(model: model, training: training)
            _ = try session.trainEpoch(on: data)
            let json = try JSONEncoder().encode(try session.checkpoint(testAccuracy: nil, last: nil).training)
            return (session.network.parameters[3].value, json)
        }
        let (one, oneJSON) = try secondWeights(nil)
        let (two, twoJSON) = try secondWeights(2)
        XCTAssertNotEqual(one, two)
        XCTAssertFalse(String(decoding: oneJSON, as: UTF8.self).contains("layers"))
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: twoJSON).certify, .init(epsilon: 0.1, weight: 5, layers: 2))
        XCTAssertEqual(try secondWeights(1).0, one, "layers 1 is the first-layer term")

        var training = TrainingConfig(learningRate: 0.01)
        training.certify = .init(epsilon: 0.1, weight: 1, layers: 3)
        XCTAssertThrowsError(try TrainingSession(model: model, training: training)) {
            XCTAssertTrue("\($0)".contains("on 3 layers") && "\($0)".contains("has 2"), "\($0)")
        }
        training.certify = .init(epsilon: 0.1, weight: 1, layers: 0)
        XCTAssertThrowsError(try training.validate()) { XCTAssertTrue("\($0)".contains("certify layers 0"), "\($0)") }
    }
}
