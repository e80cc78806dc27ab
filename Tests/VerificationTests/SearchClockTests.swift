import Foundation
@testable import Verification
import XCTest

/// `verify --clock cpu` (the default): a search's time limit counts the search thread's CPU time, so time the
/// thread spends off the CPU (a loaded machine, here a sleep) does not use it up; `--clock wall` counts it.
final class SearchClockTests: XCTestCase {
    func testCPUDeadlineIgnoresTimeOffTheCPU() {
        let cpu = SearchDeadline(clock: .cpu, after: .milliseconds(30))
        let wall = SearchDeadline(clock: .wall, after: .milliseconds(30))
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertTrue(wall.passed)
        XCTAssertFalse(cpu.passed, "100 ms asleep used 30 ms of CPU time")
        // Work on the thread does use it up.
        var x: UInt64 = 1
        while !cpu.passed { for _ in 0..<10_000 { x = x &* 6364136223846793005 &+ 1442695040888963407 } }
        XCTAssertNotEqual(x, 0)
        XCTAssertEqual(SearchClock(rawValue: "cpu"), .cpu)
    }
}
