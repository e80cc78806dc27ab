import Glibc
import XCTest
@testable import Trainer

/// Issue 18 item 4: the conv edge attack spent a third of its CPU faulting in buffers that glibc had
/// returned to the kernel after the previous pass. With `MallocPolicy.keepFreedMemory()` (what `train`
/// calls at start) a buffer allocated, filled and freed pass after pass faults its pages in once.
final class MallocPolicyTests: XCTestCase {
    func testAFreedLargeBufferIsReusedWithoutFaultingItsPagesInAgain() {
        MallocPolicy.keepFreedMemory()
        func minorFaults() -> Int {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            return usage.ru_minflt
        }
        let count = 48 << 18  // 48 MiB of Float: above glibc's largest mmap threshold (32 MiB)
        var sum: Float = 0
        func pass() {
            let buffer = [Float](repeating: 1, count: count)
            sum += buffer[count / 2]
        }
        pass()  // the first pass faults its pages in
        let before = minorFaults()
        for _ in 0..<8 { pass() }
        let faults = minorFaults() - before
        let pages = count * 4 / 4096
        XCTAssertEqual(sum, 9)
        // Returned to the kernel after each pass, 8 passes would fault in 8 x 12,288 pages.
        XCTAssertLessThan(faults, pages, "\(faults) minor faults in 8 passes over \(pages) pages")
    }
}
