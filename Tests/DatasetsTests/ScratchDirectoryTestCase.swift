import Foundation
import XCTest

/// A test case with a fresh scratch directory per test (removed afterwards) and a helper that writes a
/// file into it: the data-file tests build their inputs there.
class ScratchDirectoryTestCase: XCTestCase {
    var dir = ""

    override func setUp() {
        dir = NSTemporaryDirectory() + "bitshield-data-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Writes `bytes` to `dir/name` and returns the path.
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
