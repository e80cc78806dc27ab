import Datasets
import XCTest
@testable import Trainer

/// The edge attack, the Square attack and the true-gradient mode, on the fixture models and MNIST slices.
final class SearchAttackTests: XCTestCase {
    /// A binary net with 2-bit input: the binary fixture (784-64-64-10).
    func twoBitNetwork() throws -> Network { try TestData.binaryFixture() }

    /// A float net with 8-bit input: the float fixture (784-64-10).
    func eightBitNetwork() throws -> Network { try TestData.floatFixture() }

    func testEdgeAttackStaysInTheBallAndIsAtLeastAsStrongAsPGDOnTwoBitInput() throws {
        let test = try TestData.mnist(.test).prefix(200)
        let net = try twoBitNetwork()
        let pgd = try Attacker(network: net, config: AttackConfig(kind: .pgd, epsilon: 0.1, steps: 10)).run(on: test)
        let edge = try Attacker(network: net, config: AttackConfig(kind: .edge, epsilon: 0.1, steps: 10, searchRounds: 10))
            .run(on: test)
        print("2-bit binary net, eps 0.1, 200 images: clean \(edge.cleanAccuracy), PGD-10 \(pgd.robustAccuracy), edge \(edge.robustAccuracy)")
        XCTAssertGreaterThan(edge.cleanAccuracy, 0.8, "the binary fixture: 91.05% on 2,000 test images (scripts/make-fixture.sh)")
        XCTAssertLessThanOrEqual(edge.maxPerturbation, 25, "⌊255 × 0.1⌋")
        XCTAssertEqual(edge.images.labels, test.labels)
        XCTAssertEqual(edge.robustAccuracy, try Evaluation.accuracy(net, on: edge.images), "accuracy of the stored images")
        XCTAssertLessThanOrEqual(edge.robustAccuracy, pgd.robustAccuracy, "the edge attack starts from PGD: never weaker")
        XCTAssertLessThan(edge.robustAccuracy, edge.cleanAccuracy)
        // Every changed pixel moved to another 2-bit level, at the value nearest the clean pixel.
        for i in 0..<edge.images.pixels.count where edge.images.pixels[i] != test.pixels[i] {
            let p0 = Int(test.pixels[i]), p = Int(edge.images.pixels[i])
            XCTAssertNotEqual(p >> 6, p0 >> 6, "pixel \(i): \(p0) -> \(p) stays in its bin")
            XCTAssertTrue(p > p0 ? p % 64 == 0 : p % 64 == 63, "pixel \(i): \(p0) -> \(p) is not the bin value nearest the clean pixel")
        }
    }

    func testEdgeAttackOnEightBitInputIsPGD() throws {
        let test = try TestData.mnist(.test).prefix(100)
        let net = try eightBitNetwork()
        let pgd = try Attacker(network: net, config: AttackConfig(kind: .pgd, epsilon: 0.1, steps: 5)).run(on: test)
        let edge = try Attacker(network: net, config: AttackConfig(kind: .edge, epsilon: 0.1, steps: 5)).run(on: test)
        XCTAssertEqual(edge.images.pixels, pgd.images.pixels)
    }

    func testSquareStaysInTheBallAndLowersAccuracy() throws {
        let test = try TestData.mnist(.test).prefix(200)
        let net = try eightBitNetwork()
        let config = AttackConfig(kind: .square, epsilon: 0.15, queries: 150)
        let r = try Attacker(network: net, config: config).run(on: test)
        print("Square, 150 queries, eps 0.15: clean \(r.cleanAccuracy), robust \(r.robustAccuracy)")
        XCTAssertEqual(config.pixelBudget, 38, "⌊255 × 0.15⌋")
        XCTAssertLessThanOrEqual(r.maxPerturbation, 38)
        XCTAssertEqual(r.images.labels, test.labels)
        XCTAssertEqual(r.robustAccuracy, try Evaluation.accuracy(net, on: r.images))
        XCTAssertLessThan(r.robustAccuracy, r.cleanAccuracy - 0.1, "a gradient-free attack must hurt an undefended float net")
        XCTAssertEqual(r.zeroGradientFraction, 0)
        // Deterministic for a seed.
        let again = try Attacker(network: net, config: config).run(on: test)
        XCTAssertEqual(again.images.pixels, r.images.pixels)
    }

    func testTrueGradientIsZeroThroughSignActivationsAndTheQuantizer() throws {
        let test = try TestData.mnist(.test).prefix(100)
        let binary = try twoBitNetwork()
        let masked = try Attacker(network: binary, config: AttackConfig(kind: .fgsm, epsilon: 0.2, gradient: .trueGradient)).run(on: test)
        XCTAssertEqual(masked.zeroGradientFraction, 1)
        XCTAssertEqual(masked.images.pixels, test.pixels, "no gradient, no step")
        XCTAssertEqual(masked.robustAccuracy, masked.cleanAccuracy)
        // A float net on 8-bit input has no piecewise-constant function: its true gradient is the same.
        let float = try eightBitNetwork()
        XCTAssertFalse(float.hasPiecewiseConstantPath)
        let ste = try Attacker(network: float, config: AttackConfig(kind: .fgsm, epsilon: 0.1)).run(on: test)
        let exact = try Attacker(network: float, config: AttackConfig(kind: .fgsm, epsilon: 0.1, gradient: .trueGradient)).run(on: test)
        XCTAssertEqual(ste.images.pixels, exact.images.pixels)
        XCTAssertLessThan(exact.zeroGradientFraction, 0.5)
    }

    func testSquareScheduleHalvesAtTheAuthorsCuts() {
        XCTAssertEqual(Attacker.squareSchedule(query: 5, of: 10_000), 1)
        XCTAssertEqual(Attacker.squareSchedule(query: 11, of: 10_000), 0.5)
        XCTAssertEqual(Attacker.squareSchedule(query: 9000, of: 10_000), 1.0 / 512)
        XCTAssertEqual(Attacker.squareSchedule(query: 60, of: 1000), 1.0 / 16, "rescaled: query 60 of 1,000 is 600 of 10,000")
    }
}
