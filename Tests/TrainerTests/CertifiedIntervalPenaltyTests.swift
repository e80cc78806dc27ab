import XCTest
import Datasets
import ModelFormat
@testable import Trainer

/// Issue 16, item 3: the certified-interval penalty (`train fit --certify-eps E --certify-weight W`). The first
/// layer's interval it penalises is the exact range over the ε-ball; its backward pass (through BatchNorm, the
/// batch σ and the first layer's weights) matches finite differences; it is stored in the checkpoint's
/// settings and refused where it cannot act.
final class CertifiedIntervalPenaltyTests: XCTestCase {
    /// A 4x4, 2-bit binary net with two hidden layers of 6 and 3 classes.
    func tinyNetwork(precision: ModelConfig.Precision = .binary, bits: Int = 2) throws -> Network {
        var model = ModelConfig.fcn(hidden: [6, 6], input: FeatureMap(height: 4, width: 4, channels: 1), precision: precision, inputBits: bits)
        model.classes = 3
        return try Network(config: model, seed: 3)
    }

    /// Pixels on the [0, 1] scale, some at level edges (63, 64, 191, 192) where the ball crosses a level.
    static func pixels(rows: Int, seed: UInt64) -> Matrix {
        var random = SeededRandom(seed: seed)
        let edges: [Float] = [0, 63, 64, 100, 191, 192, 255]
        return Matrix(rows: rows, cols: 16, data: (0..<(rows * 16)).map { _ in
            (random.next() % 2 == 0 ? edges[Int(random.next() % 7)] : Float(random.next() % 256)) / 255
        })
    }

    /// The interval equals the accumulator's exact range, found by trying every pixel value in the ball
    /// one pixel at a time (a sum of per-pixel terms is extreme where each term is).
    func testIntervalIsTheExactRangeOverTheBall() throws {
        let network = try tinyNetwork()
        let x = Self.pixels(rows: 5, seed: 9)
        for budget in [3, 25, 51] {
            _ = try network.setCertifiedInterval(batch: x, budget: budget, weight: 1)
            let (dense, norm) = try network.certifiedFirstBlock()
            let interval = try XCTUnwrap(norm.certifiedInterval)
            let s = dense.product.forwardWeights()
            for r in 0..<x.rows {
                for o in 0..<6 {
                    var up = 0, down = 0
                    for i in 0..<16 {
                        let p = Int((x.data[r * 16 + i] * 255).rounded()), w = Int(s.data[o * 16 + i])
                        let clean = w * InputQuantizer.code(pixel: UInt8(p), bits: 2)
                        let moves = (max(p - budget, 0)...min(p + budget, 255)).map { w * InputQuantizer.code(pixel: UInt8($0), bits: 2) - clean }
                        up += moves.max()!
                        down -= moves.min()!
                    }
                    XCTAssertEqual(interval.up[r * 6 + o], Float(up) * dense.product.inputScale, accuracy: 1e-5, "budget \(budget) image \(r) unit \(o)")
                    XCTAssertEqual(interval.down[r * 6 + o], Float(down) * dense.product.inputScale, accuracy: 1e-5)
                }
            }
        }
    }

    /// A BatchNorm with the term on a fixed interval, half the units' intervals wide enough to be open.
    static func penalized(rows: Int, weight: Float = 3, bounded: Bool = false) -> BatchNorm {
        let layer = BatchNorm(name: "bn", features: 6)
        var random = SeededRandom(seed: 8)
        layer.gamma.value = (0..<6).map { _ in random.uniform(0.5, 1.5) }
        layer.gamma.value[1] = -0.8
        layer.beta.value = (0..<6).map { _ in random.uniform(-0.8, 0.8) }
        let up = (0..<(rows * 6)).map { _ in random.uniform(0, 2) }, down = (0..<(rows * 6)).map { _ in random.uniform(0, 2) }
        layer.certifiedInterval = .init(up: up, down: down, weight: weight, bounded: bounded)
        return layer
    }

    func testBackwardMatchesFiniteDifferences() {
        // dL/dx (through x̂ and the batch σ), dL/dgamma and dL/dbeta, with an upstream gradient beside the term.
        let layer = Self.penalized(rows: 8)
        GradientCheck(step: 1e-2, tolerance: 3e-2, samples: 48).run(layer, input: randomMatrix(8, 6, seed: 4), outputs: 6)
        XCTAssertGreaterThan(layer.lastPenalty, 0)
        // dL/d(up) and d(down), the term alone.
        let x = randomMatrix(8, 6, seed: 5)
        func value(_ layer: BatchNorm) -> Double {
            var context = ForwardContext(training: true)
            _ = layer.forward(x, context: &context)
            return Double(layer.lastPenalty)
        }
        let base = Self.penalized(rows: 8)
        _ = value(base)
        let (dUp, dDown) = base.intervalGradient
        XCTAssertTrue(dUp.contains { $0 != 0 } && dDown.contains { $0 != 0 })
        let h: Float = 1e-2
        for i in stride(from: 0, to: 48, by: 5) {
            for side in 0..<2 {
                func shifted(_ d: Float) -> Double {
                    let l = Self.penalized(rows: 8), c = l.certifiedInterval!
                    var up = c.up, down = c.down
                    if side == 0 { up[i] += d } else { down[i] += d }
                    l.certifiedInterval = .init(up: up, down: down, weight: c.weight)
                    return value(l)
                }
                let numeric = (shifted(h) - shifted(-h)) / Double(2 * h), analytic = Double(side == 0 ? dUp[i] : dDown[i])
                XCTAssertEqual(numeric, analytic, accuracy: 2e-3 + 2e-2 * abs(numeric), "d/d\(side == 0 ? "up" : "down")[\(i)]")
            }
        }
    }

    /// The weight gradient the session adds is the derivative of the term through u = (T + s·D) / 2 and
    /// l = (T − s·D) / 2, checked on real-valued weights s.
    func testWeightGradientMatchesFiniteDifferences() throws {
        let x = Self.pixels(rows: 6, seed: 21)
        let slack = CertifiedIntervalPenalty.slack(x, bits: 2, budget: 25)
        XCTAssertTrue(slack.total.allSatisfy { $0 > 0 }, "every image has a free pixel")
        var random = SeededRandom(seed: 5)
        let s = Matrix(rows: 6, cols: 16, data: (0..<96).map { _ in random.uniform(-1, 1) })
        let y = randomMatrix(6, 6, seed: 6), scale = InputQuantizer.scale(bits: 2)
        func penalty(_ s: Matrix) -> (Double, BatchNorm) {
            let layer = Self.penalized(rows: 6)
            layer.certifiedInterval = CertifiedIntervalPenalty.interval(slack, weights: s, scale: scale, weight: 3)
            var context = ForwardContext(training: true)
            _ = layer.forward(y, context: &context)
            return (Double(layer.lastPenalty), layer)
        }
        let (_, layer) = penalty(s)
        let g = CertifiedIntervalPenalty.weightGradient(slack, dUp: layer.intervalGradient.up, dDown: layer.intervalGradient.down,
                                                        units: 6, scale: scale)
        XCTAssertTrue(g.contains { $0 != 0 })
        Self.assertWeightGradient(g, at: s, every: 7) { penalty($0).0 }
    }

    /// A training epoch with the term moves the first layer differently from one without; the setting is in the
    /// checkpoint's training JSON; it is refused, naming what is missing, for XNOR, float, 8-bit and conv models
    /// and for out-of-range numbers.
    /// Ternary weights: the interval is the exact range over the ball, each unit reading only its non-zero
    /// weights (T_o = Σ_i |s_oi| T_i), and the weight gradient, with its sign(s)·dT_o part, matches finite
    /// differences on real-valued weights away from 0.
    func testTernaryIntervalAndItsWeightGradient() throws {
        let x = Self.pixels(rows: 6, seed: 23)
        let slack = CertifiedIntervalPenalty.slack(x, bits: 2, budget: 25)
        var random = SeededRandom(seed: 8)
        // Exact: a ternary first layer's range over every reachable code, by brute force over each pixel's ends.
        let ternary = Matrix(rows: 6, cols: 16, data: (0..<96).map { _ in Float(Int(random.next() % 3) - 1) })
        let exact = CertifiedIntervalPenalty.interval(slack, weights: ternary, scale: 1, weight: 1, ternary: true)
        for r in 0..<6 {
            for o in 0..<6 {
                var up: Float = 0, down: Float = 0
                for i in 0..<16 {
                    let w = ternary.data[o * 16 + i], d = slack.diff.data[r * 16 + i], t = slack.reach.data[r * 16 + i]
                    let (plus, minus) = ((t + d) / 2, (t - d) / 2)   // the codes a pixel can rise and fall by
                    up += w > 0 ? plus : w < 0 ? minus : 0
                    down += w > 0 ? minus : w < 0 ? plus : 0
                }
                XCTAssertEqual(exact.up[r * 6 + o], up, "up \(r) \(o)")
                XCTAssertEqual(exact.down[r * 6 + o], down, "down \(r) \(o)")
            }
        }
        let s = Matrix(rows: 6, cols: 16, data: (0..<96).map { _ in
            let v = random.uniform(0.2, 1)
            return random.next() & 1 == 0 ? v : -v
        })
        let y = randomMatrix(6, 6, seed: 9), scale = InputQuantizer.scale(bits: 2)
        func penalty(_ s: Matrix) -> (Double, BatchNorm) {
            let layer = Self.penalized(rows: 6)
            layer.certifiedInterval = CertifiedIntervalPenalty.interval(slack, weights: s, scale: scale, weight: 3, ternary: true)
            var context = ForwardContext(training: true)
            _ = layer.forward(y, context: &context)
            return (Double(layer.lastPenalty), layer)
        }
        let (_, layer) = penalty(s)
        let g = CertifiedIntervalPenalty.weightGradient(slack, dUp: layer.intervalGradient.up, dDown: layer.intervalGradient.down,
                                                        units: 6, scale: scale, ternaryWeights: s)
        let binary = CertifiedIntervalPenalty.weightGradient(slack, dUp: layer.intervalGradient.up, dDown: layer.intervalGradient.down,
                                                             units: 6, scale: scale)
        XCTAssertNotEqual(g, binary, "the sign(s)·dT part is there")
        Self.assertWeightGradient(g, at: s, every: 5) { penalty($0).0 }
    }

    /// Central differences (step 1e-2) of `penalty` at every `every`-th weight of `s` equal the analytic gradient `g`.
    static func assertWeightGradient(_ g: [Float], at s: Matrix, every: Int, _ label: String = "",
                                     file: StaticString = #filePath, line: UInt = #line, penalty: (Matrix) -> Double) {
        for k in stride(from: 0, to: s.data.count, by: every) {
            var plus = s, minus = s
            plus.data[k] += 1e-2
            minus.data[k] -= 1e-2
            let numeric = (penalty(plus) - penalty(minus)) / 2e-2
            XCTAssertEqual(numeric, Double(g[k]), accuracy: 2e-3 + 2e-2 * abs(numeric), "dP/ds[\(k)]\(label)", file: file, line: line)
        }
    }

    func testSessionStoresAndRefuses() throws {
        let (model, data) = try Self.tinySetup(seed: 2)
        func firstWeights(_ certify: TrainingConfig.CertifiedTraining?) throws -> ([Float], TrainingConfig) {
            var training = TrainingConfig(epochs: 1, batchSize: 10, learningRate: 0.01)
            training.certify = certify
            let session = try TrainingSession(model: model, training: training)
            _ = try session.trainEpoch(on: data)
            let config = try session.checkpoint(testAccuracy: nil, last: nil).training
            return (session.network.parameters[0].value, config)
        }
        let (plain, _) = try firstWeights(nil)
        let (certified, stored) = try firstWeights(.init(epsilon: 0.1, weight: 5))
        XCTAssertNotEqual(plain, certified)
        let json = try JSONEncoder().encode(stored)
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: json).certify, .init(epsilon: 0.1, weight: 5))
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("certify"))

        for (precision, bits, words) in [(ModelConfig.Precision.xnor, 2, "xnor"), (.float, 2, "float"), (.binary, 8, "input bits 1...7")] {
            var m = model
            (m.precision, m.inputBits) = (precision, bits)
            var training = TrainingConfig(learningRate: 0.01)
            training.certify = .init(epsilon: 0.1, weight: 1)
            XCTAssertThrowsError(try TrainingSession(model: m, training: training)) { XCTAssertTrue("\($0)".contains(words), "\($0)") }
        }
        var conv = ModelConfig.conv(input: FeatureMap(height: 8, width: 8, channels: 1), classes: 3)
        conv.convChannels = [2]
        var training = TrainingConfig(learningRate: 0.01)
        training.certify = .init(epsilon: 0.1, weight: 1)
        XCTAssertThrowsError(try TrainingSession(model: conv, training: training)) { XCTAssertTrue("\($0)".contains("fully connected"), "\($0)") }
        for bad in [TrainingConfig.CertifiedTraining(epsilon: 0, weight: 1), .init(epsilon: .nan, weight: 1), .init(epsilon: 0.1, weight: 0),
                    .init(epsilon: 0.1, weight: 101)] {
            training.certify = bad
            XCTAssertThrowsError(try training.validate()) { XCTAssertTrue("\($0)".contains("certify"), "\($0)") }
        }
    }
}
