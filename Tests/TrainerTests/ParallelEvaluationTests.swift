import XCTest
@testable import Trainer

/// The trainer's evaluation over several workers (issue 15, item 1): the batches of a set are split over
/// network copies, and the scores equal one worker's bit for bit, whatever the split.
final class ParallelEvaluationTests: XCTestCase {
    func testScoresDoNotDependOnWorkers() throws {
        // One epoch on tiny data moves the weights and the BatchNorm statistics off their initial values,
        // so a copy that did not share them would score differently.
        let session = try TrainingSession(model: TestData.smallModel(.binary, bits: 2),
                                          training: TrainingConfig(dataset: "quadrants", epochs: 1, batchSize: 20, learningRate: 0.01, seed: 15))
        _ = try session.trainEpoch(on: TestData.quadrants(count: 100, seed: 1))
        let net = session.network
        let data = TestData.quadrants(count: 103, seed: 3)
        let one = try Evaluation.scores(net, on: data, batchSize: 10, workers: 1)
        for workers in [2, 3, 16] {
            let many = try Evaluation.scores(net, on: data, batchSize: 10, workers: workers)
            XCTAssertEqual(many.data, one.data, "\(workers) workers")
        }
        XCTAssertEqual(try Evaluation.predictions(net, on: data, batchSize: 10), one.argmaxRows())
        // The copy is a separate network computing the same scores.
        let copy = try net.evaluationCopy()
        XCTAssertFalse(copy === net)
        XCTAssertEqual(try Evaluation.scores(copy, on: data, batchSize: 10, workers: 1).data, one.data)
    }
}
