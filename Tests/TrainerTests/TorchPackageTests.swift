import Foundation
import ModelFile
import ToolSupport
import XCTest
@testable import Trainer

/// Issue 17: per-image outputs of the tools, the PyTorch package (python/bitshield_torch) against them,
/// and the import options convert refuses for checkpoints that have no normalization.
final class TorchPackageTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The interpreter with PyTorch (`make torch`, or `$BITSHIELD_TORCH_PYTHON`); skips without it, and in the
    /// fast tier (`make check` leaves PyTorch out; `make test` runs these).
    func torchPython() throws -> String {
        try requireSlowTier("PyTorch package routes")
        let python = ProcessInfo.processInfo.environment["BITSHIELD_TORCH_PYTHON"] ?? Self.repo + "/.venv-torch/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no PyTorch interpreter at \(python) (run 'make torch')") }
        return python
    }

    /// `train eval --scores` and `infer --scores` on the same binary model and images write the same lines
    /// (the trainer's float evaluation and the runtime's integer thresholds agree score by score), one line
    /// per image with one value per class that reads back as a Float; the predictions files agree too.
    func testScoresAndPredictionsFilesOfTrainerAndRuntimeAgree() throws {
        let data = try CLIFixtures.mnistCache()
        let ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1))
        let dir = temporaryDirectory()
        try expectTool("convert", [ck, "-o", dir + "/m.bsm"], status: 0)
        try expectTool("infer", [dir + "/m.bsm", "--data-dir", data, "--scores", dir + "/i.scores", "--predictions", dir + "/i.pred"], status: 0)
        try expectTool("train", ["eval", ck, "--data-dir", data, "--scores", dir + "/t.scores", "--predictions", dir + "/t.pred"], status: 0)
        let inferScores = try String(contentsOfFile: dir + "/i.scores", encoding: .utf8)
        XCTAssertEqual(inferScores, try String(contentsOfFile: dir + "/t.scores", encoding: .utf8))
        XCTAssertEqual(try String(contentsOfFile: dir + "/i.pred", encoding: .utf8), try String(contentsOfFile: dir + "/t.pred", encoding: .utf8))
        let lines = inferScores.split(separator: "\n")
        XCTAssertEqual(lines.count, 24)
        for line in lines {
            let values = line.split(separator: " ").compactMap { Float(String($0)) }
            XCTAssertEqual(values.count, 10, "\(line)")
        }
        // The same file for the same output, and --device, are usage errors.
        try expectTool("infer", [dir + "/m.bsm", "--data-dir", data, "--scores", dir + "/x", "--predictions", dir + "/x"], status: 64, mentioning: ["--scores"])
    }

    /// `--input-mean`/`--input-std` describe a BinaryNet import's normalization: for a BitShield checkpoint
    /// (no normalization) they are refused with exit 64 instead of silently ignored, and for an import the
    /// values are recorded in the .bsm metadata as given.
    func testInputNormalizationIsRefusedForCheckpointsAndRecordedForImports() throws {
        let ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1))
        let dir = temporaryDirectory()
        for option in ["--input-mean", "--input-std"] {
            try expectTool("convert", [ck, "-o", dir + "/m.bsm", option, "0.2"], status: 64, mentioning: ["--input-mean", "BitShield checkpoint"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.bsm"))
        // A BinaryNet.pytorch MLP: 784-8-10 with biases and BatchNorm after fc1.
        var r = SeededRandom(seed: 9)
        func t(_ name: String, _ shape: [Int], _ f: () -> Float) -> NamedArray {
            NamedArray(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { _ in f() })
        }
        let file = SafeTensorsFile(metadata: [:], tensors: [
            t("fc1.weight", [8, 784]) { r.uniform(-1, 1) }, t("fc1.bias", [8]) { r.uniform(-1, 1) },
            t("bn1.weight", [8]) { r.uniform(0.5, 1) }, t("bn1.bias", [8]) { r.uniform(-1, 1) },
            t("bn1.running_mean", [8]) { r.uniform(-1, 1) }, t("bn1.running_var", [8]) { r.uniform(0.5, 2) },
            t("fc2.weight", [10, 8]) { r.uniform(-1, 1) }, t("fc2.bias", [10]) { r.uniform(-1, 1) },
        ])
        let sd = dir + "/binarynet.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: sd, contents: Data(file.encoded())))
        try expectTool("convert", [sd, "-o", dir + "/b.bsm", "--input-mean", "0.2", "--input-std", "0.3"], status: 0)
        let meta = try XCTUnwrap(try lastJSONLine(try expectTool("convert", ["inspect", dir + "/b.bsm", "--json"], status: 0).stdout)["metadata"] as? [String: Any])
        XCTAssertEqual(meta["input_mean"] as? Double, 0.2)
        XCTAssertEqual(meta["input_std"] as? Double, 0.3)
        try expectTool("convert", [sd, "-o", dir + "/d.bsm"], status: 0)
        let defaults = try XCTUnwrap(try lastJSONLine(try expectTool("convert", ["inspect", dir + "/d.bsm", "--json"], status: 0).stdout)["metadata"] as? [String: Any])
        XCTAssertEqual(defaults["input_mean"] as? Double, 0.1307)
        XCTAssertEqual(defaults["input_std"] as? Double, 0.3081)
        // The keys are typed: a string where the number belongs is refused, naming the key.
        let model = try ModelFile.parse(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/b.bsm"))))
        for (key, bad) in [("input_mean", "\"0.2\""), ("input_std", "[0.3]")] {
            let text = "{\"format\":\"bitshield.model\",\"\(key)\":\(bad)}"
            let bytes = ModelFile(metadata: Array(text.utf8), image: model.image).encoded()
            XCTAssertThrowsError(try ModelFile.parse(bytes), key) { XCTAssertTrue("\($0)".contains(key), "\($0)") }
        }
    }

    /// Runs scripts/torch_routes.py with `arguments` and returns its JSON report (the last line of stdout).
    func routes(_ arguments: [String], line: UInt = #line) throws -> [String: Any] {
        let python = try torchPython()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [Self.repo + "/scripts/torch_routes.py", "--bin", Bundle.main.bundleURL.path] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stdout = String(decoding: o, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, stdout + String(decoding: e, as: UTF8.self), line: line)
        return try lastJSONLine(stdout)
    }

    /// Every side of every route agrees with `infer` on every image, class and score bit for bit, and FGSM in
    /// PyTorch on the loaded checkpoint stores (nearly) the images `train attack` stores.
    func checkRoutes(_ report: [String: Any], names: [String], images: Int, fgsmIdentical: Int, line: UInt = #line) throws {
        let routes = try XCTUnwrap(report["routes"] as? [[String: Any]], line: line)
        XCTAssertEqual(routes.map { $0["route"] as? String }, names, line: line)
        for route in routes {
            let name = route["route"] as? String ?? "?"
            XCTAssertEqual(route["images"] as? Int, images, line: line)
            let sides = try XCTUnwrap(route["sides"] as? [[String: Any]], line: line)
            XCTAssertEqual(sides.count, name.hasPrefix("torch") ? 4 : 3, line: line)
            for side in sides {
                XCTAssertEqual(side["mismatches"] as? Int, 0, "\(name) \(side["side"]!): classes", line: line)
                XCTAssertEqual(side["score_mismatches"] as? Int, 0, "\(name) \(side["side"]!): scores", line: line)
            }
            let fgsm = try XCTUnwrap(route["fgsm"] as? [[String: Any]], line: line)
            let torchOnCheckpoint = try XCTUnwrap(fgsm.first { $0["side"] as? String == "torch on checkpoint" }, line: line)
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(torchOnCheckpoint["identical_to_ours"] as? Int), fgsmIdentical, "\(name): \(fgsm)", line: line)
        }
    }

    /// The routes of scripts/torch_routes.py on a synthetic 8x8 data set: FCNs trained in PyTorch with the
    /// package (binary and XNOR, 2-bit input) saved, converted and scored by `infer --scores`, and `train fit`
    /// checkpoints loaded into PyTorch, from the checkpoint and from the .bsm. The loaded checkpoint's
    /// gradients are the trainer's: FGSM in PyTorch stores the same images as `train attack --attack fgsm`
    /// (all but a few, where a gradient entry summed in another order could change sign).
    func testPyTorchRoutesAgreeWithInferImageByImage() throws {
        let data = try CLIFixtures.mnistCache(size: 8, count: 200)
        let report = try routes(["--work", temporaryDirectory(), "--data-dir", data, "--hidden", "16,16", "--epochs", "2",
                                 "--train-limit", "0", "--test-limit", "0", "--fgsm", "0.1"])
        try checkRoutes(report, names: ["torch-binary-2b", "torch-xnor-2b", "bitshield-binary-2b", "bitshield-xnor-2b"],
                        images: 200, fgsmIdentical: 196)
    }

    /// A conv net (one 3x3 block of 4 channels, max-pool, BatchNorm, sign; dense 16) trained in PyTorch with the
    /// package, binary and XNOR: its checkpoint converts and scores with 0 mismatches, class and score.
    func testPyTorchConvNetsAgreeWithInfer() throws {
        let data = try CLIFixtures.mnistCache(size: 8, count: 120)
        let report = try routes(["--work", temporaryDirectory(), "--data-dir", data, "--routes", "torch", "--arch", "conv",
                                 "--conv-channels", "4", "--hidden", "16", "--epochs", "2", "--train-limit", "0",
                                 "--test-limit", "0", "--fgsm", "0.1"])
        try checkRoutes(report, names: ["torch-conv-binary-2b", "torch-conv-xnor-2b"], images: 120, fgsmIdentical: 100)
    }

    /// `bitshield_torch.load` of every spec/golden file (FCN binary, conv XNOR, FCN float; format versions 1-3)
    /// reproduces every expected class and score bit for bit, the float model's too (infer's summation order).
    func testPackageReadsEveryGoldenFileExactly() throws {
        let report = try routes(["--work", "unused", "--golden", Self.repo + "/spec/golden"])
        let golden = try XCTUnwrap(report["golden"] as? [[String: Any]])
        XCTAssertEqual(golden.count, 9)
        for g in golden { XCTAssertEqual(g["mismatches"] as? Int, 0, "\(g)") }
    }
}
