import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import ModelFile
@testable import Trainer

/// `convert` and `infer` end to end: byte-identical conversion, inspect, image, scoring IDX pairs,
/// and clear errors with the right exit codes.
final class ToolTests: XCTestCase {
    func run(_ tool: String, _ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runTool(tool, args)
    }

    func lastJSON(_ s: String) throws -> [String: Any] { try lastJSONLine(s) }

    /// A small untrained binary FCN checkpoint on 28x28 input.
    func checkpoint(in dir: String) throws -> String {
        var m = ModelConfig.fcn2(precision: .binary, inputBits: 2)
        m.hidden = [32, 16]
        let net = try Network(config: m, seed: 4)
        let path = dir + "/m.safetensors"
        try Checkpoint(network: net, optimizer: nil, training: TrainingConfig(learningRate: 0.01),
                       progress: TrainingProgress(epochsCompleted: 0, optimizerStep: 0, testAccuracy: 0.5, trainLoss: nil,
                                                  trainAccuracy: nil, seconds: 0)).write(to: path)
        return path
    }

    func testConvertInspectImageAndInfer() throws {
        let dir = temporaryDirectory()
        let ck = try checkpoint(in: dir)
        let a = try run("convert", [ck, "-o", dir + "/a.bsm"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(try run("convert", ["export", ck, "-o", dir + "/b.bsm"]).status, 0)
        let bytesA = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.bsm"))
        XCTAssertEqual(bytesA, try Data(contentsOf: URL(fileURLWithPath: dir + "/b.bsm")), "same checkpoint, same file")

        let inspect = try run("convert", ["inspect", dir + "/a.bsm", "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        let info = try lastJSON(inspect.stdout)
        XCTAssertEqual(info["checksums_ok"] as? Bool, true)
        XCTAssertEqual((info["layers"] as? [Any])?.count, 8, "codes, 3 x (dense, threshold) but the last, affine, argmax")
        XCTAssertEqual(info["weight_bits"] as? Int, 784 * 32 + 32 * 16 + 16 * 10)
        XCTAssertEqual((info["metadata"] as? [String: Any])?["precision"] as? String, "binary")
        // 784-32-16-10 on 2-bit codes: the first step holds 3 planes of 13 words and 32 output bits (320 + 16).
        XCTAssertEqual(info["arena_bytes"] as? Int, 336)
        XCTAssertEqual(info["arena_bytes_carry_save"] as? Int, 336 + 2 * 32, "and the 32 row counts")
        XCTAssertEqual(info["io_bytes"] as? Int, 784 + 40)

        let image = try run("convert", ["image", dir + "/a.bsm", "-o", dir + "/a.img"])
        XCTAssertEqual(image.status, 0, image.stderr)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/a.img"))), try ModelFile.parse([UInt8](bytesA)).image)

        // An IDX pair of 20 MNIST-shaped images.
        var r = SeededRandom(seed: 9)
        let pixels = (0..<(20 * 784)).map { _ in UInt8(r.next() % 256) }
        let labels = (0..<20).map { UInt8($0 % 10) }
        try Data(Gzip.compress(IDXFile(dimensions: [20, 28, 28], bytes: pixels).encoded())).write(to: URL(fileURLWithPath: dir + "/x-images.gz"))
        try Data(IDXFile(dimensions: [20], bytes: labels).encoded()).write(to: URL(fileURLWithPath: dir + "/x-labels"))
        let infer = try run("infer", [dir + "/a.bsm", "--images", dir + "/x-images.gz", "--labels", dir + "/x-labels",
                                      "--json", "--predictions", dir + "/p.txt"])
        XCTAssertEqual(infer.status, 0, infer.stderr)
        let result = try lastJSON(infer.stdout)
        for key in ["accuracy", "latency_us", "images_per_second", "arena_bytes", "image_bytes", "file_bytes"] {
            XCTAssertNotNil(result[key], "infer --json lacks \(key)")
        }
        XCTAssertEqual(result["images"] as? Int, 20)
        XCTAssertEqual(result["file_bytes"] as? Int, bytesA.count)
        let predictions = try String(contentsOfFile: dir + "/p.txt", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(predictions.count, 20)
        // --no-timing (train sweep's cross-check): the same predictions and accuracy, no timing passes or keys.
        let scoreOnly = try run("infer", [dir + "/a.bsm", "--images", dir + "/x-images.gz", "--labels", dir + "/x-labels",
                                          "--json", "--no-timing", "--predictions", dir + "/n.txt"])
        XCTAssertEqual(scoreOnly.status, 0, scoreOnly.stderr)
        let quick = try lastJSON(scoreOnly.stdout)
        XCTAssertEqual(quick["accuracy"] as? Double, result["accuracy"] as? Double)
        XCTAssertNil(quick["latency_us"])
        XCTAssertNil(quick["images_per_second"])
        XCTAssertTrue(scoreOnly.stdout.contains("not measured (--no-timing)"), scoreOnly.stdout)
        XCTAssertEqual(try String(contentsOfFile: dir + "/n.txt", encoding: .utf8).split(separator: "\n"), predictions)
        // --skip 7 --limit 9: images 7 ..< 16 of the same set, their predictions those lines of the whole run.
        let shard = try run("infer", [dir + "/a.bsm", "--images", dir + "/x-images.gz", "--labels", dir + "/x-labels",
                                      "--skip", "7", "--limit", "9", "--json", "--no-timing", "--predictions", dir + "/s.txt"])
        XCTAssertEqual(shard.status, 0, shard.stderr)
        XCTAssertEqual(try lastJSON(shard.stdout)["images"] as? Int, 9)
        XCTAssertEqual(try String(contentsOfFile: dir + "/s.txt", encoding: .utf8).split(separator: "\n"), Array(predictions[7..<16]))
        // The microcontrollers' carry-save kernels, run on the host, predict the same.
        for kernels in ["carry-save", "simd", "reference"] {
            let other = try run("infer", [dir + "/a.bsm", "--images", dir + "/x-images.gz", "--labels", dir + "/x-labels",
                                          "--kernels", kernels, "--predictions", dir + "/q.txt"])
            XCTAssertEqual(other.status, 0, other.stderr)
            XCTAssertEqual(try String(contentsOfFile: dir + "/q.txt", encoding: .utf8).split(separator: "\n"), predictions, kernels)
        }
    }

    func testClearErrorsAndExitCodes() throws {
        let dir = temporaryDirectory()
        let ck = try checkpoint(in: dir)
        XCTAssertEqual(try run("convert", [ck, "-o", dir + "/a.bsm"]).status, 0)
        // A corrupt file: inspect and infer fail with the reason and exit 1.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/a.bsm")))
        bytes[bytes.count - 5] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/bad.bsm"))
        let inspect = try run("convert", ["inspect", dir + "/bad.bsm"])
        XCTAssertEqual(inspect.status, 1)
        XCTAssertTrue(inspect.stderr.contains("CRC-32"), inspect.stderr)
        XCTAssertEqual(try run("infer", [dir + "/bad.bsm"]).status, 1)
        // Data of the wrong shape.
        try Data(IDXFile(dimensions: [2, 4, 4], bytes: [UInt8](repeating: 0, count: 32)).encoded()).write(to: URL(fileURLWithPath: dir + "/s-images"))
        try Data(IDXFile(dimensions: [2], bytes: [0, 1]).encoded()).write(to: URL(fileURLWithPath: dir + "/s-labels"))
        let shape = try run("infer", [dir + "/a.bsm", "--images", dir + "/s-images", "--labels", dir + "/s-labels"])
        XCTAssertEqual(shape.status, 1)
        XCTAssertTrue(shape.stderr.contains("the model takes 28x28x1 images"), shape.stderr)
        // Label count mismatch.
        try Data(IDXFile(dimensions: [3], bytes: [0, 1, 2]).encoded()).write(to: URL(fileURLWithPath: dir + "/s3-labels"))
        let count = try run("infer", [dir + "/a.bsm", "--images", dir + "/s-images", "--labels", dir + "/s3-labels"])
        XCTAssertEqual(count.status, 1)
        XCTAssertTrue(count.stderr.contains("image/label count mismatch: 2 images, 3 labels"), count.stderr)
        // Bad usage.
        XCTAssertEqual(try run("infer", [dir + "/a.bsm", "--images", "x"]).status, 64)
        let minimal = try run("infer", [dir + "/a.bsm", "--minimal"])
        XCTAssertEqual(minimal.status, 64, "--minimal without --device")
        XCTAssertTrue(minimal.stderr.contains("--minimal selects the minimal firmware for --device"), minimal.stderr)
        XCTAssertEqual(try run("convert", [ck]).status, 64, "missing -o")
        // A checkpoint that is not one.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/junk.safetensors"))
        let junk = try run("convert", [dir + "/junk.safetensors", "-o", dir + "/j.bsm"])
        XCTAssertEqual(junk.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/j.bsm"), "no half-written output")
    }

    /// Files whose checksums are right but which the spec forbids (issue 12 items 15 and 16): `convert
    /// inspect` and `infer` refuse each with the reason and exit 1, and accept what `convert` wrote.
    func testInspectAndInferRefuseWhatTheSpecForbids() throws {
        let dir = temporaryDirectory()
        XCTAssertEqual(try run("convert", [try checkpoint(in: dir), "-o", dir + "/a.bsm"]).status, 0)
        let good = try ModelFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/a.bsm"))))
        let json = String(decoding: good.metadata, as: UTF8.self)
        let hash = SHA256.hex(good.imageSHA256), other = SHA256.hex(SHA256.hash([0]))
        XCTAssertTrue(json.contains(#""image_sha256":"\#(hash)""#), json)
        let hostile: [(name: String, bytes: [UInt8], error: String)] = [
            ("sha", ModelFile(metadata: Array(json.replacingOccurrences(of: hash, with: other).utf8), image: good.image).encoded(),
             "metadata key 'image_sha256' is \(other): the header's image SHA-256 is \(hash)"),
            ("array", ModelFile(metadata: Array("[\(json)]".utf8), image: good.image).encoded(), "metadata must be a JSON object, it is an array"),
            ("format", ModelFile(metadata: Array(json.replacingOccurrences(of: "bitshield.model", with: "bitshield.modle").utf8), image: good.image).encoded(),
             #"metadata key 'format' is "bitshield.modle": must be "bitshield.model""#),
            ("zlib", ModelFile.assemble(metadata: good.metadata, stored: Zlib.compress(good.image) + [0], image: good.image, compressed: true),
             "1 bytes after the end of the zlib stream"),
        ]
        for h in hostile {
            let path = dir + "/\(h.name).bsm"
            try Data(h.bytes).write(to: URL(fileURLWithPath: path))
            let inspect = try run("convert", ["inspect", path])
            XCTAssertEqual(inspect.status, 1, h.name)
            XCTAssertTrue(inspect.stderr.contains(h.error), "\(h.name): \(inspect.stderr)")
            let infer = try run("infer", [path])
            XCTAssertEqual(infer.status, 1, h.name)
            XCTAssertTrue(infer.stderr.contains(h.error), "\(h.name): \(infer.stderr)")
        }
    }
}
