import ModelFormat

/// A dense layer with ternary weights (spec/FORMAT.md, "Ternary `dense` weights", format version 5):
/// w = (u + v) / 2 with u and v two ±1 planes in the same layout, so A = (A_u + A_v) / 2. LayerStep runs the
/// kernel the choice picked for the layout (any binary dense kernel, reference or optimized, host or device)
/// on the upper plane and then on the lower one, each into its own i32 scratch (`plane`, `sink`), and
/// `combine` sends the halved sums to the layer's sink (i32 accumulators, or packed signs with the
/// threshold_sign fused). A_u + A_v is even and fits an i32 (the reader checks 2·F·V ≤ 2^31 − 1), so the
/// shift is exact. No new kernel: what the binary kernels' tests prove (optimized equal to reference bit for
/// bit) carries over to both planes. Scratch: 2 × count × `sumsStride` bytes after the kernel's own, the upper
/// plane's accumulators of every image, then the lower's. On 64-bit hosts the `simd` set's bits8 layers run a
/// one-pass kernel instead, on bits or on the codes a first layer forms (`run`, BlockedDense+Ternary.swift): no
/// sums, signs fused.
enum TernaryLayerStep {
    #if !_pointerBitWidth(_32)
    /// Runs a kernel that reads both planes (`Kernel.readsBothPlanes`; `query` is the layer's) on `count` images:
    /// four per call of the batch kernel the choice names (`blockedBitsTernary4`, `blockedPlanesTernary4`), then
    /// image by image; on codes each image's bit-planes built in its scratch first. The row counts (persistent)
    /// from `rowCounts` when planned.
    @_noAllocation @inline(__always)
    static func run(_ kernel: Kernel, _ query: Kernel.Query, _ o: LayerOperands, lower: UnsafeRawPointer, count: Int,
                    sink: AccumulatorSink, rowCounts: UnsafePointer<UInt16>?) {
        let u = o.weights.assumingMemoryBound(to: UInt64.self), v = lower.assumingMemoryBound(to: UInt64.self)
        let planes = o.scratch.assumingMemoryBound(to: UInt64.self), planeWords = o.scratchStride / 8
        let bits = o.codeBits, constant = bits < 8
        /// Image `i`'s code planes into its scratch; the sum of its codes.
        func build(_ i: Int) -> Int32 {
            Int32(truncatingIfNeeded: PixelPlanes.build(pixels: (o.input + i * o.inStride).assumingMemoryBound(to: UInt8.self), n: o.n,
                                                        bits: bits, into: planes + i * planeWords))
        }
        var b = 0
        var byFour = query
        byFour.four = true
        let four = Kernel.choose(byFour)
        while four.imagesPerCall() == 4 && b + 4 <= count {
            let sinks = (sink.advanced(byBytes: b * o.stride), sink.advanced(byBytes: (b + 1) * o.stride),
                         sink.advanced(byBytes: (b + 2) * o.stride), sink.advanced(byBytes: (b + 3) * o.stride))
            if case .blockedPlanesTernary4 = four {
                let totals = SIMD4<Int32>(build(b), build(b + 1), build(b + 2), build(b + 3))
                BlockedDenseKernel.ternaryPlanes4(planes + b * planeWords, stride: planeWords, count: PixelPlanes.count(bits: bits),
                                                  totals: totals, upper: u, lower: v, n: o.n, m: o.m, sinks: sinks,
                                                  constantFirstPlane: constant, rowCounts: rowCounts)
            } else {
                BlockedDenseKernel.ternaryBits4(input: (o.input + b * o.inStride).assumingMemoryBound(to: UInt64.self), stride: o.inStride / 8,
                                                upper: u, lower: v, n: o.n, m: o.m, sinks: sinks, rowCounts: rowCounts)
            }
            b += 4
        }
        while b < count {
            let one = sink.advanced(byBytes: b * o.stride)
            if case .blockedPlanesTernary = kernel {
                BlockedDenseKernel.ternaryPlanes(planes + b * planeWords, count: PixelPlanes.count(bits: bits), total: Int(build(b)),
                                                 upper: u, lower: v, n: o.n, m: o.m, sink: one, constantFirstPlane: constant, rowCounts: rowCounts)
            } else {
                BlockedDenseKernel.ternaryBits(input: (o.input + b * o.inStride).assumingMemoryBound(to: UInt64.self), upper: u, lower: v,
                                               n: o.n, m: o.m, sink: one, rowCounts: rowCounts)
            }
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
