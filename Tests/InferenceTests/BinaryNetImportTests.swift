import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Inference
@testable import Trainer

/// A BinaryNet.pytorch-style MNIST MLP, trained briefly in PyTorch (scripts/binarynet_fixture.py, with
/// negative BatchNorm scales), imported, exported and run by the runtime predicts what PyTorch predicts.
/// Skips without the PyTorch interpreter (`make torch`). Slow tier (BITSHIELD_SLOW=1, `make test`).
final class BinaryNetImportTests: XCTestCase {
    func testImportedModelPredictsLikePyTorch() throws {
        try requireSlowTier("PyTorch parity of an imported BinaryNet MLP")
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let python = ProcessInfo.processInfo.environment["BITSHIELD_TORCH_PYTHON"] ?? repo + "/.venv-torch/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no PyTorch at \(python) (make torch)") }
        _ = try ParityTests.mnist(.test)   // skips without the data cache
        let dir = temporaryDirectory()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [repo + "/scripts/binarynet_fixture.py", dir, "--width", "48", "--images", "1000"]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "binarynet_fixture.py failed")

        let file = try SafeTensorsFile.read(path: dir + "/binarynet.safetensors")
        XCTAssertTrue(BinaryNetImport.matches(file))
        XCTAssertEqual(file.skipped.sorted(), ["bn1.num_batches_tracked", "bn2.num_batches_tracked", "bn3.num_batches_tracked"])
        let net = try BinaryNetImport.network(from: file, path: "binarynet")
        XCTAssertEqual(net.config.hidden, [48, 48, 48])
        let image = try ImageExport.image(of: net)
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/binarynet-predictions.json"))) as! [String: Any]
        let torchPredictions = expected["predictions"] as! [Int]
        let test = try ParityTests.mnist(.test).prefix(1000)
        let ours = try ParityTests.runtimePredictions(image: image, data: test)
        let mismatches = zip(ours, torchPredictions).filter { $0 != $1 }.count
        // The float last layer sums in another order than PyTorch: allow a rare near-tie.
        XCTAssertLessThanOrEqual(mismatches, 2, "\(mismatches) of 1000 predictions differ from PyTorch's")
        XCTAssertGreaterThan(Set(torchPredictions).count, 5, "the fixture model must be non-trivial")
        // The trainer's own evaluation of the imported network agrees with the runtime too.
        let trainer = try Evaluation.predictions(net, on: test)
        XCTAssertLessThanOrEqual(zip(trainer, ours).filter { $0 != $1 }.count, 2, "trainer and runtime (float last layer)")
    }

    /// Issue 17, item 2: each BinaryNet.pytorch layout (the 2-bit MLP with a binary last layer and its
    /// BatchNorm, saved with Hugging Face's {"format": "pt"}; main_mnist.py's real last layer; an unpadded
    /// nn.Sequential conv net), trained in PyTorch by scripts/torch_import_routes.py, converted and run by
    /// `infer`, predicts what PyTorch predicts on every one of 300 MNIST test images.
    func testLayoutsPredictLikePyTorch() throws {
        try requireSlowTier("PyTorch parity of the BinaryNet layouts")
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let python = ProcessInfo.processInfo.environment["BITSHIELD_TORCH_PYTHON"] ?? repo + "/.venv-torch/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no PyTorch at \(python) (make torch)") }
        _ = try ParityTests.mnist(.test)   // skips without the data cache
        let p = Process(), out = Pipe()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [repo + "/scripts/torch_import_routes.py", "--bin", Bundle.main.bundleURL.path, "--work", temporaryDirectory(),
                       "--images", "300", "--train", "5000", "--width", "48"]
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "torch_import_routes.py failed")
        let text = String(decoding: data, as: UTF8.self)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data((text.split(separator: "\n").last ?? "").utf8)) as? [String: [String: Any]], text)
        XCTAssertEqual(Set(report.keys), ["mlp-2b", "mlp-real", "conv"])
        for (route, r) in report {
            XCTAssertEqual(r["images"] as? Int, 300, route)
            XCTAssertEqual(r["mismatches"] as? Int, 0, "\(route): \(r)")
            XCTAssertGreaterThan(r["torch_accuracy"] as? Double ?? 0, 0.5, "\(route): the trained model must be non-trivial")
        }
    }
}
