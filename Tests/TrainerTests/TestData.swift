import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Small data for tests: a learnable synthetic set, and real MNIST slices from the data cache.
enum TestData {
    /// `count` random 4x4 images; the label is the brightest of the four 2x2 quadrants.
    static func quadrants(count: Int, seed: UInt64) -> ImageSet {
        var random = SeededRandom(seed: seed)
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for _ in 0..<count {
            let image = (0..<16).map { _ in UInt8(random.next() % 256) }
            var sums = [0, 0, 0, 0]
            for r in 0..<4 { for c in 0..<4 { sums[(r / 2) * 2 + c / 2] += Int(image[r * 4 + c]) } }
            labels.append(UInt8(sums.firstIndex(of: sums.max()!)!))
            pixels += image
        }
        return try! ImageSet(height: 4, width: 4, classes: 4, pixels: pixels, labels: labels)
    }

    /// A model config for the 4x4 quadrant data.
    static func smallModel(_ precision: ModelConfig.Precision, bits: Int = 8, dropout: Float = 0.1) -> ModelConfig {
        var m = ModelConfig.fcn2(precision: precision, inputBits: bits)
        m.input = FeatureMap(height: 4, width: 4, channels: 1)
        m.hidden = [32, 32]
        m.classes = 4
        m.dropout = dropout
        return m
    }

    /// The binary fixture model (784-64-64-10, 2-bit input; `Fixture`), loaded from its checkpoint.
    static func binaryFixture() throws -> Network {
        try Checkpoint.read(path: Fixture.binaryCheckpoint).makeNetwork(path: Fixture.binaryCheckpoint)
    }

    /// The float fixture model (784-64-10 on raw pixels; `Fixture`), loaded from its checkpoint.
    static func floatFixture() throws -> Network {
        try Checkpoint.read(path: Fixture.floatCheckpoint).makeNetwork(path: Fixture.floatCheckpoint)
    }

    /// MNIST from the data cache; skips the test when it is absent, unless BITSHIELD_REQUIRE_DATA is set
    /// (as `make test` does), in which case a missing cache fails.
    static func mnist(_ split: Dataset.Split) throws -> ImageSet {
        let dir = DataDirectory.resolve()
        do {
            return try Dataset.mnist.load(split, dataDirectory: dir)
        } catch {
            if ProcessInfo.processInfo.environment["BITSHIELD_REQUIRE_DATA"] != nil { throw error }
            throw XCTSkip("MNIST not in \(dir) (run 'make data'): \(error)")
        }
    }
}

