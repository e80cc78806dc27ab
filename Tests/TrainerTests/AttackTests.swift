import Datasets
import ToolSupport
import XCTest
@testable import Trainer

final class AttackTests: XCTestCase {
    /// The undefended float fixture (784-64-10 on raw pixels, `Tests/Fixtures`).
    func network() throws -> Network { try TestData.floatFixture() }

    func testStoredImagesStayInTheBallAndInRange() throws {
        let test = try TestData.mnist(.test).prefix(200)
        for kind in [AttackConfig.Kind.fgsm, .rfgsm, .pgd] {
            let config = AttackConfig(kind: kind, epsilon: 0.1, steps: 5)
            let r = try Attacker(network: try network(), config: config).run(on: test)
            XCTAssertEqual(config.pixelBudget, 25, "⌊255 × 0.1⌋")
            XCTAssertLessThanOrEqual(r.maxPerturbation, 25, "\(kind)")
            XCTAssertGreaterThan(r.maxPerturbation, 0, "\(kind) changed nothing")
            XCTAssertEqual(r.images.labels, test.labels)
            // Accuracies are those of the stored images.
            XCTAssertEqual(r.robustAccuracy, try Evaluation.accuracy(try network(), on: r.images))
            XCTAssertEqual(r.successRate, Double(r.successes) / Double(r.cleanCorrect))
        }
    }

    func testAttacksHurtAndPGDIsAtLeastAsStrongAsFGSM() throws {
        let test = try TestData.mnist(.test).prefix(200)
        let net = try network()
        let fgsm = try Attacker(network: net, config: AttackConfig(kind: .fgsm, epsilon: 0.15)).run(on: test)
        let pgd = try Attacker(network: net, config: AttackConfig(kind: .pgd, epsilon: 0.15, steps: 20)).run(on: test)
        XCTAssertGreaterThan(fgsm.cleanAccuracy, 0.85, "the float fixture: 92.65% on 2,000 test images (scripts/make-fixture.sh)")
        XCTAssertLessThan(fgsm.robustAccuracy, fgsm.cleanAccuracy - 0.2, "FGSM on an undefended float net at eps 0.15")
        XCTAssertLessThanOrEqual(pgd.robustAccuracy, fgsm.robustAccuracy, "iterative must not score above single-step")
        let margin = try Attacker(network: net, config: AttackConfig(kind: .pgd, epsilon: 0.15, steps: 20, loss: .margin)).run(on: test)
        XCTAssertLessThan(margin.robustAccuracy, fgsm.robustAccuracy)
    }

    func testTransferFromASeparateModelIsWeakerThanWhiteBox() throws {
        let test = try TestData.mnist(.test).prefix(300)
        // The separate model: the binary fixture (its own seed, architecture and input bits).
        let source = try TestData.binaryFixture()
        let target = try network()
        let transfer = try Attacker(network: target, config: AttackConfig(kind: .transfer, epsilon: 0.15, steps: 10), source: source)
            .run(on: test)
        let whiteBox = try Attacker(network: target, config: AttackConfig(kind: .pgd, epsilon: 0.15, steps: 10)).run(on: test)
        XCTAssertLessThan(transfer.robustAccuracy, transfer.cleanAccuracy, "transferred examples still hurt")
        XCTAssertLessThanOrEqual(whiteBox.robustAccuracy, transfer.robustAccuracy, "white-box must not score above transfer")
        XCTAssertThrowsError(try Attacker(network: target, config: AttackConfig(kind: .transfer, epsilon: 0.1))) {
            XCTAssertTrue("\($0)".contains("needs a source model"), "\($0)")
        }
    }

    func testZeroBudgetChangesNothing() throws {
        let test = try TestData.mnist(.test).prefix(50)
        let r = try Attacker(network: try network(), config: AttackConfig(kind: .pgd, epsilon: 0.001, steps: 3)).run(on: test)
        XCTAssertEqual(r.images.pixels, test.pixels, "floor(255 * 0.001) = 0: the ball is the image itself")
        XCTAssertEqual(r.robustAccuracy, r.cleanAccuracy)
    }

    func testIDXRoundTrip() throws {
        let test = try TestData.mnist(.test).prefix(20)
        let dir = temporaryDirectory()
        try test.writeIDX(prefix: dir + "/x")
        let back = try IDXLoader.loadPair(images: dir + "/x-images-idx3-ubyte", labels: dir + "/x-labels-idx1-ubyte", classes: 10)
        XCTAssertEqual(back.pixels, test.pixels)
        XCTAssertEqual(back.labels, test.labels)
    }

    func testBadSettingsAreRejected() throws {
        XCTAssertThrowsError(try Attacker(network: try network(), config: AttackConfig(kind: .fgsm, epsilon: 1.5))) {
            XCTAssertTrue("\($0)".contains("eps 1.5 is outside [0, 1]"), "\($0)")
        }
    }
}

final class AdversarialTrainingTests: XCTestCase {
    /// Slow tier: trains two networks for 3 epochs on 3,000 MNIST images.
    func testAdversarialTrainingRaisesRobustAccuracy() throws {
        try requireSlowTier("adversarial training on MNIST")
        let train = try TestData.mnist(.train).prefix(3000)
        let test = try TestData.mnist(.test).prefix(300)
        var config = ModelConfig.fcn2(precision: .float, inputBits: 8)
        config.hidden = [128, 64]
        func robust(_ adversarial: TrainingConfig.AdversarialTraining?) throws -> (clean: Double, robust: Double) {
            let s = try TrainingSession(model: config, training: TrainingConfig(epochs: 3, batchSize: 50, learningRate: 0.002,
                                                                               seed: 1, adversarial: adversarial))
            for _ in 0..<3 { _ = try s.trainEpoch(on: train) }
            let r = try Attacker(network: s.network, config: AttackConfig(kind: .fgsm, epsilon: 0.2)).run(on: test)
            return (r.cleanAccuracy, r.robustAccuracy)
        }
        let clean = try robust(nil)
        let defended = try robust(.init(attack: .rfgsm, epsilon: 0.3))
        print("FGSM eps 0.2: clean training \(clean), R-FGSM training \(defended)")
        XCTAssertGreaterThan(defended.robust, clean.robust + 0.1, "R-FGSM training must raise FGSM robustness")
    }

    func testAdversarialSettingsAreCheckpointed() throws {
        let adversarial = TrainingConfig.AdversarialTraining(attack: .pgd, epsilon: 0.1, steps: 3, ratio: 1)
        let s = try TrainingSession(model: TestData.smallModel(.binary),
                                    training: TrainingConfig(epochs: 1, batchSize: 20, learningRate: 0.01, adversarial: adversarial))
        _ = try s.trainEpoch(on: TestData.quadrants(count: 100, seed: 3))
        let dir = temporaryDirectory()
        try s.checkpoint(testAccuracy: nil, last: nil).write(to: dir + "/a.safetensors")
        XCTAssertEqual(try Checkpoint.read(path: dir + "/a.safetensors").training.adversarial, adversarial)
        XCTAssertThrowsError(try TrainingSession(model: TestData.smallModel(.binary),
                                                 training: TrainingConfig(learningRate: 0.01, adversarial: .init(ratio: 0))))
    }
}
