import Foundation
import Datasets
import ToolSupport
import XCTest
@testable import Trainer

/// Issue 17, item 2: BinaryNet.pytorch layouts through `convert` (spec/PYTORCH.md, "Importing BinaryNet.pytorch
/// models"). State dicts are built here as safetensors; the PyTorch parity of each layout is the slow tier's
/// `BinaryNetImportTests.testLayoutsPredictLikePyTorch`.
final class BinaryNetLayoutTests: XCTestCase {
    /// A tensor of deterministic values in [lo, hi).
    func tensor(_ name: String, _ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) -> NamedArray {
        var random = SeededRandom(seed: UInt64(name.utf8.reduce(7) { $0 &* 31 &+ Int($1) } & 0xFFFF))
        return NamedArray(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { _ in random.uniform(lo, hi) })
    }

    func batchNorm(_ prefix: String, _ n: Int, affine: Bool = true) -> [NamedArray] {
        (affine ? [tensor(prefix + ".weight", [n], 0.5, 1.5), tensor(prefix + ".bias", [n])] : [])
            + [tensor(prefix + ".running_mean", [n]), tensor(prefix + ".running_var", [n], 0.5, 2)]
    }

    /// main_mnist.py's names, 784-16-10, with or without a BatchNorm after the last layer.
    func mlp(lastNorm: Bool) -> [NamedArray] {
        [tensor("fc1.weight", [16, 784]), tensor("fc1.bias", [16])] + batchNorm("bn1", 16)
            + [tensor("fc2.weight", [10, 16]), tensor("fc2.bias", [10])] + (lastNorm ? batchNorm("bn2", 10) : [])
    }

    /// An nn.Sequential conv net: conv 3x3 (1 -> 4, bias) at features.0, BatchNorm at features.`normIndex`
    /// (2: a MaxPool2d between), classifier Linear 676 -> 10 and BatchNorm1d(affine=False).
    func convNet(normIndex: Int = 2) -> [NamedArray] {
        [tensor("features.0.weight", [4, 1, 3, 3]), tensor("features.0.bias", [4])] + batchNorm("features.\(normIndex)", 4)
            + [tensor("classifier.0.weight", [10, 13 * 13 * 4]), tensor("classifier.0.bias", [10])] + batchNorm("classifier.1", 10, affine: false)
    }

    func write(_ tensors: [NamedArray], metadata: [String: String] = [:], in dir: String, _ name: String = "sd") throws -> String {
        let path = dir + "/\(name).safetensors"
        try Data(SafeTensorsFile(metadata: metadata, tensors: tensors).encoded()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `convert inspect --json` of `bsm`: its metadata and op names.
    func inspect(_ bsm: String) throws -> (metadata: [String: Any], ops: [String]) {
        let json = try lastJSONLine(try expectTool("convert", ["inspect", bsm, "--json"], status: 0).stdout)
        let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
        return (try XCTUnwrap(json["metadata"] as? [String: Any]), layers.compactMap { $0["op"] as? String })
    }

    /// A BatchNorm after the last layer was silently dropped (the file equalled the one without it). Now it
    /// makes the last layer binary with its BatchNorm, recorded; `--last-layer real` with it is refused by name.
    func testLastBatchNormIsImportedNotDropped() throws {
        let dir = temporaryDirectory()
        let with = try write(mlp(lastNorm: true), in: dir, "with"), without = try write(mlp(lastNorm: false), in: dir, "without")
        try expectTool("convert", [with, "-o", dir + "/with.bsm"], status: 0)
        try expectTool("convert", [without, "-o", dir + "/without.bsm"], status: 0)
        let (a, b) = (try inspect(dir + "/with.bsm"), try inspect(dir + "/without.bsm"))
        XCTAssertNotEqual(a.metadata["image_sha256"] as? String, b.metadata["image_sha256"] as? String, "bn2 changed nothing")
        XCTAssertEqual(a.metadata["import_last_layer"] as? String, "binary")
        XCTAssertEqual(a.metadata["import_last_batchnorm"] as? Bool, true)
        XCTAssertEqual(b.metadata["import_last_layer"] as? String, "real")
        XCTAssertEqual(a.metadata["import_naming"] as? String, "mlp")
        try expectTool("convert", [with, "-o", dir + "/r.bsm", "--last-layer", "real"], status: 1, mentioning: ["'bn2'", "--last-layer binary"])
        // A binary last layer without BatchNorm: an identity one, so the network is the binary one with bn2 = identity.
        try expectTool("convert", [without, "-o", dir + "/b.bsm", "--last-layer", "binary"], status: 0)
        XCTAssertEqual(try inspect(dir + "/b.bsm").metadata["import_last_batchnorm"] as? Bool, false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.bsm"))
        // The library: the identity BatchNorm's scale is exactly 1.
        let eps: Float = 1e-5
        XCTAssertEqual(1 / (BinaryNetImport.identityVariance(eps) + eps).squareRoot(), 1)
    }

    /// Unknown, extra or missing tensors, other namings and BatchNorms in the wrong place: exit 1 naming the
    /// tensor or module, nothing written.
    func testUnknownExtraAndMissingTensorsAreRefusedByName() throws {
        let dir = temporaryDirectory()
        let good = mlp(lastNorm: false)
        let cases: [(String, [NamedArray], [String])] = [
            ("extra suffix", good + [tensor("fc1.alpha", [16])], ["'fc1.alpha'"]),
            ("unknown module", good + [tensor("head.weight", [10, 16])], ["'head.weight'", "features.N"]),
            ("missing", good.filter { $0.name != "bn1.running_var" }, ["'bn1.running_var' is missing"]),
            ("bn numbering", good.map { NamedArray(name: $0.name.replacingOccurrences(of: "bn1", with: "bn2"), shape: $0.shape, values: $0.values) },
             ["'fc1'", "'bn1.running_mean' is missing"]),
            ("layer gap", good.map { NamedArray(name: $0.name.replacingOccurrences(of: "fc2", with: "fc3"), shape: $0.shape, values: $0.values) },
             ["'fc3'", "without gaps"]),
            ("no bn between", [tensor("fc1.weight", [16, 784])] + [tensor("fc2.weight", [16, 16]), tensor("fc3.weight", [10, 16])] + batchNorm("bn1", 16),
             ["'fc2'", "'bn2.running_mean' is missing"]),
            ("native names, no metadata", [tensor("fc0.weight", [10, 784])] + batchNorm("bn0", 10), ["'fc0", "bitshield.checkpoint"]),
            ("xnor-net", [tensor("bin_conv2.conv.weight", [50, 20, 5, 5])], ["'bin_conv2.conv.weight'", "XNOR-Net-PyTorch"]),
            ("last bias", good.map { $0.name == "fc2.bias" ? tensor("fc2.bias", [3]) : $0 }, ["'fc2.bias' has 3 values", "10 classes"]),
            ("mixed naming", good + [tensor("classifier.0.weight", [10, 16])], ["'classifier.0.weight'", "one naming"]),
        ]
        for (what, tensors, parts) in cases {
            let path = try write(tensors, in: dir, what.replacingOccurrences(of: " ", with: "-"))
            let out = dir + "/out.bsm"
            let r = try expectTool("convert", [path, "-o", out], status: 1, mentioning: parts + ["BinaryNet import"])
            XCTAssertFalse(r.stdout.contains("wrote"), what)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), what)
        }
    }

    /// A state dict saved with Hugging Face's {"format": "pt"} metadata was refused with the checkpoint reader's
    /// message ("metadata 'format' is 'pt', expected 'bitshield.checkpoint'"). Now it imports, to the same image.
    func testHuggingFaceMetadataIsAccepted() throws {
        let dir = temporaryDirectory()
        let plain = try write(mlp(lastNorm: true), in: dir, "plain"), hf = try write(mlp(lastNorm: true), metadata: ["format": "pt"], in: dir, "hf")
        try expectTool("convert", [plain, "-o", dir + "/plain.bsm"], status: 0)
        try expectTool("convert", [hf, "-o", dir + "/hf.bsm"], status: 0)
        XCTAssertEqual(try inspect(dir + "/hf.bsm").metadata["image_sha256"] as? String, try inspect(dir + "/plain.bsm").metadata["image_sha256"] as? String)
        // Any other format is still the checkpoint reader's to refuse.
        let other = try write(mlp(lastNorm: true), metadata: ["format": "tf"], in: dir, "tf")
        try expectTool("convert", [other, "-o", dir + "/tf.bsm"], status: 1, mentioning: ["'tf'", "bitshield.checkpoint"])
    }

    /// --input-bits builds the Eq. 2 quantizer into the imported model, and every import choice is recorded;
    /// the import options are usage errors for BitShield checkpoints and out of range.
    func testInputBitsAndChoicesAreRecorded() throws {
        let dir = temporaryDirectory()
        let sd = try write(mlp(lastNorm: true), in: dir)
        try expectTool("convert", [sd, "-o", dir + "/m.bsm", "--input-bits", "2", "--input-mean", "0", "--input-std", "1"], status: 0)
        let m = try inspect(dir + "/m.bsm").metadata
        XCTAssertEqual(m["input_bits"] as? Int, 2)
        XCTAssertEqual(m["input_mean"] as? Double, 0)
        XCTAssertEqual(m["input_std"] as? Double, 1)
        XCTAssertEqual(m["source_format"] as? String, "binarynet-pytorch")
        XCTAssertEqual(m["dataset"] as? String, "mnist")
        try expectTool("convert", [sd, "-o", dir + "/x.bsm", "--input-bits", "9"], status: 64, mentioning: ["--input-bits 9", "1...8"])
        let ck = try CLIFixtures.checkpoint(input: FeatureMap(height: 8, width: 8, channels: 1))
        for option in [["--input-bits", "2"], ["--last-layer", "binary"], ["--conv-padding", "0"]] {
            try expectTool("convert", [ck, "-o", dir + "/c.bsm"] + option, status: 64, mentioning: [option[0], "BitShield checkpoint"])
        }
    }

    /// nn.Sequential conv nets: the padding must be stated (it is not in the state dict); 0 imports (a conv2d
    /// and a max-pool in the image), a padded conv and a conv without its MaxPool2d are refused.
    func testConvNetsNeedAStatedPaddingOfZero() throws {
        let dir = temporaryDirectory()
        let sd = try write(convNet(), in: dir)
        try expectTool("convert", [sd, "-o", dir + "/m.bsm"], status: 1, mentioning: ["'features.0'", "--conv-padding 0"])
        try expectTool("convert", [sd, "-o", dir + "/m.bsm", "--conv-padding", "1"], status: 1, mentioning: ["padding 1", "padded conv op"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.bsm"))
        try expectTool("convert", [sd, "-o", dir + "/m.bsm", "--conv-padding", "0", "--input-bits", "2"], status: 0)
        let (meta, ops) = try inspect(dir + "/m.bsm")
        XCTAssertEqual(meta["import_naming"] as? String, "sequential")
        XCTAssertEqual(meta["import_conv_padding"] as? Int, 0)
        XCTAssertTrue(ops.contains { $0.contains("conv2d") } && ops.contains { $0.contains("maxpool") }, "\(ops)")
        let unpooled = try write(convNet(normIndex: 1), in: dir, "unpooled")
        try expectTool("convert", [unpooled, "-o", dir + "/u.bsm", "--conv-padding", "0"], status: 1, mentioning: ["'features.1'", "MaxPool2d(2)"])
    }

    /// `--conv-padding` for a state dict without a Conv2d was silently ignored; it is refused, naming the
    /// option and what the file holds, and nothing is written.
    func testConvPaddingForAnMLPIsRefused() throws {
        let dir = temporaryDirectory()
        let sd = try write(mlp(lastNorm: false), in: dir)
        try expectTool("convert", [sd, "-o", dir + "/m.bsm", "--conv-padding", "0"], status: 1,
                       mentioning: ["--conv-padding 0", "no Conv2d", "2 Linear blocks", "'fc1'"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.bsm"))
        try expectTool("convert", [sd, "-o", dir + "/m.bsm"], status: 0)
    }

    /// The conv import permutes PyTorch's [out, in, kh, kw] weights and its NCHW flattening into BitShield's
    /// order: the imported network's trainer evaluation equals a direct evaluation of the PyTorch model (in
    /// Double, torch's layouts) on random images, class by class.
    func testConvImportPermutesLayoutsExactly() throws {
        let tensors = convNet()
        let file = SafeTensorsFile(metadata: [:], tensors: tensors)
        let net = try BinaryNetImport.importModel(from: file, options: .init(mean: 0.2, std: 0.5, inputBits: 8, convPadding: 0), path: "t").network
        func t(_ name: String) -> [Double] { file.tensor(name)!.values.map(Double.init) }
        func sign(_ x: Double) -> Double { x >= 0 ? 1 : -1 }
        var random = SeededRandom(seed: 3)
        let pixels = (0..<50 * 784).map { _ in UInt8(random.uniform(0, 256).rounded(.down)) }
        var agree = 0
        let ours = try Evaluation.predictions(net, on: ImageSet(height: 28, width: 28, classes: 10, pixels: pixels, labels: [UInt8](repeating: 0, count: 50)))
        for n in 0..<50 {
            let x = (0..<784).map { (Double(pixels[n * 784 + $0]) / 255 - 0.2) / 0.5 }
            let (w, b) = (t("features.0.weight"), t("features.0.bias"))
            var pooled = [Double](repeating: -.infinity, count: 4 * 13 * 13)   // NCHW
            for c in 0..<4 { for y in 0..<26 { for xx in 0..<26 {
                var s = b[c]
                for ky in 0..<3 { for kx in 0..<3 { s += sign(w[(c * 3 + ky) * 3 + kx]) * x[(y + ky) * 28 + xx + kx] } }
                if y < 26 && xx < 26 { let i = (c * 13 + y / 2) * 13 + xx / 2; pooled[i] = max(pooled[i], s) }
            } } }
            let (g, be, mu, v) = (t("features.2.weight"), t("features.2.bias"), t("features.2.running_mean"), t("features.2.running_var"))
            let h = pooled.indices.map { i -> Double in let c = i / 169; return sign((pooled[i] - mu[c]) / (v[c] + 1e-5).squareRoot() * g[c] + be[c]) }
            let (w2, b2, mu2, v2) = (t("classifier.0.weight"), t("classifier.0.bias"), t("classifier.1.running_mean"), t("classifier.1.running_var"))
            let scores = (0..<10).map { o -> Double in
                var s = b2[o]
                for i in 0..<676 { s += sign(w2[o * 676 + i]) * h[i] }
                return (s - mu2[o]) / (v2[o] + 1e-5).squareRoot()
            }
            if scores.indices.max(by: { scores[$0] < scores[$1] }) == ours[n] { agree += 1 }
        }
        XCTAssertEqual(agree, 50, "\(50 - agree) of 50 classes differ from the direct evaluation")
    }
}
