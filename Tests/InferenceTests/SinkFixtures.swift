@testable import Inference
@testable import ModelFormat

/// Thresholds and flips for `m` outputs of a sink test: random in -20...20, with the extremes
/// Int32.min (output 0) and Int32.max (output 2), and random flips; `next` gives the random words.
func sinkThresholds(_ m: Int, _ next: () -> UInt64) -> ([Int32], [UInt8]) {
    var t = (0..<m).map { _ in Int32(Int(next() % 41) - 20) }
    t[0] = Int32.min
    if m > 2 { t[2] = Int32.max }
    return (t, (0..<m).map { _ in UInt8(next() % 2) })
}

/// The signs `run` writes through a `.signs` sink (flat layout), and ThresholdSignKernel's on the
/// reference accumulators `a`: (got, expected).
func sinkSigns(_ a: [Int32], _ t: [Int32], _ f: [UInt8], _ run: (AccumulatorSink) -> Void) -> ([UInt64], [UInt64]) {
    let m = a.count
    var expected = [UInt64](repeating: 0, count: BitPacking.words(m)), got = expected
    ThresholdSignKernel.run(a, h: 1, w: 1, c: m, thresholds: t, flips: f, layout: .flat, output: &expected)
    t.withUnsafeBufferPointer { tp in
        f.withUnsafeBufferPointer { fp in
            got.withUnsafeMutableBufferPointer { g in
                run(.signs(thresholds: tp.baseAddress!, flips: fp.baseAddress!, layout: .flat, channels: m, bits: g.baseAddress!))
            }
        }
    }
    return (got, expected)
}
