import XCTest
@testable import Inference
@testable import ModelFormat
@testable import Trainer

/// The one-pass ternary kernels (Kernels/BlockedDense+Ternary.swift: `blockedBitsTernary`, `blockedPlanesTernary`
/// and their four-image kernels) against the two-plane path they replace on 64-bit hosts,
/// which stays the reference: the reference binary kernel on each ±1 plane, (A_u + A_v) >> 1
/// (TernaryLayerStep.combine), then ThresholdSignKernel. Bit for bit, into i32 accumulators and into fused
/// packed signs (random thresholds with both extremes, random flips), with the persistent row counts and
/// without them (counted as the kernel goes), over fan-ins either side of a word, of a 512-bit vector and (codes)
/// of 64 words, row counts either side of a block of eight, 0 %, 50 %, 90 % and 100 % zero weights (all-zero
/// rows), and batches of 1 to 9 images through `TernaryLayerStep.run` (four per call of the four-image kernel, then
/// one by one).
final class TernaryKernelTests: XCTestCase {
    /// A random ternary layer: planes packed by rows (for the reference) and in bits8 (for the kernels).
    struct Layer {
        let n: Int, m: Int
        let upper: [UInt64], lower: [UInt64], upper8: [UInt64], lower8: [UInt64]

        init(n: Int, m: Int, zeros: Double, random r: inout SeededRandom) {
            (self.n, self.m) = (n, m)
            let w: [Float] = (0..<(n * m)).map { _ in Double(r.next() % 1000) / 1000 < zeros ? 0 : (r.next() & 1 == 0 ? 1 : -1) }
            let planes = BitPacking.ternaryPlanes(w)
            upper = BitPacking.pack(signs: planes.upper, rows: m, n: n)
            lower = BitPacking.pack(signs: planes.lower, rows: m, n: n)
            upper8 = BitPacking.blocked(upper, rows: m, words: BitPacking.words(n))
            lower8 = BitPacking.blocked(lower, rows: m, words: BitPacking.words(n))
        }

        /// The two-plane path on one image: the reference kernel on each plane (`run` takes a plane's rows and
        /// the output), the halved sum.
        func twoPlanes(_ run: (PackedRows, UnsafeMutablePointer<Int32>) -> Void) -> [Int32] {
            var a = [Int32](repeating: 0, count: m), b = a
            let words = BitPacking.words(n)
            upper.withUnsafeBufferPointer { u in a.withUnsafeMutableBufferPointer { run(PackedRows(u.baseAddress!, words: words, blocked: false), $0.baseAddress!) } }
            lower.withUnsafeBufferPointer { v in b.withUnsafeMutableBufferPointer { run(PackedRows(v.baseAddress!, words: words, blocked: false), $0.baseAddress!) } }
            return zip(a, b).map { ($0 &+ $1) >> 1 }
        }
    }

    /// What the kernels the choice names for the layer (the `simd` set) wrote for `count` images: i32
    /// accumulators (`thresholds` nil) or packed signs, `outWords` words per image.
    static func run(_ layer: Layer, input: UnsafeRawPointer, inStride: Int, count: Int, codeBits: Int,
                    thresholds: [Int32]?, flips: [UInt8], persistent: Bool) -> [UInt64] {
        let (n, m) = (layer.n, layer.m)
        let signs = thresholds != nil
        var query = Kernel.Query(op: .dense, weights: .bits8, kernels: .simd, input: codeBits > 0 ? .pixels : .bits, codeBits: codeBits,
                                 signs: signs, n: n)
        query.ternary = true
        let kernel = Kernel.choose(query)
        XCTAssertEqual(kernel, codeBits > 0 ? .blockedPlanesTernary : .blockedBitsTernary)
        let outWords = signs ? BitPacking.words(m) : (m + 1) / 2
        var out = [UInt64](repeating: 0, count: count * outWords)
        let scratchStride = codeBits > 0 ? 8 * PixelPlanes.count(bits: codeBits) * BitPacking.words(n) : 0
        var scratch = [UInt64](repeating: 0, count: max(1, count * scratchStride / 8))
        var counts = [UInt16](repeating: 0, count: BitPacking.blockedRows(m))
        layer.upper8.withUnsafeBufferPointer { u in
            layer.lower8.withUnsafeBufferPointer { v in
                if codeBits > 0 {
                    BlockedDenseKernel.ternaryPlaneRowCounts(upper: u.baseAddress!, lower: v.baseAddress!, n: n, m: m, into: &counts)
                } else {
                    BlockedDenseKernel.ternaryRowCounts(upper: u.baseAddress!, lower: v.baseAddress!, n: n, m: m, into: &counts)
                }
                (thresholds ?? []).withUnsafeBufferPointer { t in
                    flips.withUnsafeBufferPointer { f in
                        out.withUnsafeMutableBufferPointer { o in
                            scratch.withUnsafeMutableBufferPointer { s in
                                counts.withUnsafeBufferPointer { c in
                                    let base = UnsafeMutableRawPointer(o.baseAddress!)
                                    let sink: AccumulatorSink = signs
                                        ? .signs(thresholds: t.baseAddress!, flips: f.baseAddress!, layout: .flat, channels: m, bits: o.baseAddress!)
                                        : .accumulators(base.assumingMemoryBound(to: Int32.self))
                                    let operands = LayerOperands(input: input, inStride: inStride, output: base, stride: 8 * outWords,
                                                                 scratch: UnsafeMutableRawPointer(s.baseAddress!), scratchStride: scratchStride,
                                                                 weights: UnsafeRawPointer(u.baseAddress!), weightType: .bits8, n: n, m: m, size: 1,
                                                                 h: 1, w: 1, c: n, codeBits: codeBits, inputKind: codeBits > 0 ? .pixels : .bits)
                                    TernaryLayerStep.run(kernel, query, operands, lower: UnsafeRawPointer(v.baseAddress!), count: count, sink: sink,
                                                         rowCounts: persistent ? c.baseAddress! : nil)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The two-plane path's output for `count` images in the same form as `run`'s.
    static func expected(_ accumulators: [[Int32]], m: Int, thresholds: [Int32]?, flips: [UInt8]) -> [UInt64] {
        guard let thresholds else {
            return accumulators.flatMap { a -> [UInt64] in
                let padded = a + (m % 2 == 1 ? [0] : [])
                return stride(from: 0, to: padded.count, by: 2).map { UInt64(UInt32(bitPattern: padded[$0])) | UInt64(UInt32(bitPattern: padded[$0 + 1])) << 32 }
            }
        }
        return accumulators.flatMap { a -> [UInt64] in
            var bits = [UInt64](repeating: 0, count: BitPacking.words(m))
            ThresholdSignKernel.run(a, h: 1, w: 1, c: m, thresholds: thresholds, flips: flips, layout: .flat, output: &bits)
            return bits
        }
    }

    func testBinaryInputAgreesWithTheTwoPlanePath() {
        var r = SeededRandom(seed: 1616)
        var trial = 0
        for n in [1, 63, 64, 65, 130, 511, 513, 600] {
            for m in [1, 7, 8, 9, 17, 40] {
                for zeros in [0.0, 0.5, 0.9, 1.0] {
                    let layer = Layer(n: n, m: m, zeros: zeros, random: &r)
                    let count = 1 + trial % 9
                    trial += 1
                    let words = BitPacking.words(n)
                    let input: [UInt64] = (0..<count).flatMap { _ in
                        BitPacking.pack(signs: (0..<n).map { _ in r.next() & 1 == 0 ? 1 : -1 }, rows: 1, n: n)
                    }
                    let accumulators = (0..<count).map { b in
                        layer.twoPlanes { rows, out in
                            input.withUnsafeBufferPointer { BinaryDenseKernel.referenceBits(input: $0.baseAddress! + b * words, weights: rows, n: n, m: m, output: out) }
                        }
                    }
                    if zeros == 1.0 { XCTAssertEqual(Set(accumulators.joined()), [0], "all-zero rows") }
                    let (t, f) = sinkThresholds(m, { r.next() })
                    for thresholds in [nil, t] {
                        let want = Self.expected(accumulators, m: m, thresholds: thresholds, flips: f)
                        for persistent in [true, false] {
                            let got = input.withUnsafeBytes {
                                Self.run(layer, input: $0.baseAddress!, inStride: 8 * words, count: count, codeBits: 0,
                                         thresholds: thresholds, flips: f, persistent: persistent)
                            }
                            XCTAssertEqual(got, want, "n \(n) m \(m) zeros \(zeros) batch \(count) signs \(thresholds != nil) counts \(persistent)")
                        }
                    }
                }
            }
        }
    }

    func testCodesAgreeWithTheTwoPlanePath() {
        var r = SeededRandom(seed: 1617)
        var trial = 0
        for n in [1, 63, 64, 65, 200, 784, 4200] {   // 4200: past the 64 words of a nonzero-word mask
            for m in [1, 8, 9, 20] {
                for zeros in [0.0, 0.5, 0.9, 1.0] {
                    let bits = [1, 2, 3, 8][trial % 4]
                    let count = 1 + trial % 9
                    trial += 1
                    let layer = Layer(n: n, m: m, zeros: zeros, random: &r)
                    // Pixels with blank runs (a whole zero word of every plane but the constant one) and full ones.
                    let pixels: [UInt8] = (0..<(count * n)).map { i in i % 200 < 70 ? 0 : i % 200 < 80 ? 255 : UInt8(r.next() % 256) }
                    let accumulators = (0..<count).map { b in
                        let codes = (0..<n).map { InputCodes.code(pixels[b * n + $0], delta: bits) }
                        return layer.twoPlanes { rows, out in
                            codes.withUnsafeBufferPointer { BinaryDenseKernel.referenceCodes(codes: $0.baseAddress!, weights: rows, n: n, m: m, output: out) }
                        }
                    }
                    let (t, f) = sinkThresholds(m, { r.next() })
                    for thresholds in [nil, t] {
                        let want = Self.expected(accumulators, m: m, thresholds: thresholds, flips: f)
                        for persistent in [true, false] {
                            let got = pixels.withUnsafeBytes {
                                Self.run(layer, input: $0.baseAddress!, inStride: n, count: count, codeBits: bits,
                                         thresholds: thresholds, flips: f, persistent: persistent && bits < 8)
                            }
                            XCTAssertEqual(got, want,
                                           "n \(n) m \(m) zeros \(zeros) bits \(bits) batch \(count) signs \(thresholds != nil) counts \(persistent)")
                        }
                    }
                }
            }
        }
    }
}
