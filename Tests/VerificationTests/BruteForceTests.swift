import Inference
import ModelFormat
import Verification
import XCTest

/// The verifier against brute force: on small random networks (every layout, thresholds with flips,
/// scores that tie or fall), every image's verdict agrees with the runtime run over every choice of the
/// free pixels' levels, and every counterexample is in the ball and misclassified by the runtime.
final class BruteForceTests: XCTestCase {
    /// One network's images: returns (robust, counterexamples) counted, failing on any disagreement. Each image is
    /// verified by `method` with `leafLimit` and `wideLeafLimit`, or by each of `searches` (one brute force for all).
    func check(_ image: [UInt8], side: Int, delta: Int, budgets: [Int], generator g: inout TinyNetworks,
               method: VerificationMethod = .branchAndBound, leafLimit: Int = 0, wideLeafLimit: Int = 0,
               searches: [(method: VerificationMethod, leafLimit: Int, wideLeafLimit: Int)]? = nil, cap: Int = 1 << 14,
               file: StaticString = #filePath, line: UInt = #line) throws -> (robust: Int, attacked: Int) {
        let runtime = try Runtime(image)
        let network = try image.withUnsafeBytes { try BinaryNetwork(image: ModelImage(bytes: $0)) }
        var robust = 0, attacked = 0
        // Half the images with the greedy attack first, half by the search alone (its own counterexamples).
        for _ in 0..<20 {
            let pixels = (0..<(side * side)).map { _ in UInt8(g.next() % 256) }
            let budget = budgets[g.int(0...(budgets.count - 1))]
            // The label the clean image gets, or (one time in five) another one: a clean error.
            var label = runtime.classify(pixels)
            XCTAssertEqual(try network.classify(pixels), label, "the verifier's class of a clean image", file: file, line: line)
            if g.next() % 5 == 0 { label = (label + 1) % network.classes }
            let oracle = runtime.bruteForce(pixels, label: label, budget: budget, delta: delta, cap: cap)
            guard oracle.searched else { continue }
            let attack = g.next() % 2 == 0
            for search in searches ?? [(method, leafLimit, wideLeafLimit)] {
                let result = try network.verify(pixels, label: label, budget: budget, timeLimit: nil, attack: attack, method: search.method,
                                                leafLimit: search.leafLimit, wideLeafLimit: search.wideLeafLimit)
                switch result.verdict {
                case .robust:
                    XCTAssertNil(oracle.counterexample, "verified robust, but brute force finds a counterexample (budget \(budget))", file: file, line: line)
                    robust += 1
                case let .counterexample(x):
                    XCTAssertNotNil(oracle.counterexample, "a counterexample where brute force finds none (budget \(budget))", file: file, line: line)
                    XCTAssertNotEqual(runtime.classify(x), label, "the counterexample is classified as its label", file: file, line: line)
                    XCTAssertTrue(zip(x, pixels).allSatisfy { abs(Int($0) - Int($1)) <= budget }, "the counterexample leaves the ball", file: file, line: line)
                    attacked += 1
                case .unknown:
                    XCTFail("unknown without a time limit", file: file, line: line)
                }
            }
        }
        return (robust, attacked)
    }

    func testAgreesWithBruteForceOnEveryLayout() throws {
        var g = TinyNetworks(seed: 16)
        var robust = 0, attacked = 0
        for layout in [PackedRows.Layout.rows, .blocked8, .columns32] {
            for widths in [[16, 12], [16], [24, 16, 8]] {
                let image = g.image(side: 4, delta: 2, widths: widths, classes: 4, layout: layout)
                let r = try check(image, side: 4, delta: 2, budgets: [6, 10, 16, 25, 40, 70], generator: &g)
                robust += r.robust
                attacked += r.attacked
            }
        }
        // The sample exercises both answers (a test that could only say robust would prove nothing).
        XCTAssertGreaterThan(robust, 40)
        XCTAssertGreaterThan(attacked, 40)
    }

    func testAgreesWithBruteForceOnOtherInputBitsAndOneLayer() throws {
        var g = TinyNetworks(seed: 7)
        for delta in [1, 3] {
            for widths in [[], [12]] {
                let image = g.image(side: 4, delta: delta, widths: widths, classes: 3, layout: .rows)
                _ = try check(image, side: 4, delta: delta, budgets: [8, 20, 35], generator: &g)
            }
        }
    }

    /// Branch and bound whose boxes of at most 6 images are enumerated (the leaf stage inside the tree, after
    /// splits): every layout, one to three hidden layers, 1-3 input bits.
    func testLeafStageInsideTheTreeAgreesWithBruteForce() throws {
        var g = TinyNetworks(seed: 97)
        var robust = 0, attacked = 0
        for (layout, delta, widths) in [(PackedRows.Layout.rows, 2, [16, 12]), (.blocked8, 1, [24, 16, 8]), (.columns32, 3, [12])] {
            let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout)
            let r = try check(image, side: 4, delta: delta, budgets: [6, 10, 16, 25, 40, 70], generator: &g, leafLimit: 6)
            robust += r.robust
            attacked += r.attacked
        }
        XCTAssertGreaterThan(robust, 10)
        XCTAssertGreaterThan(attacked, 10)
    }

    /// The wide leaf rule (`Search.shouldEnumerate`: boxes up to `wideLeafLimit` enumerated where the last hidden
    /// layer is mostly open) inside the tree: brute force agrees, with networks deep and shallow.
    func testWideLeafRuleAgreesWithBruteForce() throws {
        var g = TinyNetworks(seed: 101)
        var robust = 0, attacked = 0
        for (layout, delta, widths) in [(PackedRows.Layout.rows, 2, [16, 12]), (.blocked8, 1, [24, 16, 8]), (.columns32, 3, [12])] {
            let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout)
            let r = try check(image, side: 4, delta: delta, budgets: [6, 10, 16, 25, 40, 70], generator: &g, leafLimit: 2, wideLeafLimit: 40)
            robust += r.robust
            attacked += r.attacked
        }
        XCTAssertGreaterThan(robust, 10)
        XCTAssertGreaterThan(attacked, 10)
    }

    /// The SAT method (CaDiCaL on the totalizer encoding) against brute force, on the same kinds of networks:
    /// two and three binary layers, every layout, 1-3 input bits.
    func testSATAgreesWithBruteForce() throws {
        var g = TinyNetworks(seed: 61)
        var robust = 0, attacked = 0
        for (layout, delta) in [(PackedRows.Layout.rows, 2), (.blocked8, 1), (.columns32, 3)] {
            for widths in [[16, 12], [24, 16, 8], [12]] {
                let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout)
                let r = try check(image, side: 4, delta: delta, budgets: [6, 10, 16, 25, 40, 70], generator: &g, method: .sat)
                robust += r.robust
                attacked += r.attacked
            }
        }
        XCTAssertGreaterThan(robust, 30)
        XCTAssertGreaterThan(attacked, 30)
    }

    /// The unit search (`--method units`: branching on open first-layer units, pixels only to show a wrong class
    /// reachable) against brute force: one to three hidden layers, every layout, 1-3 input bits, budgets from a few
    /// pixel units to most of the range (so forced sign patterns that no image gives are common).
    func testUnitSearchAgreesWithBruteForce() throws {
        var g = TinyNetworks(seed: 83)
        var robust = 0, attacked = 0
        for (layout, delta) in [(PackedRows.Layout.rows, 2), (.blocked8, 1), (.columns32, 3), (.rows, 2)] {
            for widths in [[16, 12], [24, 16, 8], [12], [32, 24]] {
                let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout)
                let r = try check(image, side: 4, delta: delta, budgets: [6, 10, 16, 25, 40, 70], generator: &g, method: .units)
                robust += r.robust
                attacked += r.attacked
            }
        }
        XCTAssertGreaterThan(robust, 40)
        XCTAssertGreaterThan(attacked, 40)
    }

    /// Ternary networks (format version 5: dense weights −1, 0 or +1 as two planes) with half and nine tenths of
    /// their weights 0, in the bits8 and columns32 layouts, ternary in the first layer (on codes), the hidden ones
    /// and the last (and a first layer that is the last): every method (branch and bound with and without the
    /// leaf stage, SAT, units) agrees with brute force. Each network's zero weights are counted, so the test
    /// cannot pass on binary networks by accident.
    func testTernaryNetworksAgreeWithBruteForce() throws {
        var g = TinyNetworks(seed: 161)
        for zeros in [0.5, 0.9] {
            var robust = 0, attacked = 0
            for (layout, delta, widths) in [(PackedRows.Layout.blocked8, 2, [16, 12]), (.columns32, 1, [24, 16, 8]), (.columns32, 3, [12]),
                                            (.blocked8, 2, [32, 24]), (.columns32, 2, [16]), (.blocked8, 2, [])] {
                let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout, zeros: zeros)
                let (ternary, zeroWeights) = try image.withUnsafeBytes { bytes in
                    let model = try ModelImage(bytes: bytes)
                    let dense = model.ops.indices.filter { model.ops[$0].kind == .dense && model.lowerPlane($0) >= 0 }
                    return (dense.count, dense.reduce(0) { total, k in
                        let op = model.ops[k]
                        return total + model.zeroWeights(upper: op.p(2), lower: model.lowerPlane(k), rows: op.p(1), n: op.p(0))
                    })
                }
                XCTAssertEqual(ternary, widths.count + 1, "every dense layer is ternary")
                XCTAssertGreaterThan(zeroWeights, 0)
                // Every method on each image, after one brute force.
                let r = try check(image, side: 4, delta: delta, budgets: [6, 10, 16, 25, 40, 70], generator: &g,
                                  searches: [(.branchAndBound, 0, 0), (.branchAndBound, 6, 40), (.sat, 0, 0), (.units, 0, 0)], cap: 1 << 11)
                robust += r.robust
                attacked += r.attacked
            }
            XCTAssertGreaterThan(robust, 100, "zeros \(zeros)")
            XCTAssertGreaterThan(attacked, 40, "zeros \(zeros)")
        }
    }

    /// A time limit makes an undecided image unknown, never robust.
    func testTimeLimitGivesUnknown() throws {
        var g = TinyNetworks(seed: 3)
        let image = g.image(side: 5, delta: 2, widths: [32, 32], classes: 4, layout: .rows)
        let network = try image.withUnsafeBytes { try BinaryNetwork(image: ModelImage(bytes: $0)) }
        let pixels = (0..<25).map { _ in UInt8(g.next() % 256) }
        let label = try network.classify(pixels)
        let result = try network.verify(pixels, label: label, budget: 200, timeLimit: .zero)
        XCTAssertNotEqual(result.verdict, .robust)
    }
}
