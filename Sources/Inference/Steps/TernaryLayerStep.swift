import ModelFormat

/// A dense layer with ternary weights (spec/FORMAT.md, "Ternary `dense` weights", format version 5):
/// w = (u + v) / 2 with u and v two ±1 planes in the same layout, so A = (A_u + A_v) / 2. LayerStep runs the
/// kernel the choice picked for the layout (any binary dense kernel, reference or optimized, host or device)
/// on the upper plane and then on the lower one, each into its own i32 scratch (`plane`, `sink`), and
/// `combine` sends the halved sums to the layer's sink (i32 accumulators, or packed signs with the
/// threshold_sign fused). A_u + A_v is even and fits an i32 (the reader checks 2·F·V ≤ 2^31 − 1), so the
/// shift is exact. No new kernel: what the binary kernels' tests prove (optimized equal to reference bit for
/// bit) carries over to both planes. Scratch: 2 × count × `sumsStride` bytes after the kernel's own, the upper
/// plane's accumulators of every image, then the lower's. On 64-bit hosts the `simd` set's bits8 layers on
/// binary input run a one-pass kernel instead (`run`, BlockedDense+Ternary.swift): no sums, signs fused.
enum TernaryLayerStep {
    #if !_pointerBitWidth(_32)
    /// Runs a kernel that reads both planes (`Kernel.readsBothPlanes`) on `count` images: on codes image by
    /// image (each image's bit-planes built in its scratch); on bits four per call of `ternaryBits4`, then image
    /// by image. The row counts (persistent) from `rowCounts` when planned.
    @_noAllocation @inline(__always)
    static func run(_ kernel: Kernel, _ o: LayerOperands, lower: UnsafeRawPointer, count: Int, sink: AccumulatorSink,
                    rowCounts: UnsafePointer<UInt16>?) {
        let u = o.weights.assumingMemoryBound(to: UInt64.self), v = lower.assumingMemoryBound(to: UInt64.self)
        if case .blockedPlanesTernary = kernel {
            for b in 0..<count {
                let planes = (o.scratch + b * o.scratchStride).assumingMemoryBound(to: UInt64.self)
                let total = PixelPlanes.build(pixels: (o.input + b * o.inStride).assumingMemoryBound(to: UInt8.self), n: o.n,
                                              bits: o.codeBits, into: planes)
                BlockedDenseKernel.ternaryPlanes(planes, count: PixelPlanes.count(bits: o.codeBits), total: total, upper: u, lower: v,
                                                 n: o.n, m: o.m, sink: sink.advanced(byBytes: b * o.stride),
                                                 constantFirstPlane: o.codeBits < 8, rowCounts: rowCounts)
            }
            return
        }
        let words = o.inStride / 8
        var b = 0
        while b + 4 <= count {
            let sinks = (sink.advanced(byBytes: b * o.stride), sink.advanced(byBytes: (b + 1) * o.stride),
                         sink.advanced(byBytes: (b + 2) * o.stride), sink.advanced(byBytes: (b + 3) * o.stride))
            BlockedDenseKernel.ternaryBits4(input: (o.input + b * o.inStride).assumingMemoryBound(to: UInt64.self), stride: words,
                                            upper: u, lower: v, n: o.n, m: o.m, sinks: sinks, rowCounts: rowCounts)
            b += 4
        }
        while b < count {
            BlockedDenseKernel.ternaryBits(input: (o.input + b * o.inStride).assumingMemoryBound(to: UInt64.self), upper: u, lower: v,
                                           n: o.n, m: o.m, sink: sink.advanced(byBytes: b * o.stride), rowCounts: rowCounts)
            b += 1
        }
    }
    #endif

    /// The layer's operands for plane `plane` (0 upper, 1 lower): that plane's weights, its sums for output.
    @_noAllocation @inline(__always)
    static func plane(_ plane: Int, _ o: LayerOperands, lower: UnsafeRawPointer, sums: UnsafeMutableRawPointer,
                      sumsStride: Int, count: Int) -> LayerOperands {
        var p = o
        (p.output, p.stride) = (sums + plane * count * sumsStride, sumsStride)
        if plane == 1 { p.weights = lower }
        return p
    }

    /// Plane `plane`'s accumulators, as a sink.
    @_noAllocation @inline(__always)
    static func sink(_ plane: Int, sums: UnsafeMutableRawPointer, sumsStride: Int, count: Int) -> AccumulatorSink {
        .accumulators((sums + plane * count * sumsStride).assumingMemoryBound(to: Int32.self))
    }

    /// A = (A_u + A_v) / 2 of `m` outputs of each of `count` images into `sink` (`stride` bytes per image there).
    @_noAllocation @inline(never) @_optimize(size)   // a pass over m sums: its code size is what matters on a device
    static func combine(sums: UnsafeMutableRawPointer, sumsStride: Int, count: Int, m: Int, stride: Int, sink: AccumulatorSink) {
        for b in 0..<count {
            let u = (sums + b * sumsStride).assumingMemoryBound(to: Int32.self)
            let v = (sums + (count + b) * sumsStride).assumingMemoryBound(to: Int32.self)
            let one = sink.advanced(byBytes: b * stride)
            for c in 0..<m { one.store(pixel: 0, channel: c, channels: m, (u[c] &+ v[c]) >> 1) }
        }
    }
}
