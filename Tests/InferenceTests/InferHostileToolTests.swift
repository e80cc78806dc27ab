import Datasets
import Foundation
import ToolSupport
import XCTest

/// `infer` on hostile test sets: each refusal names the file that holds the problem.
final class InferHostileToolTests: XCTestCase {
    /// A label of 200 in the --labels file was reported as "label 200 at index 2 of IMAGES" (the images
    /// file, which holds no labels): the message names the labels file.
    func testLabelOutOfRangeNamesTheLabelsFile() throws {
        let dir = temporaryDirectory()
        let images = dir + "/x-images", labels = dir + "/x-labels"
        try Data(IDXFile(dimensions: [3, 28, 28], bytes: [UInt8](repeating: 0, count: 3 * 784)).encoded()).write(to: URL(fileURLWithPath: images))
        try Data(IDXFile(dimensions: [3], bytes: [1, 2, 200]).encoded()).write(to: URL(fileURLWithPath: labels))
        let r = try runTool("infer", [Fixture.binaryBits8, "--images", images, "--labels", labels, "--no-timing"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("label 200 at index 2 of \(labels) is not below the model's 10 classes"), r.stderr)
    }
}
