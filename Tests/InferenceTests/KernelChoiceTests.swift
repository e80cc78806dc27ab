import Foundation
import ModelFile
import ToolSupport
import XCTest
@testable import Inference
import ModelFormat
@testable import Trainer

/// The kernel choice (Sources/Inference/KernelChoice.swift) as a table, every kernel at least once, and
/// the arena plan that `Interpreter.plan` reports from the runtime's own planning walk.
final class KernelChoiceTests: XCTestCase {
    typealias Q = Kernel.Query

    /// `q` for a ternary dense layer (two ±1 planes, format version 5).
    static func ternary(_ q: Q) -> Q {
        var t = q
        t.ternary = true
        return t
    }

    /// (query, expected kernel): every case of `Kernel`, and the neighbours of each rule (the shapes
    /// either side of the 19-half and 13-word specializations; code bits that are not 2; the batch path on
    /// kernel sets without a four-image kernel; `optimized` resolving to `simd` on a 64-bit host).
    static let table: [(Q, Kernel)] = [
        (Q(op: .inputCodes, kernels: .simd, input: .pixels), .inputCodes),
        // bits8 dense, SIMD kernels: one image and four.
        // One image on 64-bit hosts: two blocks of rows per pass (BlockedDense+Rows16.swift) for 2-bit codes
        // in rows of at most 64 words and binary rows of at least two words; the one-block kernels otherwise.
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .codes, codeBits: 2, signs: true, n: 784), .blockedPlanesRows16),
        (Q(op: .dense, weights: .bits8, kernels: .optimized, input: .codes, codeBits: 2, signs: true, n: 784), .blockedPlanesRows16),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .codes, codeBits: 2, n: 4096), .blockedPlanesRows16),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .codes, codeBits: 2, n: 4097), .blockedPlanes),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .codes, codeBits: 3, signs: true, n: 784), .blockedPlanes),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .codes, codeBits: 8, n: 784), .blockedPlanes),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .codes, codeBits: 2, signs: true, four: true, n: 784), .blockedPlanes4),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, signs: true, n: 600), .blockedBitsRows16),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, n: 65), .blockedBitsRows16),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, n: 64), .blockedBits),
        (Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, signs: true, four: true, n: 600), .blockedBits4),
        // bits8 dense, carry-save kernels: the unrolled shapes and their neighbours; no four-image kernel.
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, n: 600), .blockedBitsCarrySave19),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, n: 577), .blockedBitsCarrySave19),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, n: 608), .blockedBitsCarrySave19),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, n: 576), .blockedBitsCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, n: 609), .blockedBitsCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, four: true, n: 64), .blockedBitsCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 784), .blockedPlanesCarrySave13),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, n: 769), .blockedPlanesCarrySave13),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 832), .blockedPlanesCarrySave13),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 768), .blockedPlanesCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 833), .blockedPlanesCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 3, signs: true, n: 784), .blockedPlanesCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 8, signs: true, n: 784), .blockedPlanesCarrySave),
        (Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, four: true, n: 784), .blockedPlanesCarrySave13),
        // columns32 dense: every non-reference kernel set.
        (Q(op: .dense, weights: .columns32, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 784), .columnsPixels),
        (Q(op: .dense, weights: .columns32, kernels: .simd, input: .codes, codeBits: 8, signs: true, four: true, n: 784), .columnsPixels),
        (Q(op: .dense, weights: .columns32, kernels: .carrySave, input: .bits, signs: true, n: 600), .columnsBits),
        (Q(op: .dense, weights: .columns32, kernels: .simd, input: .bits, n: 600), .columnsBits),
        // columns32s dense (format version 4): the bounds kernel where the signs fuse, else its columns32 part.
        (Q(op: .dense, weights: .columns32s, kernels: .carrySave, input: .bits, signs: true, n: 600), .columnsBitsBounds),
        (Q(op: .dense, weights: .columns32s, kernels: .simd, input: .bits, signs: true, four: true, n: 600), .columnsBitsBounds),
        (Q(op: .dense, weights: .columns32s, kernels: .simd, input: .bits, n: 600), .columnsBits),
        (Q(op: .dense, weights: .columns32s, kernels: .reference, input: .bits, signs: true, n: 600), .referenceDenseBits),
        // v1 `bits` dense and binary conv.
        (Q(op: .dense, weights: .bits, kernels: .simd, input: .codes, codeBits: 2, signs: true, n: 784), .fusedDensePlanes),
        (Q(op: .dense, weights: .bits, kernels: .carrySave, input: .bits, signs: true, four: true, n: 600), .fusedDenseBits),
        // A hidden binary conv (packed bits in): 32-bit XOR-popcounts on every non-reference set, 64-bit hosts too.
        (Q(op: .conv2d, weights: .bits, kernels: .simd, input: .bits, signs: true, n: 100), .xorConv32),
        (Q(op: .conv2d, weights: .bits, kernels: .optimized, input: .bits, n: 1152), .xorConv32),
        (Q(op: .conv2d, weights: .bits, kernels: .carrySave, input: .bits, signs: true, n: 100), .xorConv32),
        // The first conv on codes: the patch's bit-planes on every non-reference set, 64-bit hosts included.
        (Q(op: .conv2d, weights: .bits, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 784), .planeConv32),
        (Q(op: .conv2d, weights: .bits, kernels: .simd, input: .codes, codeBits: 2, signs: true, n: 784), .planeConv32),
        (Q(op: .conv2d, weights: .bits, kernels: .optimized, input: .codes, codeBits: 8, four: true, n: 784), .planeConv32),
        // The reference kernel set: the op alone, by input kind, whatever the layout.
        (Q(op: .dense, weights: .bits8, kernels: .reference, input: .bits, four: true, n: 600), .referenceDenseBits),
        (Q(op: .dense, weights: .columns32, kernels: .reference, input: .codes, n: 784), .referenceDenseCodes),
        (Q(op: .conv2d, weights: .bits, kernels: .reference, input: .bits, n: 100), .referenceConvBits),
        (Q(op: .conv2d, weights: .bits, kernels: .reference, input: .codes, n: 100), .referenceConvCodes),
        // Float layers.
        (Q(op: .dense, weights: .f32, kernels: .simd, input: .bits, n: 600), .floatDenseSIMD),
        (Q(op: .dense, weights: .f32, kernels: .carrySave, input: .f32, n: 600), .floatDenseSIMD),
        (Q(op: .dense, weights: .f32, kernels: .reference, input: .codes, n: 784), .floatDenseReference),
        (Q(op: .dense, weights: .f32, kernels: .optimized, input: .f32, four: true, n: 1600), .floatDenseSIMD4),
        (Q(op: .dense, weights: .f32, kernels: .carrySave, input: .f32, four: true, n: 1600), .floatDenseSIMD),
        (Q(op: .dense, weights: .f32, kernels: .simd, input: .bits, four: true, n: 600), .floatDenseSIMD),
        (Q(op: .dense, weights: .f32, kernels: .reference, input: .f32, four: true, n: 1600), .floatDenseReference),
        (Q(op: .conv2d, weights: .f32, kernels: .simd, input: .codes, n: 784), .floatConvSIMD),
        (Q(op: .conv2d, weights: .f32, kernels: .optimized, input: .f32, n: 5408), .floatConvSIMD),
        (Q(op: .conv2d, weights: .f32, kernels: .carrySave, input: .f32, n: 5408), .floatConvReference),
        (Q(op: .conv2d, weights: .f32, kernels: .reference, input: .codes, n: 784), .floatConvReference),
        // Ternary dense layers: the one-pass kernels for bits8 planes with the simd set (64-bit hosts; the field and
        // the cases do not exist where pointers are 32 bits, so the firmware runs every ternary layer on two planes);
        // every other set and layout answers the binary kernel each plane runs on, chosen without fused signs.
        (ternary(Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, signs: true, n: 600)), .blockedBitsTernary),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .optimized, input: .bits, n: 64)), .blockedBitsTernary),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, signs: true, four: true, n: 600)), .blockedBitsTernary4),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .simd, input: .pixels, codeBits: 2, signs: true, n: 784)), .blockedPlanesTernary),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .optimized, input: .pixels, codeBits: 8, four: true, n: 4097)), .blockedPlanesTernary4),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .simd, input: .pixels, codeBits: 1, n: 784)), .blockedPlanesTernary),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .reference, input: .bits, signs: true, n: 600)), .referenceDenseBits),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .reference, input: .codes, n: 784)), .referenceDenseCodes),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, n: 600)), .blockedBitsCarrySave19),
        (ternary(Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .pixels, codeBits: 2, signs: true, n: 784)), .blockedPlanesCarrySave13),
        (ternary(Q(op: .dense, weights: .columns32, kernels: .simd, input: .bits, signs: true, n: 600)), .columnsBits),
        (ternary(Q(op: .dense, weights: .columns32, kernels: .simd, input: .pixels, codeBits: 2, signs: true, n: 784)), .columnsPixels),
        (ternary(Q(op: .dense, weights: .bits, kernels: .simd, input: .bits, signs: true, n: 600)), .fusedDenseBits),
        // Ops without weights.
        (Q(op: .maxpool2d, kernels: .simd, input: .i32), .maxPoolI32),
        (Q(op: .maxpool2d, kernels: .reference, input: .f32), .maxPoolF32),
        (Q(op: .maxpool2d, kernels: .carrySave, input: .f32), .maxPoolF32),
        (Q(op: .maxpool2d, kernels: .optimized, input: .f32), .maxPoolF32SIMD),
        (Q(op: .thresholdSign, kernels: .reference, input: .i32), .thresholdSign),
        (Q(op: .affine, kernels: .simd, input: .i32), .affineI32),
        (Q(op: .affine, kernels: .carrySave, input: .f32), .affineF32),
        (Q(op: .hardtanh, kernels: .simd, input: .f32), .hardtanh),
        (Q(op: .relu, kernels: .simd, input: .f32), .relu),
        (Q(op: .argmax, kernels: .simd, input: .f32), .argmax),
    ]

    func testTheTableOfKernels() {
        for (i, (query, expected)) in Self.table.enumerated() {
            XCTAssertEqual(Kernel.choose(query), expected, "row \(i): \(query)")
        }
        let covered = Set(Self.table.map { "\($0.1)" }), all = Set(Kernel.allCases.map { "\($0)" })
        XCTAssertEqual(all.subtracting(covered), [], "every kernel has a row")
        XCTAssertEqual(Kernel.allCases.filter { $0.imagesPerCall() == 4 }, [.blockedBits4, .blockedPlanes4, .blockedBitsTernary4, .blockedPlanesTernary4, .floatDenseSIMD4])
        XCTAssertEqual(Kernel.allCases.filter(\.readsBothPlanes), [.blockedBitsTernary, .blockedBitsTernary4, .blockedPlanesTernary, .blockedPlanesTernary4])
    }

    /// The scratch and persistent bytes each kernel plans: FCN2's first layer (784 inputs on 2-bit codes,
    /// 600 outputs) needs its three bit-planes of 13 words; the carry-save kernels and the four-image SIMD8
    /// kernel keep 600 u16 row counts (popcount of each weight row, for the constant plane 0 of the codes
    /// 2q + 1); the one-image SIMD8 kernel counts them as it goes (a small batch-1 arena).
    func testScratchAndPersistentBytesFollowTheKernel() {
        let first = Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .codes, codeBits: 2, signs: true, n: 784)
        XCTAssertEqual(Kernel.choose(first).scratchBytes(first, m: 600), 3 * 13 * 8)
        XCTAssertEqual(Kernel.choose(first).persistentBytes(first, m: 600), 1200)
        var simd = first
        simd.kernels = .simd
        XCTAssertEqual(Kernel.choose(simd).scratchBytes(simd, m: 600), 3 * 13 * 8, "the two-block kernel's planes")
        XCTAssertEqual(Kernel.choose(simd).persistentBytes(simd, m: 600), 0)
        simd.four = true
        XCTAssertEqual(Kernel.choose(simd).persistentBytes(simd, m: 600), 1200, "the four-image kernel reads the same counts")
        var eight = first
        eight.codeBits = 8
        XCTAssertEqual(Kernel.choose(eight).persistentBytes(eight, m: 600), 0, "only 2-bit codes have a constant plane counted ahead")
        let float = Q(op: .dense, weights: .f32, kernels: .simd, input: .bits, n: 600)
        XCTAssertEqual(Kernel.choose(float).scratchBytes(float, m: 10), 2400, "the widened input")
        let conv = Q(op: .conv2d, weights: .f32, kernels: .simd, input: .f32, n: 13 * 13 * 32)
        XCTAssertEqual(Kernel.choose(conv).scratchBytes(conv, m: 64), 4 * (5408 + 8), "the input's channel planes and one lane group")
        let hidden = Q(op: .dense, weights: .bits8, kernels: .carrySave, input: .bits, signs: true, n: 600)
        XCTAssertEqual(Kernel.choose(hidden).scratchBytes(hidden, m: 600), 0)
        // Ternary: the non-zero weights of each row (u16) on bits, popcount(u) + popcount(v) on codes 2q + 1 (while
        // 2n fits a u16); one image and four keep the same; the codes' planes are the only scratch.
        for four in [false, true] {
            var bits = Self.ternary(Q(op: .dense, weights: .bits8, kernels: .simd, input: .bits, signs: true, four: four, n: 600))
            XCTAssertEqual(Kernel.choose(bits).persistentBytes(bits, m: 600), 1200)
            XCTAssertEqual(Kernel.choose(bits).scratchBytes(bits, m: 600), 0)
            bits.n = 65_536
            XCTAssertEqual(Kernel.choose(bits).persistentBytes(bits, m: 600), 0, "longer rows are counted as the kernel goes")
        }
        var codes = Self.ternary(Q(op: .dense, weights: .bits8, kernels: .simd, input: .pixels, codeBits: 2, signs: true, n: 784))
        XCTAssertEqual(Kernel.choose(codes).persistentBytes(codes, m: 10), 32, "16 rows of u16, aligned")
        XCTAssertEqual(Kernel.choose(codes).scratchBytes(codes, m: 10), 3 * 13 * 8)
        codes.four = true
        XCTAssertEqual(Kernel.choose(codes).persistentBytes(codes, m: 10), 32, "the four-image kernel reads the same counts")
        XCTAssertEqual(Kernel.choose(codes).scratchBytes(codes, m: 10), 3 * 13 * 8, "per image")
        codes.four = false
        codes.n = 32_768
        XCTAssertEqual(Kernel.choose(codes).persistentBytes(codes, m: 10), 0, "2n past a u16")
        codes.n = 784
        codes.codeBits = 8
        XCTAssertEqual(Kernel.choose(codes).persistentBytes(codes, m: 10), 0, "8-bit codes have no constant plane")
    }

    /// `Interpreter.plan` on FCN2 (784-600x4-10, 2-bit input; untrained): the steps cover every op in
    /// order, each region lies inside the arena `arenaBytes` reports, output and scratch do not overlap,
    /// and the kernels are the choice's (the unrolled 13-word and 19-half kernels on the carry-save set).
    func testThePlanOfFCN2StepByStep() throws {
        let bytes = try ImageExport.image(of: try Network(config: .fcn2(precision: .binary, inputBits: 2), seed: 1))
        try bytes.withUnsafeBytes { raw in
            let image = try ModelImage(bytes: raw)
            for kernels in KernelSet.allCases {
                let plan = Interpreter.plan(image: image, kernels: kernels), arena = Interpreter.arenaBytes(for: image, kernels: kernels)
                XCTAssertEqual(plan.first?.firstOp, 0)
                XCTAssertEqual(plan.last?.lastOp, image.opCount - 1)
                for (a, b) in zip(plan, plan.dropFirst()) { XCTAssertEqual(b.firstOp, a.lastOp + 1, "\(kernels.name): steps in order") }
                for e in plan {
                    for (at, n) in [(e.outputOffset, e.outputBytes), (e.scratchOffset, e.scratchBytes), (e.persistentOffset, e.persistentBytes)]
                    where at >= 0 {
                        XCTAssertLessThanOrEqual(at + n, arena, "\(kernels.name) \(e)")
                    }
                    if e.scratchOffset >= 0 {
                        XCTAssert(e.scratchOffset >= e.outputOffset + e.outputBytes || e.outputOffset >= e.scratchOffset + e.scratchBytes,
                                  "\(kernels.name) \(e): output and scratch overlap")
                    }
                }
                XCTAssertEqual(plan.map(\.persistentBytes).reduce(0, +), kernels == .carrySave ? 1200 : 0)
                let batch = Interpreter.plan(image: image, kernels: kernels, batch: 4)
                XCTAssertEqual(batch.map(\.persistentBytes).reduce(0, +), kernels == .reference ? 0 : 1200, "\(kernels.name), batch 4")
            }
            let device = Interpreter.plan(image: image, kernels: .carrySave)
            XCTAssertEqual(device.first?.kernel, .blockedPlanesCarrySave13)
            XCTAssertEqual(device.first.map { [$0.firstOp, $0.lastOp, $0.persistentOffset, $0.persistentBytes] }, [0, 2, 0, 1200])
            XCTAssertEqual(device.filter { $0.kernel == .blockedBitsCarrySave19 }.count, 4, "the four layers on 600 inputs")
            XCTAssertEqual(Interpreter.plan(image: image, kernels: .simd).first?.kernel, .blockedPlanesRows16)
            XCTAssertEqual(Interpreter.plan(image: image, kernels: .reference).first?.kernel, .inputCodes)
        }
    }

    /// `convert inspect --kernels SET` prints the plan of that kernel set step by step, the same as
    /// `Interpreter.plan`: in `--json` under `plan`, and as text lines; a kernel set it does not know
    /// is a usage error (exit 64) listing the sets.
    func testConvertInspectPrintsThePlan() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let model = root + "/spec/golden/v3-fcn-binary.bsm"
        let file = try ModelFile.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: model))))
        for kernels in KernelSet.allCases {
            let r = try runTool("convert", ["inspect", model, "--json", "--kernels", kernels.name])
            XCTAssertEqual(r.status, 0, r.stderr)
            let plan = try XCTUnwrap(try lastJSONLine(r.stdout)["plan"] as? [String: Any])
            let steps = try XCTUnwrap(plan["steps"] as? [[String: Any]])
            try file.image.withUnsafeBytes { raw in
                let image = try ModelImage(bytes: raw)
                let expected = Interpreter.plan(image: image, kernels: kernels)
                XCTAssertEqual(steps.map { $0["kernel"] as? String }, expected.map { "\($0.kernel)" })
                XCTAssertEqual(steps.map { $0["output_offset"] as? Int }, expected.map(\.outputOffset))
                XCTAssertEqual(plan["arena_bytes"] as? Int, Interpreter.arenaBytes(for: image, kernels: kernels))
            }
        }
        let text = try runTool("convert", ["inspect", model, "--kernels", "carry-save"])
        XCTAssertTrue(text.stdout.contains("plan with kernels carry-save (carry-save here): arena"), text.stdout)
        let bad = try runTool("convert", ["inspect", model, "--kernels", "fastest"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("carry-save"), bad.stderr)
    }
}
