import XCTest
@testable import Inference
@testable import ModelFormat

/// The 32-bit conv kernels bit for bit: XorConv32 (every target's hidden convs) against the reference
/// max-pooled; PlaneConv32 (every target's first conv,
/// since the host's per-code row loop was dropped) against the reference kernels max-pooled; over
/// random shapes: channels either side of the 32- and 64-bit word edges, kernels 1 to 5, pools 1 to 3,
/// filter counts 1 to 33, codes of 1, 2, 3 and 8 input bits.
final class Conv32KernelTests: XCTestCase {
    var state: UInt64 = 0x9E37_79B9

    func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(truncatingIfNeeded: state >> 33)
    }

    func signs(_ n: Int) -> [Float] { (0..<n).map { _ in next() & 1 == 1 ? 1 : -1 } }

    /// A random shape: (h, w, c, k, m, pool), with at least one pooled output.
    func shape(channels: [Int]) -> (Int, Int, Int, Int, Int, Int) {
        let c = channels[next() % channels.count], k = 1 + next() % 5, pool = 1 + next() % 3, m = [1, 5, 32, 33][next() % 4]
        return (k - 1 + pool * (1 + next() % 3) + next() % pool, k - 1 + pool * (1 + next() % 3), c, k, m, pool)
    }

    /// What `run` hands its sink with `.accumulators` (pooled i32 values, NHWC).
    func pooled(_ count: Int, _ body: (AccumulatorSink) -> Void) -> [Int32] {
        var out = [Int32](repeating: 7, count: count)
        out.withUnsafeMutableBufferPointer { body(.accumulators($0.baseAddress!)) }
        return out
    }

    /// The reference accumulators, max-pooled by `pool`.
    func reference(_ acc: [Int32], h: Int, w: Int, m: Int, pool: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: (h / pool) * (w / pool) * m)
        MaxPoolKernel.run(acc, h: h, w: w, c: m, s: pool, output: &out)
        return out
    }

    func testXorConv32GridAgainstTheReference() {
        for trial in 0..<40 {
            var (h, w, c, k, m, pool) = shape(channels: [1, 2, 31, 32, 33, 63, 64, 65, 96, 97])
            if trial < 2 { (h, w, c, k, m, pool) = (8, 7, [32, 17][trial], 3, 33, 2) }   // the straight-line 3 x 3, c <= 32 count
            let x = BitPacking.pack(signs: signs(h * w * c), rows: h * w, n: c)
            let wt = BitPacking.pack(signs: signs(m * k * k * c), rows: m * k * k, n: c)
            let (oh, ow) = (h - k + 1, w - k + 1), count = (oh / pool) * (ow / pool) * m
            var acc = [Int32](repeating: 0, count: oh * ow * m)
            BinaryConvKernel.referenceBits(input: x, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &acc)
            var wordScratch = [UInt32](repeating: 0xA5A5_A5A5, count: XorConv32Kernel.scratchBytes(m: m, k: k, c: c) / 4)
            let words = pooled(count) { sink in
                wordScratch.withUnsafeMutableBytes { s in
                    XorConv32Kernel.run(x, h: h, w: w, c: c, k: k, weights: wt, m: m, pool: pool, scratch: s.baseAddress!, sink: sink)
                }
            }
            let what = "trial \(trial): \(h)x\(w)x\(c), k \(k), m \(m), pool \(pool)"
            XCTAssertEqual(words, reference(acc, h: oh, w: ow, m: m, pool: pool), what)
        }
    }

    func testPlaneConv32GridAgainstTheReference() {
        for trial in 0..<60 {
            var (h, w, c, k, m, pool) = shape(channels: [1, 2, 3, 4, 7])
            let bits = [1, 2, 3, 8][trial % 4]
            if trial < 8 { (h, w, c, k, m, pool) = (9, 8, 1, [3, 5][trial / 4], 33, 2) }   // k k c <= 32: one mask word
            let pixels = (0..<(h * w * c)).map { _ in UInt8(truncatingIfNeeded: next()) }
            let wt = BitPacking.pack(signs: signs(m * k * k * c), rows: m * k * k, n: c)
            let (oh, ow) = (h - k + 1, w - k + 1), count = (oh / pool) * (ow / pool) * m
            var codes = [UInt8](repeating: 0, count: h * w * c), acc = [Int32](repeating: 0, count: oh * ow * m)
            InputCodesKernel.run(pixels: pixels, count: h * w * c, bits: bits, codes: &codes)
            BinaryConvKernel.referenceCodes(codes: codes, h: h, w: w, c: c, k: k, weights: wt, m: m, output: &acc)
            let bytes = PlaneConv32Kernel.scratchBytes(m: m, patch: k * k * c, bits: bits)
            var planeScratch = [UInt32](repeating: 0xA5A5_A5A5, count: bytes / 4)   // garbage: the kernel clears what it reads
            let planes = pooled(count) { sink in
                planeScratch.withUnsafeMutableBytes { s in
                    PlaneConv32Kernel.run(pixels, bits: bits, h: h, w: w, c: c, k: k, weights: wt, m: m, pool: pool,
                                          scratch: s.baseAddress!, sink: sink)
                }
            }
            let what = "trial \(trial): \(h)x\(w)x\(c), k \(k), m \(m), pool \(pool), \(bits) bits"
            XCTAssertEqual(planes, reference(acc, h: oh, w: ow, m: m, pool: pool), what)
        }
    }
}
