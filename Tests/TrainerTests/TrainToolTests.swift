import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// The `train` executable end to end: help, usage errors (exit 64), failures (exit 1), `--json`, resume.
final class TrainToolTests: XCTestCase {
    /// The `train` binary beside the test bundle (SwiftPM builds every product for `swift test`).
    var trainBinary: String {
        Bundle.main.bundleURL.appendingPathComponent("train").path
    }

    func run(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool("train", args, file: file, line: line)
    }

    /// A data cache with a tiny MNIST-shaped set (`TestData.tinyMNISTCache`).
    func tinyCache() throws -> String { try TestData.tinyMNISTCache() }

    func testHelpListsEveryOption() throws {
        let r = try run(["fit", "--help"])
        XCTAssertEqual(r.status, 0)
        for option in ["--dataset", "--data-dir", "--arch", "--precision", "--input-bits", "--epochs", "--batch-size",
                       "--optimizer", "--lr", "--weight-decay", "--schedule", "--dropout", "--seed", "--resume",
                       "--out", "--json", "--float-last-layer"] {
            XCTAssertTrue(r.stdout.contains(option), "help lacks \(option)")
        }
    }

    func testBadOptionsExit64WithAMessage() throws {
        let bits = try run(["--input-bits", "9"])
        XCTAssertEqual(bits.status, 64)
        XCTAssertTrue(bits.stderr.contains("--input-bits 9 is outside 1...8"), bits.stderr)
        let precision = try run(["--precision", "ternary"])
        XCTAssertEqual(precision.status, 64)
        XCTAssertTrue(precision.stderr.contains("ternary"), precision.stderr)
        let unknown = try run(["--no-such-flag"])
        XCTAssertEqual(unknown.status, 64)
        // Transfer, edge and square examples need a source model or a search: not a training attack, and not
        // one of the option's values.
        for attack in ["transfer", "edge", "square"] {
            let r = try run(["--adversarial", attack])
            XCTAssertEqual(r.status, 64, attack)
            XCTAssertTrue(r.stderr.contains("Please provide one of 'rfgsm', 'fgsm' or 'pgd'"), r.stderr)
        }
    }

    func testMissingDataExits1AndSaysHowToFetchIt() throws {
        let r = try run(["--data-dir", temporaryDirectory(), "--epochs", "1"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("make data") && r.stderr.contains("train-images-idx3-ubyte"), r.stderr)
    }

    func testTrainsWritesJSONAndResumes() throws {
        let cache = try tinyCache()
        let out = temporaryDirectory() + "/m.safetensors"
        let common = ["--data-dir", cache, "--width", "32", "--depth", "2", "--batch-size", "50", "--out", out, "--json"]
        let first = try run(common + ["--epochs", "2"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let last = try XCTUnwrap(first.stdout.split(separator: "\n").last)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any])
        let accuracy = try XCTUnwrap(json["test_accuracy"] as? Double)
        XCTAssertGreaterThan(accuracy, 0.6, "four easy classes (chance is 0.25)")
        XCTAssertEqual(json["epochs"] as? Int, 2)
        XCTAssertNotNil(json["seconds"] as? Double)
        XCTAssertNotNil(json["images_per_second"] as? Double)
        // The checkpoint holds the model after the last epoch, with its accuracy in the metadata.
        let ck = try Checkpoint.read(path: out)
        XCTAssertEqual(ck.progress.epochsCompleted, 2)
        XCTAssertEqual(ck.progress.testAccuracy, accuracy)
        XCTAssertEqual(ck.model.hidden, [32, 32])
        // Resume to 3 epochs in all.
        let resumed = try run(["--data-dir", cache, "--resume", out, "--epochs", "3", "--out", out, "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try Checkpoint.read(path: out).progress.epochsCompleted, 3)

        // Attack the trained model; the written IDX pair holds the test set's labels.
        let adv = temporaryDirectory() + "/adv"
        let attack = try run(["attack", out, "--attack", "pgd", "--eps", "0.2", "--steps", "5", "--data-dir", cache,
                              "--out", adv, "--json"])
        XCTAssertEqual(attack.status, 0, attack.stderr)
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(attack.stdout.split(separator: "\n").last).utf8)) as? [String: Any])
        for key in ["clean_accuracy", "robust_accuracy", "attack_success_rate", "eps", "attack"] {
            XCTAssertNotNil(report[key], "attack --json lacks \(key)")
        }
        XCTAssertEqual(report["attack"] as? String, "pgd")
        XCTAssertLessThanOrEqual(report["max_perturbation"] as? Int ?? 99, 51)
        let labels = try IDXLoader.loadPair(images: adv + "-images-idx3-ubyte", labels: adv + "-labels-idx1-ubyte", classes: 10)
        XCTAssertEqual(labels.count, 100)
        XCTAssertEqual(try run(["attack", out, "--eps", "2", "--out", adv]).status, 64)
    }
}
