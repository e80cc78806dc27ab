import Datasets
import Foundation
import XCTest
@testable import Inference
@testable import ModelFile
@testable import ModelFormat
@testable import Trainer

/// Golden files of each format version stay readable forever: `spec/golden/vN-*.bsm` are models
/// written by version N of the converter; `vN-expected.json` holds, for 16 fixed inputs, each model's
/// predicted classes and the bit patterns of its scores. Run with BITSHIELD_WRITE_GOLDEN=1 to write
/// the current version's files (only when the format version changes: a new version adds files, it
/// never rewrites old ones).
final class GoldenTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("spec/golden").path

    /// The 16 fixed 8x8 inputs.
    static func inputs() -> [[UInt8]] {
        var r = SeededRandom(seed: 2026)
        return (0..<16).map { _ in (0..<64).map { _ in UInt8(r.next() % 256) } }
    }

    /// The golden models: a binary FCN (2-bit input), an XNOR conv net (3-bit input) and a float FCN.
    static func models() throws -> [(name: String, network: Network)] {
        var r = SeededRandom(seed: 7)
        let labels = (0..<400).map { _ in UInt8(r.next() % 3) }
        let pixels = labels.flatMap { label in (0..<64).map { i in UInt8((i % 3 == Int(label) ? 160 : 0) + Int(r.next() % 90)) } }
        let data = try ImageSet(height: 8, width: 8, classes: 3, pixels: pixels, labels: labels)
        var fcn = ModelConfig.fcn(hidden: [12, 8], input: FeatureMap(height: 8, width: 8, channels: 1), precision: .binary, inputBits: 2)
        fcn.classes = 3
        var conv = ModelConfig.conv(input: FeatureMap(height: 8, width: 8, channels: 1), classes: 3, precision: .xnor, inputBits: 3)
        conv.convChannels = [4, 5]
        conv.kernel = 2
        conv.hidden = [6]
        var float = ModelConfig.fcn(hidden: [10], input: FeatureMap(height: 8, width: 8, channels: 1), precision: .float, inputBits: 8)
        float.classes = 3
        var out: [(String, Network)] = []
        let v = "v\(ImageLayout.version)"
        for (name, model) in [("\(v)-fcn-binary", fcn), ("\(v)-conv-xnor", conv), ("\(v)-fcn-float", float)] {
            let s = try TrainingSession(model: model, training: TrainingConfig(epochs: 2, batchSize: 20, learningRate: 0.01, seed: 5))
            for _ in 0..<2 { _ = try s.trainEpoch(on: data) }
            out.append((name, s.network))
        }
        return out
    }

    static func run(_ image: [UInt8]) throws -> [[String: Any]] {
        try image.withUnsafeBytes { bytes in
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: try Interpreter.arenaBytes(for: ModelImage(bytes: bytes)), alignment: 16)
            defer { arena.deallocate() }
            let it = try Interpreter(image: bytes, arena: arena)
            return inputs().map { input in
                var scores = [Float](repeating: 0, count: 3)
                let c = input.withUnsafeBufferPointer { it.invoke($0.baseAddress!, scores: &scores) }
                return ["class": c, "scores": scores.map { Int($0.bitPattern) }]
            }
        }
    }

    func testWriteGoldenFilesWhenAsked() throws {
        guard ProcessInfo.processInfo.environment["BITSHIELD_WRITE_GOLDEN"] != nil else {
            throw XCTSkip("set BITSHIELD_WRITE_GOLDEN=1 to write spec/golden")
        }
        var expected: [String: Any] = [:]
        // Version 5 files are version 4's images (the same trained models, bit for bit: retraining moves float
        // scores by a few ulps between machines) labelled version 5, and a fourth model, `v5-fcn-ternary`: the
        // binary FCN with a fixed third of its weights set to 0 (`ternary(from:)`), its planes in all three
        // layouts a ternary layer may take.
        var images: [(String, [UInt8])] = []
        for (name, _) in try Self.models() {
            let v4 = try ModelFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/v4" + name.dropFirst(2) + ".bsm"))))
            var image = v4.image
            image[4] = UInt8(ImageLayout.version)   // a reader accepts a label above what the types need
            images.append((name, image))
            if name.hasSuffix("fcn-binary") { images.append(("v\(ImageLayout.version)-fcn-ternary", try Self.ternary(from: v4.image))) }
        }
        for (name, image) in images {
            let meta = Array(#"{"format":"bitshield.model","golden":"\#(name)"}"#.utf8)
            try ModelFile(metadata: meta, image: image).encoded().withUnsafeBufferPointer {
                try Data(buffer: $0).write(to: URL(fileURLWithPath: Self.directory + "/\(name).bsm"))
            }
            expected[name] = try Self.run(image)
        }
        let json = try JSONSerialization.data(withJSONObject: expected, options: [.sortedKeys, .prettyPrinted])
        try json.write(to: URL(fileURLWithPath: Self.directory + "/v\(ImageLayout.version)-expected.json"))
    }

    /// `image` rebuilt with the bounds of every columns32 dense layer on packed bits that a threshold_sign
    /// follows (columns32s), labelled with this reader's version.
    static func withBounds(_ image: [UInt8]) throws -> [UInt8] {
        try image.withUnsafeBytes { raw in
            let model = try ModelImage(bytes: raw)
            var b = ImageBuilder(inputHeight: Int(model.header.inputHeight), inputWidth: Int(model.header.inputWidth),
                                 inputChannels: Int(model.header.inputChannels), classes: Int(model.header.classes))
            for i in 0..<model.tensorCount {
                let t = model.tensor(i)
                let dims = [t.dims.0, t.dims.1, t.dims.2, t.dims.3].prefix(t.rank)
                _ = b.addTensor(t.type, dims: Array(dims), bytes: Array(UnsafeRawBufferPointer(start: model.data(i), count: t.bytes)))
            }
            for k in 0..<model.opCount {
                b.addOp(model.opKind(k), (0..<ImageLayout.opParameters).map { model.opParameter(k, $0) })
                if model.opKind(k) == .dense, model.isColumns(model.opParameter(k, 2)), model.opParameter(k, 3) == Int(InputKind.bits.rawValue),
                   k + 1 < model.opCount, model.opKind(k + 1) == .thresholdSign {
                    let t = model.opParameter(k + 1, 3), m = model.opParameter(k, 1)
                    let thresholds = (0..<m).map { model.data(t).load(fromByteOffset: 4 * $0, as: Int32.self) }
                    b.addBounds(to: model.opParameter(k, 2), thresholds: thresholds)
                }
            }
            var out = b.build()
            out[4] = UInt8(ImageLayout.version)   // a reader accepts a label above what the types need
            return out
        }
    }

    /// `image` (a binary FCN) with ternary dense layers: weight (o, i) of dense layer l is set to 0 where
    /// (7·o + i + l) mod 3 = 0, the rest kept; the planes are written in bits8 (the first layer), columns32
    /// (the hidden ones) and bits (the last), or with `allBlocked` all in bits8; thresholds and the affine stay as
    /// they were.
    static func ternary(from image: [UInt8], allBlocked: Bool = false) throws -> [UInt8] {
        try image.withUnsafeBytes { raw in
            let model = try ModelImage(bytes: raw)
            var b = ImageBuilder(inputHeight: Int(model.header.inputHeight), inputWidth: Int(model.header.inputWidth),
                                 inputChannels: Int(model.header.inputChannels), classes: Int(model.header.classes))
            let dense = (0..<model.opCount).filter { model.opKind($0) == .dense && model.isBits(model.opParameter($0, 2)) }
            var index = [Int](repeating: -1, count: model.tensorCount)
            for i in 0..<model.tensorCount where !dense.contains(where: { model.opParameter($0, 2) == i }) {
                let t = model.tensor(i)
                let dims = [t.dims.0, t.dims.1, t.dims.2, t.dims.3].prefix(t.rank)
                index[i] = b.addTensor(t.type, dims: Array(dims), bytes: Array(UnsafeRawBufferPointer(start: model.data(i), count: t.bytes)))
            }
            for k in 0..<model.opCount {
                var p = (0..<ImageLayout.opParameters).map { model.opParameter(k, $0) }
                switch model.opKind(k) {
                case .dense where dense.contains(k):
                    let (n, m, l) = (p[0], p[1], dense.firstIndex(of: k)!)
                    let rows = model.packedRows(p[2], n: n)
                    let w = (0..<(m * n)).map { j -> Float in (7 * (j / n) + j % n + l) % 3 == 0 ? 0 : Float(rows.value(j / n, j % n)) }
                    let planes = BitPacking.ternaryPlanes(w)
                    let added = [planes.upper, planes.lower].map { signs -> Int in
                        let layout: TensorType = l == 0 || allBlocked ? .bits8 : l == dense.count - 1 ? .bits : .columns32
                        return b.addDense(BitPacking.pack(signs: signs, rows: m, n: n), rows: m, n: n, type: layout)
                    }
                    (p[2], p[6]) = (added[0], added[1] + 1)
                case .thresholdSign: (p[3], p[4]) = (index[p[3]], index[p[4]])
                case .affine: (p[3], p[4], p[5]) = (p[3] == 0 ? 0 : index[p[3] - 1] + 1, index[p[4]], index[p[5]])
                case .inputCodes, .argmax: break
                default: throw ModelFormatError.container("ternary(from:) takes input_codes, binary dense, threshold_sign, affine and argmax only")
                }
                b.addOp(model.opKind(k), p)
            }
            return b.build()
        }
    }

    func testGoldenFilesStillReadAndPredictTheSame() throws {
        for version in 1...Int(ImageLayout.version) {
            let expectedData = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/v\(version)-expected.json"))
            let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: expectedData) as? [String: [[String: Any]]])
            XCTAssertEqual(expected.keys.sorted(), ["v\(version)-conv-xnor", "v\(version)-fcn-binary", "v\(version)-fcn-float"]
                           + (version >= Int(ImageLayout.ternaryVersion) ? ["v\(version)-fcn-ternary"] : []))
            for (name, cases) in expected {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/\(name).bsm")))
                let file = try ModelFile.parse(bytes)
                XCTAssertEqual(Int(file.image[4]), version, "\(name) is a version \(version) image")
                let got = try Self.run(file.image)
                for (i, (a, b)) in zip(got, cases).enumerated() {
                    XCTAssertEqual(a["class"] as? Int, b["class"] as? Int, "\(name) input \(i)")
                    XCTAssertEqual(a["scores"] as? [Int], b["scores"] as? [Int], "\(name) input \(i) scores, bit for bit")
                }
            }
        }
    }

    /// The ternary golden model's weights with every layer's planes in bits8 score exactly its golden scores, and on
    /// a 64-bit host they run the one-pass ternary kernels (BlockedDense+Ternary.swift): on codes, on bits into
    /// fused signs and on bits into the i32 accumulators of the last layer (the stored file, bits8 only in its first
    /// layer, runs the first of them).
    func testTheTernaryGoldenScoresOnTheOnePassKernels() throws {
        let name = "v\(ImageLayout.ternaryVersion)-fcn-ternary"
        let expectedData = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/v\(ImageLayout.ternaryVersion)-expected.json"))
        let cases = try XCTUnwrap((JSONSerialization.jsonObject(with: expectedData) as? [String: [[String: Any]]])?[name])
        let v4 = try ModelFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/v4-fcn-binary.bsm"))))
        let stored = try ModelFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/\(name).bsm"))))
        XCTAssertEqual(try Self.ternary(from: v4.image), stored.image, "ternary(from:) rebuilds the stored golden image")
        let image = try Self.ternary(from: v4.image, allBlocked: true)
        for (bytes, kernels) in [(image, [Kernel.blockedPlanesTernary, .blockedBitsTernary, .blockedBitsTernary]),
                                 (stored.image, [.blockedPlanesTernary, .columnsBits, .fusedDenseBits])] {
            try bytes.withUnsafeBytes { raw in
                let plan = Interpreter.plan(image: try ModelImage(bytes: raw)).filter { $0.step == .ternaryLayer }
                XCTAssertEqual(plan.map(\.kernel), kernels)
                XCTAssertEqual(plan.map { $0.lastOp - $0.firstOp }, [2, 1, 0], "input_codes + dense + threshold_sign, dense + threshold_sign, dense")
            }
            let got = try Self.run(bytes)
            for (i, (a, b)) in zip(got, cases).enumerated() {
                XCTAssertEqual(a["class"] as? Int, b["class"] as? Int, "input \(i)")
                XCTAssertEqual(a["scores"] as? [Int], b["scores"] as? [Int], "input \(i) scores, bit for bit")
            }
        }
    }

    /// An independent reader written from spec/FORMAT.md alone (`scripts/check_golden.py`, Python standard
    /// library) reproduces every golden class and score bit for bit: the spec says enough to implement
    /// the format, including the float summation order of the float model's scores.
    func testAReaderOfTheSpecAloneReproducesTheGoldenScores() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let script = URL(fileURLWithPath: Self.directory).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/check_golden.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script, Self.directory]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("all golden scores agree, bit for bit"), text)
    }

    /// The same trained models give the same predictions and scores from every version's files.
    func testVersionsAgree() throws {
        let load = { (v: Int) throws -> [String: [[String: Any]]] in
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/v\(v)-expected.json"))
            return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [[String: Any]]])
        }
        let v1 = try load(1)
        for version in 2...Int(ImageLayout.version) {
            let other = try load(version)
            for model in ["fcn-binary", "conv-xnor", "fcn-float"] {
                let (a, b) = (try XCTUnwrap(v1["v1-\(model)"]), try XCTUnwrap(other["v\(version)-\(model)"]))
                XCTAssertEqual(a.map { $0["class"] as? Int }, b.map { $0["class"] as? Int }, "\(model) v1 vs v\(version)")
                XCTAssertEqual(a.map { $0["scores"] as? [Int] }, b.map { $0["scores"] as? [Int] }, "\(model) v1 vs v\(version)")
            }
        }
    }
}
