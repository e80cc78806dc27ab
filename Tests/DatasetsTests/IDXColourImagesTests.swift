import Foundation
import XCTest
@testable import Datasets

/// Issue 13, item 3: an IDX images file is idx3 (N x H x W, grey) or idx4 (N x H x W x C, NHWC colour), as
/// `ImageSet.writeIDX` writes them; `IDXLoader.loadPair` (what `infer --images` reads) read idx3 only.
final class IDXColourImagesTests: ScratchDirectoryTestCase {
    func labels(_ n: Int) -> [UInt8] { IDXFile(dimensions: [n], bytes: (0..<n).map { UInt8($0 % 4) }).encoded() }

    func testIdx4IsReadAsHeightWidthChannelsRawAndGzip() throws {
        let pixels = (0..<(3 * 4 * 5 * 3)).map { UInt8($0 % 251) }
        let set = try ImageSet(height: 4, width: 5, channels: 3, classes: 10, pixels: pixels, labels: [0, 1, 2])
        try set.writeIDX(prefix: dir + "/adv")
        for gz in [false, true] {
            let images = dir + "/adv-images-idx4-ubyte"
            if gz {
                let raw = try XCTUnwrap(FileManager.default.contents(atPath: images))
                _ = write("gz-images", Gzip.compress(Array(raw)))
            }
            let read = try IDXLoader.loadPair(images: gz ? dir + "/gz-images" : images, labels: dir + "/adv-labels-idx1-ubyte", classes: 10)
            XCTAssertEqual([read.count, read.height, read.width, read.channels], [3, 4, 5, 3])
            XCTAssertEqual(read.pixels, pixels)
        }
    }

    func testOtherDimensionCountsAreRefusedNamingBothMagics() {
        let l = write("l", labels(2))
        for (name, dims) in [("idx1", [2]), ("idx2", [2, 4]), ("idx5", [2, 4, 5, 3, 1])] {
            let path = write(name, IDXFile(dimensions: dims, bytes: [UInt8](repeating: 1, count: dims.reduce(1, *))).encoded())
            XCTAssertThrowsError(try IDXLoader.loadPair(images: path, labels: l, classes: 10)) {
                XCTAssertEqual($0 as? DatasetError, .badMagicOneOf(path: path, found: IDXFile.magic(dims: dims.count), expected: [0x803, 0x804]))
                XCTAssertTrue("\($0)".contains("expected one of 0x00000803, 0x00000804"), "\($0)")
            }
        }
        // Sizes are checked before anything is read: no channels, a short body, a header past 4 GiB.
        let cases: [([Int], Int, (DatasetError) -> Bool)] = [
            ([2, 4, 5, 0], 0, { if case .badShape = $0 { return true }; return false }),
            ([2, 4, 5, 3], 7, { if case .truncated = $0 { return true }; return false }),
            ([65535, 65535, 65535, 3], 0, { if case .tooLarge = $0 { return true }; return false }),
        ]
        for (dims, body, matches) in cases {
            var bytes: [UInt8] = [0, 0, 8, 4]
            for d in dims { bytes += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
            let path = write("h\(dims)", bytes + [UInt8](repeating: 0, count: body))
            XCTAssertThrowsError(try IDXLoader.loadPair(images: path, labels: l, classes: 10)) {
                XCTAssertTrue(($0 as? DatasetError).map(matches) ?? false, "\(dims): \($0)")
            }
        }
    }
}
