import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Inference
import ModelFile
@testable import ModelFormat
@testable import Trainer

/// The project's end-to-end proof: a model exported from the trainer predicts, in the runtime, exactly
/// what the trainer predicts in evaluation mode. The fast tier checks the committed fixture model
/// (`Tests/Fixtures`: its checkpoint, and its `.bsm` in both dense layouts); the slow tier
/// (BITSHIELD_SLOW=1, `make test`) trains one network of each kind and compares all 10,000 test images.
final class ParityTests: XCTestCase {
    static func mnist(_ split: Dataset.Split) throws -> ImageSet {
        do { return try Dataset.mnist.load(split, dataDirectory: DataDirectory.resolve()) } catch {
            if ProcessInfo.processInfo.environment["BITSHIELD_REQUIRE_DATA"] != nil { throw error }
            throw XCTSkip("MNIST not in the data cache (run 'make data')")
        }
    }

    /// Runtime predictions for every image of `data`.
    static func runtimePredictions(image: [UInt8], data: ImageSet, kernels: KernelSet = .optimized) throws -> [Int] {
        try image.withUnsafeBytes { bytes in
            let arenaBytes = try Interpreter.arenaBytes(for: ModelImage(bytes: bytes), kernels: kernels)
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: arenaBytes, alignment: 16)
            defer { arena.deallocate() }
            let interpreter = try Interpreter(image: bytes, arena: arena, kernels: kernels)
            return data.pixels.withUnsafeBufferPointer { px in
                (0..<data.count).map { interpreter.invoke(px.baseAddress! + $0 * data.imageSize) }
            }
        }
    }

    /// The binary fixture network (784-64-64-10, 2-bit input), from its checkpoint.
    static func fixtureNetwork() throws -> Network {
        try Checkpoint.read(path: Fixture.binaryCheckpoint).makeNetwork(path: Fixture.binaryCheckpoint)
    }

    /// The fixture's trainer predictions on the first 500 test images equal the runtime's, bit for
    /// bit: on the image exported now (optimized and reference kernels) and on the committed `.bsm`
    /// files of both dense layouts, read through the container (CRC and all).
    func testFixtureModelZeroMismatchesInBothLayouts() throws {
        let net = try Self.fixtureNetwork()
        let test = try Self.mnist(.test).prefix(500)
        let expected = try Evaluation.predictions(net, on: test)
        let accuracy = Double(zip(expected, test.labels).filter { $0 == Int($1) }.count) / Double(test.count)
        XCTAssertGreaterThan(accuracy, 0.85, "the fixture is a trained model (91.05% on 2,000 test images when made)")
        let exported = try ImageExport.image(of: net)
        var runs: [(String, [UInt8], KernelSet)] = [("exported now", exported, .optimized), ("exported now", exported, .reference)]
        for path in [Fixture.binaryBits8, Fixture.binaryColumns32] {
            runs.append((path, try ModelFile.parse(try Fixture.bytes(path)).image, .optimized))
        }
        for (name, image, kernels) in runs {
            let got = try Self.runtimePredictions(image: image, data: test, kernels: kernels)
            let mismatches = zip(expected, got).filter { $0 != $1 }.count
            XCTAssertEqual(mismatches, 0, "\(name), \(kernels): runtime and trainer disagree on \(mismatches) of \(test.count)")
        }
    }

    func trained(_ model: ModelConfig, data: ImageSet, epochs: Int = 1) throws -> Network {
        let s = try TrainingSession(model: model, training: TrainingConfig(epochs: epochs, batchSize: 50, learningRate: 0.005, seed: 3))
        for _ in 0..<epochs { _ = try s.trainEpoch(on: data) }
        return s.network
    }

    /// Trains `model` briefly on 2,000 images and compares predictions on the first `testImages` test images.
    /// Slow tier: trains a network and runs up to the whole test set through both.
    func assertParity(_ model: ModelConfig, exact: Bool, testImages: Int = 10_000, line: UInt = #line) throws {
        try requireSlowTier("full-MNIST parity of \(model.summary)")
        let train = try Self.mnist(.train).prefix(2000)
        let test = try Self.mnist(.test).prefix(testImages)
        let net = try trained(model, data: train)
        let image = try ImageExport.image(of: net)
        let expected = try Evaluation.predictions(net, on: test)
        let got = try Self.runtimePredictions(image: image, data: test)
        let mismatches = zip(expected, got).filter { $0 != $1 }.count
        let accuracy = Double(zip(got, test.labels).filter { $0 == Int($1) }.count) / Double(test.count)
        XCTAssertGreaterThan(accuracy, 0.5, "\(model.summary) learned something", line: line)
        if exact {
            XCTAssertEqual(mismatches, 0, "\(model.summary): runtime and trainer disagree on \(mismatches) of \(test.count)", line: line)
        } else {
            // Float models: different summation order; a handful of near-ties may flip.
            XCTAssertLessThanOrEqual(mismatches, 10, "\(model.summary): \(mismatches) mismatches", line: line)
            print("\(model.summary): \(mismatches) float mismatches of \(test.count)")
        }
    }

    func small(_ precision: ModelConfig.Precision, bits: Int) -> ModelConfig {
        var m = ModelConfig.fcn2(precision: precision, inputBits: bits)
        m.hidden = [128, 96]
        return m
    }

    func testBinaryFCNTwoBitZeroMismatches() throws { try assertParity(small(.binary, bits: 2), exact: true) }
    func testBinaryFCNEightBitZeroMismatches() throws { try assertParity(small(.binary, bits: 8), exact: true) }
    func testXNORFCNZeroMismatches() throws { try assertParity(small(.xnor, bits: 3), exact: true) }
    func testFloatFCN() throws { try assertParity(small(.float, bits: 2), exact: false, testImages: 2000) }
    func testBinaryFloatLastLayer() throws {
        var m = small(.binary, bits: 2)
        m.floatLastLayer = true
        try assertParity(m, exact: false)
    }

    func testBinaryConvZeroMismatches() throws {
        var m = ModelConfig.conv(precision: .binary, inputBits: 2)
        m.convChannels = [8, 16]
        m.hidden = [64]
        try assertParity(m, exact: true, testImages: 3000)
    }

    /// The same adversarial images, scored by the trainer and by the runtime: identical predictions.
    func testAdversarialSetScoredByTrainerAndRuntimeAlike() throws {
        let net = try Self.fixtureNetwork()
        let test = try Self.mnist(.test).prefix(500)
        let result = try Attacker(network: net, config: AttackConfig(kind: .pgd, epsilon: 0.2, steps: 10)).run(on: test)
        let dir = temporaryDirectory()
        try result.images.writeIDX(prefix: dir + "/adv")
        let stored = try IDXLoader.loadPair(images: dir + "/adv-images-idx3-ubyte", labels: dir + "/adv-labels-idx1-ubyte", classes: 10)
        let runtime = try Self.runtimePredictions(image: try ImageExport.image(of: net), data: stored)
        XCTAssertEqual(runtime, try Evaluation.predictions(net, on: stored))
        let accuracy = Double(zip(runtime, stored.labels).filter { $0 == Int($1) }.count) / Double(stored.count)
        XCTAssertEqual(accuracy, result.robustAccuracy)
    }

    /// Slow tier: trains a conv net (the fixture, an FCN, is covered by the fast test above).
    func testReferenceKernelsGiveTheSamePredictions() throws {
        try requireSlowTier("reference kernels on a trained conv net")
        let train = try Self.mnist(.train).prefix(1000)
        let test = try Self.mnist(.test).prefix(300)
        var m = ModelConfig.conv(precision: .binary, inputBits: 2)
        m.convChannels = [4, 8]
        m.hidden = [32]
        let image = try ImageExport.image(of: try trained(m, data: train))
        XCTAssertEqual(try Self.runtimePredictions(image: image, data: test, kernels: .reference),
                       try Self.runtimePredictions(image: image, data: test, kernels: .optimized))
    }
}
