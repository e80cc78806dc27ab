import ModelFormat
@testable import Verification
import XCTest

/// The leaf stage (Leaf+Enumeration.swift): its Gray-code order visits every image of a box once, one pixel
/// level apart; its packed forward pass is the verifier's and the runtime's arithmetic bit for bit; and the
/// branch and bound with it agrees with brute force.
final class LeafEnumerationTests: XCTestCase {
    /// Every tuple once, each step one digit by ±1 as `next()` says; a skipped or doubled step fails.
    func testGrayCodeVisitsEveryTupleOnceOneStepApart() {
        for radices in [[2], [3], [2, 2, 2], [2, 3, 2, 4, 3], [4, 2, 3], [5, 5]] {
            var gray = MixedRadixGray(radices: radices)
            var seen: Set<[Int]> = [gray.digits]
            var previous = gray.digits
            while let (k, step) = gray.next() {
                let now = gray.digits
                XCTAssertEqual(now.indices.filter { now[$0] != previous[$0] }, [k], "radices \(radices): one digit changes")
                XCTAssertEqual(now[k] - previous[k], step, "radices \(radices): by the step next() reports")
                XCTAssertTrue(abs(step) == 1 && (0..<radices[k]).contains(now[k]), "radices \(radices): a step of ±1 inside the digit's range")
                XCTAssertTrue(seen.insert(now).inserted, "radices \(radices): \(now) visited twice")
                previous = now
            }
            XCTAssertEqual(seen.count, radices.reduce(1, *), "radices \(radices): every tuple visited")
        }
    }

    /// On random images and on walks of one-level steps (where the forward pass reuses its later layers), every
    /// layer's packed signs equal the bound propagation's on the one-image box, and the class equals
    /// `BinaryNetwork.classify` and the runtime's.
    /// Both margin widths (Int16, and the Int32 reference) are checked, each incremental and recomputed.
    func testPackedForwardMatchesTheVerifierAndTheRuntime() throws {
        try checkPackedForward(Int16.self, seed: 29)
        try checkPackedForward(Int32.self, seed: 29)
    }

    /// The same on ternary networks (format version 5; half and nine tenths of the weights 0): the forward pass
    /// sums a row's non-zero weights only, and its columns add nothing for a zero weight.
    func testPackedForwardMatchesTheRuntimeOnTernaryNetworks() throws {
        try checkPackedForward(Int16.self, seed: 37, zeros: 0.5)
        try checkPackedForward(Int32.self, seed: 41, zeros: 0.9)
    }

    func checkPackedForward<Margin: FixedWidthInteger & SignedInteger>(_: Margin.Type, seed: UInt64, zeros: Double = 0) throws {
        var g = TinyNetworks(seed: seed)
        for (layout, delta, widths) in [(PackedRows.Layout.rows, 2, [16, 12]), (.blocked8, 1, [70, 65, 8]), (.columns32, 3, [24]),
                                        (.rows, 2, [])] {
            let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout, zeros: zeros)
            let runtime = try Runtime(image)
            let network = try image.withUnsafeBytes { try BinaryNetwork(image: ModelImage(bytes: $0)) }
            var forward = PackedForward<Margin>(network: network), recomputed = PackedForward<Margin>(network: network, incremental: false)
            var pixels = (0..<16).map { _ in UInt8(g.next() % 256) }
            for trial in 0..<300 {
                if trial % 3 == 0 {
                    pixels = (0..<16).map { _ in UInt8(g.next() % 256) }
                } else {
                    // One pixel one level up or down: the Gray-code walk's step.
                    let i = g.int(0...15), shift = 8 - delta, level = Int(pixels[i]) >> shift
                    let to = level == 0 ? 1 : level == (1 << delta) - 1 ? level - 1 : level + (g.next() % 2 == 0 ? 1 : -1)
                    pixels[i] = UInt8(to << shift)
                }
                var point = Search(network: network, pixels: pixels, label: 0, budget: 0, deadline: nil)
                let expected = point.cleanClass()
                let got = point.lo.withUnsafeBufferPointer { forward.classify($0) }
                XCTAssertEqual(got, expected, "\(layout) \(widths): the class")
                XCTAssertEqual(point.lo.withUnsafeBufferPointer { recomputed.classify($0) }, expected, "\(layout) \(widths): recomputed")
                XCTAssertEqual(got, runtime.classify(pixels), "\(layout) \(widths): the runtime's class")
                XCTAssertEqual(try network.classify(pixels), got)
                if !widths.isEmpty {
                    for l in 0..<widths.count {
                        XCTAssertEqual(Array(forward.layerSigns(l)), point.bounds.value[l], "\(layout) \(widths): layer \(l)'s signs")
                        XCTAssertEqual(Array(recomputed.layerSigns(l)), point.bounds.value[l], "\(layout) \(widths): layer \(l)'s signs, recomputed")
                    }
                }
            }
        }
    }

    /// LeafForward takes Int16 margins exactly while every layer's reach R has 2R + 2 <= 32,767, and the
    /// narrow pass equals the Int32 reference and the runtime on a network at that edge (δ = 7: a first layer
    /// of 64 inputs reaches 64 x 255 = 16,320, its margins up to 32,642; 81 inputs take Int32), with thresholds
    /// at and beyond the reach and at Int32's ends (clamped: unclamped, they would not fit an Int16).
    func testMarginWidthIsChosenByReachAndAgreesAtTheEdge() throws {
        var g = TinyNetworks(seed: 31)
        for (side, wide) in [(8, false), (9, true)] {
            let image = g.image(side: side, delta: 7, widths: [12, 10], classes: 3, layout: .rows, extremeThresholds: true)
            let network = try image.withUnsafeBytes { try BinaryNetwork(image: ModelImage(bytes: $0)) }
            switch LeafForward.select(network) {
            case .narrow: XCTAssertFalse(wide, "side \(side): reach \(PackedForward<Int32>.reach(network))")
            case .wide: XCTAssertTrue(wide, "side \(side): reach \(PackedForward<Int32>.reach(network))")
            }
            guard !wide else { continue }
            let runtime = try Runtime(image)
            var narrow = PackedForward<Int16>(network: network), reference = PackedForward<Int32>(network: network)
            for trial in 0..<200 {
                // Saturated images push the first layer's accumulators to its reach.
                let pixels = (0..<(side * side)).map { _ in trial % 2 == 0 ? UInt8(g.next() % 2 == 0 ? 0 : 255) : UInt8(g.next() % 256) }
                let point = Search(network: network, pixels: pixels, label: 0, budget: 0, deadline: nil)
                let a = point.lo.withUnsafeBufferPointer { narrow.classify($0) }
                XCTAssertEqual(a, point.lo.withUnsafeBufferPointer { reference.classify($0) }, "trial \(trial)")
                XCTAssertEqual(a, runtime.classify(pixels), "trial \(trial): the runtime's class")
                for l in 0..<2 { XCTAssertEqual(narrow.layerSigns(l), reference.layerSigns(l), "trial \(trial): layer \(l)") }
            }
        }
    }

    /// Every box decided at the root by enumeration, with and without the attack: brute force agrees, and a box
    /// proved robust was enumerated whole (its images counted one by one: a skipped Gray-code step fails).
    func testLeafStageAtTheRootAgreesWithBruteForce() throws {
        try checkLeafStageAtTheRoot(seed: 47, zeros: 0)
    }

    /// The same on ternary networks (half the weights 0).
    func testLeafStageAtTheRootAgreesWithBruteForceOnTernaryNetworks() throws {
        try checkLeafStageAtTheRoot(seed: 53, zeros: 0.5)
    }

    func checkLeafStageAtTheRoot(seed: UInt64, zeros: Double) throws {
        var g = TinyNetworks(seed: seed)
        var robust = 0, attacked = 0
        for (layout, delta, widths) in [(PackedRows.Layout.rows, 2, [16, 12]), (.columns32, 1, [24, 16, 8]), (.blocked8, 3, [12]),
                                        (.rows, 2, [])] {
            let image = g.image(side: 4, delta: delta, widths: widths, classes: 4, layout: layout, zeros: zeros)
            let network = try image.withUnsafeBytes { try BinaryNetwork(image: ModelImage(bytes: $0)) }
            let runtime = try Runtime(image)
            for _ in 0..<25 {
                let pixels = (0..<16).map { _ in UInt8(g.next() % 256) }
                let budget = [10, 25, 40, 70][g.int(0...3)]
                let label = runtime.classify(pixels)
                let oracle = runtime.bruteForce(pixels, label: label, budget: budget, delta: delta, cap: 1 << 14)
                guard oracle.searched else { continue }
                let total = pixels.map { PixelBudget.levels(pixel: $0, budget: budget, delta: delta).count }.reduce(1, *)
                let result = try network.verify(pixels, label: label, budget: budget, timeLimit: nil, attack: g.next() % 2 == 0,
                                                leafLimit: 1 << 14)
                switch result.verdict {
                case .robust:
                    XCTAssertNil(oracle.counterexample, "robust, but brute force finds a counterexample")
                    XCTAssertTrue(result.leafImages == 0 || result.leafImages == total, "\(result.leafImages) of \(total) images enumerated")
                    robust += 1
                case let .counterexample(x):
                    XCTAssertNotNil(oracle.counterexample)
                    XCTAssertNotEqual(runtime.classify(x), label)
                    XCTAssertTrue(zip(x, pixels).allSatisfy { abs(Int($0) - Int($1)) <= budget })
                    attacked += 1
                case .unknown: XCTFail("unknown without a time limit")
                }
            }
        }
        XCTAssertGreaterThan(robust, 15)
        XCTAssertGreaterThan(attacked, 15)
    }
}
