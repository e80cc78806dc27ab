import Foundation
import XCTest
import CAllocationCounter
@testable import Datasets

/// Issue 12 items 6 and 15: IDX and gzip bombs, multi-member and trailing-garbage gzip, CIFAR sizes.
final class HostileDataTests: ScratchDirectoryTestCase {
    /// An IDX header (no payload) for the given dimensions.
    func idxHeader(_ dims: [Int]) -> [UInt8] {
        var out: [UInt8] = [0, 0, 8, UInt8(dims.count)]
        for d in dims { out += [UInt8(d >> 24 & 0xff), UInt8(d >> 16 & 0xff), UInt8(d >> 8 & 0xff), UInt8(d & 0xff)] }
        return out
    }

    /// Runs `body`, returns its error and the peak heap growth while it ran.
    func peakBytes(_ body: () throws -> Void) -> (error: DatasetError?, peak: Int) {
        bitshield_allocations_start()
        var failure: DatasetError?
        do { try body() } catch { failure = error as? DatasetError }
        _ = bitshield_allocations_stop()
        return (failure, bitshield_allocations_peak_bytes())
    }

    /// The old loader inflated a whole gzip (and read a whole raw file) before it compared the image
    /// and label counts: a 47 KB gzip declaring 60,000 images cost 47 MB to refuse (here 10,000 images,
    /// 7.8 MB). Now both headers
    /// are compared first: the peak is the compressed file plus zlib's window.
    func testCountsAreComparedBeforeAnyBodyIsInflatedOrRead() {
        let bomb = write("bomb-images.gz", Gzip.compress(idxHeader([10_000, 28, 28]) + [UInt8](repeating: 0, count: 10_000 * 784)))
        let labels = write("labels", idxHeader([10]) + [UInt8](repeating: 1, count: 10))
        let (error, peak) = peakBytes { _ = try IDXLoader.loadPair(images: bomb, labels: labels, classes: 10) }
        XCTAssertEqual(error, .countMismatch(images: 10_000, labels: 10))
        XCTAssertLessThan(peak, 1 << 20, "peak \(peak) B to refuse a count mismatch")

        let raw = write("raw-images", idxHeader([5_000, 28, 28]) + [UInt8](repeating: 0, count: 5_000 * 784))
        let (rawError, rawPeak) = peakBytes { _ = try IDXLoader.loadPair(images: raw, labels: labels, classes: 10) }
        XCTAssertEqual(rawError, .countMismatch(images: 5_000, labels: 10))
        XCTAssertLessThan(rawPeak, 1 << 20, "peak \(rawPeak) B to refuse a raw count mismatch")
    }

    /// A gzip that inflates far past what its header declares is refused after one extra byte.
    func testInflationStopsAtTheDeclaredSize() {
        let images = write("i.gz", Gzip.compress(idxHeader([10, 2, 2]) + [UInt8](repeating: 7, count: 40 + 10_000_000)))
        let labels = write("l.gz", Gzip.compress(idxHeader([10]) + [UInt8](repeating: 1, count: 10)))
        let (error, peak) = peakBytes { _ = try IDXLoader.loadPair(images: images, labels: labels, classes: 10) }
        XCTAssertEqual(error, .inflatesPastHeader(path: images, expectedBytes: 56))
        XCTAssertLessThan(peak, 1 << 20, "peak \(peak) B")
        XCTAssertEqual(error?.description, "\(images): gzip stream inflates past the 56 bytes its IDX header accounts for (trailing data)")

        // A short stream whose header declares more than deflate's 1,032:1 ratio allows is refused
        // before anything is allocated for the payload.
        let short = Gzip.compress(idxHeader([60_000, 28, 28]) + [1, 2, 3])
        XCTAssertThrowsError(try IDXReader(bytes: short, path: "s.gz", expectedDims: 3)) {
            guard case .cannotInflate(_, 47_040_016, short.count, let max)? = $0 as? DatasetError else { return XCTFail("\($0)") }
            XCTAssertLessThan(max, 100_000)
        }
    }

    /// A header declaring more than the stated bound (4 GiB of payload) is refused from the header.
    func testDeclaredSizeIsBounded() {
        let images = write("big.gz", Gzip.compress(idxHeader([65_536, 65_536, 2])))
        let labels = write("l", idxHeader([65_536]) + [UInt8](repeating: 0, count: 65_536))
        XCTAssertThrowsError(try IDXLoader.loadPair(images: images, labels: labels, classes: 10)) {
            XCTAssertEqual($0 as? DatasetError, .tooLarge(path: images, dimensions: [65_536, 65_536, 2], bytes: 1 << 33, limit: 1 << 32))
            XCTAssertTrue("\($0)".contains("declare 8589934592 bytes, above the limit of 4294967296"), "\($0)")
        }
        XCTAssertThrowsError(try IDXFile.parse(idxHeader([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]), expectedDims: 3, path: "p")) {
            XCTAssertEqual($0 as? DatasetError, .tooLarge(path: "p", dimensions: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], bytes: Int.max, limit: 1 << 32))
        }
        // Every dimension is named, also when an early product already overflows or one is zero.
        XCTAssertThrowsError(try IDXFile.parse(idxHeader([0xFFFF_FFFF, 0, 5]), expectedDims: 3, path: "p")) {
            XCTAssertEqual($0 as? DatasetError, .badShape(path: "p", dimensions: [0xFFFF_FFFF, 0, 5]))
        }
    }

    /// A FIFO (or /dev/zero) given as an IDX or CIFAR file reported "header needs 4 bytes, file has 0", and
    /// a FIFO with no writer blocked the open for ever: refused by its kind, without waiting.
    func testNonRegularDataFilesAreRefusedByTheirKind() throws {
        let fifo = dir + "/fifo-images"
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // A writer end held open, so that a reader that opens the FIFO blocking does not hang this test.
        let writer = open(fifo, O_RDWR | O_NONBLOCK)
        defer { close(writer) }
        let labels = write("l", idxHeader([1]) + [0])
        XCTAssertThrowsError(try IDXLoader.loadPair(images: fifo, labels: labels, classes: 10)) {
            XCTAssertEqual($0 as? DatasetError, .unreadable(path: fifo, reason: "it is a FIFO, not a regular file (data files are read by their size)"))
        }
        let cifar = dir + "/cifar-10-batches-bin"
        try FileManager.default.createDirectory(atPath: cifar, withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(cifar + "/test_batch.bin", 0o600), 0)
        let cifarWriter = open(cifar + "/test_batch.bin", O_RDWR | O_NONBLOCK)
        defer { close(cifarWriter) }
        XCTAssertThrowsError(try Dataset.cifar10.load(.test, dataDirectory: dir)) {
            XCTAssertTrue("\($0)".contains("it is a FIFO, not a regular file"), "\($0)")
        }
    }

    /// RFC 1952 allows several members in one file (`cat a.gz b.gz`): the old reader stopped at the
    /// first and called the file truncated.
    func testMultiMemberGzipIsReadWhole() throws {
        let file = idxHeader([3, 2, 2]) + (0..<12).map { UInt8($0) }
        let joined = Gzip.compress(Array(file[0..<7])) + Gzip.compress([]) + Gzip.compress(Array(file[7...]))
        XCTAssertEqual(try Gzip.decompress(joined, path: "m.gz"), file)
        let images = write("m.gz", joined)
        let labels = write("l.gz", Gzip.compress(idxHeader([3])) + Gzip.compress([1, 2, 3]))
        let set = try IDXLoader.loadPair(images: images, labels: labels, classes: 10)
        XCTAssertEqual(set.pixels, Array(file[16...]))
        XCTAssertEqual(set.labels, [1, 2, 3])
    }

    /// Bytes after the last member that do not start another one were silently ignored.
    func testTrailingGarbageAfterGzipIsRefused() {
        let gz = Gzip.compress(idxHeader([2]) + [1, 2])
        for garbage: [UInt8] in [[0xde, 0xad], [0], [0x1f], [0x1f, 0x8b, 0x08]] {
            XCTAssertThrowsError(try Gzip.decompress(gz + garbage, path: "g.gz"), "\(garbage)") {
                let message = "\($0)"
                let trailing = message.contains("\(garbage.count) bytes of trailing garbage after the gzip stream, from byte \(gz.count)")
                XCTAssertTrue(trailing || (garbage.count == 3 && message.contains("truncated")), message)
            }
            let labels = write("l.gz", gz + garbage)
            let images = write("i", idxHeader([2, 1, 1]) + [0, 0])
            XCTAssertThrowsError(try IDXLoader.loadPair(images: images, labels: labels, classes: 10), "\(garbage)")
        }
        XCTAssertThrowsError(try Gzip.decompress([], path: "e.gz")) { XCTAssertTrue("\($0)".contains("the file is empty"), "\($0)") }
        XCTAssertThrowsError(try Gzip.decompress(Gzip.compress([UInt8](repeating: 1, count: 100)), path: "x", limit: 99)) {
            XCTAssertTrue("\($0)".contains("more than the limit of 99 bytes"), "\($0)")
        }
    }

    /// CIFAR-100's coarse label was never checked; sizes are checked from the file system before
    /// anything is read (a sparse 4.3 GB file is refused without reading it).
    func testCIFARSizesAndBothLabelsAreChecked() throws {
        var record = [UInt8](repeating: 0, count: 3074)
        record[0] = 20      // coarse label out of 0..<20
        record[1] = 5
        XCTAssertThrowsError(try CIFARBinary.parse([("b", record)], variant: .cifar100)) {
            XCTAssertEqual($0 as? DatasetError, .labelOutOfRange(path: "b", index: 0, label: 20, classes: 20))
        }
        record[0] = 19
        XCTAssertEqual(try CIFARBinary.parse([("b", record)], variant: .cifar100).labels, [5])

        let folder = dir + "/cifar-100-binary"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/test.bin", contents: nil)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: folder + "/test.bin"))
        let records = CIFARBinary.maxRecords + 1
        try handle.truncate(atOffset: UInt64(records * 3074))     // sparse: no disk, and never read
        try handle.close()
        let (error, peak) = peakBytes { _ = try Dataset.cifar100.load(.test, dataDirectory: dir) }
        XCTAssertEqual(error, .tooLarge(path: folder + "/test.bin", dimensions: [records, 32, 32, 3], bytes: records * 3072,
                                        limit: CIFARBinary.maxRecords * 3072))
        XCTAssertLessThan(peak, 1 << 20)
    }
}
