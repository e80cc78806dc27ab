import Foundation
import XCTest
@testable import Datasets

final class IDXTests: ScratchDirectoryTestCase {
    func images(_ n: Int) -> IDXFile { IDXFile(dimensions: [n, 2, 3], bytes: (0..<(n * 6)).map { UInt8($0 % 256) }) }
    func labels(_ values: [UInt8]) -> IDXFile { IDXFile(dimensions: [values.count], bytes: values) }

    func expect(_ error: DatasetError, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { XCTAssertEqual($0 as? DatasetError, error, line: line) }
    }

    func testRoundTripRawAndGzip() throws {
        let img = images(4), lab = labels([0, 9, 3, 1])
        for gz in [false, true] {
            let enc: (IDXFile) -> [UInt8] = { gz ? Gzip.compress($0.encoded()) : $0.encoded() }
            let ip = write("i\(gz)", enc(img)), lp = write("l\(gz)", enc(lab))
            let set = try IDXLoader.loadPair(images: ip, labels: lp, classes: 10)
            XCTAssertEqual(set.count, 4)
            XCTAssertEqual(set.height, 2)
            XCTAssertEqual(set.width, 3)
            XCTAssertEqual(set.pixels, img.bytes)
            XCTAssertEqual(set.labels, lab.bytes)
        }
    }

    func testLoaderFindsTheGzipSibling() throws {
        _ = write("x-images.gz", Gzip.compress(images(2).encoded()))
        _ = write("x-labels.gz", Gzip.compress(labels([1, 2]).encoded()))
        XCTAssertEqual(try IDXLoader.loadPair(images: dir + "/x-images", labels: dir + "/x-labels", classes: 10).count, 2)
    }

    func testWrongMagic() {
        expect(.badMagic(path: "p", found: 0x801, expected: 0x803)) {
            _ = try IDXFile.parse(labels([1]).encoded(), expectedDims: 3, path: "p")
        }
    }

    func testTruncatedHeaderAndPayload() {
        let bytes = images(3).encoded()
        expect(.truncated(path: "p", expectedBytes: 16, actualBytes: 10)) {
            _ = try IDXFile.parse(Array(bytes[0..<10]), expectedDims: 3, path: "p")
        }
        expect(.truncated(path: "p", expectedBytes: 16 + 18, actualBytes: 30)) {
            _ = try IDXFile.parse(Array(bytes[0..<30]), expectedDims: 3, path: "p")
        }
        for cut in 0..<bytes.count {
            XCTAssertThrowsError(try IDXFile.parse(Array(bytes[0..<cut]), expectedDims: 3, path: "p"))
        }
    }

    func testTrailingBytesAndZeroDimension() {
        expect(.trailingBytes(path: "p", expectedBytes: 10, actualBytes: 11)) {
            _ = try IDXFile.parse(labels([1, 2]).encoded() + [0], expectedDims: 1, path: "p")
        }
        expect(.badShape(path: "p", dimensions: [0])) {
            _ = try IDXFile.parse([0, 0, 8, 1, 0, 0, 0, 0], expectedDims: 1, path: "p")
        }
    }

    func testCountMismatchAndLabelOutOfRange() {
        let ip = write("i", images(3).encoded())
        let lp = write("l", labels([1, 2]).encoded())
        expect(.countMismatch(images: 3, labels: 2)) { _ = try IDXLoader.loadPair(images: ip, labels: lp, classes: 10) }
        let bad = write("l2", labels([1, 12, 3]).encoded())
        expect(.labelOutOfRange(path: bad, index: 1, label: 12, classes: 10)) {
            _ = try IDXLoader.loadPair(images: ip, labels: bad, classes: 10)
        }
    }

    func testCorruptAndTruncatedGzip() {
        var gz = Gzip.compress(images(50).encoded())
        let truncated = Array(gz[0..<(gz.count / 2)])
        XCTAssertThrowsError(try Gzip.decompress(truncated, path: "t.gz")) {
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
        gz[12] ^= 0xff
        gz[13] ^= 0x55
        XCTAssertThrowsError(try Gzip.decompress(gz, path: "c.gz")) { XCTAssertTrue("\($0)".contains("corrupt gzip")) }
    }

    func testMissingFileSaysWhichMakeTargetFetchesIt() {
        XCTAssertThrowsError(try Dataset.mnist.load(.test, dataDirectory: dir)) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("missing data file") && message.contains("make data"), message)
            XCTAssertTrue(message.contains("t10k-images-idx3-ubyte"), message)
        }
    }

    func testUnknownDatasetListsTheKnownOnes() {
        XCTAssertThrowsError(try Dataset.named("cifar7")) {
            XCTAssertEqual("\($0)", "unknown data set 'cifar7' (known: mnist, fashion-mnist, cifar10, cifar100)")
        }
    }

    func testDataDirectoryResolution() {
        XCTAssertEqual(DataDirectory.resolve(explicit: "/x", environment: ["BITSHIELD_DATA": "/y"]), "/x")
        XCTAssertEqual(DataDirectory.resolve(environment: ["BITSHIELD_DATA": "/y", "HOME": "/h"]), "/y")
        XCTAssertEqual(DataDirectory.resolve(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/h"]), "/c/bitshield/data")
        XCTAssertEqual(DataDirectory.resolve(environment: ["HOME": "/h"]), "/h/.cache/bitshield/data")
    }

    /// The real files from the cache, when present: sizes, label range, and the known class counts.
    func testRealMNISTAndFashionMNIST() throws {
        let cache = DataDirectory.resolve()
        for d in [Dataset.mnist, .fashionMNIST] {
            let test: ImageSet
            do { test = try d.load(.test, dataDirectory: cache) } catch {
                if ProcessInfo.processInfo.environment["BITSHIELD_REQUIRE_DATA"] != nil { throw error }
                throw XCTSkip("\(d.rawValue) not in \(cache): run 'make data'")
            }
            XCTAssertEqual(test.count, 10_000)
            XCTAssertEqual(test.height, 28)
            XCTAssertEqual(test.width, 28)
            XCTAssertEqual(Set(test.labels).count, 10)
            XCTAssertEqual(try d.load(.train, dataDirectory: cache).count, 60_000)
        }
        // MNIST's test set has 980 zeros and 1,135 ones.
        let mnist = try Dataset.mnist.load(.test, dataDirectory: cache)
        XCTAssertEqual(mnist.labels.filter { $0 == 0 }.count, 980)
        XCTAssertEqual(mnist.labels.filter { $0 == 1 }.count, 1135)
    }
}
