import Foundation
import ToolSupport
import XCTest

/// `train reproduce` given hostile directories and job files: each is refused with a message that names
/// the path, at the right exit code, before any work (no tool run here trains anything).
final class ReproduceHostileToolTests: XCTestCase {
    /// `--out` that is a file, or a run directory whose `logs` is a file, gave a raw NSCocoaError at exit 1:
    /// now a usage error (exit 64) naming the path, and nothing is written.
    func testOutputDirectoryThatIsAFileIsAUsageError() throws {
        let dir = temporaryDirectory()
        let grid = dir + "/grid.json"
        try Data(ReproduceToolTests.tinyGrid.utf8).write(to: URL(fileURLWithPath: grid))
        let file = dir + "/afile"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        var r = try runTool("train", ["reproduce", grid, "--out", file])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--out \(file): \(file) is not a directory"), r.stderr)
        let run = dir + "/run"
        try FileManager.default.createDirectory(atPath: run, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: run + "/logs", contents: Data()))
        r = try runTool("train", ["reproduce", grid, "--out", run])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("\(run)/logs is not a directory"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run), ["logs"])
        r = try runTool("train", ["reproduce", "collect", run, "--to", file])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--to \(file): \(file) is not a directory"), r.stderr)
    }

    /// A job file whose arguments are `["--help"]` printed `error: helpRequested(...)`; arguments that do not
    /// parse are the job file's failure (exit 1), naming the file.
    func testJobFileArgumentsThatAskForHelpAreAFailureNamingTheFile() throws {
        let run = temporaryDirectory()
        let id = "0123456789abcdef"
        for (args, why) in [(#"["--help"]"#, "they ask for help or the version"), (#"["--epochs", "0"]"#, "--epochs 0")] {
            let dir = run + "/models/" + id
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data(#"{"kind": "model", "id": "\#(id)", "arguments": \#(args)}"#.utf8).write(to: URL(fileURLWithPath: dir + "/job.json"))
            let r = try runTool("train", ["reproduce", "job", run, "model", id])
            XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
            XCTAssertTrue(r.stderr.contains("\(dir)/job.json: its arguments") && r.stderr.contains(why), r.stderr)
            XCTAssertFalse(r.stderr.contains("helpRequested") || r.stdout.contains("USAGE"), r.stdout + r.stderr)
        }
    }
}
