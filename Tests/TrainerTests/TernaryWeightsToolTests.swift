import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `train fit --weight-sparsity` end to end: the refusals (exit 64), a ternary checkpoint's round trip, and a
/// hostile sparsity in a checkpoint's metadata (exit 1).
final class TernaryWeightsToolTests: XCTestCase {
    func assertFails(_ tool: String, _ args: [String], status: Int32, mentioning parts: [String], line: UInt = #line) throws {
        let r = try runTool(tool, args, line: line)
        XCTAssertEqual(r.status, status, "\(tool) \(args.joined(separator: " ")): \(r.stderr)", line: line)
        for p in parts { XCTAssertTrue(r.stderr.contains(p), "stderr lacks '\(p)': \(r.stderr)", line: line) }
    }

    // Every refusal is a usage error naming the option, before any data is read (the data directory is empty).
    func testFitRefusesSparsityItCannotTrain() throws {
        let empty = ["--data-dir", temporaryDirectory(), "--epochs", "1"]
        for (args, message) in [(["--weight-sparsity", "0.5", "--precision", "xnor"], "--weight-sparsity 0.5 needs --precision binary"),
                                (["--weight-sparsity", "0.5", "--precision", "float"], "--weight-sparsity 0.5 needs --precision binary"),
                                (["--weight-sparsity", "0.5", "--arch", "conv"], "--weight-sparsity 0.5 needs a fully connected net"),
                                (["--weight-sparsity", "1"], "--weight-sparsity 1.0 is outside [0, 1)"),
                                (["--weight-sparsity=-0.1"], "--weight-sparsity -0.1 is outside [0, 1)"),
                                (["--weight-sparsity", "nan"], "--weight-sparsity nan is not a finite number"),
                                (["--weight-sparsity", "0.5", "--resume", "x.safetensors"], "with --resume")] {
            try assertFails("train", ["fit"] + args + empty, status: 64, mentioning: [message])
        }
    }

    // A ternary run names its model `...-t0.75`, stores S in the checkpoint, and loads back as the same ternary
    // network (train eval scores it as fit did); its exported image, in the host's layout and the microcontrollers'
    // (columns32 planes: a ternary layer never gets columns32s), predicts as `train eval` does, image by image.
    func testTernaryCheckpointRoundTrips() throws {
        let cache = try TestData.tinyMNISTCache(), dir = temporaryDirectory()
        let out = dir + "/t.safetensors"
        let fit = try runTool("train", ["fit", "--data-dir", cache, "--arch", "fcn", "--width", "16", "--depth", "1",
                                        "--weight-sparsity", "0.75", "--epochs", "1", "--batch-size", "50", "--out", out, "--json", "--quiet"])
        XCTAssertEqual(fit.status, 0, fit.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(fit.stdout.split(separator: "\n").last).utf8)) as? [String: Any])
        XCTAssertEqual(json["model"] as? String, "fcn-784-16-10-binary-2b-t0.75")
        // The certified-interval penalty trains ternary layers too (its interval counts each unit's non-zero weights).
        let certified = try runTool("train", ["fit", "--data-dir", cache, "--arch", "fcn", "--width", "16", "--depth", "2",
                                              "--weight-sparsity", "0.75", "--certify-eps", "0.1", "--certify-weight", "1", "--certify-layers", "2",
                                              "--epochs", "1", "--batch-size", "50", "--out", dir + "/c.safetensors", "--quiet"])
        XCTAssertEqual(certified.status, 0, certified.stderr)
        let ck = try Checkpoint.read(path: out)
        XCTAssertEqual(ck.model.weightSparsity, 0.75)
        let net = try ck.makeNetwork(path: out)
        for d in net.layers.compactMap({ $0 as? Dense }) {
            XCTAssertEqual(d.kind, .ternary)
            XCTAssertEqual(d.product.forwardWeights().data.filter { $0 == 0 }.count, d.weight.value.count * 3 / 4)
        }
        let eval = try runTool("train", ["eval", out, "--data-dir", cache, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let scored = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try XCTUnwrap(eval.stdout.split(separator: "\n").last).utf8)) as? [String: Any])
        XCTAssertEqual(scored["accuracy"] as? Double, json["test_accuracy"] as? Double, eval.stdout)
        let trainer = dir + "/trainer.txt"
        XCTAssertEqual(try runTool("train", ["eval", out, "--data-dir", cache, "--predictions", trainer]).status, 0)
        for target in ["host", "mcu"] {
            let model = dir + "/\(target).bsm", runtime = dir + "/\(target).txt"
            let convert = try runTool("convert", [out, "-o", model, "--target", target])
            XCTAssertEqual(convert.status, 0, convert.stderr)
            let infer = try runTool("infer", [model, "--data-dir", cache, "--predictions", runtime, "--no-timing"])
            XCTAssertEqual(infer.status, 0, infer.stderr)
            XCTAssertEqual(try String(contentsOfFile: runtime, encoding: .utf8), try String(contentsOfFile: trainer, encoding: .utf8), target)
        }
    }

    // A hostile sparsity in the metadata is refused at load by every reader, naming the value; none traps.
    func testHostileSparsityInCheckpointIsRefused() throws {
        let config = ModelConfig.fcn(hidden: [16], precision: .binary, inputBits: 2)
        let session = try TrainingSession(model: config, training: TrainingConfig(epochs: 1, batchSize: 20, learningRate: 0.01))
        let file = try session.checkpoint(testAccuracy: nil, last: nil).file
        let dir = temporaryDirectory(), cache = try TestData.tinyMNISTCache()
        let model = file.metadata["model"]!
        XCTAssertTrue(model.hasSuffix("}"), model)
        var xnor = config
        (xnor.precision, xnor.weightSparsity) = (.xnor, 0.5)
        let xnorModel = String(decoding: try Checkpoint.encoder().encode(xnor), as: UTF8.self)
        // A value appended to the stored model (nil: an XNOR model with S 0.5), and what the error names.
        let cases: [(String?, String)] = [("1", "weight sparsity 1.0 is outside [0, 1)"), ("1.5", "weight sparsity 1.5 is outside [0, 1)"),
                                          ("-0.1", "weight sparsity -0.1 is outside [0, 1)"), ("1e39", "weight_sparsity"),
                                          ("\"0.5\"", "weight_sparsity"), ("null", "weight_sparsity"), (nil, "weight sparsity 0.5 needs a binary fully connected model")]
        for (value, message) in cases {
            let json = value.map { String(model.dropLast()) + ",\"weight_sparsity\":\($0)}" } ?? xnorModel
            var hostile = file
            hostile.metadata["model"] = json
            let path = dir + "/hostile.safetensors"
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(hostile.encoded())))
            try assertFails("train", ["eval", path, "--data-dir", cache], status: 1, mentioning: [message])
            try assertFails("convert", [path, "-o", dir + "/m.bsm"], status: 1, mentioning: [message])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.bsm"))
    }
}
