import XCTest
@testable import Inference
@testable import ModelFormat
@testable import Trainer

/// Ternary dense layers (format version 5, w = (u + v) / 2 from two ±1 planes): every kernel set, one image
/// at a time and in batches, in each layout the planes may take (bits, bits8, columns32), gives exactly the
/// scores of a plain integer evaluation of the ternary weights written here from the spec's semantics.
final class TernaryLayerTests: XCTestCase {
    /// A random ternary FCN: input_codes δ → dense on codes → [threshold_sign → dense on bits]* → affine → argmax.
    struct Net {
        var height = 5, width = 6, delta = 2
        var widths: [Int] = []        // inputs, hidden..., classes
        var weights: [[Float]] = []   // per layer [out, in], each -1, 0 or +1
        var thresholds: [[Int32]] = [], flips: [[UInt8]] = []
        var scale: [Float] = [], shift: [Float] = []

        init(widths: [Int], zeros: Double, random r: inout SeededRandom) {
            self.widths = widths
            for l in 0..<(widths.count - 1) {
                let (n, m) = (widths[l], widths[l + 1])
                weights.append((0..<(n * m)).map { _ in Double(r.next() % 1000) / 1000 < zeros ? 0 : (r.next() & 1 == 0 ? 1 : -1) })
                if l < widths.count - 2 {
                    let reach = n * (l == 0 ? InputCodes.largest(delta: 2) : 1)
                    thresholds.append((0..<m).map { _ in Int32(Int(r.next() % UInt64(reach + 1)) - reach / 2) })
                    flips.append((0..<m).map { _ in UInt8(r.next() & 1) })
                }
            }
            scale = (0..<widths.last!).map { _ in r.uniform(-0.5, 0.5) }
            shift = (0..<widths.last!).map { _ in r.uniform(-3, 3) }
        }

        /// The image, each layer's planes in `layout`.
        func image(layout: TensorType) -> [UInt8] {
            var b = ImageBuilder(inputHeight: height, inputWidth: width, inputChannels: 1, classes: widths.last!)
            b.addOp(.inputCodes, [delta])
            for l in 0..<weights.count {
                let (n, m) = (widths[l], widths[l + 1])
                let planes = BitPacking.ternaryPlanes(weights[l])
                let packed = [planes.upper, planes.lower].map { BitPacking.pack(signs: $0, rows: m, n: n) }
                let index = packed.map { b.addDense($0, rows: m, n: n, type: layout) }
                let onCodes = l == 0
                b.addOp(.dense, [n, m, index[0], Int((onCodes ? InputKind.codes : .bits).rawValue),
                                 onCodes ? InputCodes.codeBits(delta: delta) : 0, 0, index[1] + 1])
                if l < thresholds.count {
                    let t = b.addI32(thresholds[l], dims: [m]), f = b.addU8(flips[l], dims: [m])
                    b.addOp(.thresholdSign, [1, 1, m, t, f, 0])
                }
            }
            let classes = widths.last!
            b.addOp(.affine, [1, 1, classes, 0, b.addF32(scale, dims: [classes]), b.addF32(shift, dims: [classes])])
            b.addOp(.argmax, [classes])
            return b.build()
        }

        /// The scores by the spec's semantics, in plain integers: A_o = Σ w_oi x_i, then the threshold's sign,
        /// then (Float(A) · scale) + shift.
        func scores(_ pixels: ArraySlice<UInt8>) -> [Float] {
            var x = pixels.map { Int(InputCodes.code($0, delta: delta)) }
            for l in 0..<weights.count {
                let (n, m) = (widths[l], widths[l + 1])
                let a = (0..<m).map { o in (0..<n).reduce(0) { $0 + Int(weights[l][o * n + $1]) * x[$1] } }
                if l == thresholds.count { return (0..<m).map { Float(a[$0]) * scale[$0] + shift[$0] } }
                x = (0..<m).map { o in (a[o] >= Int(thresholds[l][o])) != (flips[l][o] == 1) ? 1 : -1 }
            }
            return []
        }
    }

    func testEveryKernelSetAndLayoutGivesTheTernarySemantics() throws {
        var r = SeededRandom(seed: 5)
        for trial in 0..<6 {
            let widths = [30, 40 + trial * 23, 9 + trial * 11, 7]
            let net = Net(widths: widths, zeros: [0.0, 0.3, 0.8, 0.95, 1.0, 0.5][trial], random: &r)
            let pixels = (0..<(16 * 30)).map { _ in UInt8(r.next() % 256) }
            let expected = (0..<16).flatMap { net.scores(pixels[($0 * 30)..<($0 * 30 + 30)]) }
            for layout in [TensorType.bits, .bits8, .columns32] {
                let image = net.image(layout: layout)
                XCTAssertEqual(image[4], UInt8(ImageLayout.ternaryVersion), "a ternary image is version 5")
                for kernels in [KernelSet.optimized, .reference, .carrySave, .simd] {
                    let got = try RandomModelTests.scores(image, kernels: kernels, pixels: pixels, size: 30, classes: 7)
                    XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "trial \(trial) \(layout) \(kernels)")
                }
                let (batched, classes) = try RandomModelTests.batchScores(image, batch: 7, pixels: pixels, size: 30, classes: 7)
                XCTAssertEqual(batched.map(\.bitPattern), expected.map(\.bitPattern), "trial \(trial) \(layout) batch 7")
                for i in 0..<16 {
                    let row = Array(expected[(i * 7)..<(i * 7 + 7)])
                    XCTAssertEqual(classes[i], row.firstIndex(of: row.max()!), "trial \(trial) \(layout) image \(i)")
                }
            }
        }
    }

    /// The plan of a bits8 ternary FCN: with the reference and carry-save sets (the device's) every ternary step
    /// runs the binary kernel on each plane and its scratch holds two aligned rows of i32 sums; with `optimized` on
    /// a 64-bit host the one-pass kernels run (no sums; the row counts persist: popcount(u) + popcount(v) per row on
    /// codes, the non-zero weights per row on bits, u16 each).
    func testThePlanShowsTheTernaryKernelsAndTheirBytes() throws {
        var r = SeededRandom(seed: 6)
        let net = Net(widths: [30, 40, 20, 5], zeros: 0.5, random: &r)
        let image = net.image(layout: .bits8)
        try image.withUnsafeBytes { raw in
            let model = try ModelImage(bytes: raw)
            for kernels in [KernelSet.reference, .carrySave] {
                let plan = Interpreter.plan(image: model, kernels: kernels)
                XCTAssertEqual(plan.filter { $0.step == .ternaryLayer }.count, 3)
                for entry in plan where entry.step == .ternaryLayer {
                    XCTAssertFalse(entry.kernel.readsBothPlanes, "\(kernels): \(entry.kernel)")
                    XCTAssertGreaterThanOrEqual(entry.scratchBytes, 2 * ArenaPlan.align(4 * (entry.firstOp == 0 ? 40 : entry.lastOp < 4 ? 20 : 5)))
                }
            }
            let plan = Interpreter.plan(image: model, kernels: .optimized).filter { $0.step == .ternaryLayer }
            XCTAssertEqual(plan.map(\.kernel), [.blockedPlanesTernary, .blockedBitsTernary, .blockedBitsTernary])
            XCTAssertEqual(plan.map(\.scratchBytes), [ArenaPlan.align(8 * 3), 0, 0], "the first layer's three code planes of one word")
            XCTAssertEqual(plan.map(\.persistentBytes), [ArenaPlan.align(2 * 40), ArenaPlan.align(2 * 24), ArenaPlan.align(2 * 8)])
            let batch = Interpreter.plan(image: model, kernels: .optimized, batch: 4).filter { $0.step == .ternaryLayer }
            XCTAssertEqual(batch.map(\.kernel), [.blockedPlanesTernary, .blockedBitsTernary, .blockedBitsTernary])
            XCTAssertEqual(batch.map(\.persistentBytes), plan.map(\.persistentBytes), "the four-image kernel reads the same counts")
        }
    }
}
