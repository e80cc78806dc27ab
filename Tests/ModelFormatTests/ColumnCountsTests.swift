import XCTest
@testable import ModelFormat

/// ColumnCounts (the one-pass check of a columns32 lane group, issue 14 item 5) against a plain recount,
/// on rows whose counts cross the nibble (15), byte (255) and lane-group boundaries.
final class ColumnCountsTests: XCTestCase {
    /// 40 rows (a full group and one of 8 lanes) of 600 values: row r's values are -1 at a rate that
    /// grows with r (row 0 none, row 39 all), so counts reach 600 in both halfwords of the sums.
    func testCountsEveryLaneOfWideRowsAndFindsEachFault() {
        let (rows, n) = (40, 600)
        var signs = [Float](repeating: 1, count: rows * n)
        var state: UInt32 = 12345
        for r in 0..<rows {
            for i in 0..<n {
                state = state &* 1_664_525 &+ 1_013_904_223
                if Int(state >> 8) % (rows - 1) < r { signs[r * n + i] = -1 }
            }
        }
        let bytes = BitPacking.columns(BitPacking.pack(signs: signs, rows: rows, n: n), rows: rows, n: n)
        let countsAt = 4 * 2 * n
        bytes.withUnsafeBytes { raw in
            let r = RawBytes(raw.baseAddress!)
            for g in 0..<2 {
                let fault = ColumnCounts.check(r, at: 4 * g * n, n: n, lanes: g == 0 ? 32 : 8, countsAt: countsAt + 64 * g)
                XCTAssertEqual([fault.column, fault.lane], [-1, -1], "group \(g) is well-formed")
            }
        }
        XCTAssertEqual(Int(bytes[countsAt + 2 * 39]) | Int(bytes[countsAt + 2 * 39 + 1]) << 8, 600, "row 39 is all -1")
        // A wrong count in every lane of both groups is found with the recount; a lane past row 40 set in
        // column 517 (past a 255-column block and inside a 15-column chunk) is found at that column.
        for row in 0..<rows {
            var b = bytes
            b[countsAt + 2 * row] ^= 1
            let stored = Int(b[countsAt + 2 * row]) | Int(b[countsAt + 2 * row + 1]) << 8
            let counted = signs[(row * n)..<(row * n + n)].filter { $0 < 0 }.count
            b.withUnsafeBytes { raw in
                let g = row / 32
                let fault = ColumnCounts.check(RawBytes(raw.baseAddress!), at: 4 * g * n, n: n, lanes: g == 0 ? 32 : 8,
                                               countsAt: countsAt + 64 * g)
                XCTAssertEqual([fault.column, fault.lane, fault.stored, fault.counted], [-1, row % 32, stored, counted], "row \(row)")
            }
        }
        var b = bytes
        b[4 * (n + 517) + 1] |= 0x80   // group 1, column 517, lane 15
        b.withUnsafeBytes { raw in
            let fault = ColumnCounts.check(RawBytes(raw.baseAddress!), at: 4 * n, n: n, lanes: 8, countsAt: countsAt + 64)
            XCTAssertEqual(fault.column, 517)
        }
    }
}
