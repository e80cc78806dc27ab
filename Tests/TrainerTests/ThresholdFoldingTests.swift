import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// BatchNorm + sign folded into an integer threshold (`ThresholdFolding`) against the trainer itself:
/// the accumulator, times the layer's output scale (`Matrix.scaleColumns`, as `WeightedProduct.forward`),
/// through a `BatchNorm` layer in evaluation mode, then `binarySign`. Over the whole accumulator range:
/// every integer of [-n, n] for small n; for the large ranges (MNIST on raw pixels, and the format's
/// largest, 2^31 - 1 = `InputCodes.accumulatorBound`) the ends, the boundary, around 0 and seeded samples.
final class ThresholdFoldingTests: XCTestCase {
    struct Case {
        var name: String
        var c: Float?
        var gamma: Float, beta: Float, mean: Float, variance: Float

        /// A one-channel BatchNorm holding these parameters and statistics.
        var layer: BatchNorm {
            let bn = BatchNorm(name: "bn", features: 1)
            bn.gamma.value = [gamma]
            bn.beta.value = [beta]
            bn.runningMean.value = [mean]
            bn.runningVar.value = [variance]
            return bn
        }

        /// The exporter's (scale, shift): the layer's own `evalAffine`.
        var affine: (scale: Float, shift: Float) {
            let (scale, shift) = layer.evalAffine()
            return (scale[0], shift[0])
        }
    }

    /// BatchNorm parameter sets (ε = 1e-5, so scale = γ/√(σ²+1e-5), shift = β − μ·scale).
    static let cases: [Case] = [
        Case(name: "plain", c: nil, gamma: 0.37, beta: -3.1, mean: 0.5, variance: 1),
        Case(name: "negative gamma (flip)", c: nil, gamma: -0.52, beta: 2.3, mean: -4, variance: 2.5),
        Case(name: "zero variance: scale = 316.2 γ", c: nil, gamma: 1, beta: -1_000.5, mean: 0, variance: 0),
        Case(name: "zero variance, negative gamma", c: nil, gamma: -1, beta: 7.75, mean: 3, variance: 0),
        Case(name: "huge shift: constant +1", c: nil, gamma: 0.25, beta: 1e30, mean: 0, variance: 1),
        Case(name: "huge negative shift: constant -1", c: nil, gamma: 0.25, beta: -1e30, mean: 0, variance: 1),
        Case(name: "huge mean", c: nil, gamma: 2, beta: 0, mean: 1e9, variance: 1),
        Case(name: "tiny shift", c: nil, gamma: 1e-3, beta: 1e-30, mean: 0, variance: 1),
        Case(name: "tiny scale", c: nil, gamma: 1e-30, beta: -1e-31, mean: 0, variance: 1),
        Case(name: "zero gamma, non-negative beta", c: nil, gamma: 0, beta: 0.5, mean: 1, variance: 1),
        Case(name: "zero gamma, negative beta", c: nil, gamma: 0, beta: -0.5, mean: 1, variance: 1),
        Case(name: "zero gamma, beta -0 (sign(-0) = +1)", c: nil, gamma: 0, beta: -0.0, mean: 0, variance: 1),
        Case(name: "input unit 32/255 (2-bit codes)", c: 32.0 / 255, gamma: 0.9, beta: -40.1, mean: 3, variance: 0.7),
        Case(name: "XNOR alpha, negative gamma", c: 0.0123, gamma: -2.5, beta: 0.3, mean: 0.1, variance: 4),
        Case(name: "boundary between integers", c: nil, gamma: 1, beta: 0, mean: 0.5, variance: 1 - 1e-5),
        Case(name: "huge gamma: overflows to ±inf", c: nil, gamma: 3e36, beta: 1, mean: 0, variance: 1e-4),
        Case(name: "huge output scale, zero gamma, beta < 0: NaN at the ends, -1 everywhere", c: 1e30, gamma: 0, beta: -2,
             mean: 0, variance: 1),
    ]

    /// The trainer's sign for each accumulator in `points`, through the real layers.
    func trainerSigns(_ k: Case, _ points: [Int]) -> [Bool] {
        var x = Matrix(rows: points.count, cols: 1, data: points.map { Float($0) })
        if let c = k.c { x.scaleColumns([c]) }
        var context = ForwardContext(training: false)
        return k.layer.forward(x, context: &context).data.map { binarySign($0) > 0 }
    }

    func assertAgrees(_ k: Case, range: Int, at points: [Int], line: UInt = #line) {
        let (scale, shift) = k.affine
        guard case let .success(f) = ThresholdFolding.verifiedFold(c: k.c, scale: scale, shift: shift, range: range) else {
            return XCTFail("\(k.name), range \(range): the fold was refused", line: line)
        }
        for (a, trainer) in zip(points, trainerSigns(k, points))
        where ThresholdFolding.isPositive(a, threshold: f.threshold, flip: f.flip) != trainer {
            return XCTFail("\(k.name), range \(range): accumulator \(a): threshold \(f.threshold) flip \(f.flip) "
                           + "gives \(trainer ? -1 : 1), the trainer \(trainer ? 1 : -1)", line: line)
        }
    }

    /// Every accumulator of [-n, n]: n = 1, 2, 64 (a hidden layer of 64 on signs), 5,488 (784 inputs x the
    /// largest 2-bit code, 7: `InputCodes.largest(delta: 2)`).
    func testEveryAccumulatorOfSmallRanges() {
        for n in [1, 2, 64, 5_488] {
            for k in Self.cases { assertAgrees(k, range: n, at: Array(-n...n)) }
        }
    }

    /// n = 199,920 (784 x 255, MNIST on raw pixels) and 2^31 - 1: the ends, every accumulator within 1,000
    /// of 0 and of the threshold, ± powers of two and 20,000 seeded samples.
    func testLargeRangesAtTheEndsTheBoundaryAndSamples() {
        var random = SeededRandom(seed: 13)
        for n in [199_920, Int(Int32.max)] {
            for k in Self.cases {
                let (scale, shift) = k.affine
                let t = Int(ThresholdFolding.fold(c: k.c, scale: scale, shift: shift, range: n).threshold)
                var points = [-n, n, -n + 1, n - 1] + Array(-1_000...1_000) + (-1_000...1_000).map { t + $0 }
                points += (0..<31).flatMap { [1 << $0, -(1 << $0)] }
                points += (0..<20_000).map { _ in Int(random.next() % UInt64(2 * n + 1)) - n }
                assertAgrees(k, range: n, at: points.filter { (-n...n).contains($0) })
            }
        }
    }

    /// The one expression no threshold reproduces: A x c overflows to ±inf at large |A|, times a zero
    /// BatchNorm scale is NaN (sign -1), while near 0 it is the shift (+1). The binary search sees -1 at
    /// both ends and folds a constant -1; the verified fold refuses it, naming accumulator 0.
    func testAnUnfoldableExpressionIsRefused() {
        let k = Case(name: "NaN at the ends, +1 near 0", c: 1e30, gamma: 0, beta: 1, mean: 0, variance: 1)
        let range = Int(Int32.max)
        XCTAssertEqual(trainerSigns(k, [-range, 0, range]), [false, true, false], "the trainer: -1, +1, -1")
        let (scale, shift) = k.affine
        guard case let .failure(m) = ThresholdFolding.verifiedFold(c: k.c, scale: scale, shift: shift, range: range) else {
            return XCTFail("a fold giving -1 at accumulator 0, where the trainer gives +1, was accepted")
        }
        XCTAssertEqual(m.accumulator, 0)
        XCTAssertEqual(m.value, 1)
        let message = TrainerError.unfoldableThreshold(layer: 2, channel: 5, accumulator: m.accumulator, value: m.value,
                                                       threshold: m.threshold, flip: m.flip).description
        XCTAssertTrue(message.contains("layer 2 channel 5") && message.contains("at accumulator 0 the trainer's expression is 1.0"), message)
    }

    /// The same case reached through a model: an XNOR layer on three raw pixels (8-bit) whose weights
    /// are all Float.greatestFiniteMagnitude / 3 (bits 0x7eaaaaaa): their sum is the largest finite Float,
    /// α = sum / 3 and c = α/255 are finite, but the largest accumulator, 3 x 255 = 765, times c overflows
    /// to +inf. Under γ = 0, β = 1 the trainer says +1 at black pixels and -1 (NaN) at white ones. Before
    /// the verification the exporter wrote a constant -1 for that channel (wrong on a black image); now
    /// `ImageExport` refuses, naming layer, channel 0 and accumulator 0.
    func testTheExporterRefusesAModelWhoseFoldCannotBeExact() throws {
        var config = ModelConfig.fcn(hidden: [2], input: FeatureMap(height: 1, width: 3, channels: 1), precision: .xnor, inputBits: 8)
        config.classes = 2
        config.dropout = 0
        let network = try Network(config: config, seed: 1)
        func parameter(_ name: String) throws -> Parameter { try XCTUnwrap(network.parameters.first { $0.name == name }, name) }
        let w = Float.greatestFiniteMagnitude / 3
        XCTAssertEqual(w.bitPattern, 0x7eaa_aaaa)
        try parameter("fc0.weight").value = [w, w, w, 0.5, 0.5, 0.5]
        try parameter("bn0.weight").value = [0, 1]
        try parameter("bn0.bias").value = [1, 0]
        // The trainer itself, channel 0 before the sign: +1 on a black image, NaN (sign -1) on a white one.
        let codes = Matrix(rows: 2, cols: 3, data: [0, 0, 0, 255, 255, 255])
        let dense = try XCTUnwrap(network.layers.compactMap { $0 as? Dense }.first)
        let norm = try XCTUnwrap(network.layers.compactMap { $0 as? BatchNorm }.first)
        var context = ForwardContext(training: false)
        let normalized = norm.forward(dense.forward(codes, context: &context), context: &context)
        XCTAssertEqual(normalized.data[0], 1)
        XCTAssertTrue(normalized.data[2].isNaN, "\(normalized.data)")
        XCTAssertThrowsError(try ImageExport.image(of: network)) {
            guard case let .unfoldableThreshold(_, channel, accumulator, value, _, _)? = $0 as? TrainerError else {
                return XCTFail("\($0)")
            }
            XCTAssertEqual([channel, accumulator], [0, 0], "\($0)")
            XCTAssertEqual(value, 1)
        }
        // `convert` of that checkpoint: exit 1 with the message, and no output file.
        let dir = temporaryDirectory()
        try Checkpoint(network: network, optimizer: nil, training: TrainingConfig(learningRate: 0.01),
                       progress: TrainingProgress(epochsCompleted: 0, optimizerStep: 0, testAccuracy: nil, trainLoss: nil,
                                                  trainAccuracy: nil, seconds: 0)).write(to: dir + "/m.safetensors")
        let r = try runTool("convert", [dir + "/m.safetensors", "-o", dir + "/m.bsm"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("channel 0: BatchNorm and sign cannot be folded into a threshold: at accumulator 0"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.bsm"))
    }
}
