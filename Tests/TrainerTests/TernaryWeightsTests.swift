import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Sparse ternary weights (issue 16, item 3; WeightQuantizer.swift): the zeroing rule, S = 0 as today's
/// binary weights, the stored sparsity and its checks.
final class TernaryWeightsTests: XCTestCase {
    /// The rule by a sort: sign(W) with the k weights of smallest |W| zeroed, ties by index.
    func reference(_ w: [Float], zeros k: Int) -> [Float] {
        let order = w.indices.sorted { (w[$0].magnitude, $0) < (w[$1].magnitude, $1) }
        var out = w.map(binarySign)
        for i in order.prefix(k) { out[i] = 0 }
        return out
    }

    // The selection gives exactly floor(S * n) zeros, the smallest |W|, on random weights and on weights full of
    // ties (latent weights clipped to +/-1, exact zeros of both signs, repeated values), where a |W| <= Delta rule
    // alone would zero every tied weight.
    func testZeroesExactlyTheFloorOfSparsityTimesNWeightsOfSmallestMagnitude() {
        var random = SeededRandom(seed: 3)
        let spread = (0..<1_000).map { _ in random.uniform(-0.04, 0.04) }
        let ties: [Float] = (0..<999).map { i in [1, -1, 0, -0.0, 0.25, -0.25, 1, -1, 0.5][i % 9] }
        let tiny: [Float] = [0.3, -0.1, 0.2]
        for w in [spread, ties, tiny] {
            for s: Float in [0, 0.1, 0.5, 0.8, 0.9, 0.999] {
                let k = WeightQuantizer.zeroCount(sparsity: s, of: w.count)
                XCTAssertEqual(k, Int((Double(s) * Double(w.count)).rounded(.down)))
                let t = WeightQuantizer.ternary.forwardWeights(w, sparsity: s)
                XCTAssertEqual(t.filter { $0 == 0 }.count, k, "S \(s), n \(w.count)")
                XCTAssertEqual(t, reference(w, zeros: k), "S \(s), n \(w.count)")
            }
        }
        XCTAssertEqual(WeightQuantizer.zeroCount(sparsity: .nan, of: 10), 0)
        XCTAssertEqual(WeightQuantizer.zeroCount(sparsity: 0.999_999, of: 10), 9, "S < 1 leaves a weight")
    }

    // S = 0 is today's model: binary weight kind, forward weights sign(W) bit for bit, and the metadata unchanged
    // (no `weight_sparsity` key); a checkpoint's model without the key (every one written before) reads as S = 0.
    func testZeroSparsityIsTodaysBinaryModel() throws {
        var config = ModelConfig.fcn(hidden: [16], input: FeatureMap(height: 8, width: 8, channels: 1), precision: .binary, inputBits: 2)
        let net = try Network(config: config, seed: 5)
        for dense in net.layers.compactMap({ $0 as? Dense }) {
            XCTAssertEqual(dense.kind, .binary)
            XCTAssertEqual(dense.product.forwardWeights().data, dense.weight.value.map(binarySign))
            XCTAssertEqual(WeightQuantizer.ternary.forwardWeights(dense.weight.value, sparsity: 0), dense.weight.value.map(binarySign))
        }
        let json = String(decoding: try Checkpoint.encoder().encode(config), as: UTF8.self)
        XCTAssertFalse(json.contains("sparsity"), json)
        XCTAssertEqual(try Checkpoint.decoder().decode(ModelConfig.self, from: Data(json.utf8)), config)
        XCTAssertEqual(config.summary, "fcn-64-16-10-binary-2b")
        config.weightSparsity = 0.8
        XCTAssertEqual(config.summary, "fcn-64-16-10-binary-2b-t0.8")
        let stored = String(decoding: try Checkpoint.encoder().encode(config), as: UTF8.self)
        XCTAssertTrue(stored.contains("\"weight_sparsity\":0.8"), stored)
        XCTAssertEqual(try Checkpoint.decoder().decode(ModelConfig.self, from: Data(stored.utf8)), config)
    }

    // A ternary net's forward pass multiplies by weights with floor(S * n) zeros per layer, and training moves its
    // latent weights (straight through) while the count holds.
    func testTernaryNetHasSparsityZerosPerLayerAndTrains() throws {
        var config = ModelConfig.fcn(hidden: [16], input: FeatureMap(height: 4, width: 4, channels: 1), precision: .binary, inputBits: 2)
        config.classes = 4
        config.weightSparsity = 0.75
        let session = try TrainingSession(model: config, training: TrainingConfig(epochs: 1, batchSize: 20, learningRate: 0.01))
        let dense = session.network.layers.compactMap { $0 as? Dense }
        XCTAssertEqual(dense.map(\.kind), [.ternary, .ternary])
        let before = dense.map(\.weight.value)
        _ = try session.trainEpoch(on: TestData.quadrants(count: 60, seed: 2))
        for (d, old) in zip(dense, before) {
            XCTAssertNotEqual(d.weight.value, old, "\(d.weight.name) did not move")
            let n = d.weight.value.count
            XCTAssertEqual(d.product.cachedWeights.data.filter { $0 == 0 }.count, n * 3 / 4, d.weight.name)
            XCTAssertEqual(d.product.forwardWeights().data.filter { $0 == 0 }.count, n * 3 / 4, d.weight.name)
        }
        // The evaluation copies (one per worker) are the same ternary layers.
        let copy = try session.network.evaluationCopy()
        XCTAssertEqual(copy.layers.compactMap { ($0 as? Dense)?.product.forwardWeights() }, dense.map { $0.product.forwardWeights() })
    }

    // The configuration's own check (checkpoints and library callers): finite, in [0, 1), binary fcn only.
    func testConfigRefusesBadSparsity() {
        for (s, precision, arch, message) in [(Float(1), ModelConfig.Precision.binary, ModelConfig.Architecture.fcn, "weight sparsity 1.0 is outside [0, 1)"),
                                              (-0.1, .binary, .fcn, "weight sparsity -0.1 is outside [0, 1)"),
                                              (.nan, .binary, .fcn, "weight sparsity nan is not a finite number"),
                                              (0.5, .xnor, .fcn, "weight sparsity 0.5 needs a binary fully connected model"),
                                              (0.5, .binary, .conv, "not binary conv")] {
            var config = arch == .conv ? ModelConfig.conv(precision: precision) : ModelConfig.fcn(hidden: [16], precision: precision, inputBits: 2)
            config.weightSparsity = s
            XCTAssertThrowsError(try config.validate(), "\(s)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
    }
}
