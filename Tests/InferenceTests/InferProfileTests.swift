import Datasets
import Foundation
import ModelFile
import ModelFormat
import ToolSupport
import XCTest
@testable import Inference
@testable import Trainer

/// `infer --profile` (issue 15, item 2): where the time goes, one row per step of the plan, from prefixes
/// of the steps (`Interpreter.invoke(endOp:…)`).
final class InferProfileTests: XCTestCase {
    func testPrefixesRunTheStepsBeforeTheirEndOpAndTheWholeWalkMatchesInvoke() throws {
        let bytes = try Fixture.bytes(Fixture.binaryBits8)
        let file = try ModelFile.parse(bytes)
        try file.image.withUnsafeBytes { raw in
            let image = try ModelImage(bytes: raw)
            let plan = Interpreter.plan(image: image, kernels: .optimized, batch: 4)
            XCTAssertGreaterThan(plan.count, 2)
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: Interpreter.arenaBytes(for: image, batch: 4), alignment: 16)
            defer { arena.deallocate() }
            let interpreter = try Interpreter(image: raw, arena: arena, kernels: .optimized, batch: 4)
            var r = SeededRandom(seed: 7)
            let pixels = (0..<(4 * 784)).map { _ in UInt8(r.next() % 256) }
            var whole = [Int](repeating: -1, count: 4), prefix = [Int](repeating: -1, count: 4)
            pixels.withUnsafeBufferPointer { px in
                interpreter.invoke(batch: px.baseAddress!, count: 4, classes: &whole)
                // Every step but the argmax: the classes are not written.
                interpreter.invoke(endOp: plan[plan.count - 1].firstOp, batch: px.baseAddress!, count: 4, classes: &prefix)
                XCTAssertEqual(prefix, [-1, -1, -1, -1])
                interpreter.invoke(endOp: plan[plan.count - 1].lastOp + 1, batch: px.baseAddress!, count: 4, classes: &prefix)
            }
            XCTAssertEqual(prefix, whole)
        }
    }

    func testInferProfilePrintsEveryStep() throws {
        let dir = temporaryDirectory()
        var r = SeededRandom(seed: 5)
        try Data(IDXFile(dimensions: [8, 28, 28], bytes: (0..<(8 * 784)).map { _ in UInt8(r.next() % 256) }).encoded())
            .write(to: URL(fileURLWithPath: dir + "/x-images"))
        try Data(IDXFile(dimensions: [8], bytes: (0..<8).map { UInt8($0) }).encoded()).write(to: URL(fileURLWithPath: dir + "/x-labels"))
        let run = try runTool("infer", [Fixture.binaryBits8, "--images", dir + "/x-images", "--labels", dir + "/x-labels", "--batch", "4", "--profile"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        guard let head = lines.firstIndex(where: { $0.hasPrefix("profile (ns per image") }) else { return XCTFail(run.stdout) }
        // The fixture's plan (784-64-64-10): the first layer (codes fused), the hidden layer, the last layer, affine, argmax.
        let rows = lines[(head + 2)...].prefix { !$0.hasPrefix("  total") }
        XCTAssertEqual(rows.map { $0.split(separator: " ", omittingEmptySubsequences: true)[2] },
                       ["blockedPlanesRows16", "blockedBits", "blockedBits", "affineI32", "argmax"], run.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  total") }, run.stdout)
        XCTAssertEqual(try runTool("infer", [Fixture.binaryBits8, "--device", "netduinoplus2", "--profile", "--dataset", "mnist"]).status, 64)
    }
}
