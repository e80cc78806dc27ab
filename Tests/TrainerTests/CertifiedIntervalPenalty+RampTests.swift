import XCTest
import Datasets
import ModelFormat
import ToolSupport
@testable import Trainer

/// Issue 16, item 3: the certified-interval term's ramp (`train fit --certify-ramp EPOCHS`, after IBP, Gowal et al.
/// 2018 sec. 4; TrainingConfig+CertifyRamp.swift). The budget and weight at step s follow the linear schedule; the
/// session trains with them (a ramped run differs from an unramped one); the checkpoint records the ramp, so a resumed
/// run continues the schedule exactly; a ramp longer than the run is refused.
final class CertifiedIntervalPenaltyRampTests: XCTestCase {
    /// At step s of a ramp of R epochs of B batches: floor(min(1, (s + 1) / (R B)) · floor(255 E)) pixel units and
    /// min(1, (s + 1) / (R B)) · W; without a ramp, or past it, E and W from the first step.
    func testBudgetAtStepFollowsTheSchedule() {
        let ramped = TrainingConfig.CertifiedTraining(epsilon: 0.1, weight: 2, rampEpochs: 2)   // 25 pixel units
        let expected: [(step: Int, budget: Int, weight: Float)] = [
            (0, 1, 0.1), (1, 2, 0.2), (3, 5, 0.4), (9, 12, 1), (10, 13, 1.1), (18, 23, 1.9), (19, 25, 2), (20, 25, 2), (1_000, 25, 2)]
        for e in expected {
            let got = ramped.scheduled(step: e.step, stepsPerEpoch: 10)
            XCTAssertEqual(got.budget, e.budget, "budget at step \(e.step)")
            XCTAssertEqual(got.weight, e.weight, accuracy: 1e-6, "weight at step \(e.step)")
        }
        for plain in [TrainingConfig.CertifiedTraining(epsilon: 0.1, weight: 2), .init(epsilon: 0.1, weight: 2, rampEpochs: 0)] {
            XCTAssertNil(plain.rampEpochs)
            XCTAssertTrue(plain.scheduled(step: 0, stepsPerEpoch: 10) == (25, 2))
        }
        // The default: a quarter of the epochs, rounded.
        XCTAssertEqual([1, 2, 3, 10, 20].map { TrainingConfig.CertifiedTraining.defaultRamp(epochs: $0) }, [0, 1, 1, 3, 5])
    }

    func tinySetup() throws -> (ModelConfig, ImageSet) { try CertifiedIntervalPenaltyTests.tinySetup(seed: 4) }

    func training(ramp: Int?) -> TrainingConfig {
        var t = TrainingConfig(epochs: 2, batchSize: 10, learningRate: 0.01)
        t.certify = .init(epsilon: 0.1, weight: 5, rampEpochs: ramp)
        return t
    }

    /// The session trains with the ramped budget (a ramped epoch moves the weights differently from an unramped
    /// one), and a run resumed from its checkpoint after the first epoch ends where the uninterrupted run does.
    func testSessionFollowsTheRampAndResumeContinuesIt() throws {
        let (model, data) = try tinySetup()
        let straight = try TrainingSession(model: model, training: training(ramp: 2))
        _ = try straight.trainEpoch(on: data)
        let unramped = try TrainingSession(model: model, training: training(ramp: nil))
        _ = try unramped.trainEpoch(on: data)
        XCTAssertNotEqual(straight.network.parameters[0].value, unramped.network.parameters[0].value, "the ramp was ignored")

        let dir = temporaryDirectory()
        try straight.checkpoint(testAccuracy: nil, last: nil).write(to: dir + "/ck.safetensors")
        _ = try straight.trainEpoch(on: data)
        let loaded = try Checkpoint.read(path: dir + "/ck.safetensors")
        XCTAssertEqual(loaded.training.certify?.rampEpochs, 2)
        let resumed = try TrainingSession(resuming: loaded, epochs: 2, path: "ck")
        _ = try resumed.trainEpoch(on: data)
        XCTAssertEqual(resumed.network.parameters.flatMap { $0.value }, straight.network.parameters.flatMap { $0.value })
    }

    /// A ramp longer than the run (it would never reach the budget), or negative, is refused naming the ramp.
    func testRampOutsideTheRunIsRefused() {
        for ramp in [3, -1, Int.max] {
            XCTAssertThrowsError(try training(ramp: ramp).validate()) { XCTAssertTrue("\($0)".contains("certify ramp \(ramp)"), "\($0)") }
        }
        XCTAssertNoThrow(try training(ramp: 2).validate())
    }
}

extension CertifiedIntervalPenaltyTests {
    /// An 8x8, 2-bit binary net with one hidden layer of 16 and 3 classes, and 40 random images drawn from `seed`.
    static func tinySetup(seed: UInt64) throws -> (ModelConfig, ImageSet) {
        var model = ModelConfig.fcn(hidden: [16], input: FeatureMap(height: 8, width: 8, channels: 1), precision: .binary, inputBits: 2)
        model.classes = 3
        var random = SeededRandom(seed: seed)
        let data = try ImageSet(height: 8, width: 8, channels: 1, classes: 3,
                                pixels: (0..<(40 * 64)).map { _ in UInt8(random.next() % 256) },
                                labels: (0..<40).map { UInt8($0 % 3) })
        return (model, data)
    }
}
