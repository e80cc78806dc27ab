import Datasets
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import ToolSupport
import XCTest
@testable import Trainer

/// Sweeps against hostile names and locks (issue 12, item 14 and the sweep lock of item 15), on a tiny
/// untrained 4x4 model and eight synthetic images (no training, no data cache).
final class SweepHostileTests: XCTestCase {
    /// An untrained 4x4 float checkpoint at `path`.
    func checkpoint(at path: String) throws {
        let s = try TrainingSession(model: TestData.smallModel(.float), training: TrainingConfig(epochs: 1, batchSize: 4, learningRate: 0.01, seed: 2))
        try s.checkpoint(testAccuracy: nil, last: nil).write(to: path)
    }

    func settings(_ model: String, out: String, dir: String) -> SweepSettings {
        SweepSettings(models: [model], attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0, steps: 1),
                      out: out, dataDirectory: dir, testSet: TestData.quadrants(count: 8, seed: 5))
    }

    /// Item 14: a checkpoint named `a&b<img src=x onerror=alert(1)> | "c",d` + newline + `e` yields
    /// well-formed SVG with the name as text (no element from it), a Markdown row with exactly its 13 cells
    /// and no raw HTML, a CSV row of 22 fields per RFC 4180 whose first is the name, and JSON holding the name.
    func testReportsEscapeAHostileModelName() throws {
        let dir = temporaryDirectory()
        let name = "a&b<img src=x onerror=alert(1)> | \"c\",d\ne"
        let model = dir + "/" + name + ".safetensors"
        try checkpoint(at: model)
        _ = try RobustnessSweep(settings: settings(model, out: dir + "/r", dir: dir)).run()

        // SVG: parses, no <img> element, the name is a text node.
        let svg = try Data(contentsOf: URL(fileURLWithPath: dir + "/r.svg"))
        let collector = XMLCollector()
        let parser = XMLParser(data: svg)
        parser.delegate = collector
        XCTAssertTrue(parser.parse(), "SVG is not well-formed: \(parser.parserError.map { "\($0)" } ?? "?")")
        XCTAssertFalse(collector.elements.contains("img"), "markup from the name became an element")
        XCTAssertTrue(collector.texts.contains(name), "the name is not a text node: \(collector.texts.prefix(3))")

        // Markdown: the result row has 14 cells (15 unescaped pipes) on one line, and no raw '<'.
        let md = try String(contentsOfFile: dir + "/r.md", encoding: .utf8)
        XCTAssertFalse(md.contains("<img"), "raw HTML in the Markdown")
        let row = try XCTUnwrap(md.split(separator: "\n").first { $0.contains("fgsm") && $0.hasPrefix("| a") })
        XCTAssertEqual(unescapedPipes(row), 15, String(row))
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) where line.hasPrefix("|") {
            XCTAssertTrue(line.hasSuffix("|"), "a table row broke: \(line)")
        }

        // CSV (RFC 4180): header and one row of 25 fields, the first the name.
        let rows = try parseCSV(String(contentsOfFile: dir + "/r.csv", encoding: .utf8))
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows.map(\.count), [25, 25])
        XCTAssertEqual(rows.last?.first, name)

        // JSON: one object holding the name as is.
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as? [String: Any])
        let cells = try XCTUnwrap(json["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.first?["model_name"] as? String, name)
    }

    /// Item 15 (sweep lock): a lock file naming a live but unrelated process (PID 1, and this test's own)
    /// does not block; a lock held by a running sweep (an flock on the file) refuses with the lock's path;
    /// a lock its holder left behind when killed (SIGKILL releases the flock) does not block. Item 7: a
    /// sweep whose report would overwrite a checkpoint (`--out r` with a checkpoint named `r.json`) is refused.
    /// The two other outputs a name reaches: a spreadsheet opening the CSV (a leading `=`, `+`, `-`, `@`,
    /// tab or CR is neutralized with `'`, OWASP's rule; numbers stay as they are) and the terminal (escape
    /// and other control characters, which could rewrite the screen, become U+FFFD).
    func testCSVFormulasAndTerminalControlsAreNeutralized() throws {
        XCTAssertEqual(ReportEscaping.csvText("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"")
        XCTAssertEqual(ReportEscaping.csvText("@SUM(A1)"), "'@SUM(A1)")
        XCTAssertEqual(ReportEscaping.csvText("-fcn"), "'-fcn")
        XCTAssertEqual(ReportEscaping.csvText("fcn-2b"), "fcn-2b")
        XCTAssertEqual(ReportEscaping.terminal("a\u{1B}]0;owned\u{07}b\u{9B}2Jc\r"), "a\u{FFFD}]0;owned\u{FFFD}b\u{FFFD}2Jc\u{FFFD}")
        XCTAssertEqual(ReportEscaping.terminal("plain é ✓"), "plain é ✓")
        // Through a sweep: the CSV row of a model named "=cmd" starts with the neutralized name, and its
        // numbers (a negative one included, if any) are untouched.
        let dir = temporaryDirectory()
        let model = dir + "/=cmd.safetensors"
        try checkpoint(at: model)
        let out = dir + "/r"
        _ = try RobustnessSweep(settings: settings(model, out: out, dir: dir)).run()
        let rows = try String(contentsOfFile: out + ".csv", encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(rows[1].hasPrefix("'=cmd,"), String(rows[1]))
    }

    func testJournalLockIsHeldByTheKernelNotByAProcessID() throws {
        let dir = temporaryDirectory()
        let model = dir + "/m.safetensors"
        try checkpoint(at: model)
        let out = dir + "/reports/s"
        let lock = out + ".jsonl.lock"
        try FileManager.default.createDirectory(atPath: dir + "/reports", withIntermediateDirectories: true)
        for pid in [1, getpid()] {
            try "\(pid)\n".write(toFile: lock, atomically: true, encoding: .utf8)
            XCTAssertNoThrow(try RobustnessSweep(settings: settings(model, out: out, dir: dir)).run(), "lock naming live process \(pid)")
        }
        // A running sweep: another process holds the flock.
        try "12345\n".write(toFile: lock, atomically: true, encoding: .utf8)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 9<\"$0\" && flock -x 9 && exec sleep 600", lock]
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        let probe = open(lock, O_RDONLY)
        defer { close(probe) }
        while flock(probe, LOCK_EX | LOCK_NB) == 0 { flock(probe, LOCK_UN); usleep(2000) }
        XCTAssertThrowsError(try RobustnessSweep(settings: settings(model, out: out, dir: dir)).run()) {
            XCTAssertTrue("\($0)".contains("another sweep") && "\($0)".contains(lock), "\($0)")
        }
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let after = try RobustnessSweep(settings: settings(model, out: out, dir: dir)).run()
        XCTAssertEqual(after.skipped, 1, "the journal still resumes")
        XCTAssertFalse(FileManager.default.fileExists(atPath: lock), "the lock goes with the sweep")

        // Reports onto a checkpoint: refused, the checkpoint intact.
        let json = dir + "/r.json"
        try FileManager.default.copyItem(atPath: model, toPath: json)
        let before = FileManager.default.contents(atPath: json)
        XCTAssertThrowsError(try RobustnessSweep(settings: settings(json, out: dir + "/r", dir: dir)).run()) {
            XCTAssertTrue("\($0)".contains("is the input") && "\($0)".contains(json), "\($0)")
        }
        XCTAssertEqual(FileManager.default.contents(atPath: json), before)
    }

    /// `|` not preceded by a backslash.
    func unescapedPipes<S: StringProtocol>(_ line: S) -> Int {
        var count = 0, escaped = false
        for c in line {
            if c == "|" && !escaped { count += 1 }
            escaped = c == "\\" && !escaped
        }
        return count
    }

    /// A strict RFC 4180 reader: quoted fields may hold commas, quotes (doubled) and line breaks.
    func parseCSV(_ text: String) throws -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = "", quoted = false, atStart = true
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { chars.removeFirst(); field.unicodeScalars.append(c) } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "\"" where atStart: quoted = true; atStart = false
            case "\"": throw CSVError(message: "a quote inside the unquoted field '\(field)'")
            case ",": row.append(field); field = ""; atStart = true
            case "\n": row.append(field); rows.append(row); row = []; field = ""; atStart = true
            default: field.unicodeScalars.append(c); atStart = false
            }
        }
        XCTAssertFalse(quoted, "unterminated quoted field")
        if !row.isEmpty || !field.isEmpty { row.append(field); rows.append(row) }
        return rows
    }
}

struct CSVError: Error { var message: String }

/// Collects element names and the text nodes (adjacent character runs joined) of an XML document.
final class XMLCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var texts: [String] = []
    private var current = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        flush()
        elements.append(name)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) { flush() }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    private func flush() {
        if !current.isEmpty { texts.append(current) }
        current = ""
    }
}

/// The red team's rows against the sweep (issue 12): output prefixes, journal identity and contents, and
/// finding `infer`.
final class SweepRedTeamTests: XCTestCase {
    /// An untrained 4x4 float checkpoint at `path`.
    func checkpoint(at path: String) throws {
        let s = try TrainingSession(model: TestData.smallModel(.float), training: TrainingConfig(epochs: 1, batchSize: 4, learningRate: 0.01, seed: 2))
        try s.checkpoint(testAccuracy: nil, last: nil).write(to: path)
    }

    func settings(_ models: [String], out: String, infer: String? = nil) -> SweepSettings {
        SweepSettings(models: models, attacks: [.fgsm], epsilons: [0.1], template: AttackConfig(kind: .fgsm, epsilon: 0, steps: 1),
                      out: out, dataDirectory: NSTemporaryDirectory(), testSet: TestData.quadrants(count: 8, seed: 5), inferExecutable: infer)
    }

    /// An untrained binary MNIST-shaped checkpoint (784-16-10) at `dir/m.safetensors`, and its .bsm beside it.
    func mnistModel(in dir: String) throws -> String {
        var config = ModelConfig.fcn2(precision: .binary, inputBits: 2)
        config.hidden = [16]
        let s = try TrainingSession(model: config, training: TrainingConfig(epochs: 1, batchSize: 4, learningRate: 0.01, seed: 2))
        let path = dir + "/m.safetensors"
        try s.checkpoint(testAccuracy: nil, last: nil).write(to: path)
        let converted = try runTool("convert", [path, "-o", dir + "/m.bsm"])
        XCTAssertEqual(converted.status, 0, converted.stderr)
        return path
    }

    /// Rows 1 and 19c: `--out s` (one character) and `--out ~` made `train sweep` die by SIGILL in
    /// Foundation's NSString.deletingLastPathComponent; now they write s.md, ~.md, .... `--out .`, `q/` and
    /// "" name no file (they wrote hidden ..md, q/.md, .md): exit 64 naming --out, nothing written.
    func testOutputPrefixesOfOneCharacterWorkAndDirectoriesAreUsageErrors() throws {
        let cache = try TestData.tinyMNISTCache()
        let dir = temporaryDirectory()
        let model = try mnistModel(in: dir)
        let base = ["sweep", model, "--attacks", "fgsm", "--eps", "0.1", "--limit", "4", "--data-dir", cache, "--quiet", "--infer", "/bin/true"]
        for out in ["s", "~"] {
            let r = try runTool("train", base + ["--out", out], cwd: dir)
            XCTAssertEqual(r.status, 0, "--out \(out): \(r.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/\(out).md"), out)
        }
        try FileManager.default.createDirectory(atPath: dir + "/q", withIntermediateDirectories: true)
        for out in [".", "q/", "", "q/.."] {
            let r = try runTool("train", base + ["--out", out], cwd: dir)
            XCTAssertEqual(r.status, 64, "--out '\(out)': \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--out"), r.stderr)
        }
        let hidden = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") }
            + FileManager.default.contentsOfDirectory(atPath: dir + "/q")
        XCTAssertEqual(hidden, [], "no report under a hidden name")
        XCTAssertThrowsError(try RobustnessSweep(settings: settings([model], out: dir + "/q/"))) {
            XCTAssertTrue("\($0)".contains("names a directory"), "\($0)")
        }
        XCTAssertEqual(PathText.directory(of: "s"), "")
        XCTAssertEqual(PathText.directory(of: "/s"), "/")
        XCTAssertEqual(PathText.directory(of: "a//b/"), "a")
        XCTAssertEqual(PathText.stem(of: "a/.m"), ".m")
        XCTAssertEqual(PathText.deletingExtension(of: "a.b/m.safetensors"), "a.b/m")
    }

    /// Row 10: with `train` found on PATH (argv[0] = "train"), the sweep looked for `infer` in the working
    /// directory, skipped the runtime cross-check with a note, and cached that note in the journal. Now
    /// `infer` is found beside /proc/self/exe and the cross-check runs (the runtime agrees on every image).
    func testInferIsFoundBesideTheRunningExecutableNotThroughArgv0() throws {
        let cache = try TestData.tinyMNISTCache()
        let dir = temporaryDirectory()
        _ = try mnistModel(in: dir)
        let bin = Bundle.main.bundleURL.path
        let r = try runTool("/bin/sh", ["-c", "exec train sweep m.safetensors --attacks fgsm --eps 0.1 --limit 8 --data-dir \"$0\" --quiet --out rt", cache],
                            environment: ["PATH": bin + ":/usr/bin:/bin"], cwd: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/rt.json"))) as? [String: Any])
        let cell = try XCTUnwrap((json["cells"] as? [[String: Any]])?.first)
        XCTAssertNotNil(cell["runtime_accuracy"], "not cross-checked: \(cell["runtime_note"] ?? "no note")")
        XCTAssertEqual(cell["runtime_disagreements"] as? Int, 0)
        // An --infer that is not an executable is a usage error, not a silent skip.
        let bad = try runTool("train", ["sweep", "m.safetensors", "--out", "rt2", "--infer", dir + "/none", "--data-dir", cache], cwd: dir)
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("--infer \(dir)/none is not an executable file"), bad.stderr)
    }

    /// Row 10, the journal: a cell whose cross-check could not run (no `infer`) is not final; the next
    /// sweep that finds `infer` runs it again and cross-checks it (main reused the note forever).
    func testACellNotCrossCheckedRunsAgainOnceInferIsFound() throws {
        let dir = temporaryDirectory()
        let model = dir + "/m.safetensors"
        try checkpoint(at: model)
        FileManager.default.createFile(atPath: dir + "/m.bsm", contents: Data([0]))
        let first = try RobustnessSweep(settings: settings([model], out: dir + "/r", infer: dir + "/missing")).run()
        XCTAssertNil(first.report.cells[0].runtimeAccuracy)
        XCTAssertTrue(first.report.cells[0].runtimeNote?.contains("infer executable not found") ?? false, "\(first.report.cells[0])")
        // A stand-in for infer: every image right.
        let fake = dir + "/fake-infer"
        try """
        #!/bin/sh
        while [ $# -gt 0 ]; do case "$1" in --predictions) p="$2"; shift ;; esac; shift; done
        : > "$p"
        echo '{"accuracy": 1}'
        """.write(toFile: fake, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake)
        let second = try RobustnessSweep(settings: settings([model], out: dir + "/r", infer: fake)).run()
        XCTAssertEqual(second.ran, 1, "the provisional cell runs again")
        XCTAssertEqual(second.report.cells[0].runtimeAccuracy, 1)
        let third = try RobustnessSweep(settings: settings([model], out: dir + "/r", infer: fake)).run()
        XCTAssertEqual(third.skipped, 1, "a cross-checked cell is final")
    }

    /// Row 9: two copies of one checkpoint (same bytes) are two models: rows, the Models table and worst
    /// cases name each (main reused x1's journal cell for x2: two rows named x1, "fgsm, fgsm"). Stems that
    /// collide (a/m, b/m) are named by their paths; one file given twice is refused.
    func testJournalCellsAreIdentifiedByPathAsWellAsContent() throws {
        let dir = temporaryDirectory()
        let x1 = dir + "/x1.safetensors", x2 = dir + "/x2.safetensors"
        try checkpoint(at: x1)
        try FileManager.default.copyItem(atPath: x1, toPath: x2)
        _ = try RobustnessSweep(settings: settings([x1], out: dir + "/jj")).run()
        let both = try RobustnessSweep(settings: settings([x1, x2], out: dir + "/jj")).run()
        XCTAssertEqual([both.ran, both.skipped], [1, 1])
        XCTAssertEqual(both.report.cells.map(\.model), [x1, x2])
        XCTAssertEqual(both.report.cells.map(\.modelName), ["x1", "x2"])
        XCTAssertEqual(both.report.worstCases.map(\.model), ["x1", "x2"])
        XCTAssertEqual(both.report.worstCases.map(\.attacks), [["fgsm"], ["fgsm"]])
        let md = try String(contentsOfFile: dir + "/jj.md", encoding: .utf8)
        XCTAssertTrue(md.contains("| x2 | ") && md.contains(x2), md)

        for sub in ["a", "b"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
        let a = dir + "/a/m.safetensors", b = dir + "/b/m.safetensors"
        try FileManager.default.copyItem(atPath: x1, toPath: a)
        try FileManager.default.copyItem(atPath: x1, toPath: b)
        let stems = try RobustnessSweep(settings: settings([a, b], out: dir + "/ab")).run()
        XCTAssertEqual(stems.report.worstCases.map(\.model), [a, b])
        // Transfer sources of one file name in two directories are two settings, not one cached cell.
        var transfer = settings([x1], out: dir + "/tr")
        transfer.attacks = [.transfer]
        transfer.source = a
        XCTAssertEqual(try RobustnessSweep(settings: transfer).run().ran, 1)
        transfer.source = b
        let other = try RobustnessSweep(settings: transfer).run()
        XCTAssertEqual(other.ran, 1, "another source")
        XCTAssertTrue(other.report.cells[0].settings.contains("source=\(b)@"), other.report.cells[0].settings)
        XCTAssertThrowsError(try RobustnessSweep(settings: settings([x1, dir + "/./x1.safetensors"], out: dir + "/dup"))) {
            XCTAssertTrue("\($0)".contains("given again"), "\($0)")
        }
    }

    /// Row 18: a journal line edited to a robust mask of the wrong length (main: exit 0 with a worst case
    /// computed from it), of non-hex digits, with counts that do not fit, or with images Int.max, is
    /// ignored with a message naming the line and the numbers, and the cell runs again.
    func testJournalCellsWhoseMaskOrCountsDoNotFitAreIgnoredAndRerun() throws {
        let dir = temporaryDirectory()
        let model = dir + "/m.safetensors"
        try checkpoint(at: model)
        let out = dir + "/r"
        let first = try RobustnessSweep(settings: settings([model], out: out)).run()
        let line = try String(contentsOfFile: out + ".jsonl", encoding: .utf8).split(separator: "\n")[0]
        let mask = first.report.cells[0].robustMask
        let edits: [(String, String)] = [
            ("\"robust_mask\":\"\(mask)\"", "\"robust_mask\":\"a\""),
            ("\"robust_mask\":\"\(mask)\"", "\"robust_mask\":\"zz\""),
            ("\"robust_mask\":\"\(mask)\"", "\"robust_mask\":\"\(mask == "00" ? "ff" : "00")\""),
            ("\"successes\":\(first.report.cells[0].successes)", "\"successes\":99"),
            ("\"images\":8", "\"images\":9223372036854775807"),
        ]
        let expected = ["robust_mask has 1 characters for 8 images", "not a hex digit", "robust_accuracy", "successes 99", "for 9223372036854775807 images"]
        for ((from, to), message) in zip(edits, expected) {
            XCTAssertTrue(line.contains(from), "\(from) not in \(line)")
            try (line.replacingOccurrences(of: from, with: to) + "\n").write(toFile: out + ".jsonl", atomically: true, encoding: .utf8)
            let again = try RobustnessSweep(settings: settings([model], out: out)).run()
            XCTAssertEqual(again.ran, 1, to)
            XCTAssertEqual(again.report.cells[0].robustMask, mask, to)
            XCTAssertEqual(again.ignored.count, 1, to)
            XCTAssertTrue(again.ignored.first?.contains(message) ?? false, "\(again.ignored)")
            XCTAssertTrue(again.ignored.first?.contains("line 1") ?? false, "\(again.ignored)")
        }
    }
}
