import ModelFormat

/// A dense layer with ternary weights (spec/FORMAT.md, "Ternary `dense` weights", format version 5):
/// w = (u + v) / 2 with u and v two ±1 planes in the same layout, so A = (A_u + A_v) / 2. LayerStep runs the
/// kernel the choice picked for the layout (any binary dense kernel, reference or optimized, host or device)
/// on the upper plane and then on the lower one, each into its own i32 scratch (`plane`, `sink`), and
/// `combine` sends the halved sums to the layer's sink (i32 accumulators, or packed signs with the
/// threshold_sign fused). A_u + A_v is even and fits an i32 (the reader checks 2·F·V ≤ 2^31 − 1), so the
/// shift is exact. No new kernel: what the binary kernels' tests prove (optimized equal to reference bit for
/// bit) carries over to both planes. Scratch: 2 × count × `sumsStride` bytes after the kernel's own, the upper
/// plane's accumulators of every image, then the lower's.
enum TernaryLayerStep {
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
