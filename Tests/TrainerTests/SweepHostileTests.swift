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

        // Markdown: the result row has 13 cells (14 unescaped pipes) on one line, and no raw '<'.
        let md = try String(contentsOfFile: dir + "/r.md", encoding: .utf8)
        XCTAssertFalse(md.contains("<img"), "raw HTML in the Markdown")
        let row = try XCTUnwrap(md.split(separator: "\n").first { $0.contains("fgsm") && $0.hasPrefix("| a") })
        XCTAssertEqual(unescapedPipes(row), 14, String(row))
        for line in md.split(separator: "\n", omittingEmptySubsequences: false) where line.hasPrefix("|") {
            XCTAssertTrue(line.hasSuffix("|"), "a table row broke: \(line)")
        }

        // CSV (RFC 4180): header and one row of 22 fields, the first the name.
        let rows = try parseCSV(String(contentsOfFile: dir + "/r.csv", encoding: .utf8))
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows.map(\.count), [22, 22])
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
