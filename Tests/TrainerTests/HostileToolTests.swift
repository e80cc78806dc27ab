import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Issue 12 through the command lines of `train` and `convert`: hostile checkpoints, data and options end
/// in a clear error (exit 1, or 64 for an option) before any work, never in a signal or a wrong answer.
final class HostileToolTests: XCTestCase {
    /// A data cache whose MNIST splits have the given geometries (raw IDX, labels 0...3).
    func cache(train: (Int, Int) = (28, 28), test: (Int, Int) = (28, 28), count: Int = 40) throws -> String {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/mnist", withIntermediateDirectories: true)
        var random = SeededRandom(seed: 9)
        for (prefix, (h, w)) in [("train", train), ("t10k", test)] {
            let pixels = (0..<(count * h * w)).map { _ in UInt8(random.next() % 256) }
            let labels = (0..<count).map { UInt8($0 % 4) }
            for (name, idx) in [("images-idx3-ubyte", IDXFile(dimensions: [count, h, w], bytes: pixels)),
                                ("labels-idx1-ubyte", IDXFile(dimensions: [count], bytes: labels))] {
                XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/mnist/\(prefix)-\(name)", contents: Data(idx.encoded())))
            }
        }
        return dir
    }

    /// A checkpoint of a 28x28, one hidden layer of 16 model with `classes` outputs, Adam state included;
    /// `change` edits its file before it is written.
    func checkpoint(classes: Int = 10, _ change: (inout SafeTensorsFile) throws -> Void = { _ in }) throws -> String {
        var model = ModelConfig.fcn(hidden: [16], precision: .binary, inputBits: 2)
        model.classes = classes
        let s = try TrainingSession(model: model, training: TrainingConfig(epochs: 1, batchSize: 20, learningRate: 0.01))
        let data = try ImageSet(height: 28, width: 28, classes: classes, pixels: [UInt8](repeating: 9, count: 784 * 20),
                                labels: (0..<20).map { UInt8($0 % 2) })
        _ = try s.trainEpoch(on: data)
        var file = try s.checkpoint(testAccuracy: nil, last: nil).file
        try change(&file)
        let path = temporaryDirectory() + "/model.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(file.encoded())))
        return path
    }

    func assertFails(_ tool: String, _ args: [String], status: Int32 = 1, mentioning parts: [String], line: UInt = #line) throws {
        let r = try runTool(tool, args, line: line)
        XCTAssertEqual(r.status, status, "\(tool) \(args.joined(separator: " ")): \(r.stderr)", line: line)
        for p in parts { XCTAssertTrue(r.stderr.contains(p), "stderr lacks '\(p)': \(r.stderr)", line: line) }
    }

    // Item 1: `train attack` and `train sweep` with a 2-class checkpoint on data with labels 0...3
    // wrote past the loss's buffer (abort, SIGSEGV or exit 0); now exit 1 before the first step.
    func testAttackAndSweepRefuseAModelWithFewerClassesThanTheData() throws {
        let data = try cache(), dir = temporaryDirectory()
        let ck = try checkpoint(classes: 2)
        for attack in ["fgsm", "pgd", "edge", "square"] {
            try assertFails("train", ["attack", ck, "--attack", attack, "--eps", "0.1", "--steps", "2", "--queries", "3",
                                      "--out", dir + "/adv", "--data-dir", data, "--quiet"],
                            mentioning: ["10 classes", "outputs 2"])
        }
        try assertFails("train", ["sweep", ck, "--attacks", "fgsm", "--eps", "0.1", "--out", dir + "/sweep", "--data-dir", data, "--quiet"],
                        mentioning: ["10 classes", "outputs 2"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/adv-images-idx3-ubyte"))
    }

    // Item 4: a small checkpoint claiming 200,000-wide layers; convert, attack and resume refuse it from
    // the tensors' shapes or the format's caps, with the numbers, before building anything (main allocated
    // from the metadata: gigabytes for one such layer, hundreds for two).
    func testCheckpointMetadataClaimingHugeLayersIsRefusedBeforeAllocating() throws {
        func claiming(_ hidden: [Int]) throws -> String {
            try checkpoint { file in
                var model = try Checkpoint.decoder().decode(ModelConfig.self, from: Data(file.metadata["model"]!.utf8))
                model.hidden = hidden
                file.metadata["model"] = String(decoding: try Checkpoint.encoder().encode(model), as: UTF8.self)
            }
        }
        let data = try cache(), dir = temporaryDirectory()
        let wide = try claiming([200_000]), needs = ["'fc0.weight' has shape [16, 784]", "needs [200000, 784]"]
        try assertFails("convert", [wide, "-o", dir + "/m.bsm"], mentioning: needs)
        try assertFails("train", ["attack", wide, "--eps", "0.1", "--out", dir + "/adv", "--data-dir", data], mentioning: needs)
        try assertFails("train", ["--resume", wide, "--epochs", "2", "--out", dir + "/r.safetensors", "--data-dir", data], mentioning: needs)
        try assertFails("convert", [try claiming([200_000, 200_000]), "-o", dir + "/m.bsm"],
                        mentioning: ["'fc1.weight' of shape [200000, 200000] has more than 268435456 values"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    // Item 8: NaN and Inf in a checkpoint are refused at load, naming the tensor and the index.
    func testNonFiniteCheckpointValuesAreRefusedByEveryTool() throws {
        let data = try cache(), dir = temporaryDirectory()
        let nanStats = try checkpoint { file in
            file.tensors[file.tensors.firstIndex { $0.name == "bn0.running_var" }!].values[7] = .nan
        }
        try assertFails("convert", [nanStats, "-o", dir + "/m.bsm"], mentioning: ["'bn0.running_var'", "index 7"])
        try assertFails("train", ["attack", nanStats, "--eps", "0.1", "--out", dir + "/adv", "--data-dir", data],
                        mentioning: ["'bn0.running_var'", "index 7"])
        let infMoment = try checkpoint { file in
            file.tensors[file.tensors.firstIndex { $0.name == "optimizer.fc1.weight.second" }!].values[2] = .infinity
        }
        try assertFails("train", ["--resume", infMoment, "--epochs", "2", "--out", dir + "/r.safetensors", "--data-dir", data],
                        mentioning: ["'optimizer.fc1.weight.second'", "index 2"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    // Items 8, 10 and 15: every non-finite or out-of-range number option is a usage error naming it.
    func testHostileNumberOptionsExit64NamingTheOption() throws {
        let none = temporaryDirectory() + "/no-data", out = temporaryDirectory()
        let fit: [[String]] = [["--gamma", "nan"], ["--gamma=-1"], ["--lr", "1e38"], ["--lr", "inf"], ["--weight-decay", "inf"],
                               ["--momentum", "nan"], ["--dropout", "nan"], ["--adversarial-ratio", "nan"],
                               ["--adversarial-eps", "inf"], ["--epochs", "4611686018427387904"], ["--width", "100000000"],
                               ["--depth", "1000000000"], ["--step-epochs", "0"], ["--batch-size", "4611686018427387904"],
                               ["--memory-budget", "0"], ["--stable-penalty", "nan"], ["--stable-penalty", "-1"], ["--stable-penalty", "101"],
                               ["--stable-penalty", "1", "--precision", "float"],
                               ["--certify-eps", "0"], ["--certify-eps", "nan"], ["--certify-eps", "1.5"], ["--certify-eps", "0.1"],
                               ["--certify-weight", "0", "--certify-eps", "0.1"], ["--certify-weight", "inf", "--certify-eps", "0.1"],
                               ["--certify-weight", "1"],
                               ["--certify-eps", "0.1", "--certify-weight", "1", "--precision", "float"],
                               ["--certify-eps", "0.1", "--certify-weight", "1", "--precision", "xnor"],
                               ["--certify-eps", "0.1", "--certify-weight", "1", "--input-bits", "8"],
                               ["--certify-eps", "0.1", "--certify-weight", "1", "--arch", "conv"],
                               ["--resume", out + "/old.safetensors", "--certify-eps", "0.1", "--certify-weight", "1"],
                               ["--certify-layers", "2"], ["--certify-layers", "0", "--certify-eps", "0.1", "--certify-weight", "1"],
                               ["--certify-layers", "5", "--certify-eps", "0.1", "--certify-weight", "1"],
                               ["--certify-layers", "3", "--depth", "2", "--certify-eps", "0.1", "--certify-weight", "1"],
                               ["--certify-layers", "2", "--resume", out + "/old.safetensors"],
                               ["--certify-ramp", "1"], ["--certify-ramp=-1", "--certify-eps", "0.1", "--certify-weight", "1"],
                               ["--certify-ramp", "11", "--certify-eps", "0.1", "--certify-weight", "1"],
                               ["--certify-ramp", "1", "--resume", out + "/old.safetensors"]]
        for args in fit {
            let option = String(args[0].split(separator: "=")[0])
            try assertFails("train", args + ["--data-dir", none, "--out", out + "/x.safetensors"], status: 64, mentioning: [option])
        }
        for args in [["--step-size", "inf"], ["--step-size", "nan"], ["--eps", "nan"], ["--p-init", "nan"]] {
            try assertFails("train", ["attack", "missing.safetensors", "--out", out + "/adv", "--data-dir", none, "--eps", "0.1"] + args,
                            status: 64, mentioning: [args[0]])
        }
        try assertFails("train", ["sweep", "missing.safetensors", "--out", out + "/s", "--eps", "0.1,nan"], status: 64, mentioning: ["--eps"])
        for args in [["--verify-timeout", "0"], ["--verify-timeout", "nan"], ["--verify", out + "/no-such-verify"]] {
            try assertFails("train", ["sweep", "missing.safetensors", "--out", out + "/s", "--eps", "0.1"] + args, status: 64, mentioning: [args[0]])
        }
        // verify's settings without --certify would be ignored: a usage error naming both.
        for args in [["--verify-timeout", "5"], ["--verify", "/bin/true"]] {
            try assertFails("train", ["sweep", "missing.safetensors", "--out", out + "/s", "--eps", "0.1"] + args, status: 64,
                            mentioning: [args[0], "without --certify"])
        }
        for args in [["--input-std", "0"], ["--input-std", "-1"], ["--input-std", "nan"], ["--input-mean", "nan"], ["--input-mean", "inf"]] {
            try assertFails("convert", ["missing.safetensors", "-o", out + "/m.bsm"] + args, status: 64, mentioning: [args[0]])
        }
        // A width the format cannot hold, found once the data's geometry is known: still a usage error.
        try assertFails("train", ["--arch", "fcn", "--width", "100000", "--depth", "2", "--data-dir", try cache(), "--out", out + "/x.safetensors"],
                        status: 64, mentioning: ["[100000, 100000]"])
        let help = try runTool("train", ["fit", "--help"]).stdout
        for range in ["(0, 10]", "--memory-budget"] { XCTAssertTrue(help.contains(range), "train fit --help lacks \(range)") }
        XCTAssertTrue(try runTool("convert", ["export", "--help"]).stdout.contains("[0.001, 10]"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    // Item 9: a test split of another shape is refused before the first step, whether it has the same
    // number of values (14x56 for a 28x28 model, evaluated scrambled on main) or not (14x14: a trap after an epoch).
    func testSplitsOfAnotherShapeAreRefusedBeforeTheFirstStep() throws {
        for (h, w) in [(14, 56), (14, 14)] {
            let data = try cache(test: (h, w)), out = temporaryDirectory()
            try assertFails("train", ["--arch", "fcn", "--width", "16", "--depth", "1", "--epochs", "1", "--batch-size", "20",
                                      "--data-dir", data, "--out", out + "/x.safetensors", "--quiet"],
                            mentioning: ["test split", "\(h)x\(w)x1", "28x28x1"])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
        }
    }
}
