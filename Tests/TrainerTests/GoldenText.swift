import Foundation
import ToolSupport
import XCTest

/// Golden text of the tools' help and output (swift-argument-parser's own tests are the model: the whole
/// text, compared line by line). The files are `Tests/Golden/NAME.txt`; the first line is the command.
/// What changes from run to run is masked first (`GoldenText.mask`): temporary paths, timings, speeds and
/// memory figures.
///
/// Regenerate after an intended change, then review the diff:
///     BITSHIELD_UPDATE_GOLDEN=1 swift test --disable-swift-testing --filter CLIGoldenTests
enum GoldenText {
    /// Where the golden files live.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Golden").path

    /// Whether this run rewrites the golden files instead of comparing.
    static let updating = ProcessInfo.processInfo.environment["BITSHIELD_UPDATE_GOLDEN"] == "1"

    /// The figures that differ between runs, each replaced by a fixed token.
    static let masks: [(pattern: String, replacement: String)] = [
        (#"/[^\s'"]*bitshield-test-[0-9A-Fa-f-]{36}"#, "<tmp>"),                 // temporaryDirectory()
        (#"\b\d+(\.\d+)? s\b"#, "<t> s"),                                      // seconds
        (#"latency \d+(\.\d+)? µs"#, "latency <t> µs"),
        (#"\b\d+ images/s"#, "<n> images/s"),
        (#"peak RSS \d+ B"#, "peak RSS <bytes> B"),
        (#"\b\d+ thread\(s\)"#, "<n> thread(s)"),                            // infer: every core by default
        (#""threads":\d+"#, #""threads":"<masked>""#),
        (#""(seconds|attack_seconds|latency_us|images_per_second|peak_rss_bytes)":[0-9.e+-]+"#, #""$1":"<masked>""#),
    ]

    /// `text` with every mask applied.
    static func mask(_ text: String) -> String {
        masks.reduce(text) { $0.replacingOccurrences(of: $1.pattern, with: $1.replacement, options: .regularExpression) }
    }
}

extension XCTestCase {
    /// Runs `tool args` (80 columns, as on a plain terminal) expecting exit `status`, and compares its stdout
    /// (stderr when `status` is not 0), masked, with `Tests/Golden/NAME.txt`; with BITSHIELD_UPDATE_GOLDEN=1 it
    /// writes the file instead.
    func assertGolden(_ name: String, _ tool: String, _ args: [String], status: Int32 = 0,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "80"
        let r = try runTool(tool, args, environment: environment, file: file, line: line)
        XCTAssertEqual(r.status, status, "\(tool) \(args.joined(separator: " ")): \(r.stderr)", file: file, line: line)
        let header = ([tool] + args).joined(separator: " ") + (status == 0 ? "" : "  # exit \(status), stderr")
        let text = GoldenText.mask(header + "\n" + (status == 0 ? r.stdout : r.stderr))
        let path = GoldenText.directory + "/\(name).txt"
        if GoldenText.updating {
            try FileManager.default.createDirectory(atPath: GoldenText.directory, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        guard let golden = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            return XCTFail("no golden file \(path): run with BITSHIELD_UPDATE_GOLDEN=1 to write it", file: file, line: line)
        }
        guard text != golden else { return }
        // The first differing line, then the whole text, so the failure reads without a diff tool.
        let got = text.split(separator: "\n", omittingEmptySubsequences: false), want = golden.split(separator: "\n", omittingEmptySubsequences: false)
        let first = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
        XCTFail("""
            \(name): line \(first + 1) differs from \(path)
              golden: \(first < want.count ? String(want[first]) : "<end>")
              actual: \(first < got.count ? String(got[first]) : "<end>")
            whole output:
            \(text)
            (BITSHIELD_UPDATE_GOLDEN=1 rewrites the golden files)
            """, file: file, line: line)
    }
}
