import Datasets
import Foundation
import ImageFixtures
import ModelFile
import ToolSupport
import XCTest
@testable import Trainer

/// The runtime on a simulated Cortex-M4 (QEMU netduinoplus2) and Cortex-M0 (QEMU microbit) through
/// `infer --device`: exact agreement with the host, and the deterministic figures pinned (flash, RAM,
/// retired instructions per inference under -icount). Skips when qemu-system-arm (or, for the
/// Cortex-M0, Zig) is absent, unless BITSHIELD_REQUIRE_DEVICE is set (`make test` sets it), which
/// turns that into a failure.
///
/// The pinned figures change with the kernels, the compiler or the firmware: when a change is
/// intended, run the test, read the new figures from the failure messages, and update the pins
/// (and docs/EMBEDDING.md).
final class DeviceTests: XCTestCase {
    /// qemu-system-arm on PATH, or skip (or fail when the device is required).
    func requireQEMU() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let found = path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/qemu-system-arm") }
        if found { return }
        if ProcessInfo.processInfo.environment["BITSHIELD_REQUIRE_DEVICE"] != nil {
            XCTFail("qemu-system-arm not found and BITSHIELD_REQUIRE_DEVICE is set: run `make device`")
        }
        throw XCTSkip("qemu-system-arm not found: run `make device` to install it (BITSHIELD_REQUIRE_DEVICE=1 makes this a failure)")
    }

    func run(_ tool: String, _ args: [String], environment: [String: String]? = nil) throws
        -> (status: Int32, stdout: String, stderr: String) {
        try runTool(tool, args, environment: environment)
    }

    func lastJSON(_ s: String) throws -> [String: Any] { try lastJSONLine(s) }

    /// The package root (the tests run there; infer finds the firmware from it).
    var root: String { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path }

    /// An IDX pair of `count` seeded random images of `h` x `w` pixels with labels below `classes`.
    func idxPair(in dir: String, count: Int, h: Int, w: Int, classes: Int, seed: UInt64) throws -> (String, String) {
        var r = SeededRandom(seed: seed)
        let pixels = (0..<(count * h * w)).map { _ in UInt8(r.next() % 256) }
        let labels = (0..<count).map { UInt8($0 % classes) }
        try Data(IDXFile(dimensions: [count, h, w], bytes: pixels).encoded()).write(to: URL(fileURLWithPath: dir + "/images"))
        try Data(IDXFile(dimensions: [count], bytes: labels).encoded()).write(to: URL(fileURLWithPath: dir + "/labels"))
        return (dir + "/images", dir + "/labels")
    }

    /// A .bsm of an untrained binary FCN with 2-bit input (784-hidden-10), converted by `convert` with
    /// its binary dense weights in `layout`.
    func fcnModel(in dir: String, hidden: [Int], seed: UInt64, precision: ModelConfig.Precision = .binary,
                  layout: String = "bits8") throws -> String {
        var m = ModelConfig.fcn2(precision: precision, inputBits: 2)
        m.hidden = hidden
        let net = try Network(config: m, seed: seed)
        try Checkpoint(network: net, optimizer: nil, training: TrainingConfig(learningRate: 0.01),
                       progress: TrainingProgress(epochsCompleted: 0, optimizerStep: 0, testAccuracy: 0, trainLoss: nil,
                                                  trainAccuracy: nil, seconds: 0)).write(to: dir + "/m.safetensors")
        let c = try run("convert", [dir + "/m.safetensors", "-o", dir + "/m.bsm", "--layout", layout])
        XCTAssertEqual(c.status, 0, c.stderr)
        return dir + "/m.bsm"
    }

    /// Runs `infer --device netduinoplus2 --json` and returns its JSON.
    func device(_ model: String, _ images: (String, String), board: String = "netduinoplus2") throws -> [String: Any] {
        let r = try run("infer", [model, "--device", board, "--images", images.0, "--labels", images.1, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        return try lastJSON(r.stdout)
    }

    func testGoldenFCNOnTheCortexM4AgreesAndIsDeterministic() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let images = try idxPair(in: dir, count: 20, h: 8, w: 8, classes: 3, seed: 11)
        let model = root + "/spec/golden/v1-fcn-binary.bsm"
        let a = try device(model, images), b = try device(model, images)
        XCTAssertEqual(a["host_agreement"] as? Double, 1.0, "every device prediction equals the host's")
        for key in ["ram_bytes", "flash_bytes", "instructions_per_inference", "instructions_total", "stack_high_water_bytes", "accuracy"] {
            XCTAssertEqual(a[key] as? NSNumber, b[key] as? NSNumber, "\(key) differs between two runs")
        }
        // The v1 golden file's figures: `convert inspect spec/golden/v1-fcn-binary.bsm --json` (image_bytes, arena_bytes_carry_save).
        XCTAssertEqual(a["image_bytes"] as? Int, 1536)
        XCTAssertEqual(a["arena_bytes"] as? Int, 48)
        XCTAssertEqual(a["instructions_per_inference"] as? Int, Pins.goldenInstructions, "pinned (see the class comment)")
        XCTAssertEqual(a["ram_bytes"] as? Int, Pins.goldenRAM, "pinned")
        try assertFlash(a, image: 1536, firmware: Pins.firmwareFlash)
    }

    /// The ternary golden model (spec/golden/v5-fcn-ternary.bsm, format version 5: each dense layer's two
    /// ±1 planes, in bits8, columns32 and bits) on both boards: the firmware runs its binary kernels on each
    /// plane and halves the sum (TernaryLayerStep), and every prediction equals the host's.
    func testGoldenTernaryFCNOnBothBoards() throws {
        try requireQEMU()
        try requireZig()
        let dir = temporaryDirectory()
        let images = try idxPair(in: dir, count: 20, h: 8, w: 8, classes: 3, seed: 11)
        for board in ["netduinoplus2", "microbit"] {
            let r = try device(root + "/spec/golden/v5-fcn-ternary.bsm", images, board: board)
            XCTAssertEqual(r["host_agreement"] as? Double, 1.0, "\(board): every device prediction equals the host's")
        }
    }

    /// The golden conv model (spec/golden/v3-conv-xnor.bsm: input codes, conv 2x2x4, pool 2, conv 2x2x5,
    /// pool 2, dense 5-6-3) on the 32-bit conv kernels (PlaneConv32, XorConv32): exact agreement with the
    /// host, instructions and RAM pinned (see `Pins.goldenConvInstructions`).
    func testGoldenConvOnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let images = try idxPair(in: dir, count: 20, h: 8, w: 8, classes: 3, seed: 11)
        let r = try device(root + "/spec/golden/v3-conv-xnor.bsm", images)
        XCTAssertEqual(r["host_agreement"] as? Double, 1.0, "every device prediction equals the host's")
        XCTAssertEqual(r["arena_bytes"] as? Int, 144, "128 B before the 32-bit conv kernels: conv 1's scratch adds its masks and patch planes")
        XCTAssertEqual(r["instructions_per_inference"] as? Int, Pins.goldenConvInstructions, "pinned")
        XCTAssertEqual(r["ram_bytes"] as? Int, Pins.goldenConvRAM, "pinned")
        try assertFlash(r, image: 2304, firmware: Pins.firmwareFlash)
    }

    /// FCN2 binary with 2-bit input (784-600x4-10, the default model of `make demo`): within the
    /// targets of issue #7 (RAM <= 8 KiB), with the figures pinned.
    func testFCN2OnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let model = try fcnModel(in: dir, hidden: [600, 600, 600, 600], seed: 1)
        let images = try idxPair(in: dir, count: 10, h: 28, w: 28, classes: 10, seed: 12)
        let r = try device(model, images)
        XCTAssertEqual(r["host_agreement"] as? Double, 1.0)
        XCTAssertEqual(r["arena_bytes"] as? Int, 1600, "400 B of activations and scratch (as on the host) + 1,200 B of first-layer row counts")
        let ram = try XCTUnwrap(r["ram_bytes"] as? Int)
        XCTAssertLessThanOrEqual(ram, 8192, "RAM \(ram) B exceeds 8 KiB")
        XCTAssertEqual(ram, Pins.fcn2RAM, "pinned")
        try assertFlash(r, image: r["image_bytes"] as? Int ?? 0, firmware: Pins.firmwareFlash)
        XCTAssertEqual(r["instructions_per_inference"] as? Int, Pins.fcn2Instructions, "pinned")
        XCTAssertLessThanOrEqual(r["instructions_per_inference"] as? Int ?? .max, Pins.fcn2InstructionBudget)
    }

    /// FCN2 with its dense weights in columns32 (`convert --layout columns32`: the column-sum kernels
    /// add only the inputs that count): issue #7's targets, RAM <= 8 KiB and <= 500,000 instructions
    /// per inference, on these random images (no blank borders: half the pixels set in each plane).
    func testFCN2ColumnsOnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let model = try fcnModel(in: dir, hidden: [600, 600, 600, 600], seed: 1, layout: "columns32")
        let images = try idxPair(in: dir, count: 10, h: 28, w: 28, classes: 10, seed: 12)
        let r = try device(model, images)
        XCTAssertEqual(r["host_agreement"] as? Double, 1.0)
        XCTAssertEqual(r["image_bytes"] as? Int, Pins.fcn2ColumnsImage)
        XCTAssertEqual(r["arena_bytes"] as? Int, 1776, "first layer: 1,568 B column list + its two counters of 16 planes (128 B) + 80 B of signs")
        let ram = try XCTUnwrap(r["ram_bytes"] as? Int)
        XCTAssertLessThanOrEqual(ram, 8192, "RAM \(ram) B exceeds 8 KiB")
        XCTAssertEqual(ram, Pins.fcn2ColumnsRAM, "pinned")
        try assertFlash(r, image: Pins.fcn2ColumnsImage, firmware: Pins.firmwareFlash)
        XCTAssertEqual(r["instructions_per_inference"] as? Int, Pins.fcn2ColumnsInstructions, "pinned")
        XCTAssertLessThanOrEqual(r["instructions_per_inference"] as? Int ?? .max, 500_000, "issue #7's target")
    }

    /// The same FCN2 in columns32s (`convert --target mcu`, format version 4: the hidden layers' signs read
    /// off the column counter started at the stored bounds, ColumnDense+Bounds.swift): agreement, and the
    /// image, RAM and instructions pinned.
    func testFCN2BoundsOnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let model = try fcnModel(in: dir, hidden: [600, 600, 600, 600], seed: 1, layout: "columns32s")
        let images = try idxPair(in: dir, count: 10, h: 28, w: 28, classes: 10, seed: 12)
        let r = try device(model, images)
        XCTAssertEqual(r["host_agreement"] as? Double, 1.0)
        XCTAssertEqual(r["image_bytes"] as? Int, Pins.fcn2BoundsImage, "columns32's 217,536 B + 3 layers x 19 groups x 88 B of bounds, 64-aligned")
        XCTAssertEqual(r["arena_bytes"] as? Int, 1776, "the first layer's, as in columns32 (a hidden layer's scratch is 12 counter words + 12 of K's planes + 1,200 B of u32 list)")
        XCTAssertEqual(r["ram_bytes"] as? Int, Pins.fcn2BoundsRAM, "pinned")
        try assertFlash(r, image: Pins.fcn2BoundsImage, firmware: Pins.firmwareFlash)
        XCTAssertEqual(r["instructions_per_inference"] as? Int, Pins.fcn2BoundsInstructions, "pinned")
        XCTAssertLessThan(r["instructions_per_inference"] as? Int ?? .max, Pins.fcn2ColumnsInstructions, "below columns32's")
    }

    /// Issue 14 item 5: the minimal runtime (`--device netduinoplus2 --minimal`, the netduinoplus2-minimal
    /// firmware: -D BITSHIELD_MINIMAL, -Osize, no error text) on the same columns32 FCN2: agreement, and its
    /// runtime code (ModelFormat and Inference .text + .rodata from the linker map, the C library's
    /// counting rule), RAM and init instructions pinned, only downward. A bits8 model is refused before
    /// QEMU runs, exit 1, naming the convert command.
    func testFCN2MinimalOnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let model = try fcnModel(in: dir, hidden: [600, 600, 600, 600], seed: 1, layout: "columns32")
        let images = try idxPair(in: dir, count: 10, h: 28, w: 28, classes: 10, seed: 12)
        let r = try run("infer", [model, "--device", "netduinoplus2", "--minimal", "--images", images.0, "--labels", images.1, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr + r.stdout)
        let j = try lastJSON(r.stdout)
        XCTAssertEqual(j["host_agreement"] as? Double, 1.0)
        XCTAssertEqual(j["minimal"] as? Bool, true)
        let code = try XCTUnwrap(j["code_bytes"] as? Int)
        XCTAssertLessThanOrEqual(code, 24576, "issue 14's goal for the minimal runtime's code")
        XCTAssertEqual(code, Pins.minimalCode, "pinned")
        XCTAssertEqual(j["ram_bytes"] as? Int, Pins.minimalFCN2RAM, "pinned")
        XCTAssertEqual(j["init_instructions"] as? Int, Pins.minimalFCN2Init, "pinned")
        XCTAssertLessThanOrEqual(j["init_instructions"] as? Int ?? .max, 1_700_000, "issue 14's goal for FCN2's start-up validation")
        let full = try device(model, images)
        XCTAssertEqual(full["code_bytes"] as? Int, Pins.fullCode, "the full firmware's runtime code, pinned")
        let bits8 = try fcnModel(in: dir, hidden: [16], seed: 2, layout: "bits8")
        let refused = try run("infer", [bits8, "--device", "netduinoplus2", "--minimal", "--images", images.0, "--labels", images.1])
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("op 1 is a dense layer on bits8 weights") && refused.stderr.contains("convert MODEL.safetensors --layout columns32"),
                      refused.stderr)
    }

    /// Zig (the Cortex-M0 firmware's compiler-rt: scripts/install-device.sh puts it in .venv-zig),
    /// or skip (or fail when the device is required).
    func requireZig() throws {
        let env = ProcessInfo.processInfo.environment
        if let zig = env["ZIG"], FileManager.default.isExecutableFile(atPath: zig) { return }
        if FileManager.default.isExecutableFile(atPath: root + "/.venv-zig/bin/python") { return }
        if env["BITSHIELD_REQUIRE_DEVICE"] != nil {
            XCTFail("Zig not found (.venv-zig or $ZIG) and BITSHIELD_REQUIRE_DEVICE is set: run `make device`")
        }
        throw XCTSkip("Zig not found (.venv-zig or $ZIG): run `make device` to install it (BITSHIELD_REQUIRE_DEVICE=1 makes this a failure)")
    }

    /// The golden FCN on the Cortex-M0 (QEMU microbit: no FPU, no divide; compiler-rt's soft float):
    /// exact agreement with the host and the same figures on a second run.
    func testGoldenFCNOnTheCortexM0AgreesAndIsDeterministic() throws {
        try requireQEMU()
        try requireZig()
        let dir = temporaryDirectory()
        let images = try idxPair(in: dir, count: 20, h: 8, w: 8, classes: 3, seed: 11)
        let model = root + "/spec/golden/v1-fcn-binary.bsm"
        let a = try device(model, images, board: "microbit"), b = try device(model, images, board: "microbit")
        XCTAssertEqual(a["host_agreement"] as? Double, 1.0, "every device prediction equals the host's")
        for key in ["ram_bytes", "flash_bytes", "instructions_per_inference", "instructions_total", "stack_high_water_bytes", "accuracy"] {
            XCTAssertEqual(a[key] as? NSNumber, b[key] as? NSNumber, "\(key) differs between two runs")
        }
        XCTAssertEqual(a["cpu"] as? String, "cortex-m0")
        XCTAssertEqual(a["instructions_per_inference"] as? Int, MicrobitPins.goldenInstructions, "pinned (see the class comment)")
        XCTAssertEqual(a["ram_bytes"] as? Int, MicrobitPins.goldenRAM, "pinned")
        try assertFlash(a, image: 1536, firmware: MicrobitPins.firmwareFlash)
    }

    /// A binary FCN 784-256-256-10 with 2-bit input (the size issue #7's second board takes: 38,912 B
    /// image) on the Cortex-M0: 256 KiB flash and 16 KiB RAM, with the figures pinned.
    func testFCN256x2OnTheCortexM0() throws {
        try requireQEMU()
        try requireZig()
        let dir = temporaryDirectory()
        let model = try fcnModel(in: dir, hidden: [256, 256], seed: 3)
        let images = try idxPair(in: dir, count: 10, h: 28, w: 28, classes: 10, seed: 15)
        let r = try device(model, images, board: "microbit")
        XCTAssertEqual(r["host_agreement"] as? Double, 1.0)
        XCTAssertEqual(r["image_bytes"] as? Int, 38912, "`convert inspect` of this model (784-256-256-10 bits8, seed 3): image_bytes")
        XCTAssertEqual(r["arena_bytes"] as? Int, 352 + 2 * 256, "the host's 352 B and the first layer's 256 row counts (u16)")
        let ram = try XCTUnwrap(r["ram_bytes"] as? Int), flash = try XCTUnwrap(r["flash_bytes"] as? Int)
        XCTAssertLessThanOrEqual(ram, 16384, "RAM \(ram) B exceeds the microbit's 16 KiB")
        XCTAssertLessThanOrEqual(flash, 262144, "flash \(flash) B exceeds the microbit's 256 KiB")
        XCTAssertEqual(ram, MicrobitPins.fcn256RAM, "pinned")
        try assertFlash(r, image: 38912, firmware: MicrobitPins.firmwareFlash)
        XCTAssertEqual(r["instructions_per_inference"] as? Int, MicrobitPins.fcn256Instructions, "pinned")
    }

    /// 784-256-256-10 in columns32 on the Cortex-M0 (the same network as above).
    func testFCN256x2ColumnsOnTheCortexM0() throws {
        try requireQEMU()
        try requireZig()
        let dir = temporaryDirectory()
        let model = try fcnModel(in: dir, hidden: [256, 256], seed: 3, layout: "columns32")
        let images = try idxPair(in: dir, count: 10, h: 28, w: 28, classes: 10, seed: 15)
        let r = try device(model, images, board: "microbit")
        XCTAssertEqual(r["host_agreement"] as? Double, 1.0)
        let ram = try XCTUnwrap(r["ram_bytes"] as? Int), flash = try XCTUnwrap(r["flash_bytes"] as? Int)
        XCTAssertLessThanOrEqual(ram, 16384, "RAM \(ram) B exceeds the microbit's 16 KiB")
        XCTAssertLessThanOrEqual(flash, 262144, "flash \(flash) B exceeds the microbit's 256 KiB")
        XCTAssertEqual(ram, MicrobitPins.fcn256ColumnsRAM, "pinned")
        XCTAssertEqual(r["instructions_per_inference"] as? Int, MicrobitPins.fcn256ColumnsInstructions, "pinned")
    }

    /// Issue 12, item 13: validating an image at the format's table caps (4,096 tensors, 1,024 ops) on the
    /// Cortex-M4, pinned. The all-pairs overlap check it replaces took about 19 s of QEMU time here.
    func testValidatingTheLargestTablesOnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        try writeModel(HostileImages.largestTables(), to: dir + "/tables.bsm")
        let images = try idxPair(in: dir, count: 2, h: 1, w: 1, classes: 2, seed: 21)
        let r = try device(dir + "/tables.bsm", images)
        XCTAssertEqual(r["host_agreement"] as? Double, 1)
        XCTAssertEqual(r["init_instructions"] as? Int, Pins.largestTablesInit, "pinned")
    }

    /// Issue 12, item 2: a bits8 first layer on 2-bit codes with 68,000 inputs (rows whose count of -1
    /// weights passes 65,535) predicted the wrong class on the device; it now agrees with the host.
    func testFirstLayerPast16BitsOnTheCortexM4() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        let (h, w, m) = HostileImages.wideRows
        try writeModel(HostileImages.wideFirstLayer(), to: dir + "/wide.bsm")
        let images = try idxPair(in: dir, count: 4, h: h, w: w, classes: m, seed: 22)
        let result = try device(dir + "/wide.bsm", images)
        XCTAssertEqual(result["host_agreement"] as? Double, 1, "device and host predict the same")
    }

    func testAModelLargerThanTheFlashIsAClearError() throws {
        try requireQEMU()
        let dir = temporaryDirectory()
        // Float 784-300-10: 4 * (784 * 300 + 300 * 10) = 952,800 B of weights, over the flash the firmware leaves.
        let model = try fcnModel(in: dir, hidden: [300], seed: 2, precision: .float)
        let images = try idxPair(in: dir, count: 1, h: 28, w: 28, classes: 10, seed: 13)
        let r = try run("infer", [model, "--device", "netduinoplus2", "--images", images.0, "--labels", images.1])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("does not fit the netduinoplus2's flash: 1048576 B minus the firmware's "), r.stderr)
    }

    /// Issue 13: `infer --device` runs only a firmware built from its own package's sources (the source
    /// hash of Firmware/sources.list) and never builds one. Host-only: a stand-in qemu-system-arm on PATH
    /// (exit 3) is reached only when every firmware check passes.
    func testAStaleFirmwareIsRefusedNamingMakeDevice() throws {
        let d = try StandInDevice(root: root, qemu: "exit 3")
        let wrong = String(repeating: "0", count: 64)
        try d.describe(sourceHash: wrong)
        for r in [try d.infer(["--firmware-dir", d.firmware]), try d.infer([], ["BITSHIELD_FIRMWARE_DIR": d.firmware])] {
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.contains("the netduinoplus2 firmware in \(d.board) was built from other sources: its firmware.txt records "
                                            + "source hash \(wrong), the sources of \(root) hash to \(d.treeHash)")
                          && r.stderr.contains("run `make device`"), r.stderr)
        }
        try d.describe(elf: wrong)
        var r = try d.infer(["--firmware-dir", d.firmware])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("firmware.elf has SHA-256 \(d.elfHash), its firmware.txt records \(wrong)"), r.stderr)
        try d.describe(without: "payload_capacity")
        r = try d.infer(["--firmware-dir", d.firmware])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("firmware.txt: key 'payload_capacity' is missing: run `make device`"), r.stderr)
        r = try d.infer(["--firmware-dir", d.dir + "/nothing"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("no netduinoplus2 firmware in \(d.dir)/nothing/netduinoplus2") && r.stderr.contains("make device"), r.stderr)
        // Matching hashes pass every check (infer's hash equals the script's) and reach the stand-in QEMU.
        try d.describe()
        r = try d.infer(["--firmware-dir", d.firmware])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("the netduinoplus2 firmware failed on images 0..<1 (qemu exit 3"), r.stderr)
    }

    /// What a run prints is bounded and checked: figures outside 0...2^48 (two runs of 2^62 overflowed
    /// the sum, a trap) and a flood of output are clear errors. Host-only, with a stand-in QEMU.
    func testAFirmwareThatPrintsNonsenseIsAClearError() throws {
        let run = "printf 'bitshield-firmware 1\\nmodel arena_bytes=48 init_instructions=5\\np 0 0\\n"
            + "instructions total=4611686018427387904 min=1 max=1\\nmemory data=1 bss=1 stack_high_water=1 heap=0 flash_firmware=1\\ndone\\n'"
        var d = try StandInDevice(root: root, qemu: run, images: 2)
        // Room for the 1,536-byte golden image at 64 and one 64-byte image after it: two runs.
        try d.describe(capacity: 1600 + 64)
        var r = try d.infer(["--firmware-dir", d.firmware])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("the netduinoplus2 firmware failed on images 0..<1 (qemu exit 0, 1 of 1 predictions): a figure "
                                        + "outside 0...281474976710656 in 'instructions total=4611686018427387904 min=1 max=1'"), r.stderr)
        d = try StandInDevice(root: root, qemu: "/usr/bin/head -c 1000000 /dev/zero", images: 1)
        try d.describe()
        r = try d.infer(["--firmware-dir", d.firmware])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("QEMU printed more than 65544 bytes to stdout and was stopped"), r.stderr)
    }

    func testWithoutQEMUTheErrorSaysMakeDevice() throws {
        let dir = temporaryDirectory()
        let images = try idxPair(in: dir, count: 1, h: 8, w: 8, classes: 3, seed: 14)
        let r = try run("infer", [root + "/spec/golden/v1-fcn-binary.bsm", "--device", "netduinoplus2", "--images", images.0,
                                  "--labels", images.1], environment: ["PATH": dir])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("qemu-system-arm not found") && r.stderr.contains("make device"), r.stderr)
    }
}

/// Flash = firmware + model image exactly, and the firmware's size near its pin. The firmware is not
/// pinned to the byte: the same sources built twice have given firmwares 32 B apart (one function of
/// ModelFormat compiled differently by swiftc; 1 build in 4 on the M4), so the pin allows 64 B. The
/// instruction counts and RAM do not move with it and are pinned exactly.
func assertFlash(_ r: [String: Any], image: Int, firmware pinned: Int, file: StaticString = #filePath, line: UInt = #line) throws {
    let flash = try XCTUnwrap(r["flash_bytes"] as? Int), firmware = try XCTUnwrap(r["firmware_flash_bytes"] as? Int)
    XCTAssertEqual(flash, firmware + image, "flash = firmware + image", file: file, line: line)
    XCTAssertLessThanOrEqual(abs(firmware - pinned), 64, "firmware \(firmware) B, pinned \(pinned) B", file: file, line: line)
}

/// The pinned device figures (netduinoplus2, firmware built with -O by scripts/build-firmware.sh).
/// Each is measured, not derived: `infer MODEL --device netduinoplus2 --json` on the model and images the
/// test builds (keys firmware_flash_bytes, ram_bytes, instructions_per_inference, init_instructions);
/// `swift test --filter DeviceTests` after `make device` prints the new value of a pin that moved.
/// Issue 12 (hostile inputs) moved them: validation allocates nothing now (no array literals, no
/// names formed unless an error is thrown), so the heap and RAM fell by 84-340 B; the firmware grew
/// by 2.1 KB (the ordered-parts, accumulator-bound, code-bits and finite-f32 checks and their
/// messages); walk's row-count rule added 1 instruction per FCN2 inference (16 in columns32). The one
/// threshold-sign rule (Kernels/ThresholdSign.swift) moved the v1 golden model's row sink: -48
/// instructions on the M4, +25 on the M0. Counting the work of an inference at validation
/// (ModelImage.operations, which infer bounds) added 480 B of firmware and 40 B of stack; the arena
/// plan in its own type (ArenaPlan.swift, one call to its init) 1 instruction per run on the M4.
/// Issue 13: the payload header read by the host encoder's own code (Sources/DevicePayload, its checks
/// in 64-bit arithmetic and its typed errors with messages, built -Osize) added 1,248 B of firmware
/// (129,352 before) and took 2 instructions off Interpreter.init's count (register allocation around
/// the call); the per-inference counts and RAM are unchanged.
/// Issue 13's steps (Sources/Inference/Steps/, Kernel.choose, the kernel entry points kept out of line
/// as before) lowered every count (M4: golden 12,307 -> 12,117, FCN2 601,284 -> 601,154, columns32
/// 377,540 -> 377,349, largest tables' init 3,914,419 -> 3,908,079; M0: golden 22,200 -> 21,409,
/// FCN256 330,574 -> 329,955, columns32 177,316 -> 176,585) with RAM unchanged, and grew the firmware
/// by 1,104 B (M4) and 1,136 B (M0): the step functions and the kernel choice. Reproduce with
/// `BITSHIELD_REQUIRE_DEVICE=1 swift test --disable-swift-testing --filter DeviceTests`.
/// Both together (the merge): firmware 131,736 B (M4) and 133,680 B (M0), largest tables' init 3,908,077.
/// Issue 14, item 6 (the column kernels, Kernels/ColumnDense.swift): 2-bit first layers by levels, one
/// straight-line sink for every column kernel (the closure-built `emit` and its wide copy gone), blocks
/// of 32 and tails of 8 and 4 columns, counters cleared by inline stores, a binary layer's list of n / 2
/// columns after its counter: firmware 131,736 -> 128,872 B
/// (M4) and 133,680 -> 133,344 B (M0, built with COMPACT_COLUMN_SUMS: no 32-column blocks); the
/// golden and bits8 counts unchanged.
/// Issue 14, item 5 (the reader's errors as enums with integer payloads, their text in
/// ModelFormatError+Message.swift, which this test firmware compiles with -D BITSHIELD_HOST_MESSAGES to
/// keep printing it): validation code -8.1 KB, the message functions +8.3 KB, firmware 128,872 ->
/// 129,048 B (+176 B: the C library's device builds carry no text at all, the minimal C example's
/// library code 56,635 -> 27,876 B); RAM -16 B (init's frames); the largest tables' init 3,908,077 ->
/// 3,761,612 (no names formed); per-inference counts unchanged.
/// Issue 14 item 6, third round (format version 4, `columns32s`; the first layer's level-3 counter added
/// into the other, one transposition): FCN2 in columns32 310,130 -> 306,909 and in columns32s 286,293 (new);
/// the largest tables' init 3,646,590 -> 3,519,684 (isBits as one range compare). Up, kept honest rather
/// than hidden: firmware 134,680 -> 139,272 B (the bounds kernel 1,776 B, the reader's bounds check about
/// 1.6 KB and its messages, addSixTimes); the row-kernel counts a few instructions a layer (golden 12,112 ->
/// 12,158, bits8 FCN2 601,147 -> 601,196, golden conv 49,087 -> 49,124: Kernel.choose and the steps' switches
/// gained a case, no row kernel changed) and init's stack 8 B (golden conv RAM 1,952 -> 1,960, columns32
/// FCN2 3,584 -> 3,592: validateTables returns the columns32s count).
enum Pins {
    /// Issue 14 item 7's conv kernels: 128,872 -> 133,192 B (PlaneConv32 and XorConv32 with their
    /// straight-line shapes, FusedConvKernel left out of 32-bit builds), and every dense count a little lower:
    /// golden 12,117 -> 12,093, FCN2 601,154 -> 601,117, columns32 320,034 -> 319,987, init 3,908,077 -> 3,908,075.
    /// With item 5's string-free errors merged as well (see above): 133,320 B.
    /// Issue 14 item 5, the reader's cost on the device (ModelImage.opView's frame 624 -> 192 B: records read
    /// field by field and shapes passed as integers; columns32 row counts in one pass, ColumnCounts):
    /// firmware 133,320 -> 132,584 B and every RAM figure 488 B lower (init's stack high-water), instructions
    /// per inference unchanged; the largest tables' init 3,761,610 -> 3,160,204. Then the minimal build's
    /// refusal (ModelFormatError.notBuilt and its host message, which this firmware formats): 132,584 -> 133,048 B.
    /// Then validation's u32 fields converted by Int(clamping:) (a value past Int32.max trapped on the device
    /// instead of being refused): 133,048 -> 133,608 B, the largest tables' init 3,160,204 -> 3,646,588.
    /// Issue 14 item 6, second round (the column sinks: a binary layer's sink once per side with its
    /// factors constant, a whole lane group's flips gathered as one word): +1,088 B on main's 133,320.
    /// Both rounds merged (and the host's first conv on PlaneConv32, which changes no 32-bit code):
    /// 134,680 B, as firmware.txt's firmware_flash_bytes says.
    /// Issue 14 item 6, fourth round: 139,272 -> 141,064 B (+1,792), up, kept honest: the binary layers'
    /// column sums over u32 lists (a second copy of `accumulate`, +1,984 B), `signPlane` for the
    /// columns32s kernel, the first layer's one-pass lists (-64 B), the flip word by delta swaps (-112 B)
    /// and the affine's int-to-float (the 64-bit software conversion no longer linked).
    /// Format version 5 (ternary dense, issue 16): 141_064 -> 144_248. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let firmwareFlash = 144_248
    /// 12,093 -> 12,112 (+19) (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// 12,158 -> 10,795 (item 6, fourth round: the affine's Float(Int32) called __aeabi_l2f, about 600
    /// instructions an output; Float(Int) is one vcvt).
    /// Format version 5 (ternary dense, issue 16): 10795 -> 11155. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let goldenInstructions = 11155
    /// Format version 5 (ternary dense, issue 16): 1856 -> 1952. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let goldenRAM = 1952
    /// Format version 5 (ternary dense, issue 16): 3432 -> 3528. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn2RAM = 3528
    /// 601,117 -> 601,147 (+30) (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// 601,196 -> 595,134 (item 6, fourth round: the affine's int-to-float, 10 outputs).
    /// Format version 5 (ternary dense, issue 16): 595_134 -> 595_736. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn2Instructions = 595_736
    /// Issue #7 targets 500,000: the SIMD8 kernels took 1,858,628, the carry-save row kernels 1,558,728,
    /// the bits8 blocked kernels (scalarized SIMD8 on armv7em) 1,443,587, the first 32-bit carry-save
    /// bits8 kernels 985,754; the weighted first-layer pass with persistent row counts and unrolled
    /// hidden rows took 616,647 on these random images (no blank borders to skip; about 561,000 on
    /// MNIST); the threshold sinks by blocks of eight rows and the loop-free first-layer runs 609,148,
    /// and both input planes from one load of four pixels 601,347 (about 538,700 on MNIST): not
    /// the target, which the columns32 layout below reaches.
    static let fcn2InstructionBudget = 602_000
    /// The same network in columns32: the column-sum kernels (Kernels/ColumnDense.swift). Issue 14,
    /// item 6: 377,349 -> 320,034 instructions (MNIST, 1,000 test images: 282,450 -> 246,480) and RAM
    /// 5,176 -> 4,088 B (the first layer's arena 2,864 -> 1,776 B: two counters, not one per lane group).
    /// Item 6, second round (sink rows of about 9.5 instructions instead of 14.5; docs/EMBEDDING.md):
    /// 319,987 -> 310,104 (MNIST, 1,000 test images: 246,433 -> 236,742), RAM unchanged.
    static let fcn2ColumnsImage = 217_536
    /// FCN2 in columns32s (`convert --target mcu`, format version 4; ColumnDense+Bounds.swift).
    static let fcn2BoundsImage = 222_528
    /// 3,624 B: the columns32 FCN2's 3,592 + 32 B of init's stack (the bounds check's frame).
    /// Format version 5 (ternary dense, issue 16): 3624 -> 3680. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn2BoundsRAM = 3680
    /// On these random images (about half of each layer's inputs set, so both sides run): 286,293, against
    /// 306,909 in columns32; MNIST, first 1,000 test images: 212,690 against 233,379 (docs/EMBEDDING.md).
    /// Item 6, fourth round: 286,293 -> 273,324 (MNIST, first 1,000: 212,690 -> 195,843; docs/EMBEDDING.md):
    /// u32 column lists (-7,200 on MNIST), the sign after the sums (-950), the affine's int-to-float
    /// (-6,150), the first layer's one-pass lists (-1,940 on MNIST; +1,625 on these random images, half
    /// of whose pixels are at levels 1 and 2 and go through the split), the flip word by delta swaps (-577).
    /// Format version 5 (ternary dense, issue 16): 273_324 -> 273_924. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn2BoundsInstructions = 273_924
    /// Format version 5 (ternary dense, issue 16): 3592 -> 3680. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn2ColumnsRAM = 3680
    /// 310,104 -> 310,130 (+26) (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// 306,909 -> 295,549 (item 6, fourth round: u32 lists, the affine, the one-pass lists, the flip word, as above).
    /// Format version 5 (ternary dense, issue 16): 295_549 -> 296_149. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn2ColumnsInstructions = 296_149
    /// Interpreter.init on HostileImages.largestTables (4,096 tensors, 1,024 ops): validation and plan
    /// (`infer tables.bsm --device netduinoplus2 --json`, key init_instructions): about 920
    /// instructions a tensor for the two ordered passes and the tensor records, 3.8 M in all, linear.
    /// 3,646,588 -> 3,646,590 (+2) (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// Format version 5 (ternary dense, issue 16): 3_519_684 -> 3_560_683. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let largestTablesInit = 3_560_683
    /// The golden conv model on the 32-bit conv kernels (issue 14, item 7; PlaneConv32, XorConv32):
    /// 64,601 instructions with the row kernels (FusedConvKernel: main's firmware.elf run by a qemu wrapper
    /// that swaps -kernel, as scripts/device-profile.py --kernel does) -> 49,042; RAM 2,440 -> 2,456 B (arena 128 -> 144 B).
    /// Item 6's second round: 49,042 -> 49,068, the one count that went up (+26, kept honest rather
    /// than hidden): the model's two dense layers (6 and 3 rows) are a partial lane group each, so they
    /// take none of the whole-group path's saving and pay for the per-side sinks' setup in `bits`.
    /// 49,068 -> 49,087 (+19) (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// 49,124 -> 47,758 (item 6, fourth round: the affine's int-to-float, u32 lists in its dense layers).
    /// Format version 5 (ternary dense, issue 16): 47_758 -> 48_221. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let goldenConvInstructions = 48_221
    /// With item 5's string-free errors: RAM 2,440 B (init's frames, -16 B).
    /// Format version 5 (ternary dense, issue 16): 1960 -> 2048. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let goldenConvRAM = 2048
    /// Issue 14 item 5, the minimal firmware (netduinoplus2-minimal, -Osize) on the columns32 FCN2 above:
    /// runtime code 22,292 B (the C library's minimal build, with its C API layer, is 24,402 B in
    /// examples/c-firmware); RAM = .data + .bss + arena 1,776 + init's stack; init (validation and plan).
    /// With item 6's second round merged (the minimal build's column sink takes no flip word): 22,292 -> 21,848 B.
    /// Item 6's third round: 21,848 -> 21,898 B, up, kept honest: the first layer's addSixTimes (+36 B; it
    /// runs here too, one transposition a group instead of two), the reader's refusal of columns32s (type 7,
    /// as `notBuilt`, before its size rule: +34 B), the other reader changes -20 B. Init 1,120,743 -> 1,120,615.
    /// Item 6, fourth round: 21,898 -> 21,852 B (the first layer's lists in one pass; the minimal build
    /// keeps u16 lists and one `accumulate`), init 1,120,615 -> 1,120,583 (code placement).
    /// Format version 5 (ternary dense, issue 16): 21852 -> 23116. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let minimalCode = 23116
    /// Format version 5 (ternary dense, issue 16): 3720 -> 3712. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let minimalFCN2RAM = 3712
    /// Format version 5 (ternary dense, issue 16): 1_120_583 -> 1_121_101. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let minimalFCN2Init = 1_121_101
    /// The full firmware's runtime code by the same rule (ModelFormat and Inference .text + .rodata):
    /// 90,704 B, then 91,780 with item 6's second round (a binary layer's column sink once per side, +1,076 B).
    /// 91,780 -> 91,782 B (+2) (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// 91,782 -> 95,810 B with item 6's third round (see above).
    /// 95,810 -> 97,946 B with item 6's fourth round (the u32 lists' `accumulate`, +1,984 B; see firmwareFlash).
    /// 97,946 -> 97,958 B (+12): `FloatDenseKernel.reference` sums in the spec's order (eight strided partial
    /// sums, then the tail) so it agrees with `simd` bit for bit; it is built with `@_optimize(size)` (at -O
    /// its eight lanes unrolled to +400 B). No instruction count changed (no pinned model runs it).
    /// Format version 5 (ternary dense, issue 16): 97958 -> 100562. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    /// 100562 -> 100558 (-4): the host's one-pass ternary kernels (BlockedDense+Ternary.swift) are 64-bit only, but
    /// LayerStep's 32-bit branch now names the plane it splits (`split`) and its pass count; a code-placement
    /// change (firmware flash, every instruction count and RAM figure unchanged).
    static let fullCode = 100558
}

/// The pinned Cortex-M0 figures (microbit, firmware built with -O by scripts/build-firmware.sh, with
/// compiler-rt from ziglang 0.17.1; instructions under -icount shift=7, resolved to one). Measured as
/// `Pins` are, with `--device microbit`.
/// Issue 13 (the shared payload reader, Sources/DevicePayload): firmware +1,584 B (130,960 before),
/// RAM -16 B (bitshieldMain's frame), and the golden mean 22,200 -> 22,201, which is the counter's grain,
/// not more work: TIMER0 ticks every 2.048 instructions of QEMU's virtual clock, and the calibration
/// of the counter's own cost (two back-to-back reads, subtracted from every image) now falls one tick
/// lower (17 -> 16 ticks, after different code before the loop), so every image reads 0.49
/// instructions more. Same golden image and 20 images through QEMU directly: total 934,015 -> 934,032
/// ticks, min 42,551 both; the 18 instructions between the two counter reads are unchanged
/// (disassembly compared). The 784-256-256-10 counts are unchanged.
/// Issue 14 item 6, third round: the M0 runs columns32s models on the columns32 kernel (COMPACT_COLUMN_SUMS
/// leaves the bounds kernel out) and grows by the reader's bounds check and addSixTimes: firmware 137,296 ->
/// 140,288 B; columns32 FCN256 161,546 -> 159,492 (one transposition in its first layer); up a little: golden
/// 21,395 -> 21,444, FCN256 329,945 -> 329,986 (the steps' switches), RAM +8 B (init's stack; 3,788 -> 3,804).
enum MicrobitPins {
    /// Issue 14 item 7's conv kernels: firmware 133,344 -> 136,624 B; golden 21,409 -> 21,395, FCN256
    /// 329,955 -> 329,945, columns32 163,894 -> 163,882.
    /// Issue 14 item 5 (the reader's errors as enums with integer payloads, merged after item 7):
    /// firmware 136,624 -> 136,304 B, and RAM +16 B on every M0 figure (2,640 -> 2,656, 3,456 -> 3,472,
    /// 4,320 -> 4,336) while the M4's went 16 B down: the stack high-water of init, whose typed error is
    /// passed back through every frame; the one pin that went up this round, kept honest rather than hidden.
    /// Issue 14 item 5, the reader's cost (see Pins): firmware 136,304 -> 135,936 B, RAM 2,656 -> 2,040,
    /// 3,472 -> 2,932 and 4,336 -> 3,804 B (init's stack high-water), instructions unchanged; with the
    /// minimal build's refusal case (as on the M4): 135,936 -> 136,368 B; with Int(clamping:) in validation 137,200 B.
    /// Issue 14 item 6, second round: +112 B (the sinks' flip word out of line, one copy: the M0 has no
    /// unaligned loads; COMPACT_COLUMN_SUMS keeps one binary sink for both sides). Both merged: 137,296 B.
    /// Item 6, fourth round: 140,288 -> 140,144 B (the M0 keeps u16 lists and one `accumulate`; the
    /// first layer's lists in one pass, and no 64-bit int-to-float in the affine; the flip word +32 B).
    /// Format version 5 (ternary dense, issue 16): 140_144 -> 143_392. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let firmwareFlash = 143_392
    /// 21,444 -> 19,022 (item 6, fourth round: the affine's Float(Int32) called the 64-bit conversion).
    /// Format version 5 (ternary dense, issue 16): 19022 -> 19545. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let goldenInstructions = 19545
    /// Format version 5 (ternary dense, issue 16): 2048 -> 2136. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let goldenRAM = 2136
    /// Format version 5 (ternary dense, issue 16): 2940 -> 3028. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn256RAM = 3028
    /// 496,497 with the first carry-save kernels; the weighted first-layer pass and unrolled rows took
    /// 347,594; the threshold sinks by blocks of eight rows and loop-free first-layer runs 340,518; both
    /// input planes from one load of four pixels 330,618 (330,574 after issue 12's reader changes;
    /// 329,955 with issue 13's steps).
    /// 329,986 -> 318,629 (item 6, fourth round: the affine's int-to-float).
    /// Format version 5 (ternary dense, issue 16): 318_629 -> 319_156. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn256Instructions = 319_156
    /// The same network in columns32. Issue 14, item 6 (the column kernels by levels, straight-line
    /// sinks, tails of 8 and 4; no 32-column blocks on the M0): 176,585 -> 163,894, RAM 4,704 -> 4,320 B.
    /// Item 6, second round (the column sinks' flips a word per lane group): 163,882 -> 161,546; merged with
    /// item 5's reader (init's stack, RAM 3,804 -> 3,788 B) it measures 161,549 (+3: the sinks' code placement).
    /// Format version 5 (ternary dense, issue 16): 3804 -> 3892. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn256ColumnsRAM = 3892
    /// 161,549 -> 161,546 (issue 15: FusedConvKernel deleted with its enum case and carry-save branch in Kernel.choose; the cases'
    /// numbers and the switches on them compile differently, a code-placement change, no kernel touched).
    /// 159,492 -> 152,502 (item 6, fourth round: the affine's int-to-float -10,107; the first layer's
    /// one-pass lists +2,973 on these random images, half of whose pixels are at levels 1 and 2; the flip
    /// word by delta swaps +144, kept honest: the M0 has no shifted operands, so its swaps cost more than
    /// its multiplies did, about 18 instructions a lane group).
    /// Format version 5 (ternary dense, issue 16): 152_502 -> 153_027. The walk's binary layer step looks up a lower plane and runs
    /// the (inlined) dispatcher in a loop over one or two planes (about 100 instructions a layer more, binary or not, and 56 to 96 B more stack high-water);
    /// the reader checks parameter 6; TernaryLayerStep.combine (264 B) and the new error texts.
    static let fcn256ColumnsInstructions = 153_027
}
