import XCTest
@testable import Inference
@testable import ModelFormat
import Trainer

/// The column-sum kernels (`columns32` weights, the device's layout) against the references, bit for
/// bit: shapes around the lane-group and word edges, inputs from all clear to all set (both sides of
/// the sparser-side choice), first layers on 1- to 8-bit codes with blank and busy pixels, both sinks.
final class ColumnDenseTests: XCTestCase {
    var random = SeededRandom(seed: 0x9E37_79B9)

    func next() -> UInt64 { random.next() }

    /// n values, each -1 with probability `density` (in 1/100).
    func signs(_ n: Int, density: Int = 50) -> [Float] { (0..<n).map { _ in Int(next() % 100) < density ? -1 : 1 } }

    let shapes: [(n: Int, m: Int)] = [(1, 1), (2, 3), (31, 32), (32, 33), (33, 31), (63, 64), (64, 65), (65, 7), (100, 96),
                                      (600, 600), (784, 70), (1000, 40), (2000, 33)]

    /// The reference through PackedRows over the `columns32` bytes equals the reference over the rows.
    func testColumnsLayoutReadsLikeTheRows() {
        for (n, m) in shapes {
            let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
            let bytes = BitPacking.columns(w, rows: m, n: n)
            XCTAssertEqual(bytes.count, BitPacking.columnsBytes(rows: m, n: n))
            withColumns(bytes) { base in
                let columns = PackedRows(columns: base, n: n)
                w.withUnsafeBufferPointer { p in
                    let rows = PackedRows(p.baseAddress!, words: BitPacking.words(n), blocked: false)
                    for o in 0..<m {
                        for j in 0..<BitPacking.words(n) { XCTAssertEqual(columns.word(o, j), rows.word(o, j), "n \(n) m \(m) row \(o) word \(j)") }
                    }
                }
                let counts = UnsafeRawPointer(base) + 4 * BitPacking.laneGroups(m) * n
                for o in 0..<m {
                    let ones = w[(o * BitPacking.words(n))..<((o + 1) * BitPacking.words(n))].reduce(0) { $0 + $1.nonzeroBitCount }
                    XCTAssertEqual(Int(counts.loadUnaligned(fromByteOffset: 2 * o, as: UInt16.self)), ones, "row count n \(n) row \(o)")
                }
            }
        }
    }

    /// The column bytes at a 16-byte aligned address, as a model image holds them.
    func withColumns(_ bytes: [UInt8], _ body: (UnsafePointer<UInt64>) -> Void) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 8), alignment: 16)
        defer { buffer.deallocate() }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        body(UnsafePointer(buffer.baseAddress!.assumingMemoryBound(to: UInt64.self)))
    }

    /// Runs `body` with a poisoned scratch of the kernel's size, followed by 64 guard bytes that must
    /// stay untouched (a kernel writing past its planned scratch fails here, not only under ASan).
    func withScratch(n: Int, m: Int, codeBits: Int, file: StaticString = #filePath, line: UInt = #line,
                     _ body: (UnsafeMutableRawPointer) -> Void) {
        let bytes = ColumnDenseKernel.scratchBytes(n: n, m: m, codeBits: codeBits)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes + 64, alignment: 16)
        defer { scratch.deallocate() }
        for i in 0..<(bytes + 64) { scratch[i] = i < bytes ? 0xA5 : 0x3C }
        body(scratch.baseAddress!)
        XCTAssertTrue((bytes..<(bytes + 64)).allSatisfy { scratch[$0] == 0x3C }, "wrote past the scratch (n \(n) m \(m) bits \(codeBits))",
                      file: file, line: line)
    }

    /// Issue 14: a binary layer lists the sparser side of its input, at most n / 2 columns, so its
    /// scratch holds n / 2 indices, not n (the conv net's 1,600-input dense layer: 1,664 B, not 3,264).
    func testABinaryLayersListHoldsHalfItsInputs() {
        XCTAssertEqual(ColumnDenseKernel.scratchBytes(n: 1600, m: 512, codeBits: 0), 1600 + 16 * 4, "rows past 1,024 list u16")
        // Rows of at most 1,024 list u32 (two indices per 64-bit load, `wideList`) where the kernels are
        // not built for flash or code size (the Cortex-M0, the minimal library: u16).
        XCTAssertEqual(ColumnDenseKernel.scratchBytes(n: 601, m: 600, codeBits: 0), 1200 + 16 * 4, "300 u32")
        XCTAssertEqual(ColumnDenseKernel.scratchBytes(n: 1025, m: 600, codeBits: 0), 1024 + 16 * 4, "512 u16")
        XCTAssertEqual(ColumnDenseKernel.scratchBytes(n: 784, m: 600, codeBits: 2), 1568 + 2 * 16 * 4, "codes list every pixel")
    }

    func testBitsMatchTheReference() {
        for (n, m) in shapes {
            let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
            let columns = BitPacking.columns(w, rows: m, n: n)
            for density in [0, 3, 30, 50, 51, 70, 97, 100] {
                let x = BitPacking.pack(signs: signs(n, density: density), rows: 1, n: n)
                var expected = [Int32](repeating: 0, count: m)
                BinaryDenseKernel.referenceBits(input: x, weights: PackedRows(w, words: BitPacking.words(n), blocked: false), n: n, m: m,
                                                output: &expected)
                var got = [Int32](repeating: 7, count: m)
                withColumns(columns) { base in
                    withScratch(n: n, m: m, codeBits: 0) { scratch in
                        got.withUnsafeMutableBufferPointer {
                            ColumnDenseKernel.bits(input: x, weights: UnsafeRawPointer(base), n: n, m: m, scratch: scratch,
                                                   sink: .accumulators($0.baseAddress!))
                        }
                    }
                }
                XCTAssertEqual(got, expected, "bits n \(n) m \(m) density \(density)%")
                let (t, f) = sinkThresholds(m) { next() }
                let (signsGot, signsExpected) = sinkSigns(expected, t, f) { sink in
                    withColumns(columns) { base in
                        withScratch(n: n, m: m, codeBits: 0) { scratch in
                            ColumnDenseKernel.bits(input: x, weights: UnsafeRawPointer(base), n: n, m: m, scratch: scratch, sink: sink)
                        }
                    }
                }
                XCTAssertEqual(signsGot, signsExpected, "bits signs n \(n) m \(m) density \(density)%")
            }
        }
    }

    func testPixelsMatchTheReference() {
        for (n, m) in shapes where n <= 1000 {
            let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
            let columns = BitPacking.columns(w, rows: m, n: n)
            for bits in 1...8 {
                // Blank, random, saturated, a blank border around a busy middle, and every pixel at level
                // 1 or 2 (2-bit codes: `levels`' back list fills all n entries and is split in place).
                let patterns: [[UInt8]] = [
                    [UInt8](repeating: 0, count: n), (0..<n).map { _ in UInt8(next() % 256) }, [UInt8](repeating: 255, count: n),
                    (0..<n).map { i in i < n / 4 || i > 3 * n / 4 ? 0 : UInt8(next() % 256) },
                    (0..<n).map { _ in UInt8(64 + next() % 128) },
                ]
                for (p, pixels) in patterns.enumerated() {
                    var codes = [UInt8](repeating: 0, count: n), expected = [Int32](repeating: 0, count: m)
                    InputCodesKernel.run(pixels: pixels, count: n, bits: bits, codes: &codes)
                    w.withUnsafeBufferPointer {
                        BinaryDenseKernel.referenceCodes(codes: codes, weights: PackedRows($0.baseAddress!, words: BitPacking.words(n), blocked: false),
                                                         n: n, m: m, output: &expected)
                    }
                    var got = [Int32](repeating: 7, count: m)
                    withColumns(columns) { base in
                        withScratch(n: n, m: m, codeBits: bits) { scratch in
                            got.withUnsafeMutableBufferPointer {
                                ColumnDenseKernel.pixels(pixels, bits: bits, weights: UnsafeRawPointer(base), n: n, m: m, scratch: scratch,
                                                         sink: .accumulators($0.baseAddress!))
                            }
                        }
                    }
                    XCTAssertEqual(got, expected, "pixels n \(n) m \(m) bits \(bits) pattern \(p)")
                    let (t, f) = sinkThresholds(m) { next() }
                    let (signsGot, signsExpected) = sinkSigns(expected, t, f) { sink in
                        withColumns(columns) { base in
                            withScratch(n: n, m: m, codeBits: bits) { scratch in
                                ColumnDenseKernel.pixels(pixels, bits: bits, weights: UnsafeRawPointer(base), n: n, m: m, scratch: scratch, sink: sink)
                            }
                        }
                    }
                    XCTAssertEqual(signsGot, signsExpected, "pixels signs n \(n) m \(m) bits \(bits) pattern \(p)")
                }
            }
        }
    }

    /// The column sinks' threshold rule: `bit(small:)`, and for a whole group its 32 unflipped bits, then one word of
    /// flips (`flipWord`: the loads merged, then delta swaps), is `ThresholdSign.bit` lane by lane, with
    /// flips from misaligned addresses, accumulators and thresholds at
    /// the extremes (a in [-2^30, 2^30 - 1), the rule's range; thresholds to Int32.min and Int32.max).
    func testSmallBitAndFlipWordAreTheThresholdRule() {
        let limit: Int32 = 0x3FFF_FFFF
        let accumulators: [Int32] = [0, 1, -1, 7, -7, limit - 1, limit - 2, -limit, -limit - 1, -limit + 1]
        let thresholds: [Int32] = [0, 1, -1, 7, -8, limit, limit + 1, -limit, -limit - 1, -limit - 2, .max, .min, .max - 1, .min + 1]
        for a in accumulators {
            for t in thresholds {
                for f: UInt8 in [0, 1] {
                    XCTAssertEqual(ThresholdSign.bit(small: a, threshold: t, flip: f), ThresholdSign.bit(a, threshold: t, flip: f), "a \(a) t \(t) flip \(f)")
                }
            }
        }
        for offset in 0..<4 {
            // Random flips, and each of the 32 alone (every bit's place in the permutation).
            let single = (0..<32).map { k in (0..<(offset + 32)).map { UInt8($0 == offset + k ? 1 : 0) } }
            for bytes in (0..<8).map({ _ in (0..<(offset + 32)).map { _ in UInt8(next() % 2) } }) + single {
                bytes.withUnsafeBufferPointer { p in
                    let flips = p.baseAddress! + offset
                    let expected = (0..<32).reduce(UInt32(0)) { $0 | UInt32(flips[$1]) << UInt32($1) }
                    XCTAssertEqual(ThresholdSign.flipWord(flips), expected, "flips at offset \(offset)")
                }
            }
        }
    }

    /// The lane sums of bit-sliced counters of up to 32 planes (past 16: `wide`), by transposition.
    func testTransposeGivesTheLaneSums() {
        for count in [0, 1, 9, 16, 17, 24, 32] {
            let stride = ColumnDenseKernel.counterStride(maxSum: count == 0 ? 0 : (1 << count) - 1)
            XCTAssertEqual(stride, count > 16 ? 32 : 16)
            var planes = (0..<stride).map { j in j < count ? UInt32(truncatingIfNeeded: next()) : 0 }
            let original = planes
            let wide = ColumnDenseKernel.wide(count == 0 ? 0 : (1 << count) - 1)
            XCTAssertEqual(wide, count > 16)
            ColumnDenseKernel.transpose(&planes, wide: wide)
            for k in 0..<32 {
                let expected = (0..<count).reduce(UInt32(0)) { $0 | (((original[$1] >> UInt32(k)) & 1) << UInt32($1)) }
                let (low, high) = ColumnDenseKernel.laneSums(planes, k & 15, wide: wide)
                XCTAssertEqual(k < 16 ? low : high, Int32(bitPattern: expected), "\(count) planes, lane \(k)")
            }
        }
    }
}
