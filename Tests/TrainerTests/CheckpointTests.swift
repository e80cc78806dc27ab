import Datasets
import XCTest
@testable import Trainer

final class CheckpointTests: XCTestCase {
    func training(epochs: Int, seed: UInt64 = 5) -> TrainingConfig {
        TrainingConfig(dataset: "quadrants", epochs: epochs, batchSize: 20, learningRate: 0.01, seed: seed)
    }

    func allValues(_ net: Network) -> [Float] {
        net.parameters.flatMap(\.value) + net.state.flatMap(\.value)
    }

    func testSameSeedSameResultAndDifferentSeedDifferentResult() throws {
        let data = TestData.quadrants(count: 200, seed: 1)
        func run(seed: UInt64) throws -> [Float] {
            let s = try TrainingSession(model: TestData.smallModel(.binary), training: training(epochs: 2, seed: seed))
            for _ in 0..<2 { _ = try s.trainEpoch(on: data) }
            return allValues(s.network)
        }
        let a = try run(seed: 5)
        XCTAssertEqual(a, try run(seed: 5))
        XCTAssertNotEqual(a, try run(seed: 6))
    }

    func testResumeContinuesExactlyAsTheUninterruptedRun() throws {
        for precision in ModelConfig.Precision.allCases {
            let data = TestData.quadrants(count: 200, seed: 2)
            let straight = try TrainingSession(model: TestData.smallModel(precision), training: training(epochs: 3))
            for _ in 0..<3 { _ = try straight.trainEpoch(on: data) }

            let dir = temporaryDirectory()
            let first = try TrainingSession(model: TestData.smallModel(precision), training: training(epochs: 3))
            let report = try first.trainEpoch(on: data)
            try first.checkpoint(testAccuracy: 0.5, last: report).write(to: dir + "/ck.safetensors")
            let loaded = try Checkpoint.read(path: dir + "/ck.safetensors")
            XCTAssertEqual(loaded.progress.epochsCompleted, 1)
            XCTAssertEqual(loaded.progress.testAccuracy, 0.5)
            XCTAssertEqual(loaded.model, TestData.smallModel(precision))
            let resumed = try TrainingSession(resuming: loaded, epochs: 3, path: "ck")
            while resumed.epochsCompleted < 3 { _ = try resumed.trainEpoch(on: data) }
            XCTAssertEqual(allValues(resumed.network), allValues(straight.network), "\(precision)")
        }
    }

    func testCheckpointRoundTripPredictsTheSameAndIsByteStable() throws {
        let data = TestData.quadrants(count: 300, seed: 3)
        let s = try TrainingSession(model: TestData.smallModel(.binary, bits: 2), training: training(epochs: 1))
        _ = try s.trainEpoch(on: data)
        let ck = try s.checkpoint(testAccuracy: nil, last: nil)
        let dir = temporaryDirectory()
        try ck.write(to: dir + "/a.safetensors")
        try ck.write(to: dir + "/b.safetensors")
        let a = try XCTUnwrap(FileManager.default.contents(atPath: dir + "/a.safetensors"))
        XCTAssertEqual(a, FileManager.default.contents(atPath: dir + "/b.safetensors"))
        let net = try Checkpoint.read(path: dir + "/a.safetensors").makeNetwork()
        XCTAssertEqual(try Evaluation.predictions(net, on: data), try Evaluation.predictions(s.network, on: data))
        // Metadata is JSON that names the architecture, precision and input bits.
        let meta = try Checkpoint.read(path: dir + "/a.safetensors").file.metadata
        XCTAssertTrue(meta["model"]!.contains("\"precision\":\"binary\""), meta["model"]!)
        XCTAssertTrue(meta["model"]!.contains("\"input_bits\":2"), meta["model"]!)
        XCTAssertTrue(meta["training"]!.contains("\"optimizer\":\"adam\""), meta["training"]!)
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["a.safetensors", "b.safetensors"])
    }

    func testCheckpointOfAnotherShapeIsRejectedWithNumbers() throws {
        let s = try TrainingSession(model: TestData.smallModel(.float), training: training(epochs: 1))
        let dir = temporaryDirectory()
        try s.checkpoint(testAccuracy: nil, last: nil).write(to: dir + "/x.safetensors")
        var wider = TestData.smallModel(.float)
        wider.hidden = [40, 32]
        let net = try Network(config: wider, seed: 1)
        XCTAssertThrowsError(try Checkpoint.read(path: dir + "/x.safetensors").load(into: net, optimizer: nil, path: "x")) {
            XCTAssertTrue("\($0)".contains("tensor 'fc0.weight' has shape [32, 16], the model needs [40, 16]"), "\($0)")
        }
    }

    func testBinaryLatentWeightsStayClipped() throws {
        let data = TestData.quadrants(count: 200, seed: 4)
        var t = training(epochs: 1)
        t.learningRate = 0.5
        let s = try TrainingSession(model: TestData.smallModel(.binary), training: t)
        _ = try s.trainEpoch(on: data)
        for p in s.network.parameters where p.name.hasPrefix("fc") {
            XCTAssertLessThanOrEqual(p.value.map(abs).max()!, 1, p.name)
        }
    }

    func testEvalBatchNormIsTheStoredAffine() throws {
        let bn = BatchNorm(name: "bn", features: 3)
        bn.gamma.value = [2, -1, 0.5]
        bn.beta.value = [0.1, 0.2, 0.3]
        bn.runningMean.value = [1, 2, 3]
        bn.runningVar.value = [4, 0.25, 1]
        let (scale, shift) = bn.evalAffine()
        var c = ForwardContext.evaluation
        let x = Matrix(rows: 1, cols: 3, data: [0.5, -1, 7])
        let y = bn.forward(x, context: &c)
        for i in 0..<3 {
            let s = x.data[i] * scale[i]
            XCTAssertEqual(y.data[i], s + shift[i], "bit-exact x * scale + shift")
        }
        XCTAssertEqual(scale[0], 2 / (4 + 1e-5 as Float).squareRoot())
    }
}
