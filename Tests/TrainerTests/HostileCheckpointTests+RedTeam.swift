import Foundation
import ModelFormat
import XCTest
@testable import Trainer

/// The red team's findings against the hostile-readers merge, rows 12, 14, 15, 19b and 19d, in the library.
extension HostileCheckpointTests {
    /// `ck`'s file with the metadata value of `key` (JSON) edited as text by `change`.
    func withMetadata(_ ck: Checkpoint, _ key: String, _ change: (String) -> String) -> SafeTensorsFile {
        var file = ck.file
        file.metadata[key] = change(file.metadata[key]!)
        return file
    }

    // Row 12: a checkpoint whose `training.adversarial.steps` is 2^62 made `train --resume` hang; now
    // refused at load like the option, as is every attack count past its cap.
    func testCheckpointTrainingSettingsAreCheckedAtLoad() throws {
        var model = HostileCheckpointTests.tiny
        model.dropout = 0
        let s = try TrainingSession(model: model, training: TrainingConfig(
            epochs: 1, batchSize: 20, learningRate: 0.01, adversarial: .init(attack: .pgd, epsilon: 0.1, steps: 1, ratio: 0.5)))
        _ = try s.trainEpoch(on: TestData.quadrants(count: 20, seed: 3))
        let ck = try s.checkpoint(testAccuracy: nil, last: nil)
        XCTAssertNoThrow(try reread(ck.file))
        assertRefused(withMetadata(ck, "training") { $0.replacingOccurrences(of: #""steps":1"#, with: #""steps":4611686018427387904"#) },
                      mentioning: ["metadata 'training'", "steps 4611686018427387904", "1...100000"])
        for bad in [AttackConfig(kind: .pgd, epsilon: 0.1, restarts: 1 << 62), AttackConfig(kind: .square, epsilon: 0.1, queries: .max),
                    AttackConfig(kind: .edge, epsilon: 0.1, searchRounds: 1 << 62), AttackConfig(kind: .edge, epsilon: 0.1, candidates: 1 << 40)] {
            XCTAssertThrowsError(try bad.validate(), "\(bad.settingsSummary)")
        }
    }

    // Row 14: a network whose image would pass the format's 1,024 ops trained, and only `convert` refused
    // it ("op_count 2052"). The op count of a configuration is computed once (ModelConfig+ImageOps.swift)
    // and must equal what the exporter writes, for every precision and architecture.
    func testExportedOpCountMatchesTheExporterAndIsBounded() throws {
        func fcn(_ hidden: [Int], _ precision: ModelConfig.Precision, floatLast: Bool = false) -> ModelConfig {
            var m = ModelConfig.fcn(hidden: hidden, input: FeatureMap(height: 4, width: 4, channels: 1), precision: precision, inputBits: 2)
            m.floatLastLayer = floatLast
            return m
        }
        func conv(_ precision: ModelConfig.Precision, hidden: [Int], floatLast: Bool = false) -> ModelConfig {
            var m = ModelConfig.conv(input: FeatureMap(height: 10, width: 10, channels: 1), classes: 3, precision: precision, inputBits: 8)
            (m.convChannels, m.hidden, m.floatLastLayer) = ([2, 3], hidden, floatLast)
            return m
        }
        var configs: [ModelConfig] = []
        for p in ModelConfig.Precision.allCases {
            configs += [fcn([5], p), fcn([5, 6, 7], p), fcn([5, 6], p, floatLast: true), conv(p, hidden: [4]), conv(p, hidden: []),
                        conv(p, hidden: [4, 4], floatLast: true)]
        }
        configs += [fcn(Array(repeating: 1, count: 510), .binary), fcn(Array(repeating: 1, count: 340), .float)]
        for config in configs {
            let image = try ImageExport.image(of: Network(config: config, seed: 1))
            let ops = Int(image[24]) | Int(image[25]) << 8   // the header's op_count (spec/FORMAT.md)
            XCTAssertEqual(config.exportedOpCount, ops, config.summary)
            XCTAssertLessThanOrEqual(ops, ImageLayout.maxOps, config.summary)
        }
        for (depth, precision, ops) in [(511, ModelConfig.Precision.binary, 1026), (341, .float, 1027), (1024, .binary, 2052)] {
            XCTAssertThrowsError(try fcn(Array(repeating: 1, count: depth), precision).validate()) {
                XCTAssertTrue("\($0)".contains("\(ops) ops") && "\($0)".contains("1024"), "\($0)")
            }
        }
    }

    // Row 15: `tensor(name)` scanned every tensor, so a header of 400,000 tiny entries made a checkpoint's
    // validation take 36 s. Now a hash lookup through an index of first positions.
    func testTensorLookupDoesNotScanTheFile() throws {
        func file(_ n: Int) -> SafeTensorsFile {
            SafeTensorsFile(metadata: [:], tensors: (0..<n).map { NamedArray(name: "t\($0)", shape: [0], values: []) })
        }
        // Deterministic, not timed: lookups go through the name index (one hash lookup each), which holds
        // every name at its first position; the red team's 400,000-entry checkpoint, which took 36.5 s
        // with a scan per lookup, is the benchmark figure in the issue note.
        let (small, large) = (file(1_000), file(100_000))
        XCTAssertEqual(large.index.count, 100_000)
        for k in stride(from: 0, to: 100_000, by: 997) { XCTAssertEqual(large.index["t\(k)"], k) }
        XCTAssertNil(large.tensor("t100000"))
        XCTAssertEqual(large.tensor("t99999")?.name, "t99999")
        // The index follows edits of `tensors`, and the first of two equal names wins, as the scan's did.
        var edited = small
        edited.tensors.append(NamedArray(name: "t5", shape: [1], values: [7]))
        edited.tensors.insert(NamedArray(name: "new", shape: [1], values: [1]), at: 0)
        XCTAssertEqual(edited.tensor("t5")?.shape, [0])
        XCTAssertEqual(edited.tensor("new")?.values, [1])
        edited.tensors.removeAll { $0.name == "t5" && $0.shape == [0] }
        XCTAssertEqual(edited.tensor("t5")?.values, [7])
    }

    // Row 19b: a number its field cannot hold (`seed: -1`, `learning_rate: 1e300`) was reported as
    // "...not valid JSON", naming neither the key nor the value.
    func testMetadataNumbersThatDoNotFitNameTheKeyAndTheValue() throws {
        let ck = try checkpoint()
        assertRefused(withMetadata(ck, "training") { $0.replacingOccurrences(of: #""seed":1"#, with: #""seed":-1"#) },
                      mentioning: ["metadata 'training'", "'seed' is -1"])
        assertRefused(withMetadata(ck, "training") { $0.replacingOccurrences(of: #""learning_rate":0.01"#, with: #""learning_rate":1e300"#) },
                      mentioning: ["'learning_rate' is 1e+300"])
        assertRefused(withMetadata(ck, "model") { $0.replacingOccurrences(of: #""hidden":[16]"#, with: #""hidden":[16.5]"#) },
                      mentioning: ["metadata 'model'", "'hidden[0]' is 16.5"])
        assertRefused(withMetadata(ck, "model") { $0.replacingOccurrences(of: #""input_bits":2"#, with: #""input_bits":"2""#) },
                      mentioning: ["'input_bits' is \"2\""])
    }

    // Row 19d: a negative BatchNorm running variance or Adam second moment was accepted at load (the
    // running variance then folded, through a NaN, into constant thresholds).
    func testNegativeVariancesAndOverflowingFoldsAreRefused() throws {
        let ck = try checkpoint()
        for (name, index) in [("bn0.running_var", 5), ("bn1.running_var", 0), ("optimizer.fc0.weight.second", 17)] {
            var file = ck.file
            let i = try XCTUnwrap(file.tensors.firstIndex { $0.name == name })
            file.tensors[i].values[index] = -0.25
            assertRefused(file, mentioning: ["'\(name)'", "-0.25 at index \(index)", "must not be negative"])
        }
        var moments = ck.file   // a negative first moment is an ordinary value
        moments.tensors[moments.tensors.firstIndex { $0.name == "optimizer.fc0.weight.first" }!].values[3] = -0.25
        XCTAssertNoThrow(try reread(moments))
        // Finite statistics whose folded scale overflows (gamma 3e38 over a variance of 0) were folded
        // into a constant threshold by the exporter's binary path; refused as the float path refuses them.
        var huge = ck.file
        huge.tensors[huge.tensors.firstIndex { $0.name == "bn0.weight" }!].values[2] = 3e38
        huge.tensors[huge.tensors.firstIndex { $0.name == "bn0.running_var" }!].values[2] = 0
        XCTAssertThrowsError(try ImageExport.image(of: reread(huge).makeNetwork())) {
            XCTAssertTrue("\($0)".contains("bn0 (layer") && "\($0)".contains("at index 2"), "\($0)")
        }
    }
}
