import XCTest
@testable import Inference
@testable import ModelFormat

/// Optimized kernels against their references, bit for bit, over shape grids around word edges.
final class KernelTests: XCTestCase {
    var state: UInt64 = 0x1234_5678

    func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }

    func signs(_ n: Int) -> [Float] { (0..<n).map { _ in next() & 1 == 1 ? 1 : -1 } }

    /// Accumulators of a fused kernel through the `.accumulators` sink.
    func accumulators(_ count: Int, _ body: (AccumulatorSink) -> Void) -> [Int32] {
        var out = [Int32](repeating: 7, count: count)
        out.withUnsafeMutableBufferPointer { body(.accumulators($0.baseAddress!)) }
        return out
    }

    /// The same weights in both layouts, as the reference kernels see them.
    func bothLayouts(_ w: [UInt64], m: Int, n: Int, _ body: (PackedRows, PackedRows, UnsafePointer<UInt64>) -> Void) {
        let blocked = BitPacking.blocked(w, rows: m, words: BitPacking.words(n))
        w.withUnsafeBufferPointer { f in
            blocked.withUnsafeBufferPointer { b in
                body(PackedRows(f.baseAddress!, words: BitPacking.words(n), blocked: false),
                     PackedRows(b.baseAddress!, words: BitPacking.words(n), blocked: true), b.baseAddress!)
            }
        }
    }

    func testBinaryDenseBitsGrid() {
        for n in [1, 2, 63, 64, 65, 127, 128, 129, 600, 784] {
            for m in [1, 3, 7, 8, 9, 10, 17] {
                let x = BitPacking.pack(signs: signs(n), rows: 1, n: n)
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                bothLayouts(w, m: m, n: n) { flat, blocked, blockedWords in
                    var a = [Int32](repeating: 0, count: m), ab = [Int32](repeating: 0, count: m)
                    BinaryDenseKernel.referenceBits(input: x, weights: flat, n: n, m: m, output: &a)
                    BinaryDenseKernel.referenceBits(input: x, weights: blocked, n: n, m: m, output: &ab)
                    XCTAssertEqual(a, ab, "reference, both layouts, n \(n) m \(m)")
                    let b = accumulators(m) { FusedDenseKernel.popcountBits(input: x, weights: w, n: n, m: m, sink: $0) }
                    XCTAssertEqual(a, b, "flat n \(n) m \(m)")
                    let c = accumulators(m) { BlockedDenseKernel.bits(input: x, weights: blockedWords, n: n, m: m, sink: $0) }
                    XCTAssertEqual(a, c, "bits8 n \(n) m \(m)")
                }
            }
        }
    }

    func testPixelPlanesMatchTheReference() {
        for n in [1, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 191, 192, 600, 784] {
            for bits in 1...8 {
                let pixels = (0..<n).map { _ in UInt8(next() % 256) }
                let count = PixelPlanes.count(bits: bits) * BitPacking.words(n)
                var a = [UInt64](repeating: 0xAA, count: count), b = [UInt64](repeating: 0x55, count: count)
                let ta = PixelPlanes.reference(pixels: pixels, n: n, bits: bits, into: &a)
                let tb = PixelPlanes.build(pixels: pixels, n: n, bits: bits, into: &b)
                XCTAssertEqual(a, b, "planes n \(n) bits \(bits)")
                XCTAssertEqual(ta, tb, "code sum n \(n) bits \(bits)")
                var c = [UInt64](repeating: 0x33, count: count)
                let tc = PixelPlanes.build32(pixels: pixels, n: n, bits: bits, into: &c)
                XCTAssertEqual(a, c, "32-bit planes n \(n) bits \(bits)")
                XCTAssertEqual(ta, tc, "32-bit code sum n \(n) bits \(bits)")
            }
        }
    }

    func testBinaryDensePixelsGrid() {
        for n in [1, 63, 64, 65, 784] {
            for bits in [1, 2, 3, 7, 8] {
                for m in [1, 7, 8, 13] {
                    let pixels = (0..<n).map { _ in UInt8(next() % 256) }
                    var codes = [UInt8](repeating: 0, count: n)
                    InputCodesKernel.run(pixels: pixels, count: n, bits: bits, codes: &codes)
                    let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                    bothLayouts(w, m: m, n: n) { flat, blocked, blockedWords in
                        var a = [Int32](repeating: 0, count: m), ab = [Int32](repeating: 0, count: m)
                        BinaryDenseKernel.referenceCodes(codes: codes, weights: flat, n: n, m: m, output: &a)
                        BinaryDenseKernel.referenceCodes(codes: codes, weights: blocked, n: n, m: m, output: &ab)
                        XCTAssertEqual(a, ab, "reference, both layouts, n \(n) bits \(bits) m \(m)")
                        var planes = [UInt64](repeating: 0xFF, count: PixelPlanes.count(bits: bits) * BitPacking.words(n))
                        let b = accumulators(m) {
                            FusedDenseKernel.bitplanePixels(pixels: pixels, bits: bits, weights: w, n: n, m: m, planes: &planes, sink: $0)
                        }
                        XCTAssertEqual(a, b, "flat n \(n) input bits \(bits) m \(m)")
                        let total = PixelPlanes.build(pixels: pixels, n: n, bits: bits, into: &planes)
                        let c = accumulators(m) {
                            BlockedDenseKernel.planes(planes, count: PixelPlanes.count(bits: bits), total: total, weights: blockedWords,
                                                      n: n, m: m, sink: $0)
                        }
                        XCTAssertEqual(a, c, "bits8 n \(n) input bits \(bits) m \(m)")
                        // Plane 0 of codes 2q + 1 constant: popcount(w) counted as it goes, or read from the row counts.
                        if bits < 8 {
                            var rowCounts = [UInt16](repeating: 0xFFFF, count: BitPacking.blockedRows(m))
                            BlockedDenseKernel.planeRowCounts(weights: blockedWords, n: n, m: m, into: &rowCounts)
                            for counts in [nil, rowCounts] {
                                let d = accumulators(m) { sink in
                                    counts.withOptionalPointer { rc in
                                        BlockedDenseKernel.planes(planes, count: PixelPlanes.count(bits: bits), total: total, weights: blockedWords,
                                                                  n: n, m: m, sink: sink, constantFirstPlane: true, rowCounts: rc)
                                    }
                                }
                                XCTAssertEqual(a, d, "bits8 constant plane 0, row counts \(counts != nil), n \(n) input bits \(bits) m \(m)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The 32-bit carry-save kernels (chosen on the device) against the references, bit for bit, over a
    /// shape grid and past one carry-save run (15 words: n 1000, 2000).
    func testBlockedDenseCarrySaveGrid() {
        for n in [1, 63, 64, 65, 600, 784, 1000, 2000] {
            for m in [1, 7, 8, 9, 600] where n < 1000 || m < 600 {
                let x = BitPacking.pack(signs: signs(n), rows: 1, n: n)
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                bothLayouts(w, m: m, n: n) { _, blocked, blockedWords in
                    var a = [Int32](repeating: 0, count: m)
                    BinaryDenseKernel.referenceBits(input: x, weights: blocked, n: n, m: m, output: &a)
                    let c = accumulators(m) { BlockedDenseKernel.bitsCarrySave(input: x, weights: blockedWords, n: n, m: m, sink: $0) }
                    XCTAssertEqual(a, c, "carry-save bits n \(n) m \(m)")
                    for bits in [1, 2, 8] {
                        let pixels = (0..<n).map { _ in UInt8(next() % 256) }
                        var codes = [UInt8](repeating: 0, count: n)
                        InputCodesKernel.run(pixels: pixels, count: n, bits: bits, codes: &codes)
                        BinaryDenseKernel.referenceCodes(codes: codes, weights: blocked, n: n, m: m, output: &a)
                        var planes = [UInt64](repeating: 0, count: PixelPlanes.count(bits: bits) * BitPacking.words(n))
                        let total = PixelPlanes.build(pixels: pixels, n: n, bits: bits, into: &planes)
                        // Bit counts of the weight rows (the Interpreter's persistent data on 32-bit targets).
                        var rowCounts = [UInt16](repeating: 0, count: BitPacking.blockedRows(m))
                        BlockedDenseKernel.planeRowCounts(weights: blockedWords, n: n, m: m, into: &rowCounts)
                        for o in 0..<m {
                            let ones = (0..<BitPacking.words(n)).reduce(0) { $0 + blocked.word(o, $1).nonzeroBitCount }
                            XCTAssertEqual(Int(rowCounts[o]), ones, "row count n \(n) row \(o)")
                        }
                        for constant in bits < 8 ? [false, true] : [false] {
                            for counted in constant ? [false, true] : [false] {
                                let p = accumulators(m) {
                                    BlockedDenseKernel.planesCarrySave(planes, count: PixelPlanes.count(bits: bits), constantFirstPlane: constant,
                                                                       total: total, weights: blockedWords, n: n, m: m, sink: $0,
                                                                       rowCounts: counted ? rowCounts : nil)
                                }
                                XCTAssertEqual(a, p, "carry-save planes n \(n) m \(m) bits \(bits) constant \(constant) counted \(counted)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The weighted pass of 2-bit codes skips the all-zero halves at both ends of the planes (blank
    /// image borders): exact with borders of every parity, and with no set bit at all.
    func testBlockedDenseCarrySaveBlankBorders() {
        for n in [1, 63, 64, 65, 600, 784, 1000] {
            for m in [1, 9, 600] where n < 1000 || m < 600 {
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                bothLayouts(w, m: m, n: n) { _, blocked, blockedWords in
                    var rowCounts = [UInt16](repeating: 0, count: BitPacking.blockedRows(m))
                    BlockedDenseKernel.planeRowCounts(weights: blockedWords, n: n, m: m, into: &rowCounts)
                    for (head, tail) in [(0, 0), (n / 4, n / 5), (33, 95), (n, 0), (n / 2, n - n / 2)] where head + tail <= n {
                        let pixels = (0..<n).map { i in UInt8(i < head || i >= n - tail ? next() % 64 : next() % 256) }
                        var codes = [UInt8](repeating: 0, count: n), a = [Int32](repeating: 0, count: m)
                        InputCodesKernel.run(pixels: pixels, count: n, bits: 2, codes: &codes)
                        BinaryDenseKernel.referenceCodes(codes: codes, weights: blocked, n: n, m: m, output: &a)
                        var planes = [UInt64](repeating: 0, count: 3 * BitPacking.words(n))
                        let total = PixelPlanes.build(pixels: pixels, n: n, bits: 2, into: &planes)
                        let p = accumulators(m) {
                            BlockedDenseKernel.planesCarrySave(planes, count: 3, constantFirstPlane: true, total: total, weights: blockedWords,
                                                               n: n, m: m, sink: $0, rowCounts: rowCounts)
                        }
                        XCTAssertEqual(a, p, "blank borders n \(n) m \(m) head \(head) tail \(tail)")
                    }
                }
            }
        }
    }

    /// The threshold sinks of the 32-bit carry-save kernels (the blocks of eight rows of 19-half rows and
    /// of 13-word first layers on 2-bit codes, blank borders of every parity) against the reference ops.
    func testCarrySaveThresholdSinks() {
        for m in [1, 7, 8, 9, 17, 600] {
            for n in [577, 600, 608] {
                let x = BitPacking.pack(signs: signs(n), rows: 1, n: n)
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                let blocked = BitPacking.blocked(w, rows: m, words: BitPacking.words(n))
                var a = [Int32](repeating: 0, count: m)
                BinaryDenseKernel.referenceBits(input: x, weights: PackedRows(w, words: BitPacking.words(n), blocked: false), n: n, m: m, output: &a)
                let (t, f) = sinkThresholds(m) { next() }
                let (got, expected) = sinkSigns(a, t, f) { BlockedDenseKernel.bitsCarrySave(input: x, weights: blocked, n: n, m: m, sink: $0) }
                XCTAssertEqual(got, expected, "bits n \(n) m \(m)")
            }
            for n in [784, 800, 832] {
                let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
                bothLayouts(w, m: m, n: n) { _, blocked, blockedWords in
                    var rowCounts = [UInt16](repeating: 0, count: BitPacking.blockedRows(m))
                    BlockedDenseKernel.planeRowCounts(weights: blockedWords, n: n, m: m, into: &rowCounts)
                    for (head, tail) in [(0, 0), (64, 64), (33, 95), (96, 31), (n, 0), (200, 300), (260, 250), (500, 200)] where head + tail <= n {
                        let pixels = (0..<n).map { i in UInt8(i < head || i >= n - tail ? next() % 64 : next() % 256) }
                        var codes = [UInt8](repeating: 0, count: n), a = [Int32](repeating: 0, count: m)
                        InputCodesKernel.run(pixels: pixels, count: n, bits: 2, codes: &codes)
                        BinaryDenseKernel.referenceCodes(codes: codes, weights: blocked, n: n, m: m, output: &a)
                        var planes = [UInt64](repeating: 0, count: 3 * BitPacking.words(n))
                        let total = PixelPlanes.build(pixels: pixels, n: n, bits: 2, into: &planes)
                        let (t, f) = sinkThresholds(m) { next() }
                        let (got, expected) = sinkSigns(a, t, f) {
                            BlockedDenseKernel.planesCarrySave(planes, count: 3, constantFirstPlane: true, total: total, weights: blockedWords,
                                                               n: n, m: m, sink: $0, rowCounts: rowCounts)
                        }
                        XCTAssertEqual(got, expected, "planes n \(n) m \(m) head \(head) tail \(tail)")
                    }
                }
            }
        }
    }

    /// The weighted bit count of the carry-save vectors at its bounds (31 at every position) and at random.
    func testCarrySaveWeightedCount() {
        let all = UInt32.max
        XCTAssertEqual(BlockedDenseKernel.weightedCount(all, all, all, all, all), 31 * 32)
        for _ in 0..<1000 {
            let v = (0..<5).map { _ in UInt32(truncatingIfNeeded: next()) }
            let expected = (0..<5).reduce(0) { $0 + (v[$1].nonzeroBitCount << $1) }
            XCTAssertEqual(Int(BlockedDenseKernel.weightedCount(v[0], v[1], v[2], v[3], v[4])), expected)
            let four = (0..<4).reduce(0) { $0 + (v[$1].nonzeroBitCount << $1) }
            XCTAssertEqual(Int(BlockedDenseKernel.weightedCount4(v[0], v[1], v[2], v[3])), four)
        }
        XCTAssertEqual(BlockedDenseKernel.weightedCount4(all, all, all, all), 15 * 32)
    }

    /// The blocked kernel's eight-at-a-time threshold sink against the reference op, over odd widths.
    func testBlockedDenseThresholdMatchesTheOps() {
        for (n, m) in [(65, 1), (600, 7), (600, 8), (64, 9), (784, 600), (100, 23)] {
            let x = BitPacking.pack(signs: signs(n), rows: 1, n: n)
            let w = BitPacking.pack(signs: signs(n * m), rows: m, n: n)
            let blocked = BitPacking.blocked(w, rows: m, words: BitPacking.words(n))
            var acc = [Int32](repeating: 0, count: m)
            BinaryDenseKernel.referenceBits(input: x, weights: PackedRows(w, words: BitPacking.words(n), blocked: false), n: n, m: m, output: &acc)
            var thresholds = (0..<m).map { _ in Int32(Int(next() % 21) - 10) }
            thresholds[0] = Int32.min
            let flips = (0..<m).map { _ in UInt8(next() % 2) }
            let (got, expected) = sinkSigns(acc, thresholds, flips) { BlockedDenseKernel.bits(input: x, weights: blocked, n: n, m: m, sink: $0) }
            XCTAssertEqual(got, expected, "n \(n) m \(m)")
            // The 32-bit carry-save kernel's row-by-row threshold sink.
            let (carrySave, _) = sinkSigns(acc, thresholds, flips) {
                BlockedDenseKernel.bitsCarrySave(input: x, weights: blocked, n: n, m: m, sink: $0)
            }
            XCTAssertEqual(carrySave, expected, "carry-save n \(n) m \(m)")
        }
    }

    func testBinaryConvGrid() {
        for c in [1, 3, 63, 64, 65] {
            for k in [1, 2, 3] {
                let (h, w, m) = (k + 3, k + 2, 5)
                let x = BitPacking.pack(signs: signs(h * w * c), rows: h * w, n: c)
                XCTAssertEqual(x.count, h * w * BitPacking.words(c))
                let wt = BitPacking.pack(signs: signs(m * k * k * c), rows: m * k * k, n: c)
                let outCount = (h - k + 1) * (w - k + 1) * m
                var a = [Int32](repeating: 0, count: outCount)
                var scratch = [UInt32](repeating: 0xA5A5_A5A5, count: XorConv32Kernel.scratchBytes(m: m, k: k, c: c) / 4)
                BinaryConvKernel.referenceBits(input: x, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &a)
                var b = accumulators(outCount) { sink in
                    scratch.withUnsafeMutableBytes { s in
                        XorConv32Kernel.run(x, h: h, w: w, c: c, k: k, weights: wt, m: m, pool: 1, scratch: s.baseAddress!, sink: sink)
                    }
                }
                XCTAssertEqual(a, b, "bits c \(c) k \(k)")
                let pixels = (0..<(h * w * c)).map { _ in UInt8(next() % 256) }
                var codes = [UInt8](repeating: 0, count: h * w * c)
                InputCodesKernel.run(pixels: pixels, count: h * w * c, bits: 3, codes: &codes)
                BinaryConvKernel.referenceCodes(codes: codes, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &a)
                var planeScratch = [UInt8](repeating: 0xA5, count: PlaneConv32Kernel.scratchBytes(m: m, patch: k * k * c, bits: 3))
                b = accumulators(outCount) { sink in
                    planeScratch.withUnsafeMutableBytes { s in
                        PlaneConv32Kernel.run(pixels, bits: 3, h: h, w: w, c: c, k: k, weights: wt, m: m, pool: 1,
                                              scratch: s.baseAddress!, sink: sink)
                    }
                }
                XCTAssertEqual(a, b, "codes c \(c) k \(k)")
            }
        }
    }

    /// conv -> max-pool -> threshold fused, against the three reference ops, in both packings.
    func testFusedConvPoolThresholdMatchesTheOpsInTurn() {
        let (h, w, c, k, m, s) = (7, 6, 65, 2, 9, 2)
        let x = BitPacking.pack(signs: signs(h * w * c), rows: h * w, n: c)
        let wt = BitPacking.pack(signs: signs(m * k * k * c), rows: m * k * k, n: c)
        let (oh, ow) = (h - k + 1, w - k + 1)
        var acc = [Int32](repeating: 0, count: oh * ow * m)
        BinaryConvKernel.referenceBits(input: x, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &acc)
        var pooled = [Int32](repeating: 0, count: (oh / s) * (ow / s) * m)
        MaxPoolKernel.run(acc, h: oh, w: ow, c: m, s: s, output: &pooled)
        let thresholds = (0..<m).map { _ in Int32(Int(next() % 41) - 20) }
        let flips = (0..<m).map { _ in UInt8(next() % 2) }
        for layout in [BitLayout.flat, .pixel] {
            let words = layout == .flat ? BitPacking.words((oh / s) * (ow / s) * m) : (oh / s) * (ow / s) * BitPacking.words(m)
            var expected = [UInt64](repeating: 0, count: words), got = [UInt64](repeating: 0, count: words)
            ThresholdSignKernel.run(pooled, h: oh / s, w: ow / s, c: m, thresholds: thresholds, flips: flips, layout: layout, output: &expected)
            var scratch = [UInt32](repeating: 0xA5A5_A5A5, count: XorConv32Kernel.scratchBytes(m: m, k: k, c: c) / 4)
            thresholds.withUnsafeBufferPointer { t in
                flips.withUnsafeBufferPointer { f in
                    got.withUnsafeMutableBufferPointer { g in
                        scratch.withUnsafeMutableBytes { sp in
                            XorConv32Kernel.run(x, h: h, w: w, c: c, k: k, weights: wt, m: m, pool: s, scratch: sp.baseAddress!,
                                                sink: .signs(thresholds: t.baseAddress!, flips: f.baseAddress!, layout: layout,
                                                             channels: m, bits: g.baseAddress!))
                        }
                    }
                }
            }
            XCTAssertEqual(got, expected, "\(layout)")
        }
    }

    /// The SIMD float dense against its reference, bit for bit (both follow spec/FORMAT.md's order): inputs
    /// spread over 2^-12…2^12 with signed zeros, so any other order (index order, a tree, a fused multiply-add,
    /// a +0 start of the final sum) changes some output's last bits or the sign of a zero.
    func testFloatDenseSIMDMatchesReferenceBitForBit() {
        func value() -> Float {
            switch next() % 8 {
            case 0: return 0
            case 1: return -0.0
            default:
                let magnitude = Float(sign: .plus, exponent: Int(next() % 25) - 12, significand: 1 + Float(next() % 1024) / 1024)
                return next() % 2 == 0 ? magnitude : -magnitude
            }
        }
        for n in [1, 7, 8, 9, 15, 16, 17, 63, 600, 784] {
            let m = 7
            for trial in 0..<4 {
                let x = (0..<n).map { _ in value() }
                let w = (0..<(n * m)).map { _ in value() }
                // Trial 3: every product a signed zero, so the sign of the result shows the final sum's start.
                let xs = trial == 3 ? x.map { $0.sign == .minus ? Float(-0.0) : 0 } : x
                let bias: [Float]? = trial == 1 ? nil : (0..<m).map { _ in trial == 3 ? -0.0 : value() }
                var a = [Float](repeating: .nan, count: m), b = [Float](repeating: .nan, count: m)
                FloatDenseKernel.reference(input: xs, n: n, weights: w, m: m, bias: bias, output: &a)
                FloatDenseKernel.simd(input: xs, n: n, weights: w, m: m, bias: bias, output: &b)
                XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "n \(n) trial \(trial)")
            }
        }
    }

    func testThresholdSignPacksBothLayouts() {
        // 2 pixels x 3 channels; thresholds 0 with flips [0, 1, 0].
        let acc: [Int32] = [5, 5, -1, 0, -2, 0]
        var flat = [UInt64](repeating: 99, count: 1), pixel = [UInt64](repeating: 99, count: 2)
        ThresholdSignKernel.run(acc, h: 1, w: 2, c: 3, thresholds: [0, 0, 0], flips: [0, 1, 0], layout: .flat, output: &flat)
        ThresholdSignKernel.run(acc, h: 1, w: 2, c: 3, thresholds: [0, 0, 0], flips: [0, 1, 0], layout: .pixel, output: &pixel)
        // signs: [+, -, -], [+, +, +] -> flat bits 1, 2 set; pixel: word 0 bits 1, 2; word 1 none.
        XCTAssertEqual(flat, [0b110])
        XCTAssertEqual(pixel, [0b110, 0])
    }
}

/// The four-image blocked kernels against the one-image ones, bit for bit.
final class BatchKernelTests: XCTestCase {
    func testFourImageKernelsEqualOneImageKernels() {
        var r: UInt64 = 0xBEEF
        func next() -> UInt64 { r = r &* 6364136223846793005 &+ 1442695040888963407; return r >> 11 }
        for (n, m) in [(1, 1), (1, 8), (63, 7), (64, 9), (65, 16), (600, 600), (784, 10), (100, 23), (2, 64)] {
            let words = BitPacking.words(n)
            let w = BitPacking.blocked(BitPacking.pack(signs: (0..<(n * m)).map { _ in next() & 1 == 1 ? 1 : -1 }, rows: m, n: n),
                                       rows: m, words: words)
            let stride = words + 2   // inputs need not be adjacent
            let xs = (0..<4).flatMap { _ in BitPacking.pack(signs: (0..<n).map { _ in next() & 1 == 1 ? 1 : -1 }, rows: 1, n: n) + [0, 0] }
            var one = [Int32](repeating: 0, count: 4 * m), four = [Int32](repeating: 1, count: 4 * m)
            xs.withUnsafeBufferPointer { x in
                one.withUnsafeMutableBufferPointer { o in
                    for i in 0..<4 {
                        BlockedDenseKernel.bits(input: x.baseAddress! + i * stride, weights: w, n: n, m: m, sink: .accumulators(o.baseAddress! + i * m))
                    }
                }
                four.withUnsafeMutableBufferPointer { o in
                    let s = AccumulatorSink.accumulators(o.baseAddress!)
                    BlockedDenseKernel.bits4(input: x.baseAddress!, stride: stride, weights: w, n: n, m: m,
                                             sinks: (s, s.advanced(byBytes: 4 * m), s.advanced(byBytes: 8 * m), s.advanced(byBytes: 12 * m)))
                }
            }
            XCTAssertEqual(one, four, "bits n \(n) m \(m)")
            // Into packed signs (bits4 compares whole blocks in count space): ThresholdSignKernel's signs of
            // the one-image accumulators, with thresholds at Int32.min and Int32.max among them.
            let (t, f) = sinkThresholds(m, next)
            let outWords = BitPacking.words(m)
            var expected = [UInt64](repeating: 0, count: 4 * outWords), got = [UInt64](repeating: 0, count: 4 * outWords)
            for i in 0..<4 {
                expected.withUnsafeMutableBufferPointer { e in
                    ThresholdSignKernel.run(Array(one[(i * m)..<((i + 1) * m)]), h: 1, w: 1, c: m, thresholds: t, flips: f, layout: .flat,
                                            output: e.baseAddress! + i * outWords)
                }
            }
            xs.withUnsafeBufferPointer { x in
                t.withUnsafeBufferPointer { tp in
                    f.withUnsafeBufferPointer { fp in
                        got.withUnsafeMutableBufferPointer { g in
                            let s = AccumulatorSink.signs(thresholds: tp.baseAddress!, flips: fp.baseAddress!, layout: .flat, channels: m,
                                                          bits: g.baseAddress!)
                            BlockedDenseKernel.bits4(input: x.baseAddress!, stride: stride, weights: w, n: n, m: m,
                                                     sinks: (s, s.advanced(byBytes: 8 * outWords), s.advanced(byBytes: 16 * outWords),
                                                             s.advanced(byBytes: 24 * outWords)))
                        }
                    }
                }
            }
            XCTAssertEqual(got, expected, "bits4 signs n \(n) m \(m)")
            // Random pixels, and sparse ones (as MNIST's): words blank in all four images' planes (which
            // planes4 skips), words blank in some of them only, and three pixels in four zero.
            for (bits, sparse) in [(2, false), (3, false), (8, false), (2, true), (3, true), (8, true)] {
                let count = PixelPlanes.count(bits: bits)
                let planeStride = count * words
                var planes = [UInt64](repeating: 0, count: 4 * planeStride)
                var totals = SIMD4<Int32>()
                let pixels = (0..<(4 * n)).map { k -> UInt8 in
                    let (i, at) = (k / n, k % n), v = UInt8(next() % 256)
                    guard sparse else { return v }
                    return (at >> 6) % 4 == 1 || ((at >> 6) + i) % 3 == 0 || next() % 4 != 0 ? 0 : v
                }
                for i in 0..<4 {
                    planes.withUnsafeMutableBufferPointer { p in
                        totals[i] = Int32(PixelPlanes.build(pixels: pixels.withUnsafeBufferPointer { $0.baseAddress! } + i * n, n: n, bits: bits,
                                                            into: p.baseAddress! + i * planeStride))
                    }
                }
                planes.withUnsafeBufferPointer { p in
                    one.withUnsafeMutableBufferPointer { o in
                        for i in 0..<4 {
                            BlockedDenseKernel.planes(p.baseAddress! + i * planeStride, count: count, total: Int(totals[i]), weights: w, n: n, m: m,
                                                      sink: .accumulators(o.baseAddress! + i * m))
                        }
                    }
                    four.withUnsafeMutableBufferPointer { o in
                        let s = AccumulatorSink.accumulators(o.baseAddress!)
                        BlockedDenseKernel.planes4(p.baseAddress!, stride: planeStride, count: count, constantFirstPlane: bits < 8,
                                                   totals: totals, weights: w, n: n, m: m,
                                                   sinks: (s, s.advanced(byBytes: 4 * m), s.advanced(byBytes: 8 * m), s.advanced(byBytes: 12 * m)))
                    }
                }
                XCTAssertEqual(one, four, "planes n \(n) m \(m) bits \(bits) sparse \(sparse)")
                // Plane 0 constant (bits < 8): popcount(w) from the persistent row counts, one image and four.
                if bits < 8 {
                    var rowCounts = [UInt16](repeating: 0xFFFF, count: BitPacking.blockedRows(m))
                    BlockedDenseKernel.planeRowCounts(weights: w, n: n, m: m, into: &rowCounts)
                    var oneCounted = [Int32](repeating: 0, count: 4 * m), fourCounted = oneCounted
                    planes.withUnsafeBufferPointer { p in
                        rowCounts.withUnsafeBufferPointer { rc in
                            oneCounted.withUnsafeMutableBufferPointer { o in
                                for i in 0..<4 {
                                    BlockedDenseKernel.planes(p.baseAddress! + i * planeStride, count: count, total: Int(totals[i]), weights: w, n: n, m: m,
                                                              sink: .accumulators(o.baseAddress! + i * m), constantFirstPlane: true,
                                                              rowCounts: rc.baseAddress!)
                                }
                            }
                            fourCounted.withUnsafeMutableBufferPointer { o in
                                let s = AccumulatorSink.accumulators(o.baseAddress!)
                                BlockedDenseKernel.planes4(p.baseAddress!, stride: planeStride, count: count, constantFirstPlane: true,
                                                           totals: totals, weights: w, n: n, m: m,
                                                           sinks: (s, s.advanced(byBytes: 4 * m), s.advanced(byBytes: 8 * m), s.advanced(byBytes: 12 * m)),
                                                           rowCounts: rc.baseAddress!)
                            }
                        }
                    }
                    XCTAssertEqual(one, oneCounted, "planes with row counts n \(n) m \(m) bits \(bits) sparse \(sparse)")
                    XCTAssertEqual(one, fourCounted, "planes4 with row counts n \(n) m \(m) bits \(bits) sparse \(sparse)")
                }
                // And both against the reference on the codes.
                var reference = [Int32](repeating: 0, count: 4 * m)
                w.withUnsafeBufferPointer { wp in
                    let rows = PackedRows(wp.baseAddress!, words: words, blocked: true)
                    for i in 0..<4 {
                        let codes = (0..<n).map { InputCodes.code(pixels[i * n + $0], delta: bits) }
                        reference.withUnsafeMutableBufferPointer { o in
                            BinaryDenseKernel.referenceCodes(codes: codes, weights: rows, n: n, m: m, output: o.baseAddress! + i * m)
                        }
                    }
                }
                XCTAssertEqual(four, reference, "planes4 against the reference, n \(n) m \(m) bits \(bits) sparse \(sparse)")
            }
        }
    }
}

extension Optional where Wrapped == [UInt16] {
    /// The array's base address (or nil) for the length of `body`.
    func withOptionalPointer<R>(_ body: (UnsafePointer<UInt16>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
