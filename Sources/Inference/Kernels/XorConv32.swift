import ModelFormat

// The hidden binary conv for 32-bit targets (the `carrySave` kernel set: the Cortex-M firmware).
// Reference: BinaryConvKernel.referenceBits (BinaryConv.swift); the 64-bit kernel is FusedConvKernel.

/// A binary conv on packed ±1 input (`pixel` layout, stride 1, no padding, NHWC), with optional max
/// pooling into the sink, counted 32 bits at a time: each filter's receptive field is XORed with the
/// input word by word and popcounted with the target's 32-bit popcount (on the Cortex-M4 LLVM's
/// SWAR sequence with one multiply). The bits layout pads each pixel's channels to whole 64-bit words
/// with 0 bits in input and weights alike, so only the first ceil(c / 32) 32-bit words of a pixel
/// row can differ: the zero halves that FusedConvKernel's 64-bit popcounts count (c <= 32: half of
/// every word) are skipped. A = k k c - 2 popcount, max over the pool window, then `sink`.
public enum XorConv32Kernel {
    /// Scratch bytes: one pooled output pixel's m accumulators.
    @_noAllocation @inlinable public static func scratchBytes(m: Int) -> Int { 4 &* m }

    /// Runs the conv (h x w x c -> oh x ow x m), pools by `pool` (1: none), and hands each output to `sink`.
    @_noAllocation @inline(never)
    public static func run(_ x: UnsafePointer<UInt64>, h: Int, w: Int, c: Int, k: Int, weights: UnsafePointer<UInt64>, m: Int,
                           pool: Int, accumulators: UnsafeMutablePointer<Int32>, sink: AccumulatorSink) {
        let (ph, pw) = ((h - k + 1) / pool, (w - k + 1) / pool)
        let halves = 2 &* BitPacking.words(c), used = (c &+ 31) >> 5
        let x32 = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        let w32 = UnsafeRawPointer(weights).assumingMemoryBound(to: UInt32.self)
        let n = k &* k &* c, filterHalves = k &* k &* halves
        for py in 0..<ph {
            for px in 0..<pw {
                for o in 0..<m { accumulators[o] = Int32.min }
                for dy in 0..<pool {
                    for dx in 0..<pool {
                        let corner = x32 + ((py &* pool &+ dy) &* w &+ px &* pool &+ dx) &* halves
                        for o in 0..<m {
                            let a = Int32(truncatingIfNeeded: n &- 2 &* count(corner, w32 + o &* filterHalves, k: k, rowHalves: w &* halves,
                                                                                 halves: halves, used: used))
                            if a > accumulators[o] { accumulators[o] = a }
                        }
                    }
                }
                for o in 0..<m { sink.store(pixel: py &* pw &+ px, channel: o, channels: m, accumulators[o]) }
            }
        }
    }

    /// popcount(x XOR f) over a k x k receptive field: `x` its top-left pixel (input rows `rowHalves`
    /// 32-bit words apart), `f` the filter; `used` of each pixel's `halves` words.
    @_noAllocation @inline(__always)
    static func count(_ x: UnsafePointer<UInt32>, _ f: UnsafePointer<UInt32>, k: Int, rowHalves: Int, halves: Int, used: Int) -> Int {
        var total = 0
        if used == 1 {   // c <= 32: one word per pixel
            for ky in 0..<k {
                let xr = x + ky &* rowHalves, fr = f + ky &* k &* halves
                for kx in 0..<k { total &+= (xr[kx &* halves] ^ fr[kx &* halves]).nonzeroBitCount }
            }
            return total
        }
        for ky in 0..<k {
            let xr = x + ky &* rowHalves, fr = f + ky &* k &* halves
            for kx in 0..<k {
                for j in 0..<used { total &+= (xr[kx &* halves &+ j] ^ fr[kx &* halves &+ j]).nonzeroBitCount }
            }
        }
        return total
    }
}
