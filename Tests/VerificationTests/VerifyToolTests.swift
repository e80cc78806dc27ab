import Datasets
import Foundation
import ModelFormat
import ToolSupport
import XCTest

/// The `verify` executable: refusals (1), usage errors (64), the journal's resume, and counterexamples
/// that `infer` misclassifies on the same files.
final class VerifyToolTests: XCTestCase {
    /// A tiny model file and an IDX set of 16 random 4x4 images (labels the model's own classes, every
    /// fourth one changed: a clean error) in `dir`; returns the model path and the IDX prefix. With `zeros` > 0
    /// the model is ternary (TinyNetworks).
    func fixture(_ dir: String, zeros: Double = 0) throws -> (model: String, prefix: String) {
        var g = TinyNetworks(seed: 11)
        let image = g.image(side: 4, delta: 2, widths: [16, 12], classes: 4, layout: .blocked8, zeros: zeros)
        let model = dir + "/tiny.bsm"
        try Data(TinyNetworks.file(image)).write(to: URL(fileURLWithPath: model))
        let runtime = try Runtime(image)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        for i in 0..<16 {
            let x = (0..<16).map { _ in UInt8(g.next() % 256) }
            pixels += x
            labels.append(UInt8((runtime.classify(x) + (i % 4 == 3 ? 1 : 0)) % 4))
        }
        let prefix = dir + "/set"
        try ImageSet(height: 4, width: 4, classes: 4, pixels: pixels, labels: labels).writeIDX(prefix: prefix)
        return (model, prefix)
    }

    func testJournalResumesAndCounterexamplesFailInInfer() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        let journal = dir + "/run.journal", cex = dir + "/cex"
        let args = [model, "--eps", "0.1", "--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte",
                     "--journal", journal, "--counterexamples", cex, "--json"]
        let first = try runTool("verify", args)
        XCTAssertEqual(first.status, 0, first.stderr)
        let a = try lastJSONLine(first.stdout)
        XCTAssertEqual(a["images"] as? Int, 16)
        XCTAssertEqual(a["resumed"] as? Int, 0)
        XCTAssertEqual(a["unknown"] as? Int, 0)
        let attacked = try XCTUnwrap(a["counterexample"] as? Int)
        XCTAssertGreaterThanOrEqual(attacked, 4, "the four clean errors are counterexamples")
        XCTAssertEqual((a["robust"] as? Int ?? 0) + attacked, 16)

        // The counterexamples: in the ball, and every one misclassified by infer on the written files.
        let written = try IDXLoader.loadPair(images: cex + "-images-idx3-ubyte", labels: cex + "-labels-idx1-ubyte", classes: 256)
        XCTAssertEqual(written.count, attacked)
        let inferred = try runTool("infer", [model, "--images", cex + "-images-idx3-ubyte", "--labels", cex + "-labels-idx1-ubyte", "--json"])
        XCTAssertEqual(inferred.status, 0, inferred.stderr)
        XCTAssertEqual(try lastJSONLine(inferred.stdout)["accuracy"] as? Double, 0)

        // A rerun reads every image from the journal, even after a line cut short by a crash is added.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: journal))
        handle.seekToEndOfFile()
        handle.write(Data("verify-v1 cut".utf8))
        try handle.close()
        let second = try runTool("verify", args)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("is not a journal line"), second.stderr)
        let b = try lastJSONLine(second.stdout)
        XCTAssertEqual(b["resumed"] as? Int, 16)
        for k in ["robust", "counterexample", "unknown", "certified_accuracy"] {
            XCTAssertEqual(a[k] as? NSNumber, b[k] as? NSNumber, k)
        }
        XCTAssertEqual(try IDXLoader.loadPair(images: cex + "-images-idx3-ubyte", labels: cex + "-labels-idx1-ubyte", classes: 256).pixels,
                       written.pixels)

        // Another budget is another problem: nothing resumed.
        var other = args
        other[2] = "0.05"
        let third = try runTool("verify", other)
        XCTAssertEqual(try lastJSONLine(third.stdout)["resumed"] as? Int, 0, third.stderr)
    }

    /// A ternary model (format version 5, half its weights 0; refused before, exit 1): every image decided, robust
    /// ones among them, and `infer` misclassifies every counterexample written.
    func testTernaryModelIsVerifiedAndCounterexamplesFailInInfer() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir, zeros: 0.5)
        let cex = dir + "/cex"
        let run = try runTool("verify", [model, "--eps", "0.1", "--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte",
                                         "--counterexamples", cex, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let a = try lastJSONLine(run.stdout)
        XCTAssertEqual(a["unknown"] as? Int, 0)
        let attacked = try XCTUnwrap(a["counterexample"] as? Int), robust = try XCTUnwrap(a["robust"] as? Int)
        XCTAssertGreaterThanOrEqual(attacked, 4, "the four clean errors are counterexamples")
        XCTAssertGreaterThan(robust, 0)
        XCTAssertEqual(robust + attacked, 16)
        let inferred = try runTool("infer", [model, "--images", cex + "-images-idx3-ubyte", "--labels", cex + "-labels-idx1-ubyte", "--json"])
        XCTAssertEqual(inferred.status, 0, inferred.stderr)
        XCTAssertEqual(try lastJSONLine(inferred.stdout)["accuracy"] as? Double, 0)
    }

    /// A first journaled run on the fixture at ε 0.1: the image set's prefix, the journal, the arguments
    /// (a rerun uses them again) and the finished run.
    func journaledRun() throws -> (set: String, journal: String, args: [String], first: (status: Int32, stdout: String, stderr: String)) {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        let journal = dir + "/run.journal"
        let args = [model, "--eps", "0.1", "--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte",
                    "--journal", journal, "--json"]
        let first = try runTool("verify", args)
        XCTAssertEqual(first.status, 0, first.stderr)
        return (set, journal, args, first)
    }

    /// A tampered journal: a robust image's line turned into a "counterexample" that is the clean image (in
    /// the ball, but classified right) made the resumed run stop with exit 1 and "bug: the counterexample of
    /// image N is classified ..., its label"; a clean error's line turned "robust" was counted robust (certified
    /// above clean accuracy); a line with a negative time was taken and shown as the time.
    /// Now such lines are verified again (with a warning) and the run's verdicts equal a fresh run's.
    func testTamperedJournalIsVerifiedAgainNotReportedAsABug() throws {
        let (set, journal, args, first) = try journaledRun()
        let clean = try IDXLoader.loadPair(images: set + "-images-idx3-ubyte", labels: set + "-labels-idx1-ubyte", classes: 4)
        var lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        let robust = try XCTUnwrap(lines.firstIndex { $0[5] == "robust" }), other = try XCTUnwrap(lines.indices.last { $0 != robust })
        let index = Int(lines[robust][3])!
        lines[robust][5] = "counterexample"
        lines[robust][10] = clean.pixels[(16 * index)..<(16 * index + 16)].map { String(format: "%02x", $0) }.joined()
        lines[other][6] = "-5e300"
        // A clean error (every fourth image's label was changed) called robust.
        let wrong = try XCTUnwrap(lines.firstIndex { $0[5] == "counterexample" && Int($0[3])! % 4 == 3 && $0 != lines[other] })
        lines[wrong][5] = "robust"
        lines[wrong][10] = "-"
        try (lines.map { $0.joined(separator: " ") }.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let second = try runTool("verify", args)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("counterexample of image \(index) is not one"), second.stderr)
        XCTAssertTrue(second.stderr.contains("line \(other + 1) is not a journal line"), second.stderr)
        let a = try lastJSONLine(first.stdout), b = try lastJSONLine(second.stdout)
        XCTAssertTrue(second.stderr.contains("calls image \(lines[wrong][3]) robust"), second.stderr)
        XCTAssertEqual(b["resumed"] as? Int, 13)
        for k in ["robust", "counterexample", "unknown"] { XCTAssertEqual(a[k] as? Int, b[k] as? Int, k) }
    }

    /// An unknown verdict is "this search ran out of time", so it is reused only by the same search
    /// (method, leaf limits, clock) with no longer a limit; a decided verdict stands whatever decided it. A
    /// first-version journal line (no SEARCH field) is read: its decided verdicts resume, its unknowns rerun.
    /// Before, an unknown was reused by any search with no longer a timeout.
    func testUnknownIsReusedOnlyBySameSearch() throws {
        let (_, journal, args, _) = try journaledRun()
        let lines = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.count, 16)
        XCTAssertTrue(lines.allSatisfy { $0.count == 11 && $0[0] == "verify-v2" && $0[9] == "bab/leaf\(256)w\(65536)/cpu" }, "\(lines.first ?? [])")
        // Every robust image journaled as unknown by this search; every counterexample as a v1 unknown.
        let rewritten = lines.map { l -> String in
            var l = l
            if l[5] == "robust" { l[5] = "unknown"; return l.joined(separator: " ") }
            l[5] = "unknown"; l[10] = "-"; l.remove(at: 9); l[0] = "verify-v1"
            return l.joined(separator: " ")
        }
        let robust = lines.filter { $0[5] == "robust" }.count
        try (rewritten.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let same = try lastJSONLine(try runTool("verify", args).stdout)
        XCTAssertEqual(same["resumed"] as? Int, robust, "the same search trusts its own unknowns, not a v1 line's")
        XCTAssertEqual(same["unknown"] as? Int, robust)
        try (rewritten.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let other = try lastJSONLine(try runTool("verify", args + ["--leaf-limit", "0"]).stdout)
        XCTAssertEqual(other["resumed"] as? Int, 0, "another leaf limit runs every unknown again")
        XCTAssertEqual(other["unknown"] as? Int, 0)
        XCTAssertEqual(other["robust"] as? Int, robust)
        try (rewritten.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let wide = try lastJSONLine(try runTool("verify", args + ["--wide-leaf-limit", "0"]).stdout)
        XCTAssertEqual(wide["resumed"] as? Int, 0, "another wide leaf limit runs every unknown again")
        // A v1 line with a decided verdict resumes.
        let v1 = lines.map { l -> String in var l = l; l.remove(at: 9); l[0] = "verify-v1"; return l.joined(separator: " ") }
        try (v1.joined(separator: "\n") + "\n").write(toFile: journal, atomically: true, encoding: .utf8)
        let old = try lastJSONLine(try runTool("verify", args).stdout)
        XCTAssertEqual(old["resumed"] as? Int, 16)
        XCTAssertEqual(old["robust"] as? Int, robust)
    }

    /// `--method sat` decides the same images the same way as the default branch and bound, says so in its
    /// JSON line, and its counterexamples are misclassified by infer on the written files.
    func testSATMethodAgreesWithBranchAndBound() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        let data = ["--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte", "--eps", "0.15", "--json"]
        let bab = try runTool("verify", [model] + data)
        let sat = try runTool("verify", [model, "--method", "sat", "--counterexamples", dir + "/cex"] + data)
        XCTAssertEqual(sat.status, 0, sat.stderr)
        let a = try lastJSONLine(bab.stdout), b = try lastJSONLine(sat.stdout)
        XCTAssertEqual(b["method"] as? String, "sat")
        XCTAssertEqual(b["unknown"] as? Int, 0)
        for k in ["robust", "counterexample", "counterexample_indices"] { XCTAssertEqual(a[k] as? NSObject, b[k] as? NSObject, k) }
        let inferred = try runTool("infer", [model, "--images", dir + "/cex-images-idx3-ubyte", "--labels", dir + "/cex-labels-idx1-ubyte", "--json"])
        XCTAssertEqual(try lastJSONLine(inferred.stdout)["accuracy"] as? Double, 0, inferred.stderr)
    }

    /// No counterexample: no IDX pair (it cannot hold zero images), and an earlier run's pair is removed.
    func testNoCounterexampleRemovesAnEarlierRunsFiles() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        let cex = dir + "/cex"
        for path in [cex + "-images-idx3-ubyte", cex + "-labels-idx1-ubyte"] { try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path)) }
        // The first three images carry the model's own labels; at eps 0 each is robust.
        let r = try runTool("verify", [model, "--eps", "0", "--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte",
                                       "--limit", "3", "--counterexamples", cex, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try lastJSONLine(r.stdout)["robust"] as? Int, 3)
        XCTAssertTrue(r.stderr.contains("no counterexamples"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cex + "-images-idx3-ubyte"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cex + "-labels-idx1-ubyte"))
    }

    func testRefusesUnsupportedModels() throws {
        let dir = temporaryDirectory()
        let (_, set) = try fixture(dir)
        // 8-bit input, and a float first layer.
        var eight = ImageBuilder(inputHeight: 4, inputWidth: 4, inputChannels: 1, classes: 2)
        let w8 = eight.addBits([UInt64](repeating: 0, count: 2), dims: [2, 16])
        let s8 = eight.addF32([1, 1], dims: [2]), t8 = eight.addF32([0, 0], dims: [2])
        eight.addOp(.inputCodes, [8])
        eight.addOp(.dense, [16, 2, w8, Int(InputKind.codes.rawValue), 8, 0])
        eight.addOp(.affine, [1, 1, 2, 0, s8, t8])
        eight.addOp(.argmax, [2])
        var float = ImageBuilder(inputHeight: 4, inputWidth: 4, inputChannels: 1, classes: 2)
        let wf = float.addF32([Float](repeating: 0.5, count: 32), dims: [2, 16])
        float.addOp(.inputCodes, [2])
        float.addOp(.dense, [16, 2, wf, Int(InputKind.codes.rawValue), 3, 0])
        float.addOp(.argmax, [2])
        for (name, image, op, text) in [("eight", eight.build(), "op 0", "8-bit input"), ("float", float.build(), "op 1", "float dense layer")] {
            let path = dir + "/\(name).bsm"
            try Data(TinyNetworks.file(image)).write(to: URL(fileURLWithPath: path))
            let r = try runTool("verify", [path, "--eps", "0.1", "--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte"])
            XCTAssertEqual(r.status, 1, name)
            XCTAssertTrue(r.stderr.contains(text) && r.stderr.contains(op) && r.stderr.contains("not supported"), r.stderr)
        }
    }

    /// `--jobs 3` searches the images on three threads: the same verdicts, counterexamples (in image order) and
    /// JSON figures as one job, one journal line per image searched, and a rerun with one job resumes all of them.
    func testJobsGiveTheSameRunAsOneJob() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        func run(_ jobs: Int, _ name: String) throws -> (json: [String: Any], cex: ImageSet, journal: String) {
            let r = try runTool("verify", [model, "--eps", "0.1", "--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte",
                                           "--journal", dir + "/" + name + ".journal", "--counterexamples", dir + "/" + name, "--jobs", "\(jobs)", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return (try lastJSONLine(r.stdout), try IDXLoader.loadPair(images: dir + "/" + name + "-images-idx3-ubyte",
                                                                      labels: dir + "/" + name + "-labels-idx1-ubyte", classes: 256),
                    try String(contentsOfFile: dir + "/" + name + ".journal", encoding: .utf8))
        }
        let one = try run(1, "one"), three = try run(3, "three")
        for k in ["robust", "counterexample", "unknown", "certified_accuracy", "clean_accuracy", "counterexample_indices", "images"] {
            XCTAssertEqual(one.json[k] as? NSObject, three.json[k] as? NSObject, k)
        }
        XCTAssertEqual(one.cex.pixels, three.cex.pixels)
        XCTAssertEqual(one.cex.labels, three.cex.labels)
        let indices = three.journal.split(separator: "\n").map { $0.split(separator: " ")[3] }
        XCTAssertEqual(indices.count, 16, three.journal)
        XCTAssertEqual(Set(indices).count, 16, "each image journaled once: \(indices)")
        let again = try run(1, "three")
        XCTAssertEqual(again.json["resumed"] as? Int, 16)
    }

    /// `--skip K --limit N` verifies images K ..< K + N of the set and names them by their index in the whole set
    /// (journal, counterexample indices, messages), so shards run as separate jobs (a Slurm array) make the
    /// lines of one full run: a full run over the shards' journals resumes every image.
    func testSkipShardsTheSetWithTheWholeSetsIndices() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        let data = ["--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte"]
        func run(_ extra: [String], journal: String) throws -> [String: Any] {
            let r = try runTool("verify", [model, "--eps", "0.1", "--journal", dir + "/" + journal, "--json"] + data + extra)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try lastJSONLine(r.stdout)
        }
        let whole = try run([], journal: "whole.journal")
        let a = try run(["--limit", "5"], journal: "shards.journal"), b = try run(["--skip", "5", "--limit", "6"], journal: "shards.journal")
        let c = try run(["--skip", "11"], journal: "shards.journal")
        XCTAssertEqual([a, b, c].map { $0["first_image"] as? Int }, [0, 5, 11])
        XCTAssertEqual([a, b, c].map { $0["images"] as? Int }, [5, 6, 5])
        let wholeCex = try XCTUnwrap(whole["counterexample_indices"] as? [Int])
        XCTAssertFalse(wholeCex.isEmpty, "the fixture has counterexamples")
        XCTAssertEqual([a, b, c].flatMap { $0["counterexample_indices"] as? [Int] ?? [] }, wholeCex)
        let lines = try String(contentsOfFile: dir + "/shards.journal", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.map { Int($0.split(separator: " ")[3])! }.sorted(), Array(0..<16))
        let resumed = try run([], journal: "shards.journal")
        XCTAssertEqual(resumed["resumed"] as? Int, 16)
        XCTAssertEqual(resumed["robust"] as? Int, whole["robust"] as? Int)
        // Past the end: exit 1 naming the numbers; negative: usage (64).
        let past = try runTool("verify", [model, "--eps", "0.1", "--skip", "16"] + data)
        XCTAssertEqual(past.status, 1, past.stderr)
        XCTAssertTrue(past.stderr.contains("--skip 16 leaves none of the 16 images"), past.stderr)
        XCTAssertEqual(try runTool("verify", [model, "--eps", "0.1", "--skip=-1"] + data).status, 64)
    }

    func testUsageErrorsExit64() throws {
        let dir = temporaryDirectory()
        let (model, set) = try fixture(dir)
        let data = ["--images", set + "-images-idx3-ubyte", "--labels", set + "-labels-idx1-ubyte"]
        for args in [[model] + data, [model, "--eps", "1.5"] + data, [model, "--eps", "nan"] + data,
                     [model, "--eps", "0.1", "--images", set + "-images-idx3-ubyte"],
                     [model, "--eps", "0.1", "--timeout", "0"] + data, [model, "--eps", "0.1", "--limit", "0"] + data,
                     [model, "--eps", "0.1", "--dataset", "mnist"] + data,
                     [model, "--eps", "0.1", "--counterexamples", dir + "/"] + data,
                     [model, "--eps", "0.1", "--journal", dir] + data, [model, "--eps", "0.1", "--method", "z3"] + data,
                     [model, "--eps", "0.1", "--clock", "sundial"] + data, [model, "--eps", "0.1", "--leaf-limit=-1"] + data,
                     [model, "--eps", "0.1", "--leaf-limit", "1099511627777"] + data, [model, "--eps", "0.1", "--jobs", "0"] + data,
                     [model, "--eps", "0.1", "--jobs", "257"] + data, [model, "--eps", "0.1", "--wide-leaf-limit=-1"] + data] {
            let r = try runTool("verify", args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
        }
        // The help shows the default time limit.
        let help = try runTool("verify", ["--help"]).stdout
        XCTAssertTrue(help.contains("default: 60") && help.contains("default: cpu"), help)
    }
}
