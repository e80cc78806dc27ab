import XCTest
@testable import Inference
@testable import ModelFormat

/// The two-block one-image kernels (BlockedDense+Rows16.swift) against the references, bit for bit:
/// random shapes and the edges around them (one block, an odd last block, partial blocks, word tails,
/// rows past the 64-word mask), both sinks, codes of 1, 2, 3 and 8 bits (2-bit codes take the two-block
/// path, the others fall back to `planes`), sparse pixels (words blank in both planes), and the row
/// counts given or counted.
extension KernelTests {
    func testRows16KernelsMatchTheReference() {
        var shapes = [(1, 1), (64, 8), (65, 9), (600, 600), (784, 600), (127, 16), (128, 17), (200, 24), (4100, 18)]
        for _ in 0..<12 { shapes.append((1 + Int(next() % 900), 1 + Int(next() % 40))) }
        for (n, m) in shapes {
            let words = BitPacking.words(n)
            let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
            let blocked = BitPacking.blocked(w, rows: m, words: words)
            let flat = PackedRows(w, words: words, blocked: false)
            let (t, f) = sinkThresholds(m, next)
            // Binary input: accumulators, then packed signs.
            let x = BitPacking.pack(signs: signs(n), rows: 1, n: n)
            var a = [Int32](repeating: 0, count: m)
            BinaryDenseKernel.referenceBits(input: x, weights: flat, n: n, m: m, output: &a)
            XCTAssertEqual(accumulators(m) { BlockedDenseKernel.bitsRows16(input: x, weights: blocked, n: n, m: m, sink: $0) }, a,
                           "bitsRows16 n \(n) m \(m)")
            let (got, expected) = sinkSigns(a, t, f) { BlockedDenseKernel.bitsRows16(input: x, weights: blocked, n: n, m: m, sink: $0) }
            XCTAssertEqual(got, expected, "bitsRows16 signs n \(n) m \(m)")
            // Codes from pixels, random or sparse (every other 64-pixel word blank, three in four pixels zero).
            var rowCounts = [UInt16](repeating: 0xFFFF, count: BitPacking.blockedRows(m))
            BlockedDenseKernel.planeRowCounts(weights: blocked, n: n, m: m, into: &rowCounts)
            for bits in [1, 2, 3, 8] {
                for sparse in [false, true] {
                    let pixels = (0..<n).map { i -> UInt8 in
                        let v = UInt8(next() % 256)
                        return sparse && ((i >> 6) % 2 == 1 || next() % 4 != 0) ? 0 : v
                    }
                    var codes = [UInt8](repeating: 0, count: n)
                    InputCodesKernel.run(pixels: pixels, count: n, bits: bits, codes: &codes)
                    var reference = [Int32](repeating: 0, count: m)
                    BinaryDenseKernel.referenceCodes(codes: codes, weights: flat, n: n, m: m, output: &reference)
                    var planes = [UInt64](repeating: 0xFF, count: PixelPlanes.count(bits: bits) * words)
                    let total = PixelPlanes.build(pixels: pixels, n: n, bits: bits, into: &planes)
                    for counts in [nil, rowCounts] {
                        let run = { (sink: AccumulatorSink) in
                            counts.withOptionalPointer { rc in
                                BlockedDenseKernel.planesRows16(planes, count: PixelPlanes.count(bits: bits), total: total, weights: blocked,
                                                                n: n, m: m, sink: sink, constantFirstPlane: bits < 8, rowCounts: rc)
                            }
                        }
                        let what = "planesRows16 n \(n) m \(m) bits \(bits) sparse \(sparse) row counts \(counts != nil)"
                        XCTAssertEqual(accumulators(m, run), reference, what)
                        let (got, expected) = sinkSigns(reference, t, f, run)
                        XCTAssertEqual(got, expected, "signs " + what)
                    }
                }
            }
        }
    }
}
