import Datasets
import Foundation
import ToolSupport
import XCTest

/// Issue 17, item 3: scripts/torch_attacks.py runs torchattacks' PGD and AutoAttack beside `train attack` on the
/// fixture model, scores every image with `infer`, and resumes from its journal. Slow tier; skips without
/// torchattacks (`make torchattacks`).
final class TorchAttacksTests: XCTestCase {
    func testOutsideAttacksAreScoredByTheRuntimeAndResume() throws {
        try requireSlowTier("torchattacks beside train attack")
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let python = ProcessInfo.processInfo.environment["BITSHIELD_TORCH_PYTHON"] ?? repo + "/.venv-torch/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no PyTorch at \(python) (make torch)") }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import torchattacks"]
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("no torchattacks in \(python) (make torchattacks)") }
        let clean = try ParityTests.mnist(.test).pixels   // skips without the data cache
        let work = temporaryDirectory()
        func run() throws -> String {
            let p = Process(), out = Pipe()
            p.executableURL = URL(fileURLWithPath: python)
            p.arguments = [repo + "/scripts/torch_attacks.py", "--bin", Bundle.main.bundleURL.path, "--work", work, Fixture.binaryCheckpoint,
                           "--eps", "0.3", "--limit", "40", "--aa-limit", "8"]
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return String(decoding: data, as: UTF8.self)
        }
        let first = try run()
        let journal = try String(contentsOfFile: work + "/journal.jsonl", encoding: .utf8)
        XCTAssertEqual(journal.split(separator: "\n").count, 5, first)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/attacks.json"))) as? [String: Any])
        let rows = try XCTUnwrap(report["rows"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        let attacks = try XCTUnwrap(rows[0]["attacks"] as? [String: [String: Any]])
        XCTAssertEqual(Set(attacks.keys), ["fgsm", "pgd", "edge", "ta-pgd", "autoattack"])
        XCTAssertEqual(attacks["autoattack"]?["images"] as? Int, 8)
        XCTAssertEqual(rows[0]["pixel_budget"] as? Int, 76)
        let worstOurs = try XCTUnwrap(rows[0]["worst_ours"] as? Double), worstAll = try XCTUnwrap(rows[0]["worst_all"] as? Double)
        XCTAssertLessThanOrEqual(worstAll, worstOurs)
        // Every stored adversarial image is inside the uint8 ball of floor(255 * 0.3) = 76 pixel steps.
        for name in try FileManager.default.contentsOfDirectory(atPath: work) where name.hasSuffix("-images-idx3-ubyte") {
            let adv = Array(try Data(contentsOf: URL(fileURLWithPath: work + "/" + name)).dropFirst(16))   // idx3 header: 16 bytes
            XCTAssertEqual(adv.count % 784, 0, name)
            let worst = zip(adv, clean.prefix(adv.count)).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 76, name)
        }
        // Resumed: nothing reruns, the journal is unchanged.
        _ = try run()
        XCTAssertEqual(try String(contentsOfFile: work + "/journal.jsonl", encoding: .utf8), journal)
    }
}
