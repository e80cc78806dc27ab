import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// Tiny, seeded inputs for the command-line tests (CLIToolTests, CLIGoldenTests): data caches written as the
/// tools read them, and a checkpoint trained for one epoch on 24 images, so every run takes milliseconds.
enum CLIFixtures {
    /// Seeded pixels; labels cycle through 0...3.
    static func pixelsAndLabels(count: Int, imageSize: Int, seed: UInt64) -> ([UInt8], [UInt8]) {
        var random = SeededRandom(seed: seed)
        return ((0..<(count * imageSize)).map { _ in UInt8(random.next() % 256) }, (0..<count).map { UInt8($0 % 4) })
    }

    /// A data cache whose MNIST splits are `count` seeded `size` x `size` grey images (raw IDX).
    static func mnistCache(size: Int = 8, count: Int = 24, seed: UInt64 = 5) throws -> String {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/mnist", withIntermediateDirectories: true)
        for prefix in ["train", "t10k"] {
            let (pixels, labels) = pixelsAndLabels(count: count, imageSize: size * size, seed: seed)
            for (name, idx) in [("images-idx3-ubyte", IDXFile(dimensions: [count, size, size], bytes: pixels)),
                                ("labels-idx1-ubyte", IDXFile(dimensions: [count], bytes: labels))] {
                XCTAssertTrue(FileManager.default.createFile(atPath: "\(dir)/mnist/\(prefix)-\(name)", contents: Data(idx.encoded())))
            }
        }
        return dir
    }

    /// A data cache whose CIFAR-10 test split is `count` seeded 32x32 colour records (label byte, then the
    /// red, green and blue planes), the binary version's layout.
    static func cifarCache(count: Int = 12, seed: UInt64 = 6) throws -> String {
        let dir = temporaryDirectory(), folder = dir + "/cifar-10-batches-bin"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let (pixels, labels) = pixelsAndLabels(count: count, imageSize: 3072, seed: seed)
        var bytes: [UInt8] = []
        for i in 0..<count { bytes += [labels[i]] + pixels[(i * 3072)..<((i + 1) * 3072)] }
        XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/test_batch.bin", contents: Data(bytes)))
        return dir
    }

    /// A binary checkpoint (input `input`, one hidden layer of 16, 10 classes) of data set `dataset`, trained
    /// `epochs` epochs on 24 seeded images (0: the seeded initial weights, no BLAS call, so the same bits
    /// whatever kernels OpenBLAS picks), written to a fresh directory as NAME.safetensors.
    static func checkpoint(input: FeatureMap, dataset: String = "mnist", name: String = "model", seed: UInt64 = 3,
                           epochs: Int = 1) throws -> String {
        let model = ModelConfig.fcn(hidden: [16], input: input, precision: .binary, inputBits: 2)
        let s = try TrainingSession(model: model, training: TrainingConfig(dataset: dataset, epochs: 1, batchSize: 12, learningRate: 0.01, seed: seed))
        let (pixels, labels) = pixelsAndLabels(count: 24, imageSize: input.height * input.width * input.channels, seed: seed)
        for _ in 0..<epochs {
            _ = try s.trainEpoch(on: ImageSet(height: input.height, width: input.width, channels: input.channels, classes: 10,
                                              pixels: pixels, labels: labels))
        }
        let path = temporaryDirectory() + "/\(name).safetensors"
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(try s.checkpoint(testAccuracy: nil, last: nil).file.encoded())))
        return path
    }
}

extension XCTestCase {
    /// Runs `tool` and asserts its exit status; on status != 0, that stderr names every one of `parts`.
    @discardableResult
    func expectTool(_ tool: String, _ args: [String], status: Int32, mentioning parts: [String] = [],
                    file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try runTool(tool, args, file: file, line: line)
        XCTAssertEqual(r.status, status, "\(tool) \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        for p in parts {
            XCTAssertTrue(r.stderr.contains(p), "\(tool) \(args.first ?? ""): stderr lacks '\(p)': \(r.stderr)", file: file, line: line)
        }
        return r
    }
}
