import Datasets
import XCTest
@testable import Inference
@testable import ModelFormat
@testable import Trainer

/// Random architectures (FCN and conv; binary, XNOR and float; random widths, input bits, BatchNorm
/// statistics with negative scales): the fused runtime with its 400-byte-class arena must give exactly
/// what the op-by-op reference runtime gives, and what the trainer gives. This is the arena planner's
/// property test: an overlap between a step's input, scratch and output would change the scores.
final class RandomModelTests: XCTestCase {
    func testFusedEqualsReferenceEqualsTrainerOnRandomModels() throws {
        var r = SeededRandom(seed: 99)
        func pick(_ n: Int) -> Int { Int(r.next() % UInt64(n)) }
        for trial in 0..<24 {
            let precision = [ModelConfig.Precision.binary, .xnor, .float][trial % 3]
            let bits = [1, 2, 3, 5, 8][pick(5)]
            var config: ModelConfig
            if trial % 2 == 0 {
                config = .fcn(hidden: (0..<(1 + pick(3))).map { _ in 1 + pick(90) },
                              input: FeatureMap(height: 6, width: 7, channels: 1 + pick(3)), precision: precision, inputBits: bits)
                config.classes = 2 + pick(9)
            } else {
                config = .conv(input: FeatureMap(height: 9 + pick(4), width: 9 + pick(4), channels: 1 + pick(3)),
                               classes: 2 + pick(9), precision: precision, inputBits: bits)
                config.convChannels = [1 + pick(70), 1 + pick(9)]
                config.kernel = 2
                config.hidden = pick(2) == 0 ? [] : [1 + pick(40)]
            }
            config.floatLastLayer = precision != .float && pick(4) == 0
            let net = try Network(config: config, seed: UInt64(trial))
            Self.randomizeBatchNorms(net, &r)
            let image = try ImageExport.image(of: net)
            let size = config.input.size
            let pixels = (0..<(16 * size)).map { _ in UInt8(r.next() % 256) }
            let outputs = try [KernelSet.optimized, .reference, .carrySave].map { try Self.scores(image, kernels: $0, pixels: pixels, size: size, classes: config.classes) }
            // Batches of 7 (four images per pass, then one at a time), over the same images: the same scores, bit for bit.
            let (batched, classes) = try Self.batchScores(image, batch: 7, pixels: pixels, size: size, classes: config.classes)
            XCTAssertEqual(batched.map(\.bitPattern), outputs[0].map(\.bitPattern), "trial \(trial) batched: \(config.summary)")
            for i in 0..<16 {
                let row = Array(outputs[0][(i * config.classes)..<((i + 1) * config.classes)])
                XCTAssertEqual(classes[i], row.firstIndex(of: row.max()!), "trial \(trial) image \(i) class")
            }
            // The same network with its binary dense weights in columns32 (the device's layout): the
            // column-sum kernels and the reference give the bits8 scores, bit for bit, with every kernel set.
            let columns = try ImageExport.image(of: net, denseLayout: .columns32)
            for (kernels, expected) in zip([KernelSet.optimized, .reference, .carrySave], outputs) {
                let got = try Self.scores(columns, kernels: kernels, pixels: pixels, size: size, classes: config.classes)
                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "trial \(trial) columns32 \(kernels): \(config.summary)")
            }
            let (columnsBatched, _) = try Self.batchScores(columns, batch: 7, pixels: pixels, size: size, classes: config.classes)
            XCTAssertEqual(columnsBatched.map(\.bitPattern), outputs[0].map(\.bitPattern), "trial \(trial) columns32 batched: \(config.summary)")
            // And in columns32s (format version 4: the hidden layers' signs read off the bounds), the same.
            let bounded = try ImageExport.image(of: net, denseLayout: .columns32s)
            for (kernels, expected) in zip([KernelSet.optimized, .reference, .carrySave], outputs) {
                let got = try Self.scores(bounded, kernels: kernels, pixels: pixels, size: size, classes: config.classes)
                XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "trial \(trial) columns32s \(kernels): \(config.summary)")
            }
            let (boundedBatched, _) = try Self.batchScores(bounded, batch: 7, pixels: pixels, size: size, classes: config.classes)
            XCTAssertEqual(boundedBatched.map(\.bitPattern), outputs[0].map(\.bitPattern), "trial \(trial) columns32s batched: \(config.summary)")
            let exact = precision != .float && !config.floatLastLayer
            // The carry-save kernels (the microcontrollers', with their persistent row counts) use the
            // same float kernels as the default: equal to it bit for bit, float models included.
            XCTAssertEqual(outputs[2].map(\.bitPattern), outputs[0].map(\.bitPattern), "trial \(trial) carry-save: \(config.summary)")
            if exact {
                XCTAssertEqual(outputs[0].map(\.bitPattern), outputs[1].map(\.bitPattern), "trial \(trial): \(config.summary)")
            } else {
                for (a, b) in zip(outputs[0], outputs[1]) {
                    XCTAssertEqual(a, b, accuracy: 1e-3 * max(1, abs(a)), "trial \(trial): \(config.summary)")
                }
            }
            // The trainer's evaluation: same logits (exactly for binary nets).
            let data = try Datasets.ImageSet(height: config.input.height, width: config.input.width, channels: config.input.channels,
                                             classes: config.classes, pixels: pixels, labels: [UInt8](repeating: 0, count: 16))
            let (x, _) = TrainingSession.batch(data, indices: 0..<16)
            var context = ForwardContext.evaluation
            let logits = net.forward(x, context: &context)
            if exact {
                XCTAssertEqual(logits.data.map(\.bitPattern), outputs[0].map(\.bitPattern), "trial \(trial): trainer vs runtime")
            }
        }
    }

    /// A first layer on 8-bit input with 300 pixels: column sums up to 300 x 255 = 76,500, past 16 bits,
    /// so the column kernels take their wide path (32-plane counters) through the Interpreter.
    func testColumnsWithWideSumsEqualBits8() throws {
        var r = SeededRandom(seed: 5)
        var config = ModelConfig.fcn(hidden: [40, 33], input: FeatureMap(height: 15, width: 20, channels: 1), precision: .binary, inputBits: 8)
        config.classes = 7
        let net = try Network(config: config, seed: 3)
        let pixels = (0..<(16 * 300)).map { _ in UInt8(200 + r.next() % 56) }   // bright: sums well past 2^16
        let rows = try Self.scores(ImageExport.image(of: net), kernels: .reference, pixels: pixels, size: 300, classes: 7)
        let columns = try ImageExport.image(of: net, denseLayout: .columns32)
        try columns.withUnsafeBytes { raw in
            XCTAssertEqual(Interpreter.arenaBytes(for: try ModelImage(bytes: raw), kernels: .carrySave),
                           (ColumnDenseKernel.listBytes(300) + 2 * 32 * 4 + 15) & ~15 + 16, "two groups of 32-plane counters")
        }
        for kernels in [KernelSet.optimized, .carrySave, .reference] {
            let got = try Self.scores(columns, kernels: kernels, pixels: pixels, size: 300, classes: 7)
            XCTAssertEqual(got.map(\.bitPattern), rows.map(\.bitPattern), "columns32 \(kernels)")
        }
    }

    /// Gives every BatchNorm of `net` random parameters and statistics (thresholds spread over the accumulators'
    /// range, flips included), so the exported thresholds differ from unit to unit.
    static func randomizeBatchNorms(_ net: Network, _ r: inout SeededRandom) {
        for bn in net.layers.compactMap({ $0 as? BatchNorm }) {
            for c in 0..<bn.features {
                bn.gamma.value[c] = r.uniform(-1.5, 1.5)
                bn.beta.value[c] = r.uniform(-1, 1)
                bn.runningMean.value[c] = r.uniform(-30, 30)
                bn.runningVar.value[c] = r.uniform(1, 400)
            }
        }
    }

    /// The scores of 16 images, one invoke each, from an arena poisoned with a per-kernel-set pattern (a
    /// step that reads what it never wrote shows up as a difference).
    static func scores(_ image: [UInt8], kernels: KernelSet, pixels: [UInt8], size: Int, classes: Int) throws -> [Float] {
        try image.withUnsafeBytes { raw in
            let guarded = GuardedArena(bytes: Interpreter.arenaBytes(for: try ModelImage(bytes: raw), kernels: kernels),
                                       poison: kernels == .reference ? 0x5A : 0xA5)
            defer { guarded.check("\(kernels) kernels") }
            let it = try Interpreter(image: raw, arena: guarded.arena, kernels: kernels)
            var all: [Float] = []
            var scores = [Float](repeating: 0, count: classes)
            pixels.withUnsafeBufferPointer { px in
                for i in 0..<16 {
                    _ = it.invoke(px.baseAddress! + i * size, scores: &scores)
                    all += scores
                }
            }
            return all
        }
    }

    /// The scores and classes of the same 16 images in batches of `batch`.
    static func batchScores(_ image: [UInt8], batch: Int, pixels: [UInt8], size: Int, classes: Int) throws -> ([Float], [Int]) {
        try image.withUnsafeBytes { raw in
            let guarded = GuardedArena(bytes: Interpreter.arenaBytes(for: try ModelImage(bytes: raw), batch: batch), poison: 0xC3)
            defer { guarded.check("batch \(batch)") }
            let it = try Interpreter(image: raw, arena: guarded.arena, batch: batch)
            var scores = [Float](repeating: 0, count: 16 * classes)
            var predicted = [Int](repeating: -1, count: 16)
            pixels.withUnsafeBufferPointer { px in
                predicted.withUnsafeMutableBufferPointer { c in
                    scores.withUnsafeMutableBufferPointer { s in
                        for first in stride(from: 0, to: 16, by: batch) {
                            it.invoke(batch: px.baseAddress! + first * size, count: min(batch, 16 - first), classes: c.baseAddress! + first,
                                      scores: s.baseAddress! + first * classes)
                        }
                    }
                }
            }
            return (scores, predicted)
        }
    }
}
