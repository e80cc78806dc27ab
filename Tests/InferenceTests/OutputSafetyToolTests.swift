import Datasets
import Foundation
import XCTest
@testable import Trainer

/// `convert` and `infer` never destroy an input and never write output their own readers refuse
/// (issue 12, items 7 and 11).
final class OutputSafetyToolTests: XCTestCase {
    /// A small untrained binary checkpoint on 28x28 input.
    func checkpoint(in dir: String) throws -> String {
        var m = ModelConfig.fcn2(precision: .binary, inputBits: 2)
        m.hidden = [16]
        let path = dir + "/m.safetensors"
        try Checkpoint(network: try Network(config: m, seed: 2), optimizer: nil, training: TrainingConfig(learningRate: 0.01),
                       progress: TrainingProgress(epochsCompleted: 0, optimizerStep: 0, testAccuracy: nil, trainLoss: nil,
                                                  trainAccuracy: nil, seconds: 0)).write(to: path)
        return path
    }

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Item 7: an output that is the input, spelled as itself, through `a/../`, a symlink or a hard link,
    /// is refused (exit 1, both paths named) and the input keeps every byte, for `convert`, `convert image`
    /// and `infer --predictions`.
    func testNoToolOverwritesItsInput() throws {
        let dir = temporaryDirectory()
        let ck = try checkpoint(in: dir)
        let original = try XCTUnwrap(bytes(ck))
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.bsm", withDestinationPath: ck)
        XCTAssertEqual(link(ck, dir + "/hard.bsm"), 0)
        for output in [ck, dir + "/sub/../m.safetensors", dir + "/link.bsm", dir + "/hard.bsm"] {
            let r = try runTool("convert", [ck, "-o", output])
            XCTAssertEqual(r.status, 1, "convert -o \(output): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains(output) && r.stderr.contains(ck), r.stderr)
            XCTAssertEqual(bytes(ck), original, "the checkpoint survives -o \(output)")
        }
        // The same file through a relative spelling (./a/../a) from another working directory.
        let relative = try runTool("convert", [ck, "-o", "./sub/../m.safetensors"], cwd: dir)
        XCTAssertEqual(relative.status, 1, relative.stderr)
        XCTAssertEqual(bytes(ck), original)

        let bsm = dir + "/m.bsm"
        XCTAssertEqual(try runTool("convert", [ck, "-o", bsm]).status, 0)
        let model = try XCTUnwrap(bytes(bsm))
        let image = try runTool("convert", ["image", bsm, "-o", dir + "/sub/../m.bsm"])
        XCTAssertEqual(image.status, 1, image.stdout)
        XCTAssertTrue(image.stderr.contains(bsm), image.stderr)
        XCTAssertEqual(bytes(bsm), model)

        // infer --predictions onto its model or its labels file.
        let images = dir + "/x-images-idx3-ubyte", labels = dir + "/x-labels-idx1-ubyte"
        try Data(IDXFile(dimensions: [2, 28, 28], bytes: [UInt8](repeating: 9, count: 2 * 784)).encoded()).write(to: URL(fileURLWithPath: images))
        try Data(IDXFile(dimensions: [2], bytes: [1, 2]).encoded()).write(to: URL(fileURLWithPath: labels))
        let labelBytes = try XCTUnwrap(bytes(labels))
        for target in [bsm, labels] {
            let r = try runTool("infer", [bsm, "--images", images, "--labels", labels, "--predictions", target])
            XCTAssertEqual(r.status, 1, r.stdout)
            XCTAssertTrue(r.stderr.contains(target), r.stderr)
        }
        XCTAssertEqual(bytes(bsm), model)
        XCTAssertEqual(bytes(labels), labelBytes)
    }

    /// Item 11: a BinaryNet.pytorch state dict whose last bias has 3 values for 10 classes (or whose
    /// hidden BatchNorm is short) is refused before anything is written, with the numbers; exit 1.
    func testConvertRefusesAStateDictItCannotWriteValidly() throws {
        let dir = temporaryDirectory()
        func tensor(_ name: String, _ shape: [Int]) -> NamedArray {
            NamedArray(name: name, shape: shape, values: (0..<shape.reduce(1, *)).map { Float(($0 * 7919) % 13) / 13 - 0.4 })
        }
        func stateDict(lastBias: Int, bnVar: Int) -> [NamedArray] {
            [tensor("fc1.weight", [16, 784]), tensor("fc1.bias", [16]),
             tensor("bn1.weight", [16]), tensor("bn1.bias", [16]), tensor("bn1.running_mean", [16]),
             NamedArray(name: "bn1.running_var", shape: [bnVar], values: [Float](repeating: 1, count: bnVar)),
             tensor("fc2.weight", [10, 16]), tensor("fc2.bias", [lastBias])]
        }
        let good = dir + "/good.safetensors"
        try Data(SafeTensorsFile(metadata: [:], tensors: stateDict(lastBias: 10, bnVar: 16)).encoded()).write(to: URL(fileURLWithPath: good))
        XCTAssertEqual(try runTool("convert", [good, "-o", dir + "/good.bsm"]).status, 0, "the well-formed dict converts")
        for (name, lastBias, bnVar, numbers) in [("bias", 3, 16, ["3", "10"]), ("bn", 10, 15, ["15", "16"])] {
            let path = dir + "/\(name).safetensors", out = dir + "/\(name).bsm"
            try Data(SafeTensorsFile(metadata: [:], tensors: stateDict(lastBias: lastBias, bnVar: bnVar)).encoded())
                .write(to: URL(fileURLWithPath: path))
            let r = try runTool("convert", [path, "-o", out])
            XCTAssertEqual(r.status, 1, "\(name): \(r.stdout)")
            XCTAssertFalse(r.stdout.contains("wrote"), r.stdout)
            for n in numbers { XCTAssertTrue(r.stderr.contains(n), "\(name): \(r.stderr) lacks \(n)") }
            XCTAssertNil(bytes(out), "nothing written for \(name)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains(".tmp-") }, [])
        }
    }
}
