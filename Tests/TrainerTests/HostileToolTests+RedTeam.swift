import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// The red team's findings against the hostile-readers merge, rows 3, 12, 14 and 17, through the command lines.
extension HostileToolTests {
    /// A safetensors file of `(name, dtype, shape, values)` entries, each value stored in its dtype
    /// (F32, F64 or I64), in order, after `metadata`.
    func rawSafeTensors(_ entries: [(String, String, [Int], [Double])], metadata: [String: String] = [:]) -> [UInt8] {
        var data: [UInt8] = []
        var fields = metadata.isEmpty ? [] : [#""__metadata__":{"# + metadata.keys.sorted().map {
            "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",") + "}"]
        for (name, dtype, shape, values) in entries {
            let begin = data.count
            for v in values {
                switch dtype {
                case "F32": withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { data += $0 }
                case "F64": withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 }
                default: withUnsafeBytes(of: Int64(v).littleEndian) { data += $0 }
                }
            }
            fields.append(#""\#(name)":{"dtype":"\#(dtype)","shape":\#(shape),"data_offsets":[\#(begin),\#(data.count)]}"#)
        }
        let header = Array(("{" + fields.joined(separator: ",") + "}").utf8)
        return withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header + data
    }

    /// A BinaryNet.pytorch MLP state_dict (784-16-10), every tensor F32 but those `dtypes` names, with
    /// BatchNorm's I64 step counter as PyTorch saves it; `variance` is bn1.running_var's first value.
    func binaryNetStateDict(dtypes: [String: String] = [:], variance: Double = 1) -> String {
        var random = SeededRandom(seed: 5)
        func values(_ n: Int) -> [Double] { (0..<n).map { _ in Double(random.uniform(-1, 1)) } }
        let tensors: [(String, [Int], [Double])] = [
            ("fc1.weight", [16, 784], values(16 * 784)), ("fc1.bias", [16], values(16)),
            ("bn1.weight", [16], values(16)), ("bn1.bias", [16], values(16)), ("bn1.running_mean", [16], values(16)),
            ("bn1.running_var", [16], [variance] + Array(repeating: 1, count: 15)),
            ("fc2.weight", [10, 16], values(160)), ("fc2.bias", [10], values(10)),
        ]
        let entries = tensors.map { ($0.0, dtypes[$0.0] ?? "F32", $0.1, $0.2) } + [("bn1.num_batches_tracked", "I64", [], [3])]
        let path = temporaryDirectory() + "/bnet.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(rawSafeTensors(entries))))
        return path
    }

    // Row 3: a BinaryNet state dict whose fc1.bias is F64 converted with exit 0 to a model without that
    // bias (the image equalled the zero-bias one); an F64 BatchNorm tensor was "missing". Now every
    // tensor the import reads must be F32, and the error names it and its dtype; PyTorch's I64
    // num_batches_tracked is still passed over. A negative running variance (row 19d) is refused too.
    func testBinaryNetImportRefusesTensorsOfOtherDTypes() throws {
        let dir = temporaryDirectory()
        let good = try runTool("convert", [binaryNetStateDict(), "-o", dir + "/good.bsm"])
        XCTAssertEqual(good.status, 0, good.stderr)
        for name in ["fc1.bias", "bn1.weight", "fc2.weight", "fc1.weight"] {
            try assertFails("convert", [binaryNetStateDict(dtypes: [name: "F64"]), "-o", dir + "/m.bsm"],
                            mentioning: ["'\(name)'", "F64", "F32"])
        }
        try assertFails("convert", [binaryNetStateDict(variance: -2), "-o", dir + "/m.bsm"],
                        mentioning: ["'bn1.running_var'", "-2.0 at index 0", "must not be negative"])
        // A checkpoint written by `train` holds F32 only: another dtype is named too, not "missing".
        let ck = try checkpoint()
        let file = try SafeTensorsFile.read(path: ck)
        let entries = file.tensors.map { t in
            (t.name, t.name == "bn0.running_var" ? "F64" : "F32", t.shape, t.values.map(Double.init))
        }
        let bytes = rawSafeTensors(entries, metadata: file.metadata)
        let mixed = temporaryDirectory() + "/mixed.safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: mixed, contents: Data(bytes)))
        try assertFails("convert", [mixed, "-o", dir + "/c.bsm"], mentioning: ["'bn0.running_var' is stored as F64"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["good.bsm"])
    }

    // Row 12: the attacks' counts had no upper bound: `--restarts 2^62`, `--steps 2^63-1`, `--queries
    // 2^63-1`, `--rounds 2^62`, `--adversarial-steps 2^62` hung. Each is now a usage error naming the option.
    func testAttackCountsAreCappedAtParseTime() throws {
        let none = temporaryDirectory() + "/no-data", out = temporaryDirectory()
        let huge = [["--restarts", "4611686018427387904"], ["--steps", "9223372036854775807"], ["--queries", "9223372036854775807"],
                    ["--rounds", "4611686018427387904"], ["--candidates", "4611686018427387904"], ["--steps", "100001"]]
        for args in huge {
            try assertFails("train", ["attack", "missing.safetensors", "--eps", "0.1", "--out", out + "/adv", "--data-dir", none] + args,
                            status: 64, mentioning: [args[0], args[1]])
            try assertFails("train", ["sweep", "missing.safetensors", "--eps", "0.1", "--out", out + "/s", "--data-dir", none] + args,
                            status: 64, mentioning: [args[0], args[1]])
        }
        try assertFails("train", ["--adversarial", "pgd", "--adversarial-steps", "4611686018427387904", "--data-dir", none,
                                  "--out", out + "/x.safetensors"], status: 64, mentioning: ["--adversarial-steps", "1...100000"])
        XCTAssertTrue(try runTool("train", ["attack", "--help"]).stdout.contains("1...10000"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    // Row 14: `--depth 1024` trained (2,052 ops) and only `convert` refused it. A binary FCN holds
    // 2 x depth + 4 ops, so 511 hidden layers are refused before training, with the numbers.
    func testAModelPastTheImagesOpLimitIsRefusedBeforeTraining() throws {
        let data = try cache(), out = temporaryDirectory()
        for (depth, ops) in [("511", "1026 ops"), ("1024", "2052 ops")] {
            try assertFails("train", ["--arch", "fcn", "--width", "1", "--depth", depth, "--epochs", "1", "--batch-size", "20",
                                      "--data-dir", data, "--out", out + "/x.safetensors", "--quiet"],
                            status: 64, mentioning: [ops, "at most 1024"])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), [])
    }

    // Row 17: a checkpoint with optimizer_step 2^53 (the most a checkpoint records) resumed, trained a whole
    // epoch, and then could not save it; an --out that is a directory also failed only after the epoch.
    // Both are refused before the first step now.
    func testResumeAndOutputProblemsAreFoundBeforeTheFirstEpoch() throws {
        let data = try cache(), out = temporaryDirectory()
        let full = try checkpoint { file in
            file.metadata["progress"] = file.metadata["progress"]!.replacingOccurrences(
                of: #""optimizer_step":1"#, with: #""optimizer_step":9007199254740992"#)
        }
        try assertFails("train", ["--resume", full, "--epochs", "2", "--data-dir", data, "--out", out + "/r.safetensors", "--quiet"],
                        mentioning: ["optimizer_step 9007199254740992 leaves no room", "1 more epoch(s) of 2 batches"])
        for resume in [[], ["--resume", try checkpoint()]] {
            try assertFails("train", resume + ["--arch", "fcn", "--width", "16", "--depth", "1", "--epochs", "2", "--batch-size", "20",
                                               "--data-dir", data, "--out", out, "--quiet"],
                            status: 64, mentioning: ["--out \(out) is a directory"])
        }
        let file = out + "/plain"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data()))
        try assertFails("train", ["attack", try checkpoint(), "--eps", "0.1", "--out", file + "/adv", "--data-dir", data],
                        status: 64, mentioning: ["\(file) is not a directory"])
        for prefix in [out + "/", out + "/."] {   // would have written out/-images-idx3-ubyte
            try assertFails("train", ["attack", try checkpoint(), "--eps", "0.1", "--out", prefix, "--data-dir", data],
                            status: 64, mentioning: ["names a directory"])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["plain"])
    }
}
