import Datasets
import Foundation
import ToolSupport
import XCTest
@testable import Trainer

/// `infer --threads` (issue 15, item 1): the scoring pass splits the images over the threads (every core
/// by default), in chunks of `--batch`, and its predictions and scores do not depend on the split.
final class InferThreadsTests: XCTestCase {
    func testScoringSplitsOverThreadsWithIdenticalResults() throws {
        let dir = temporaryDirectory()
        // 203 MNIST-shaped images: batches of 8 give 26 chunks, the last of 3 images, over 1, 2 and 3 threads.
        var r = SeededRandom(seed: 15)
        let count = 203
        let pixels = (0..<(count * 784)).map { _ in UInt8(r.next() % 256) }
        try Data(IDXFile(dimensions: [count, 28, 28], bytes: pixels).encoded()).write(to: URL(fileURLWithPath: dir + "/x-images"))
        try Data(IDXFile(dimensions: [count], bytes: (0..<count).map { UInt8($0 % 10) }).encoded())
            .write(to: URL(fileURLWithPath: dir + "/x-labels"))
        let base = [Fixture.binaryBits8, "--images", dir + "/x-images", "--labels", dir + "/x-labels", "--batch", "8", "--json"]
        var outputs: [[String]] = []
        for threads in ["1", "2", "3"] {
            let p = dir + "/p\(threads).txt", s = dir + "/s\(threads).txt"
            let run = try runTool("infer", base + ["--threads", threads, "--predictions", p, "--scores", s])
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(try lastJSONLine(run.stdout)["threads"] as? Int, Int(threads))
            outputs.append([try String(contentsOfFile: p, encoding: .utf8), try String(contentsOfFile: s, encoding: .utf8)])
        }
        XCTAssertEqual(outputs[0][0].split(separator: "\n").count, count)
        XCTAssertEqual(outputs[1], outputs[0], "--threads 2 predicts and scores what --threads 1 does")
        XCTAssertEqual(outputs[2], outputs[0], "--threads 3 predicts and scores what --threads 1 does")
        // Without --threads, every active core scores.
        let byDefault = try runTool("infer", base)
        XCTAssertEqual(byDefault.status, 0, byDefault.stderr)
        XCTAssertEqual(try lastJSONLine(byDefault.stdout)["threads"] as? Int, min(64, ProcessInfo.processInfo.activeProcessorCount))
    }
}
