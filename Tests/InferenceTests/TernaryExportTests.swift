import Datasets
import XCTest
@testable import Inference
@testable import ModelFormat
@testable import Trainer

/// Ternary dense layers exported (issue 16, item 3; spec/FORMAT.md "Ternary dense weights", version 5): the runtime's
/// scores of the exported image equal the trainer's logits bit for bit, in every dense layout and kernel set.
final class TernaryExportTests: XCTestCase {
    func testRuntimeScoresEqualTrainerLogitsOnTernaryModels() throws {
        var r = SeededRandom(seed: 16)
        for (trial, (hidden, bits, sparsity)) in [([16], 2, Float(0.8)), ([40, 33], 1, 0.5), ([24], 8, 0.9), ([7, 9], 3, 0.3)].enumerated() {
            var config = ModelConfig.fcn(hidden: hidden, input: FeatureMap(height: 8, width: 8, channels: 1), precision: .binary, inputBits: bits)
            config.classes = 5
            config.weightSparsity = sparsity
            config.floatLastLayer = trial == 3
            let net = try Network(config: config, seed: UInt64(trial))
            RandomModelTests.randomizeBatchNorms(net, &r)
            let size = config.input.size
            let pixels = (0..<(16 * size)).map { _ in UInt8(r.next() % 256) }
            let data = try Datasets.ImageSet(height: 8, width: 8, channels: 1, classes: config.classes, pixels: pixels,
                                             labels: [UInt8](repeating: 0, count: 16))
            let (x, _) = TrainingSession.batch(data, indices: 0..<16)
            var context = ForwardContext.evaluation
            let logits = net.forward(x, context: &context)
            for layout in DenseLayout.allCases {
                let image = try ImageExport.image(of: net, denseLayout: layout)
                // Version 5, each ternary dense op naming its lower plane (p6), and no columns32s plane.
                try image.withUnsafeBytes { raw in
                    let m = try ModelImage(bytes: raw)
                    XCTAssertEqual(m.header.version, 5, "\(config.summary) \(layout)")
                    let dense = (0..<m.opCount).filter { m.opKind($0) == .dense }
                    let ternary = dense.filter { m.opParameter($0, 6) != 0 }
                    XCTAssertEqual(ternary.count, config.hidden.count + (config.floatLastLayer ? 0 : 1), "\(config.summary) \(layout)")
                }
                for kernels in [KernelSet.optimized, .reference, .carrySave] {
                    let got = try RandomModelTests.scores(image, kernels: kernels, pixels: pixels, size: size, classes: config.classes)
                    if config.floatLastLayer {
                        for (a, b) in zip(got, logits.data) { XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(b)), "\(config.summary) \(layout) \(kernels)") }
                    } else {
                        XCTAssertEqual(got.map(\.bitPattern), logits.data.map(\.bitPattern), "\(config.summary) \(layout) \(kernels)")
                    }
                }
            }
        }
    }

    /// The accumulator bound for two planes (2 F V <= 2^31 - 1): a ternary first layer on 2,053 x 2,053 8-bit pixels
    /// (4,214,809 x 255, under the binary bound) is refused by the exporter with the numbers, not written as an
    /// image its reader refuses; the same network with +/-1 weights exports.
    func testExporterRefusesTernaryLayersPastTwiceTheAccumulatorBound() throws {
        var config = ModelConfig.fcn(hidden: [1], input: FeatureMap(height: 2053, width: 2053, channels: 1), precision: .binary, inputBits: 8)
        config.weightSparsity = 0.5
        XCTAssertThrowsError(try ImageExport.image(of: try Network(config: config, seed: 1))) {
            XCTAssertEqual("\($0)", "invalid configuration: layer 1 has 2 weight planes x fan-in 4214809 x largest input 255, past the model format's accumulator bound 2147483647 (at most 4210752 inputs)")
        }
        config.weightSparsity = 0
        XCTAssertNoThrow(try ImageExport.image(of: try Network(config: config, seed: 1)))
    }
}
