import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `RobustnessSweep` and `SweepReport`: files, resume, worst cases, sanity flags, the runtime cross-check.
final class SweepTests: XCTestCase {
    /// The float fixture checkpoint, copied into `dir` as `tiny.safetensors` (the sweep names models by file).
    func checkpoint(in dir: String) throws -> String {
        let path = dir + "/tiny.safetensors"
        try FileManager.default.copyItem(atPath: Fixture.floatCheckpoint, toPath: path)
        return path
    }

    func testSweepWritesEveryFileAndResumesWithoutRedoingCells() throws {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        let test = try TestData.mnist(.test).prefix(100)
        func settings(_ eps: [Float]) -> SweepSettings {
            SweepSettings(models: [model], attacks: [.fgsm, .pgd], epsilons: eps,
                          template: AttackConfig(kind: .fgsm, epsilon: 0, steps: 3), out: dir + "/reports/s",
                          dataDirectory: dir, testSet: test)
        }
        let first = try RobustnessSweep(settings: settings([0.1, 0.2])).run()
        XCTAssertEqual(first.ran, 4)
        XCTAssertEqual(first.skipped, 0)
        for ext in ["md", "csv", "json", "svg", "jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/reports/s." + ext), ext)
        }
        let csv = try String(contentsOfFile: dir + "/reports/s.csv", encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 5, "header and four cells")
        let md = try String(contentsOfFile: dir + "/reports/s.md", encoding: .utf8)
        XCTAssertTrue(md.contains("| tiny | pgd | steps=3 restarts=1 +fgsm loss=ce | 0.2 |"), md)
        XCTAssertTrue(md.contains("large-eps-not-run"))
        let svg = try String(contentsOfFile: dir + "/reports/s.svg", encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("polyline"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/reports/s.json"))) as! [String: Any]
        XCTAssertEqual((json["cells"] as! [Any]).count, 4)
        XCTAssertEqual(first.report.cells[0].runtimeNote, "no .bsm beside the checkpoint")

        // Rerun: nothing redone. Widen: only the new cells run.
        let second = try RobustnessSweep(settings: settings([0.1, 0.2])).run()
        XCTAssertEqual(second.ran, 0)
        XCTAssertEqual(second.skipped, 4)
        XCTAssertEqual(second.report.cells, first.report.cells)
        let third = try RobustnessSweep(settings: settings([0.1, 0.2, 0.3])).run()
        XCTAssertEqual(third.ran, 2)
        XCTAssertEqual(third.skipped, 4)
        let journal = try String(contentsOfFile: dir + "/reports/s.jsonl", encoding: .utf8)
        XCTAssertEqual(journal.split(separator: "\n").count, 6)
        // A torn last line (an interrupted append) is ignored, and the cell runs again.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/reports/s.jsonl"))
        try handle.truncate(atOffset: UInt64(journal.utf8.count - 40))
        try handle.close()
        let fourth = try RobustnessSweep(settings: settings([0.1, 0.2, 0.3])).run()
        XCTAssertEqual(fourth.ran, 1)
        XCTAssertEqual(fourth.skipped, 5)

        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/reports/s.jsonl.lock"), "the lock goes with the sweep")
        // A lock file left behind (its holder killed) is taken over; SweepHostileTests tests a held lock.
        try "999999999\n".write(toFile: dir + "/reports/s.jsonl.lock", atomically: true, encoding: .utf8)
        XCTAssertEqual(try RobustnessSweep(settings: settings([0.1])).run().skipped, 2)

        // Worst case: an image is robust only if robust under both attacks.
        for w in third.report.worstCases {
            let group = third.report.cells.filter { $0.eps == w.eps }
            XCTAssertLessThanOrEqual(w.robust, group.map { Int(($0.robustAccuracy * 100).rounded()) }.min()!)
        }
    }

    /// The journal tells apart every setting that changes the attacked images: a sweep that differs from a
    /// journaled one only in PGD's step size, or only in the seed of a randomized attack, runs its cells
    /// (before, both took the first sweep's cells from the journal); FGSM, which draws no random numbers,
    /// is taken from the journal whatever the seed, and the default settings keep their old key.
    func testJournalKeyHoldsTheStepSizeAndTheSeed() throws {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        let test = try TestData.mnist(.test).prefix(20)
        func run(stepSize: Float? = nil, seed: UInt64 = 1) throws -> (ran: Int, skipped: Int, cells: [SweepCell]) {
            let template = AttackConfig(kind: .fgsm, epsilon: 0, steps: 2, stepSize: stepSize, seed: seed)
            let r = try RobustnessSweep(settings: SweepSettings(models: [model], attacks: [.fgsm, .pgd], epsilons: [0.1],
                                                                template: template, out: dir + "/s", dataDirectory: dir,
                                                                testSet: test)).run()
            return (r.ran, r.skipped, r.report.cells)
        }
        let first = try run()
        XCTAssertEqual(first.ran, 2)
        XCTAssertEqual(first.cells[1].settings, "steps=2 restarts=1 +fgsm loss=ce", "the default key is unchanged")
        let stepped = try run(stepSize: 0.01)
        XCTAssertEqual(stepped.ran, 1, "PGD with another step size runs")
        XCTAssertEqual(stepped.skipped, 1, "FGSM has no step size")
        XCTAssertEqual(stepped.cells[1].settings, "steps=2 restarts=1 +fgsm loss=ce step=0.01")
        let seeded = try run(seed: 2)
        XCTAssertEqual(seeded.ran, 1, "PGD with another seed runs")
        XCTAssertEqual(seeded.skipped, 1, "FGSM draws no random numbers")
        XCTAssertEqual(seeded.cells[1].settings, "steps=2 restarts=1 +fgsm loss=ce seed=2")
        XCTAssertEqual(try run(seed: 2).ran, 0, "and each is journaled under its own key")
        XCTAssertEqual(try run(stepSize: 0.01).ran, 0)
    }

    /// A cell with the given numbers (the rest filler).
    func cell(_ attack: String, eps: Double, robust: Double, bits: Int = 8, zero: Double = 0, settings: String = "s") -> SweepCell {
        let images = 4
        let right = Int((robust * Double(images)).rounded())
        return SweepCell(model: "m.safetensors", modelName: "m", modelSummary: "fcn", sha256: "00", inputBits: bits, precision: "binary",
                         attack: attack, settings: settings, eps: eps, pixelBudget: Int(255 * eps), images: images, cleanAccuracy: 1,
                         robustAccuracy: robust, successes: images - right, cleanCorrect: images, successRate: 1 - robust,
                         meanPerturbation: 1, maxPerturbation: 1, zeroGradientFraction: zero, seconds: 0,
                         robustMask: SweepCell.mask((0..<images).map { $0 < right }))
    }

    /// Issue 18 item 4: a sweep's edge cell starts from the sweep's own PGD cell of the same settings and
    /// eps (the numbers of an edge-only sweep, bit for bit); `saveStart` keeps the PGD run, and a journaled
    /// PGD cell whose kept run is gone runs again to keep it.
    func testEdgeCellReusesTheSweepsPGDCellAndAKeptRunIsRemadeWhenGone() throws {
        let dir = temporaryDirectory()
        let model = dir + "/b.safetensors"
        try FileManager.default.copyItem(atPath: Fixture.binaryCheckpoint, toPath: model)
        let test = try TestData.mnist(.test).prefix(30)
        func settings(_ attacks: [AttackConfig.Kind], _ out: String) -> SweepSettings {
            SweepSettings(models: [model], attacks: attacks, epsilons: [0.2],
                          template: AttackConfig(kind: .fgsm, epsilon: 0, steps: 2, searchRounds: 4, patience: 2), out: dir + "/" + out,
                          dataDirectory: dir, testSet: test)
        }
        var both = settings([.pgd, .edge], "both")
        both.saveStart = dir + "/start"
        let reused = try RobustnessSweep(settings: both).run().report.cells
        let alone = try RobustnessSweep(settings: settings([.edge], "alone")).run().report.cells[0]
        XCTAssertEqual(reused[1].robustMask, alone.robustMask)
        XCTAssertEqual(reused[1].zeroGradientFraction, alone.zeroGradientFraction)
        XCTAssertNotEqual(reused[1].robustMask, reused[0].robustMask, "the edge cell did more than its start")
        XCTAssertTrue(FileManager.default.fileExists(atPath: EdgeStart.startFile(dir + "/start")))
        try FileManager.default.removeItem(atPath: EdgeStart.startFile(dir + "/start"))
        let again = try RobustnessSweep(settings: both).run()
        XCTAssertEqual([again.ran, again.skipped], [1, 1], "the PGD cell runs again to keep its run; the edge cell stands")
        XCTAssertTrue(FileManager.default.fileExists(atPath: EdgeStart.startFile(dir + "/start")))
        var two = both
        two.epsilons = [0.1, 0.2]
        XCTAssertThrowsError(try RobustnessSweep(settings: two)) { XCTAssertTrue("\($0)".contains("--save-start keeps one PGD run"), "\($0)") }
    }

    func testFlagsRaiseOnInconsistentResults() {
        func kinds(_ cells: [SweepCell]) -> Set<String> { Set(SweepReport.flags(cells).map(\.kind)) }
        // Consistent: nothing but the missing large eps... which is then run and falls to zero.
        let fine = [cell("fgsm", eps: 0.1, robust: 0.75), cell("pgd", eps: 0.1, robust: 0.5), cell("square", eps: 0.1, robust: 0.75),
                    cell("pgd", eps: 0.5, robust: 0)]
        XCTAssertEqual(kinds(fine), [])
        XCTAssertEqual(kinds(Array(fine.prefix(3))), ["large-eps-not-run"])
        // Iterative above single-step, white-box above gradient-free, no fall at eps 0.5.
        let bad = [cell("fgsm", eps: 0.1, robust: 0.25), cell("pgd", eps: 0.1, robust: 0.75), cell("square", eps: 0.1, robust: 0),
                   cell("pgd", eps: 0.5, robust: 0.5)]
        XCTAssertEqual(kinds(bad), ["iterative-above-single-step", "white-box-above-black-box", "not-near-zero-at-large-eps"])
        // On 2-bit input a gradient attack beating the edge attack; masked gradients; runtime disagreement.
        var disagreeing = cell("fgsm", eps: 0.5, robust: 0, bits: 2)
        disagreeing.runtimeAccuracy = 0.25
        disagreeing.runtimeDisagreements = 1
        let twoBit = [cell("pgd", eps: 0.1, robust: 0.25, bits: 2), cell("edge", eps: 0.1, robust: 0.5, bits: 2),
                      cell("fgsm", eps: 0.1, robust: 1, bits: 2, zero: 1, settings: "loss=ce grad=true"), disagreeing]
        let flags = SweepReport.flags(twoBit)
        XCTAssertEqual(Set(flags.map(\.kind)), ["gradient-beats-edge", "masked-gradients", "runtime-disagrees"])
        XCTAssertTrue(flags.contains { $0.kind == "gradient-beats-edge" && $0.message.contains("50.00%, above pgd's 25.00%") }, "\(flags)")
        // The worst case combines per image.
        let a = cell("fgsm", eps: 0.1, robust: 0.5)  // images 0, 1 right
        var b = cell("pgd", eps: 0.1, robust: 0.5)
        b.robustMask = SweepCell.mask([false, true, true, false])
        XCTAssertEqual(SweepReport.worstCases([a, b]).first?.robust, 1)
        XCTAssertEqual(SweepCell.mask([true, false, true, true, true]), "b8")
        XCTAssertEqual(b.robustFlags, [false, true, true, false])
    }

    func testRuntimeCrossCheckRunsInferAndFlagsDisagreement() throws {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        // A stand-in for `infer`: predicts class 0 for every image.
        let fake = dir + "/fake-infer"
        try """
        #!/bin/sh
        while [ $# -gt 0 ]; do
          case "$1" in
            --labels) labels="$2"; shift ;;
            --predictions) predictions="$2"; shift ;;
          esac
          shift
        done
        n=$(( $(wc -c < "$labels") - 8 ))
        i=0; : > "$predictions"
        while [ $i -lt $n ]; do echo 0 >> "$predictions"; i=$((i + 1)); done
        echo "accuracy 0.1"
        echo '{"accuracy": 0.1, "images": '$n'}'
        """.write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        FileManager.default.createFile(atPath: dir + "/tiny.bsm", contents: Data([0]))
        let test = try TestData.mnist(.test).prefix(50)
        let settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/r", dataDirectory: dir, testSet: test, inferExecutable: fake)
        let cell = try RobustnessSweep(settings: settings).run().report.cells[0]
        XCTAssertEqual(cell.runtimeAccuracy, 0.1)
        let expected = (0..<50).filter { (test.labels[$0] == 0) != cell.robustFlags[$0] }.count
        XCTAssertEqual(cell.runtimeDisagreements, expected)
        XCTAssertGreaterThan(expected, 0)
        XCTAssertTrue(SweepReport.flags([cell]).contains { $0.kind == "runtime-disagrees" })
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r-sets"), "sets removed without keepSets")
    }

    // Issue 12 item 10: a number read from another process is bounded before Int(someDouble) (main trapped).
    func testRuntimeAccuracyOutsideAFractionIsANoteNotATrap() throws {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        let fake = dir + "/fake-infer"
        try "#!/bin/sh\necho '{\"accuracy\": 1e300}'\n".write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        FileManager.default.createFile(atPath: dir + "/tiny.bsm", contents: Data([0]))
        let settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/r", dataDirectory: dir, testSet: try TestData.mnist(.test).prefix(20), inferExecutable: fake)
        let cell = try RobustnessSweep(settings: settings).run().report.cells[0]
        XCTAssertNil(cell.runtimeAccuracy)
        XCTAssertTrue(cell.runtimeNote?.contains("1e+300") ?? false, cell.runtimeNote ?? "no note")
    }

    /// A stand-in `verify` in `dir` that prints `json` as its last line (and `stderr`, exiting `status`).
    func fakeVerify(in dir: String, json: String, status: Int = 0, stderr: String = "") throws -> String {
        let fake = dir + "/fake-verify"
        try "#!/bin/sh\necho 'image 0: robust'\necho '\(json)'\necho '\(stderr)' >&2\nexit \(status)\n".write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        return fake
    }

    /// Issue 16 item 4: the certified column comes from `verify` on the .bsm beside the checkpoint, once per
    /// model and eps; an attack below it is flagged as a bug, the gap is reported, and anything verify says
    /// that does not fit (counts past the images, a refusal, no verify, no .bsm) is n/a with its reason.
    func testCertifiedColumnFromVerifyFlagsAttacksBelowIt() throws {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        let test = try TestData.mnist(.test).prefix(20)
        func sweep(verify: String?, out: String) throws -> SweepReport {
            var settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                         out: dir + "/" + out, dataDirectory: dir, testSet: test)
            settings.verifyExecutable = verify
            settings.certify = true
            return try RobustnessSweep(settings: settings).run().report
        }
        XCTAssertEqual(try sweep(verify: nil, out: "none").cells[0].certifiedNote, "n/a: no .bsm beside the checkpoint")
        FileManager.default.createFile(atPath: dir + "/tiny.bsm", contents: Data([0]))
        XCTAssertTrue(try sweep(verify: nil, out: "nov").cells[0].certifiedNote?.hasPrefix("n/a: verify executable not found") ?? false)

        // verify proves all 20: every attack that turns any image is below it, a bug.
        let all = try fakeVerify(in: dir, json: #"{"images": 20, "eps": 0.1, "robust": 20, "counterexample": 0, "unknown": 0}"#)
        let report = try sweep(verify: all, out: "all")
        XCTAssertEqual(report.cells.map(\.certifiedRobust), [20])
        let below = report.cells.filter { $0.robustAccuracy < 1 }
        XCTAssertFalse(below.isEmpty, "the float fixture keeps some images under attack")
        XCTAssertEqual(report.flags.filter { $0.kind == "attack-below-certified" }.count, below.count)
        let gap = try XCTUnwrap(SweepReport.certifiedGaps(report.cells).first)
        XCTAssertEqual(gap.certifiedAccuracy, 1)
        XCTAssertEqual(gap.gapPoints, (report.cells.map(\.robustAccuracy).min()! - 1) * 100, accuracy: 1e-9)
        XCTAssertTrue(report.markdown().contains("## Certified beside attacked"))
        XCTAssertTrue(report.csv().split(separator: "\n")[1].hasSuffix(",20,0,"), report.csv())

        // verify proves none: no flag, a positive gap or zero.
        let none = try fakeVerify(in: dir, json: #"{"images": 20, "eps": 0.1, "robust": 0, "counterexample": 17, "unknown": 3}"#)
        let zero = try sweep(verify: none, out: "zero")
        XCTAssertFalse(zero.flags.contains { $0.kind == "attack-below-certified" })
        XCTAssertGreaterThanOrEqual(SweepReport.certifiedGaps(zero.cells).first?.gapPoints ?? -1, 0)

        // Hostile or failing verify: a note, never a trap or a figure.
        for (json, status, stderr, note) in [(#"{"images": 20, "eps": 0.1, "robust": 21, "counterexample": 0, "unknown": 0}"#, 0, "", "robust 21"),
                                              (#"{"images": 20, "eps": 0.1, "robust": 10, "counterexample": 0, "unknown": 11}"#, 0, "", "unknown 11"),
                                              (#"{"images": 7, "eps": 0.1, "robust": 1, "counterexample": 6, "unknown": 0}"#, 0, "", "of 7 images for 20"),
                                              (#"{"images": 20}"#, 0, "", "no JSON counts"),
                                              // A lying or stale verify: booleans for counts, another budget, counts that do not add up.
                                              (#"{"images": 20, "eps": 0.1, "robust": true, "counterexample": 19, "unknown": 0}"#, 0, "", "no JSON counts"),
                                              (#"{"images": 20, "eps": 0.3, "robust": 20, "counterexample": 0, "unknown": 0}"#, 0, "", "eps 0.3 for the eps 0.1"),
                                              (#"{"images": 20, "robust": 20, "counterexample": 0, "unknown": 0}"#, 0, "", "eps none"),
                                              (#"{"images": 20, "eps": 0.1, "robust": 20, "unknown": 0}"#, 0, "", "no JSON counts"),
                                              (#"{"images": 20, "eps": 0.1, "robust": 15, "counterexample": 0, "unknown": 0}"#, 0, "", "counterexample 0, unknown 0 of 20"),
                                              ("", 1, "error: op 1: a float dense layer is not supported by verify", "status 1: error: op 1")] {
            let fake = try fakeVerify(in: dir, json: json, status: status, stderr: stderr)
            let cell = try sweep(verify: fake, out: "bad\(note.count)").cells[0]
            XCTAssertNil(cell.certifiedRobust, note)
            XCTAssertTrue(cell.certifiedNote?.contains(note) ?? false, "\(cell.certifiedNote ?? "no note") lacks \(note)")
        }
    }

    /// Issue 16: verify runs only when asked (--certify): without it the column, the CSV and the JSON say
    /// "not run", even with a .bsm and a verify that would answer; the same journal resumed with it runs
    /// verify on the finished cells without attacking again.
    func testVerifyRunsOnlyWithCertify() throws {
        let dir = temporaryDirectory()
        let model = try checkpoint(in: dir)
        let test = try TestData.mnist(.test).prefix(20)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/tiny.bsm", contents: Data([0])))
        let all = try fakeVerify(in: dir, json: #"{"images": 20, "eps": 0.1, "robust": 20, "counterexample": 0, "unknown": 0}"#)
        var settings = SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0),
                                     out: dir + "/s", dataDirectory: dir, testSet: test)
        settings.verifyExecutable = all
        let plain = try RobustnessSweep(settings: settings).run()
        XCTAssertNil(plain.report.cells[0].certifiedRobust)
        XCTAssertEqual(plain.report.cells[0].certifiedNote, CertifiedFigure.notRunNote)
        XCTAssertTrue(plain.report.markdown().contains("verify was not run (`train sweep --certify` runs it)"))
        XCTAssertTrue(plain.report.markdown().contains("| not run |"))
        XCTAssertTrue(plain.report.csv().contains(",not run (train sweep --certify runs verify)"), plain.report.csv())
        XCTAssertTrue(SweepReport.certifiedGaps(plain.report.cells).isEmpty)
        settings.certify = true
        let resumed = try RobustnessSweep(settings: settings).run()
        XCTAssertEqual(resumed.ran, 0, "the attack is not run again")
        XCTAssertEqual(resumed.report.cells[0].certifiedRobust, 20)
        XCTAssertEqual(try RobustnessSweep(settings: settings).readJournal().cells.last?.certifiedRobust, 20)
    }
}
