import Datasets
import Foundation
import XCTest
@testable import Trainer

/// Issue 12, items 1, 4, 8, 9, 10 and 15 (shapes), in the library: hostile checkpoints, data that does not
/// fit the model, non-finite values. Each hostile file is built here from a tiny real checkpoint.
final class HostileCheckpointTests: XCTestCase {
    /// A 4x4 grey, one hidden layer of 16, 4-class model (the quadrant data's shape).
    static let tiny: ModelConfig = {
        var m = ModelConfig.fcn(hidden: [16], input: FeatureMap(height: 4, width: 4, channels: 1), precision: .binary, inputBits: 2)
        m.classes = 4
        return m
    }()

    /// A checkpoint of `model` with Adam state (one step taken, so the moments exist).
    func checkpoint(_ model: ModelConfig = tiny) throws -> Checkpoint {
        let s = try TrainingSession(model: model, training: TrainingConfig(epochs: 1, batchSize: 20, learningRate: 0.01))
        _ = try s.trainEpoch(on: TestData.quadrants(count: 20, seed: 3))
        return try s.checkpoint(testAccuracy: nil, last: nil)
    }

    /// Writes `file` and reads it back as a checkpoint.
    func reread(_ file: SafeTensorsFile) throws -> Checkpoint {
        let path = temporaryDirectory() + "/hostile.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(file.encoded())))
        return try Checkpoint.read(path: path)
    }

    /// `ck`'s file with its `model` metadata changed by `change`.
    func withModel(_ ck: Checkpoint, _ change: (inout ModelConfig) -> Void) throws -> SafeTensorsFile {
        var model = ck.model
        change(&model)
        var file = ck.file
        file.metadata["model"] = String(decoding: try Checkpoint.encoder().encode(model), as: UTF8.self)
        return file
    }

    func assertRefused(_ file: SafeTensorsFile, mentioning parts: [String], line: UInt = #line) {
        XCTAssertThrowsError(try reread(file), line: line) { error in
            let text = "\(error)"
            for p in parts { XCTAssertTrue(text.contains(p), "'\(text)' lacks '\(p)'", line: line) }
        }
    }

    // Item 1: the loss and the attack scores never index with a label the logits do not have; every
    // path that pairs a model with data refuses labels at or above the model's classes.
    func testLabelsBeyondTheModelsClassesAreRefusedEverywhere() throws {
        let logits = Matrix(rows: 2, cols: 2)
        XCTAssertThrowsError(try SoftmaxCrossEntropy.evaluate(logits: logits, labels: [0, 3])) {
            XCTAssertTrue("\($0)".contains("label 3 of row 1"), "\($0)")
        }
        XCTAssertThrowsError(try AttackScore.of(logits: logits, labels: [-1, 0]))
        var twoClasses = HostileCheckpointTests.tiny
        twoClasses.classes = 2
        let net = try Network(config: twoClasses, seed: 1)
        let data = TestData.quadrants(count: 40, seed: 5)          // labels 0...3
        XCTAssertThrowsError(try net.inputGradient(Matrix(rows: 1, cols: 16), labels: [3], loss: .margin))
        for kind in [AttackConfig.Kind.fgsm, .pgd, .edge, .square] {
            XCTAssertThrowsError(try Attacker(network: net, config: AttackConfig(kind: kind, epsilon: 0.1, steps: 2, queries: 2)).run(on: data)) {
                XCTAssertTrue("\($0)".contains("4 classes") && "\($0)".contains("outputs 2"), "\($0)")
            }
        }
        let fourClasses = try Network(config: HostileCheckpointTests.tiny, seed: 1)
        XCTAssertThrowsError(try Attacker(network: fourClasses, config: AttackConfig(kind: .transfer, epsilon: 0.1, steps: 2), source: net))
        let session = try TrainingSession(model: twoClasses, training: TrainingConfig(epochs: 1, batchSize: 20, learningRate: 0.01))
        XCTAssertThrowsError(try session.trainEpoch(on: data))
        XCTAssertThrowsError(try Evaluation.accuracy(net, on: data))
    }

    // Item 4: a small file whose metadata claims huge layers is refused by comparing the metadata with
    // the tensors, before any network is built; and the memory budget, on FCN1's numbers.
    func testMetadataIsCheckedAgainstTheTensorsBeforeBuilding() throws {
        let ck = try checkpoint()
        assertRefused(try withModel(ck) { $0.hidden = [200_000] }, mentioning: ["fc0.weight", "[16, 16]", "[200000, 16]"])
        assertRefused(try withModel(ck) { $0.input = FeatureMap(height: 400, width: 400, channels: 1) }, mentioning: ["fc0.weight", "[16, 160000]"])
        assertRefused(try withModel(ck) { $0.architecture = .conv; $0.convChannels = [262_144]; $0.kernel = 1 }, mentioning: ["conv0.weight"])
        XCTAssertNoThrow(try reread(ck.file).makeNetwork())
    }

    /// `tensorSpecs()` (what checkpoints are checked against) lists exactly the tensors `Network` builds.
    func testTensorSpecsMatchTheBuiltNetwork() throws {
        var conv = ModelConfig.conv(input: FeatureMap(height: 12, width: 11, channels: 2), classes: 3, precision: .xnor)
        conv.convChannels = [3, 5]
        conv.hidden = [7]
        var floatLast = HostileCheckpointTests.tiny
        floatLast.floatLastLayer = true
        for config in [HostileCheckpointTests.tiny, floatLast, conv, ModelConfig.fcn(hidden: [5, 6], precision: .float, inputBits: 8)] {
            let net = try Network(config: config, seed: 1)
            let built = net.parameters.map { TensorSpec(name: $0.name, shape: $0.shape, trainable: true) }
                + net.state.map { TensorSpec(name: $0.name, shape: [$0.value.count], trainable: false) }
            XCTAssertEqual(Set(try config.tensorSpecs().map { "\($0)" }), Set(built.map { "\($0)" }), config.summary)
            XCTAssertEqual(try config.tensorSpecs().count, built.count)
        }
    }

    func testMemoryBudgetOnFCN1WithoutAllocatingIt() throws {
        let fcn1 = ModelConfig.fcn1()
        let weights = 784 * 6144 + 3 * 6144 * 6144 + 6144 * 10, norms = 4 * 6144 + 10
        // Weights and BatchNorm's gamma and beta with gradients and Adam's two moments; statistics once.
        XCTAssertEqual(try fcn1.memoryBytes(optimizer: .adam), 4 * (4 * (weights + 2 * norms) + 2 * norms))
        XCTAssertEqual(try fcn1.memoryBytes(optimizer: .adam), 1_890_976_144)
        XCTAssertNoThrow(try fcn1.checkMemory(optimizer: .adam, budget: ModelConfig.defaultMemoryBudget))
        XCTAssertThrowsError(try fcn1.checkMemory(optimizer: .adam, budget: 1 << 30)) {
            XCTAssertTrue("\($0)".contains("1890976144 bytes") && "\($0)".contains("1073741824 bytes"), "\($0)")
        }
        // 784-16000x4-10: every tensor under the format's cap, 12.5 GB with Adam.
        var wide = ModelConfig.fcn(hidden: [16_000, 16_000, 16_000, 16_000], precision: .binary, inputBits: 2)
        XCTAssertThrowsError(try Network(config: wide, seed: 0, optimizer: .adam)) { XCTAssertTrue("\($0)".contains("memory budget"), "\($0)") }
        wide.hidden = [100_000, 100_000]
        XCTAssertThrowsError(try wide.tensorSpecs()) { XCTAssertTrue("\($0)".contains("[100000, 100000]"), "\($0)") }
        wide.hidden = [1 << 25]
        XCTAssertThrowsError(try wide.tensorSpecs()) { XCTAssertTrue("\($0)".contains("33554432"), "\($0)") }
    }

    // Item 15: shapes, not counts: a transposed weight (and transposed optimizer state) is refused.
    func testTransposedTensorsAreRefused() throws {
        let ck = try checkpoint()
        for name in ["fc1.weight", "optimizer.fc1.weight.first", "optimizer.fc1.weight.second"] {
            var file = ck.file
            let i = try XCTUnwrap(file.tensors.firstIndex { $0.name == name })
            XCTAssertEqual(file.tensors[i].shape, [4, 16])
            file.tensors[i].shape = [16, 4]
            assertRefused(file, mentioning: ["'\(name)'", "[16, 4]", "[4, 16]"])
        }
        var sgdStateInAdam = ck.file
        sgdStateInAdam.tensors.removeAll { $0.name == "optimizer.fc1.weight.second" }
        assertRefused(sgdStateInAdam, mentioning: ["optimizer.fc1.weight.second"])
    }

    // Item 8: NaN or an infinity in any tensor is refused at load, naming the tensor and the index;
    // a diverged run stops with an error and the writer refuses non-finite state (typed, no trap).
    func testNonFiniteValuesAreRefusedAtLoadAndNeverWritten() throws {
        let ck = try checkpoint()
        for (name, value) in [("bn0.running_var", Float.nan), ("bn1.running_mean", .infinity), ("optimizer.fc0.weight.second", -.infinity),
                              ("fc1.weight", .nan)] {
            var file = ck.file
            let i = try XCTUnwrap(file.tensors.firstIndex { $0.name == name })
            file.tensors[i].values[3] = value
            assertRefused(file, mentioning: ["'\(name)'", "index 3"])
        }
        let s = try TrainingSession(model: HostileCheckpointTests.tiny, training: TrainingConfig(epochs: 2, batchSize: 20, learningRate: 0.01))
        try XCTUnwrap(s.network.parameters.first { $0.name == "bn0.weight" }).value[5] = .nan
        XCTAssertThrowsError(try s.trainEpoch(on: TestData.quadrants(count: 40, seed: 3))) {
            XCTAssertTrue("\($0)".contains("diverged"), "\($0)")
        }
        XCTAssertThrowsError(try s.checkpoint(testAccuracy: nil, last: nil)) { XCTAssertTrue("\($0)".contains("holds nan"), "\($0)") }
        let fine = try Network(config: HostileCheckpointTests.tiny, seed: 1)
        let nanLoss = TrainingProgress(epochsCompleted: 1, optimizerStep: 1, testAccuracy: nil, trainLoss: .nan, trainAccuracy: nil, seconds: 1)
        XCTAssertThrowsError(try Checkpoint(network: fine, optimizer: nil, training: ck.training, progress: nanLoss))
    }

    func testHyperParameterRangesAreFiniteAndBounded() {
        for (limit, bad) in [(TrainingConfig.Limits.gamma, Float.nan), (TrainingConfig.Limits.gamma, -1), (TrainingConfig.Limits.learningRate, 1e38),
                             (TrainingConfig.Limits.weightDecay, .infinity), (TrainingConfig.Limits.stepSize, .infinity),
                             (TrainingConfig.Limits.inputStd, 0), (TrainingConfig.Limits.inputMean, .nan)] {
            XCTAssertFalse(limit.contains(bad), "\(limit.text) accepts \(bad)")
        }
        XCTAssertThrowsError(try TrainingConfig(learningRate: 0.01, gamma: -1).validate())
        XCTAssertThrowsError(try TrainingConfig(epochs: 1 << 62, learningRate: 0.01).validate())
        XCTAssertThrowsError(try TrainingConfig(learningRate: 0.01, stepEpochs: 0).validate())
    }

    // Item 9: every split is checked against the model's geometry, not only its size.
    func testSplitOfTheSameSizeButAnotherShapeIsRefused() throws {
        let net = try Network(config: HostileCheckpointTests.tiny, seed: 1)
        let quadrants = TestData.quadrants(count: 20, seed: 1)
        let wide = try ImageSet(height: 2, width: 8, classes: 4, pixels: quadrants.pixels, labels: quadrants.labels)
        XCTAssertThrowsError(try Evaluation.predictions(net, on: wide)) {
            XCTAssertTrue("\($0)".contains("2x8x1") && "\($0)".contains("4x4x1"), "\($0)")
        }
        let s = try TrainingSession(model: HostileCheckpointTests.tiny, training: TrainingConfig(epochs: 1, batchSize: 10, learningRate: 0.01))
        XCTAssertThrowsError(try s.trainEpoch(on: wide))
        XCTAssertNoThrow(try Evaluation.predictions(net, on: quadrants))
    }

    // Item 10: hostile metadata numbers are clear errors, never a trap.
    func testHostileMetadataNumbersAreErrors() throws {
        let ck = try checkpoint()
        assertRefused(try withModel(ck) { $0.input = FeatureMap(height: -4, width: -4, channels: 1) }, mentioning: ["input height -4"])
        assertRefused(try withModel(ck) { $0.input = FeatureMap(height: 1 << 40, width: 1 << 40, channels: 1) }, mentioning: ["input height"])
        assertRefused(try withModel(ck) { $0.input = FeatureMap(height: 1 << 20, width: 1 << 20, channels: 1) }, mentioning: ["268435456"])
        assertRefused(try withModel(ck) { $0.classes = 70_000 }, mentioning: ["classes 70000", "65535"])
        assertRefused(try withModel(ck) { $0.hidden = [-16] }, mentioning: ["hidden width -16"])
        assertRefused(try withModel(ck) { $0.architecture = .conv; $0.convChannels = [4]; $0.kernel = -3 }, mentioning: ["kernel -3"])
        var progress = ck.file
        progress.metadata["progress"] = #"{"epochs_completed":-3,"optimizer_step":1,"seconds":1}"#
        assertRefused(progress, mentioning: ["epochs_completed -3"])
        progress.metadata["progress"] = #"{"epochs_completed":1,"optimizer_step":-1,"seconds":1}"#
        assertRefused(progress, mentioning: ["optimizer_step -1"])
        progress.metadata["progress"] = #"{"epochs_completed":1,"optimizer_step":9223372036854775807,"seconds":1}"#
        assertRefused(progress, mentioning: ["optimizer_step 9223372036854775807"])
    }
}
