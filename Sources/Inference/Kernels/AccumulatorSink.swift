import ModelFormat

// Where a binary layer's accumulators go. Fused binary layers: a weight layer's accumulators go
// straight into BatchNorm + sign (thresholds) and are packed, so they are never stored, and a first
// layer reads the pixels and forms its input codes itself. This is what keeps the arena small (an FCN2 needs its 80-byte bit vectors and the
// first layer's bit-planes, not 2,400-byte accumulator vectors). Every fused kernel computes exactly
// what the reference kernels compute op by op; the runtime's reference mode runs the unfused ops,
// and tests compare the two bit for bit.

/// Where a layer's accumulators go.
public enum AccumulatorSink {
    /// Stored as i32, `[pixel, channel]`.
    case accumulators(UnsafeMutablePointer<Int32>)
    /// Thresholded into packed bits (+1 iff (A >= threshold[c]) != flip[c]), in `layout`; `bits` must be zeroed.
    case signs(thresholds: UnsafePointer<Int32>, flips: UnsafePointer<UInt8>, layout: BitLayout, channels: Int,
               bits: UnsafeMutablePointer<UInt64>)

    /// Stores accumulator `a` of channel `c` at output pixel `p`.
    @_noAllocation @inline(__always)
    func store(pixel p: Int, channel c: Int, channels m: Int, _ a: Int32) {
        switch self {
        case let .accumulators(out):
            out[p * m + c] = a
        case let .signs(thresholds, flips, layout, channels, bits):
            let sign = ThresholdSign.bit(a, threshold: thresholds[c], flip: flips[c])
            #if _pointerBitWidth(_32)
            // The device's code as it was (a branch, then a constant bit): its instruction counts are
            // pinned (DeviceTests); the OR of the sign below cost the golden conv model 988 more.
            if sign == 0 { return }
            let bit = ThresholdSign.bitIndex(pixel: p, channel: c, channels: channels, layout: layout)
            bits[bit >> 6] |= 1 << UInt64(bit & 63)
            #else
            let bit = ThresholdSign.bitIndex(pixel: p, channel: c, channels: channels, layout: layout)
            // 64-bit hosts: no branch on the sign (a setcc and an OR of 0 or 1 into the word), which
            // mispredicts about half the time on a trained layer's signs.
            bits[bit >> 6] |= UInt64(sign) << UInt64(bit & 63)
            #endif
        }
    }

    /// Words to zero before a layer of `pixels` x `channels` outputs writes packed signs.
    @_noAllocation static func words(pixels: Int, channels: Int, layout: BitLayout) -> Int {
        layout == .flat ? BitPacking.words(pixels * channels) : pixels * BitPacking.words(channels)
    }
}
