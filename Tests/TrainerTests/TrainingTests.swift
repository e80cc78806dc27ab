import Datasets
import ToolSupport
import XCTest
@testable import Trainer

final class TrainingTests: XCTestCase {
    /// A short real run: a small binary net with 2-bit input on 3,000 MNIST images, scored on 1,000 test images.
    /// Slow tier (an accuracy floor).
    func testBinaryNetLearnsMNISTSlice() throws {
        try requireSlowTier("accuracy floor, binary net on MNIST")
        let train = try TestData.mnist(.train).prefix(3000)
        let test = try TestData.mnist(.test).prefix(1000)
        var model = ModelConfig.fcn2(precision: .binary, inputBits: 2)
        model.hidden = [128, 128]
        let session = try TrainingSession(
            model: model, training: TrainingConfig(epochs: 3, batchSize: 50, learningRate: 0.005, seed: 1))
        for _ in 0..<3 { _ = try session.trainEpoch(on: train) }
        let accuracy = try Evaluation.accuracy(session.network, on: test)
        XCTAssertGreaterThan(accuracy, 0.80, "binary 2-bit net on 3k MNIST images")
    }

    /// Slow tier (an accuracy floor).
    func testFloatNetLearnsMNISTSlice() throws {
        try requireSlowTier("accuracy floor, float net on MNIST")
        let train = try TestData.mnist(.train).prefix(3000)
        let test = try TestData.mnist(.test).prefix(1000)
        var model = ModelConfig.fcn2(precision: .float, inputBits: 8)
        model.hidden = [128, 128]
        let session = try TrainingSession(
            model: model, training: TrainingConfig(epochs: 3, batchSize: 50, learningRate: 0.002, seed: 1))
        for _ in 0..<3 { _ = try session.trainEpoch(on: train) }
        XCTAssertGreaterThan(try Evaluation.accuracy(session.network, on: test), 0.85, "float net on 3k MNIST images")
    }

    func testSGDWithStepScheduleLearnsQuadrants() throws {
        let data = TestData.quadrants(count: 1000, seed: 9)
        let session = try TrainingSession(
            model: TestData.smallModel(.float),
            training: TrainingConfig(epochs: 6, batchSize: 25, optimizer: .sgd, learningRate: 0.05,
                                     weightDecay: 1e-4, schedule: .step, stepEpochs: 4, gamma: 0.1, seed: 2))
        for _ in 0..<6 { _ = try session.trainEpoch(on: data) }
        XCTAssertGreaterThan(try Evaluation.accuracy(session.network, on: TestData.quadrants(count: 500, seed: 10)), 0.8)
    }

    func testScheduleValues() {
        XCTAssertEqual(LearningRateSchedule.cosine.rate(base: 1, step: 0, totalSteps: 10, epoch: 0, stepEpochs: 1, gamma: 0.1), 1)
        XCTAssertEqual(LearningRateSchedule.cosine.rate(base: 1, step: 5, totalSteps: 10, epoch: 0, stepEpochs: 1, gamma: 0.1), 0.5, accuracy: 1e-6)
        XCTAssertEqual(LearningRateSchedule.step.rate(base: 1, step: 0, totalSteps: 10, epoch: 7, stepEpochs: 3, gamma: 0.1), 0.01, accuracy: 1e-7)
        XCTAssertEqual(LearningRateSchedule.constant.rate(base: 0.3, step: 9, totalSteps: 10, epoch: 9, stepEpochs: 3, gamma: 0.1), 0.3)
    }

    func testBadSettingsAreRejectedWithTheNumber() {
        XCTAssertThrowsError(try TrainingSession(model: TestData.smallModel(.float),
                                                 training: TrainingConfig(epochs: 0, learningRate: 0.1))) {
            XCTAssertTrue("\($0)".contains("epochs 0"), "\($0)")
        }
        var m = TestData.smallModel(.binary)
        m.inputBits = 9
        XCTAssertThrowsError(try Network(config: m, seed: 1)) { XCTAssertTrue("\($0)".contains("input bits 9")) }
    }

    func testDataOfTheWrongSizeIsRejected() throws {
        let s = try TrainingSession(model: TestData.smallModel(.float), training: TrainingConfig(learningRate: 0.01))
        let mnistShaped = try ImageSet(height: 28, width: 28, classes: 10,
                                       pixels: [UInt8](repeating: 0, count: 784 * 2), labels: [0, 1])
        XCTAssertThrowsError(try s.trainEpoch(on: mnistShaped)) {
            XCTAssertTrue("\($0)".contains("images are 28x28x1 (784 values)") && "\($0)".contains("takes 4x4x1 (16)"), "\($0)")
        }
    }
}
