import Foundation
import XCTest
@testable import Datasets

final class CIFARTests: XCTestCase {
    /// `n` CIFAR records with recognisable planes: red = 10 + i, green = 20 + i, blue = 30 + i.
    func records(_ n: Int, variant: CIFARBinary.Variant, label: (Int) -> Int) -> [UInt8] {
        var out: [UInt8] = []
        for i in 0..<n {
            if variant == .cifar100 { out.append(UInt8(label(i) / 5)) }
            out.append(UInt8(label(i)))
            for plane in [10, 20, 30] { out += [UInt8](repeating: UInt8(plane + i), count: 1024) }
        }
        return out
    }

    func testCIFAR10PlanesBecomeChannelsLast() throws {
        let set = try CIFARBinary.parse([("b", records(3, variant: .cifar10) { $0 + 7 })], variant: .cifar10)
        XCTAssertEqual(set.count, 3)
        XCTAssertEqual(set.labels, [7, 8, 9])
        XCTAssertEqual([set.height, set.width, set.channels], [32, 32, 3])
        XCTAssertEqual(Array(set.pixels[0..<6]), [10, 20, 30, 10, 20, 30])
        XCTAssertEqual(Array(set.pixels[3072..<3075]), [11, 21, 31])
    }

    func testCIFAR100UsesTheFineLabel() throws {
        let set = try CIFARBinary.parse([("b", records(2, variant: .cifar100) { 42 + 40 * $0 })], variant: .cifar100)
        XCTAssertEqual(set.labels, [42, 82])
        XCTAssertEqual(set.classes, 100)
    }

    func testTruncatedRecordAndBadLabel() {
        let bytes = records(2, variant: .cifar10) { $0 }
        XCTAssertThrowsError(try CIFARBinary.parse([("b", Array(bytes.dropLast(5)))], variant: .cifar10)) {
            XCTAssertEqual($0 as? DatasetError, .truncated(path: "b", expectedBytes: 6146, actualBytes: 6141))
        }
        XCTAssertThrowsError(try CIFARBinary.parse([("b", records(2, variant: .cifar10) { $0 * 11 })], variant: .cifar10)) {
            XCTAssertEqual($0 as? DatasetError, .labelOutOfRange(path: "b", index: 1, label: 11, classes: 10))
        }
    }

    func testLoadsTheOfficialFileNames() throws {
        let dir = NSTemporaryDirectory() + "bitshield-cifar-\(UUID().uuidString)"
        let folder = dir + "/cifar-10-batches-bin"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for i in 1...5 {
            XCTAssertTrue(FileManager.default.createFile(atPath: folder + "/data_batch_\(i).bin",
                                                        contents: Data(records(2, variant: .cifar10) { _ in i })))
        }
        XCTAssertThrowsError(try Dataset.cifar10.load(.test, dataDirectory: dir)) {
            XCTAssertTrue("\($0)".contains("test_batch.bin") && "\($0)".contains("no package ships CIFAR"), "\($0)")
        }
        let train = try Dataset.cifar10.load(.train, dataDirectory: dir)
        XCTAssertEqual(train.count, 10)
        XCTAssertEqual(train.labels, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    }
}
