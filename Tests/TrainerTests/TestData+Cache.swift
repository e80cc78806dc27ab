import Datasets
import Foundation
import XCTest
@testable import Trainer

extension TestData {
    /// A data cache with a tiny MNIST-shaped set: 28x28 images whose label is which quarter of the
    /// image holds a bright square (300 training images, 100 test images, gzip images and raw labels).
    static func tinyMNISTCache() throws -> String {
        let dir = temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/mnist", withIntermediateDirectories: true)
        var random = SeededRandom(seed: 4)
        for (prefix, count) in [("train", 300), ("t10k", 100)] {
            var pixels: [UInt8] = [], labels: [UInt8] = []
            for _ in 0..<count {
                let label = Int(random.next() % 4)
                var image = [UInt8](repeating: 0, count: 784)
                let r0 = (label / 2) * 14 + 3, c0 = (label % 2) * 14 + 3
                for r in r0..<(r0 + 8) { for c in c0..<(c0 + 8) { image[r * 28 + c] = UInt8(150 + random.next() % 100) } }
                pixels += image
                labels.append(UInt8(label))
            }
            let img = Gzip.compress(IDXFile(dimensions: [count, 28, 28], bytes: pixels).encoded())
            let lab = IDXFile(dimensions: [count], bytes: labels).encoded()
            XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/mnist/\(prefix)-images-idx3-ubyte.gz", contents: Data(img)))
            XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/mnist/\(prefix)-labels-idx1-ubyte", contents: Data(lab)))
        }
        return dir
    }
}
