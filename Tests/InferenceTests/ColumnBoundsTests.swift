import XCTest
@testable import Inference
@testable import ModelFormat
import Trainer

/// The `columns32s` kernel (`ColumnDenseKernel.bitsBounds`: signs read off a counter started at the stored
/// bounds) against its reference (`referenceBits`: A = n - 2 popcount, then the threshold rule), bit for
/// bit: random shapes around the lane-group and word edges, thresholds at the extremes (Int32.min and
/// .max, -n - 3 ... n + 3) and at random, flips at random, inputs from all clear to all set (both sides).
final class ColumnBoundsTests: XCTestCase {
    var random = SeededRandom(seed: 0xB0_0DED)

    func next() -> UInt64 { random.next() }

    /// ColumnBounds' arithmetic against the threshold rule for every reachable case of n <= 24: every
    /// threshold from -n - 4 to n + 4 and the i32 ends, every row count, input count and column sum the
    /// side allows; the counter's value stays in W planes' two's complement range.
    func testBoundsRuleEveryCaseOfSmallRows() {
        for n in 1...24 {
            let w = ColumnBounds.planes(n: n), low = -(1 << (w - 1)), high = (1 << (w - 1)) - 1
            for t in [Int32.min, Int32.max, Int32(-n - 40)] + (-n - 4...n + 4).map(Int32.init) {
                for c in 0...n {
                    for set in 0...n {
                        let side = ColumnBounds.side(set: set, n: n), listed = side == 0 ? set : n - set
                        // S (Z): listed inputs where the weight is -1; at least listed + c - n of them.
                        for s in max(0, listed + c - n)...min(listed, c) {
                            let xor = side == 0 ? set + c - 2 * s : set - c + 2 * s
                            let want = Int32(n - 2 * xor) < t
                            let v = ColumnBounds.start(threshold: t, count: c, n: n, side: side) + (side == 0 ? -set : set) + 2 * s
                            let wrapped = ((v - low) & ((1 << w) - 1)) + low   // the counter's W planes
                            XCTAssertTrue((low...high).contains(v), "n \(n) t \(t) c \(c) |x| \(set) S \(s): V \(v) outside \(w) planes")
                            XCTAssertEqual(side == 0 ? wrapped < 0 : wrapped >= 0, want, "n \(n) t \(t) c \(c) |x| \(set) S \(s)")
                        }
                    }
                }
            }
        }
        XCTAssertEqual(ColumnBounds.planes(n: 600), 11)
        XCTAssertEqual(ColumnBounds.planes(n: 65535), 18)
    }

    /// The kernel against the reference over random shapes and the threshold extremes.
    func testKernelMatchesReferenceBitForBit() {
        let shapes: [(n: Int, m: Int)] = [(1, 1), (2, 3), (5, 32), (31, 33), (32, 31), (33, 64), (63, 65), (64, 7), (65, 96),
                                          (100, 40), (600, 600), (784, 70), (2000, 33)]
            + (0..<6).map { _ in (Int(next() % 900) + 1, Int(next() % 100) + 1) }
        for (n, m) in shapes {
            let signs = (0..<(n * m)).map { _ in next() % 2 == 0 ? Float(-1) : 1 }
            let packed = BitPacking.pack(signs: signs, rows: m, n: n)
            let extremes: [Int32] = [.min, .max, Int32(-n - 3), Int32(-n), Int32(-n + 1), 0, 1, Int32(n - 1), Int32(n), Int32(n + 2), Int32(n + 3)]
            let thresholds = (0..<m).map { o -> Int32 in
                o % 3 == 0 ? extremes[Int(next() % UInt64(extremes.count))] : Int32(Int(next() % UInt64(2 * n + 7)) - n - 3)
            }
            let flips = (0..<m).map { _ in UInt8(next() % 2) }
            let columns = BitPacking.columns(packed, rows: m, n: n)
            let bytes = columns + BitPacking.columnBounds(columns, rows: m, n: n, thresholds: thresholds)
            XCTAssertEqual(bytes.count, BitPacking.columnsBytes(rows: m, n: n) + ColumnBounds.bytes(rows: m, n: n))
            // Inputs all clear, all set, half, half + 1 and random densities: both sides and the switch between them.
            let densities = [0, 100, -1, -2, 3, 30, 50, 70, 97]
            for density in densities {
                var x = [UInt64](repeating: 0, count: BitPacking.words(n))
                for i in 0..<n {
                    let on = density == -1 ? i < n / 2 : density == -2 ? i <= n / 2 : Int(next() % 100) < density
                    if on { x[i >> 6] |= 1 << UInt64(i & 63) }
                }
                let (got, want) = run(x: x, weights: bytes, n: n, m: m, thresholds: thresholds, flips: flips)
                XCTAssertEqual(got, want, "n \(n) m \(m) density \(density)")
            }
        }
    }

    /// Both kernels on one input: (bitsBounds' words, the reference's words), the kernel's scratch
    /// poisoned and guarded.
    func run(x: [UInt64], weights: [UInt8], n: Int, m: Int, thresholds: [Int32], flips: [UInt8]) -> ([UInt64], [UInt64]) {
        let scratchBytes = ColumnDenseKernel.boundsScratchBytes(n: n)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: scratchBytes + 64, alignment: 16)
        defer { scratch.deallocate() }
        for i in 0..<(scratchBytes + 64) { scratch[i] = i < scratchBytes ? 0xA5 : 0x3C }
        let w = UnsafeMutableRawBufferPointer.allocate(byteCount: weights.count, alignment: 16)
        defer { w.deallocate() }
        weights.withUnsafeBytes { w.copyMemory(from: $0) }
        let words = BitPacking.words(m)
        var got = [UInt64](repeating: 0, count: words), want = got
        x.withUnsafeBufferPointer { xp in
            flips.withUnsafeBufferPointer { fp in
                got.withUnsafeMutableBufferPointer { out in
                    ColumnDenseKernel.bitsBounds(input: xp.baseAddress!, weights: UnsafeRawPointer(w.baseAddress!), n: n, m: m,
                                                 scratch: scratch.baseAddress!, flips: fp.baseAddress!, bits: out.baseAddress!)
                }
                thresholds.withUnsafeBufferPointer { tp in
                    want.withUnsafeMutableBufferPointer { out in
                        ColumnDenseKernel.referenceBits(input: xp.baseAddress!, weights: UnsafeRawPointer(w.baseAddress!), n: n, m: m,
                                                        thresholds: tp.baseAddress!, flips: fp.baseAddress!, bits: out.baseAddress!)
                    }
                }
            }
        }
        XCTAssertTrue((scratchBytes..<(scratchBytes + 64)).allSatisfy { scratch[$0] == 0x3C }, "wrote past the scratch (n \(n))")
        return (got, want)
    }
}
