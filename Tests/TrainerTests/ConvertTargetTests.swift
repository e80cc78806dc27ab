import Foundation
import ToolSupport
import XCTest

/// `convert --target host|mcu` (issue 14, item 4) names where the model runs instead of its layout: the file
/// is byte for byte the one `--layout` writes for that target's layout; giving both is bad usage.
final class ConvertTargetTests: XCTestCase {
    func testATargetWritesItsLayoutsFile() throws {
        let dir = temporaryDirectory()
        for (target, layout) in [("mcu", "columns32"), ("host", "bits8")] {
            let byTarget = try runTool("convert", [Fixture.binaryCheckpoint, "-o", "\(dir)/\(target).bsm", "--target", target])
            XCTAssertEqual(byTarget.status, 0, byTarget.stderr)
            let byLayout = try runTool("convert", [Fixture.binaryCheckpoint, "-o", "\(dir)/\(layout).bsm", "--layout", layout])
            XCTAssertEqual(byLayout.status, 0, byLayout.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(target).bsm")),
                           try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(layout).bsm")), "--target \(target) is not --layout \(layout)")
        }
        // The committed columns32 fixture was written with --layout columns32 (scripts/make-fixture.sh).
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/mcu.bsm")), try Data(contentsOf: URL(fileURLWithPath: Fixture.binaryColumns32)))
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
