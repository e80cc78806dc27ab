import CAllocationCounter
import Datasets
import Foundation
import ImageFixtures
import ToolSupport
import XCTest
@testable import Inference
@testable import ModelFile
@testable import ModelFormat
@testable import Trainer

/// The runtime on images that validate but push its arithmetic (issue 12): first-layer rows past 16 bits
/// on the carry-save kernels, accumulators at the i32 bound, plans too large for a target, and `infer`'s
/// arena limit. Every kernel set runs on an arena with a guard band after it.
final class HostileRuntimeTests: XCTestCase {
    /// The scores of `images` images (`size` pixels each) with `kernels`, on a guarded arena.
    func scores(_ image: [UInt8], kernels: KernelSet, pixels: [UInt8], size: Int, images: Int, classes: Int) throws -> [Float] {
        try image.withUnsafeBytes { raw in
            let guarded = GuardedArena(bytes: Interpreter.arenaBytes(for: try ModelImage(bytes: raw), kernels: kernels))
            defer { guarded.check("\(kernels)") }
            let it = try Interpreter(image: raw, arena: guarded.arena, kernels: kernels)
            var all: [Float] = []
            var s = [Float](repeating: 0, count: classes)
            pixels.withUnsafeBufferPointer { px in
                for i in 0..<images {
                    _ = it.invoke(px.baseAddress! + i * size, scores: &s)
                    all += s
                }
            }
            return all
        }
    }

    /// Item 2: a `bits8` first layer on 2-bit codes with 68,000 inputs, about 66,800 of each row's weights
    /// -1 (more than a u16 row count holds).
    /// The carry-save kernels kept each row's count of -1 weights in 16 bits and scored it wrong with exit
    /// 0; now rows past 65,535 inputs keep no count (counted as the kernel goes), and every kernel set
    /// gives the reference's scores bit for bit. Rows that fit keep their counts: FCN2's pinned arenas
    /// (AllocationTests) do not move.
    func testCarrySaveFirstLayerPast16Bits() throws {
        let (h, w, m) = HostileImages.wideRows
        let n = h * w, image = HostileImages.wideFirstLayer()
        var r = SeededRandom(seed: 13)
        let pixels = (0..<(3 * n)).map { i -> UInt8 in i / n == 0 ? 255 : UInt8(truncatingIfNeeded: r.next()) }
        let reference = try scores(image, kernels: .reference, pixels: pixels, size: n, images: 3, classes: m)
        for kernels in [KernelSet.simd, .carrySave] {
            let got = try scores(image, kernels: kernels, pixels: pixels, size: n, images: 3, classes: m)
            XCTAssertEqual(got.map(\.bitPattern), reference.map(\.bitPattern), "\(kernels)")
        }
        try image.withUnsafeBytes { raw in
            let model = try ModelImage(bytes: raw)
            XCTAssertEqual(Interpreter.arenaBytes(for: model, kernels: .carrySave), Interpreter.arenaBytes(for: model, kernels: .simd),
                           "no persistent row counts for rows past 65,535 inputs")
        }
    }

    /// Item 3: at the accumulator bound (8,421,504 inputs of 8-bit codes, all 255: A = ±2,147,483,520)
    /// every kernel set sums exactly, without a trap, in both binary dense layouts that take such rows.
    func testAccumulatorAtTheBoundIsExact() throws {
        let (h, w) = (2688, 3133)
        let n = h * w
        let flat = HostileImages.wideDense(h: h, w: w)
        let pixels = [UInt8](repeating: 255, count: n)
        let expected: [Float] = [2_147_483_520, -2_147_483_520]
        XCTAssertEqual(Int(expected[0]), n * 255, "exact in f32")
        for kernels in [KernelSet.reference, .simd, .carrySave] {
            XCTAssertEqual(try scores(flat, kernels: kernels, pixels: pixels, size: n, images: 1, classes: 2), expected, "bits \(kernels)")
        }
    }

    /// Item 13: validation and prepare allocate nothing (the device's heap never frees), for an image at
    /// the table caps, the hostile fixtures and exported models with every op kind (conv, max-pool,
    /// threshold, affine, float layers, both dense layouts); counted with the interposed malloc counter.
    func testValidationAndPrepareAllocateNothing() throws {
        var exported: [(String, [UInt8])] = []
        for precision in [ModelConfig.Precision.binary, .xnor, .float] {
            var conv = ModelConfig.conv(precision: precision, inputBits: 2)
            conv.convChannels = [4, 8]; conv.hidden = [16]
            exported.append(("conv \(precision)", try ImageExport.image(of: try Network(config: conv, seed: 1))))
            var fcn = ModelConfig.fcn(hidden: [40, 20], precision: precision, inputBits: 8)
            fcn.floatLastLayer = precision == .binary
            exported.append(("fcn \(precision)", try ImageExport.image(of: try Network(config: fcn, seed: 2), denseLayout: .columns32)))
        }
        for (name, bytes) in [("largest tables", HostileImages.largestTables()), ("wide first layer", HostileImages.wideFirstLayer()),
                              ("accumulator bound", HostileImages.wideDense(h: 2688, w: 3133))] + exported {
            try bytes.withUnsafeBytes { raw in
                let arena = GuardedArena(bytes: Interpreter.arenaBytes(for: try ModelImage(bytes: raw), kernels: .carrySave))
                defer { arena.check(name) }
                bitshield_allocations_start()
                _ = try ModelImage(bytes: raw)
                XCTAssertEqual(bitshield_allocations_stop(), 0, name + " validate")
                bitshield_allocations_start()
                _ = try Interpreter(image: raw, arena: arena.arena, kernels: .carrySave)
                XCTAssertEqual(bitshield_allocations_stop(), 0, name)
            }
        }
    }

    /// Issue 14 item 5: a failing validation allocates nothing either (the C firmware links with no heap).
    /// Each defect below used to build its error's text on the device (interpolated part names and rules:
    /// "tensor 0 rank", "weight tensor 999 does not exist (n tensors)"), which allocated; the errors now
    /// carry enums and integers, and the host formats them (ModelFormatError+Message.swift).
    func testFailingValidationAllocatesNothing() throws {
        var fcn = ModelConfig.fcn(hidden: [40, 20], precision: .binary, inputBits: 2)
        fcn.floatLastLayer = true
        let good = try ImageExport.image(of: try Network(config: fcn, seed: 2), denseLayout: .columns32)
        func u32(_ b: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
        func set32(_ b: inout [UInt8], _ at: Int, _ v: Int) { for i in 0..<4 { b[at + i] = UInt8((v >> (8 * i)) & 0xff) } }
        let ops = u32(good, 28), tensors = u32(good, 32)
        var cases: [(String, [UInt8], ModelFormatError)] = []
        var b = good; b[0] = 0x58
        cases.append(("magic", b, .badMagic(expected: .image)))
        cases.append(("truncated", Array(good.dropLast(64)), .truncated(what: .image, needs: good.count, has: good.count - 64)))
        b = good; b[40] = 1
        cases.append(("reserved", b, .nonZeroPadding(what: .headerReserved, offset: 40)))
        b = good; b[tensors + 2] = 5
        cases.append(("rank", b, .badField(what: .tensorRank(tensor: 0), value: 5, rule: .oneThrough(4))))
        b = good; set32(&b, tensors + 16, 1)
        cases.append(("unused dim", b, .nonZeroPadding(what: .tensorUnusedDim(tensor: 0, dim: 3), offset: tensors + 16)))
        b = good; set32(&b, tensors + 20, u32(good, tensors + 20) + 4)
        cases.append(("misaligned", b, .misaligned(what: .part(.tensor(0)), offset: u32(good, tensors + 20) + 4)))
        b = good; set32(&b, ops + 64 + 4 + 8, 999)
        cases.append(("missing tensor", b, .badTensorReference(op: 1, reason: .missingTensor(.weight, index: 999, tensors: u32(good, 26) & 0xFFFF))))
        b = good; set32(&b, ops + 64 + 4, 785)
        cases.append(("chain", b, .chainMismatch(op: 1, reason: .denseInputs(expects: 785, given: 784))))
        for (name, bytes, expected) in cases {
            var caught: ModelFormatError? = nil
            bytes.withUnsafeBytes { raw in
                bitshield_allocations_start()
                do throws(ModelFormatError) { _ = try ModelImage(bytes: raw) } catch { caught = error }
                XCTAssertEqual(bitshield_allocations_stop(), 0, name)
            }
            XCTAssertEqual(caught, expected, "\(name): \(caught?.message ?? "accepted")")
        }
    }

    /// Item 3 on the writer's side: a binary network whose first layer passes the accumulator bound
    /// (2,902 x 2,902 8-bit pixels: 8,421,604 x 255) is refused by the exporter with the numbers; its
    /// threshold folding would otherwise trap converting the range to i32.
    func testExporterRefusesLayersPastTheAccumulatorBound() throws {
        let config = ModelConfig.fcn(hidden: [1], input: FeatureMap(height: 2902, width: 2902, channels: 1), precision: .binary, inputBits: 8)
        let net = try Network(config: config, seed: 1)
        XCTAssertThrowsError(try ImageExport.image(of: net)) {
            XCTAssertEqual("\($0)", "invalid configuration: layer 1 has fan-in 8421604 x largest input 255, past the model format's accumulator bound 2147483647 (at most 8421504 inputs)")
        }
    }

    /// Finite values can fold into an infinite one (BatchNorm's gamma / sqrt(var + eps) with gamma 3e38 and
    /// var 1e-3; found by the BinaryNet fuzz target): the exporter refuses it naming the layer and channel,
    /// instead of writing an image its own reader refuses.
    func testExporterRefusesValuesThatOverflowInFolding() throws {
        let net = try Network(config: .fcn(hidden: [4], precision: .float, inputBits: 8), seed: 1)
        let bn = try XCTUnwrap(net.layers.compactMap { $0 as? BatchNorm }.first)
        bn.gamma.value[2] = 3e38
        bn.runningVar.value[2] = 1e-3
        XCTAssertThrowsError(try ImageExport.image(of: net)) {
            XCTAssertTrue("\($0)".contains("bn0 (layer 4) scale gamma / sqrt(var + eps) is inf at index 2"), "\($0)")
        }
    }

    /// Whole-file reads are bounded by the container's largest file (64 + 1 MiB + 64 MiB + 1 KiB): a
    /// 100 MB sparse file and /dev/zero are refused with the numbers by `infer` and `convert inspect`,
    /// before anything is allocated; a missing file names the system's reason.
    func testModelFilesAreReadWithinTheContainersBound() throws {
        let dir = temporaryDirectory()
        let big = dir + "/big.bsm"
        XCTAssertTrue(FileManager.default.createFile(atPath: big, contents: nil))
        XCTAssertEqual(truncate(big, 100 << 20), 0)
        let limit = ModelFile.maxFileBytes
        for (tool, args) in [("infer", [big]), ("convert", ["inspect", big])] {
            let r = try runTool(tool, args)
            XCTAssertEqual(r.status, 1, tool)
            XCTAssertTrue(r.stderr.contains("\(big): 104857600 bytes, above the \(limit) a model file (.bsm) may have"), r.stderr)
        }
        let zero = try runTool("infer", ["/dev/zero"])
        XCTAssertEqual(zero.status, 1)
        XCTAssertTrue(zero.stderr.contains("/dev/zero: more than \(limit) bytes"), zero.stderr)
        let missing = try runTool("convert", ["inspect", dir + "/none.bsm"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("No such file or directory"), missing.stderr)
    }

    /// The work count of FCN2 binary (784-600x4-10 on 2-bit codes), pinned: codes 784; dense 784 x 600,
    /// 3 x 600 x 600 and 600 x 10 multiply-adds; four thresholds of 600; affine and argmax 10 each:
    /// 784 + 470,400 + 1,080,000 + 6,000 + 2,400 + 20 = 1,559,604.
    func testOperationsOfFCN2() throws {
        let bytes = try ImageExport.image(of: try Network(config: .fcn2(precision: .binary, inputBits: 2), seed: 1))
        XCTAssertEqual(try bytes.withUnsafeBytes { try ModelImage(bytes: $0).operations }, 1_559_604)
    }

    /// Item 5: the plan's arithmetic is checked before planning. On 64-bit hosts every valid image fits
    /// (2^28 elements x 32 B x 4,096 images is 2^45 B); on a 32-bit target the same rule refuses a plan
    /// past Int32.max / 4 instead of overflowing.
    func testPlanArithmeticIsBounded() throws {
        XCTAssertTrue(Interpreter.planFits(largestValue: ImageLayout.maxElements, batch: 4096, limit: Int.max / 4))
        XCTAssertTrue(Interpreter.planFits(largestValue: 784, batch: 1, limit: Int(Int32.max) / 4))
        XCTAssertFalse(Interpreter.planFits(largestValue: 1 << 24, batch: 1, limit: Int(Int32.max) / 4))
        XCTAssertFalse(Interpreter.planFits(largestValue: 600, batch: 4096, limit: 600 * 32 * 4096), "the bound includes the 64-element margin")
        XCTAssertFalse(Interpreter.planFits(largestValue: Int.max / 16, batch: 1, limit: Int.max), "overflow is a refusal")
    }

    /// Item 5: a valid 1 KB `.bsm` (a float 1x1 conv to 65,535 channels over 64x64 pixels, then max-pool
    /// and argmax) needs 1.07 GB of arena for one image: `infer` refuses it under its default limit with both
    /// numbers, before allocating; a small model's throughput batch shrinks to fit `--max-arena-bytes`.
    func testInferArenaLimit() throws {
        let dir = temporaryDirectory()
        var b = ImageBuilder(inputHeight: 64, inputWidth: 64, inputChannels: 1, classes: 65_535)
        let weights = b.addF32([Float](repeating: 0, count: 65_535), dims: [65_535, 1, 1, 1])
        b.addOp(.inputCodes, [8])
        b.addOp(.conv2d, [64, 64, 1, 1, 65_535, weights, Int(InputKind.codes.rawValue), 8])
        b.addOp(.maxpool2d, [64, 64, 65_535, 64])
        b.addOp(.argmax, [65_535])
        let evil = b.build()
        let arena = try evil.withUnsafeBytes { Interpreter.arenaBytes(for: try ModelImage(bytes: $0), kernels: .simd) }
        XCTAssertGreaterThan(arena, 1 << 30)
        try writeModel(evil, to: dir + "/evil.bsm")
        XCTAssertLessThan(try Data(contentsOf: URL(fileURLWithPath: dir + "/evil.bsm")).count, 4096)
        try Data(IDXFile(dimensions: [1, 64, 64], bytes: [UInt8](repeating: 7, count: 64 * 64)).encoded()).write(to: URL(fileURLWithPath: dir + "/e-images"))
        try Data(IDXFile(dimensions: [1], bytes: [3]).encoded()).write(to: URL(fileURLWithPath: dir + "/e-labels"))
        let refused = try runTool("infer", [dir + "/evil.bsm", "--images", dir + "/e-images", "--labels", dir + "/e-labels", "--kernels", "simd"])
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the arena needs \(arena) bytes for one image with simd kernels, above --max-arena-bytes 1073741824"),
                      refused.stderr)

        // A small model: 2x3 pixels; its batch-1 arena is A, so with a limit of 5A the default batch becomes 4.
        let tiny = HostileImages.wideDense(h: 2, w: 3, delta: 2)
        let a = try tiny.withUnsafeBytes { raw in (1...8).map { Interpreter.arenaBytes(for: try! ModelImage(bytes: raw), batch: $0) } }
        try writeModel(tiny, to: dir + "/tiny.bsm")
        try Data(IDXFile(dimensions: [3, 2, 3], bytes: (0..<18).map { UInt8($0 * 13) }).encoded()).write(to: URL(fileURLWithPath: dir + "/t-images"))
        try Data(IDXFile(dimensions: [3], bytes: [0, 1, 0]).encoded()).write(to: URL(fileURLWithPath: dir + "/t-labels"))
        // One thread (the default is every core): the arenas below are one thread's.
        let args = [dir + "/tiny.bsm", "--images", dir + "/t-images", "--labels", dir + "/t-labels", "--json", "--threads", "1"]
        let shrunk = try runTool("infer", args + ["--max-arena-bytes", String(a[4])])
        XCTAssertEqual(shrunk.status, 0, shrunk.stderr)
        XCTAssertEqual(try lastJSONLine(shrunk.stdout)["batch"] as? Int, 4)
        let explicit = try runTool("infer", args + ["--max-arena-bytes", String(a[4]), "--batch", "8"])
        XCTAssertEqual(explicit.status, 1)
        XCTAssertTrue(explicit.stderr.contains("1 arena(s) for batches of 8 need \(a[7]) bytes, above --max-arena-bytes \(a[4])"), explicit.stderr)
        let none = try runTool("infer", args + ["--max-arena-bytes", String(a[0] - 1)])
        XCTAssertEqual(none.status, 1)
        // Threads multiply the throughput arenas: four at batch 1 do not fit three arenas' worth.
        let threads = try runTool("infer", args.dropLast(2) + ["--max-arena-bytes", String(3 * a[0]), "--threads", "4"])
        XCTAssertEqual(threads.status, 1)
        XCTAssertTrue(threads.stderr.contains("4 arena(s) for batches of 1 need \(4 * a[0]) bytes, above --max-arena-bytes \(3 * a[0])"), threads.stderr)
        // The work per image is bounded too (a 32 KB conv model took 7.4 s an image): 6 inputs x 2 rows
        // + 2 (input codes: 6) + 2 (affine) + 2 (argmax) = 6 + 12 + 2 + 2 = 22 operations.
        XCTAssertEqual(try tiny.withUnsafeBytes { try ModelImage(bytes: $0).operations }, 22)
        let work = try runTool("infer", args + ["--max-operations", "21"])
        XCTAssertEqual(work.status, 1)
        XCTAssertTrue(work.stderr.contains("one image needs 22 operations, above --max-operations 21"), work.stderr)
        XCTAssertEqual(try runTool("infer", args + ["--max-operations", "22"]).status, 0)
        XCTAssertEqual(try runTool("infer", args + ["--max-arena-bytes", "0"]).status, 64)
    }
}

/// A `.bsm` around `image` with the metadata every reader requires (spec/FORMAT.md, "Metadata"):
/// `format`, the image's digest, and `input_bits` from its input_codes op.
func writeModel(_ image: [UInt8], to path: String) throws {
    let delta = try image.withUnsafeBytes { try ModelImage(bytes: $0).opParameter(0, 0) }
    let metadata: [String: Any] = [
        "format": "bitshield.model", "image_sha256": SHA256.hex(SHA256.hash(image)), "input_bits": delta,
        "created_by": "BitShield tests (hand-built image)",
    ]
    let json = try JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys])
    try Data(ModelFile(metadata: [UInt8](json), image: image).encoded()).write(to: URL(fileURLWithPath: path))
}
