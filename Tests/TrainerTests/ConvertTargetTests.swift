import Foundation
import ToolSupport
import XCTest

/// `convert --target host|mcu` (issue 14, item 4) names where the model runs instead of its layout: the file
/// is byte for byte the one `--layout` writes for that target's layout; giving both is bad usage.
final class ConvertTargetTests: XCTestCase {
    func testATargetWritesItsLayoutsFile() throws {
        let dir = temporaryDirectory()
        for (target, layout) in [("mcu", "columns32s"), ("host", "bits8")] {
            let byTarget = try runTool("convert", [Fixture.binaryCheckpoint, "-o", "\(dir)/\(target).bsm", "--target", target])
            XCTAssertEqual(byTarget.status, 0, byTarget.stderr)
            let byLayout = try runTool("convert", [Fixture.binaryCheckpoint, "-o", "\(dir)/\(layout).bsm", "--layout", layout])
            XCTAssertEqual(byLayout.status, 0, byLayout.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(target).bsm")),
                           try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(layout).bsm")), "--target \(target) is not --layout \(layout)")
        }
        // The committed columns32 fixture was written with --layout columns32 (scripts/make-fixture.sh); --target
        // mcu writes its hidden 64 -> 64 layer in columns32s (format version 4, metadata dense_layout "columns32s").
        let columns = try runTool("convert", [Fixture.binaryCheckpoint, "-o", "\(dir)/columns32.bsm", "--layout", "columns32"])
        XCTAssertEqual(columns.status, 0, columns.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/columns32.bsm")), try Data(contentsOf: URL(fileURLWithPath: Fixture.binaryColumns32)))
        let inspect = try runTool("convert", ["inspect", "\(dir)/mcu.bsm", "--json"])
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertTrue(inspect.stdout.contains(#""dense_layout":"columns32s""#), inspect.stdout)
        XCTAssertTrue(inspect.stdout.contains(#""columnsBitsBounds""#) || inspect.stdout.contains("columnsBitsBounds"), inspect.stdout)
    }

    func testTargetAndLayoutTogetherIsBadUsage() throws {
        let dir = temporaryDirectory()
        let r = try runTool("convert", [Fixture.binaryCheckpoint, "-o", dir + "/m.bsm", "--target", "mcu", "--layout", "columns32"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("give --target or --layout, not both"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.bsm"))
        let bad = try runTool("convert", [Fixture.binaryCheckpoint, "-o", dir + "/m.bsm", "--target", "gpu"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("host") && bad.stderr.contains("mcu"), "the parser lists the targets: \(bad.stderr)")
    }
}
