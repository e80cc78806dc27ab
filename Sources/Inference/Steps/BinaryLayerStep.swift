import ModelFormat

/// Runs a dense or conv layer with packed binary weights on `count` images: four images per call of
/// the batch kernels where the kernel choice has them, then image by image, on the kernel it chose.
/// The kernel entry points the steps call are `@inline(never)` (as they were out of line in the one big
/// walk): inlined into these small step functions, their loops compiled differently and cost the
/// Cortex-M4 up to 773 more instructions per columns32 FCN2 inference (DeviceTests pins the counts).
enum BinaryLayerStep {
    @_noAllocation @inline(__always)
    static func run(_ kernel: Kernel, _ query: Kernel.Query, _ o: LayerOperands, count: Int, pool: Int, sink: AccumulatorSink,
                    rowCounts: UnsafePointer<UInt16>?) {
        var b = 0
        #if !_pointerBitWidth(_32)   // no SIMD kernels where pointers are 32 bits (KernelSet.resolve)
        if count >= 4 {
            var byFour = query
            byFour.four = true
            let four = Kernel.choose(byFour)
            while four.imagesPerCall() == 4 && b + 4 <= count {
                runFour(four, o, from: b, sink: sink, rowCounts: rowCounts)
                b += 4
            }
        }
        #endif
        while b < count {
            runOne(kernel, o, image: b, pool: pool, sink: sink.advanced(byBytes: b * o.stride), rowCounts: rowCounts)
            b += 1
        }
    }

    /// Images `b ..< b + 4` on a batch kernel (`blockedBits4`, `blockedPlanes4`).
    @_noAllocation @inline(__always)
    static func runFour(_ kernel: Kernel, _ o: LayerOperands, from b: Int, sink: AccumulatorSink, rowCounts: UnsafePointer<UInt16>?) {
        let sinks = (sink.advanced(byBytes: b * o.stride), sink.advanced(byBytes: (b + 1) * o.stride),
                     sink.advanced(byBytes: (b + 2) * o.stride), sink.advanced(byBytes: (b + 3) * o.stride))
        let w64 = o.weights.assumingMemoryBound(to: UInt64.self)
        if case .blockedPlanes4 = kernel {
            let planes = o.scratch.assumingMemoryBound(to: UInt64.self)
            var totals = SIMD4<Int32>()
            for i in 0..<4 {
                totals[i] = Int32(PixelPlanes.build(pixels: (o.input + (b + i) * o.inStride).assumingMemoryBound(to: UInt8.self),
                                                    n: o.n, bits: o.codeBits, into: planes + (b + i) * o.scratchStride / 8))
            }
            BlockedDenseKernel.planes4(planes + b * o.scratchStride / 8, stride: o.scratchStride / 8, count: PixelPlanes.count(bits: o.codeBits),
                                       constantFirstPlane: o.codeBits < 8, totals: totals, weights: w64, n: o.n, m: o.m, sinks: sinks,
                                       rowCounts: rowCounts)
        } else {
            BlockedDenseKernel.bits4(input: (o.input + b * o.inStride).assumingMemoryBound(to: UInt64.self),
                                     stride: o.inStride / 8, weights: w64, n: o.n, m: o.m, sinks: sinks)
        }
    }

    /// Image `b` on a one-image kernel, into `one` (the sink advanced to image b).
    @_noAllocation @inline(__always)
    static func runOne(_ kernel: Kernel, _ o: LayerOperands, image b: Int, pool: Int, sink one: AccumulatorSink,
                       rowCounts: UnsafePointer<UInt16>?) {
        let x = o.input + b * o.inStride, scratch = o.scratch + b * o.scratchStride
        let (n, m, bits) = (o.n, o.m, o.codeBits)
        let w64 = o.weights.assumingMemoryBound(to: UInt64.self)
        let px = x.assumingMemoryBound(to: UInt8.self), xb = x.assumingMemoryBound(to: UInt64.self)
        let planes = scratch.assumingMemoryBound(to: UInt64.self)
        switch kernel {
        #if !_pointerBitWidth(_32)   // no SIMD kernels where pointers are 32 bits (KernelSet.resolve)
        case .blockedPlanes:
            let total = PixelPlanes.build(pixels: px, n: n, bits: bits, into: planes)
            BlockedDenseKernel.planes(planes, count: PixelPlanes.count(bits: bits), total: total, weights: w64, n: n, m: m, sink: one,
                                      constantFirstPlane: bits < 8, rowCounts: rowCounts)
        case .blockedBits: BlockedDenseKernel.bits(input: xb, weights: w64, n: n, m: m, sink: one)
        case .blockedPlanesRows16:
            let total = PixelPlanes.build(pixels: px, n: n, bits: bits, into: planes)
            BlockedDenseKernel.planesRows16(planes, count: PixelPlanes.count(bits: bits), total: total, weights: w64, n: n, m: m, sink: one,
                                            constantFirstPlane: bits < 8, rowCounts: rowCounts)
        case .blockedBitsRows16: BlockedDenseKernel.bitsRows16(input: xb, weights: w64, n: n, m: m, sink: one)
        #endif
        case .blockedPlanesCarrySave, .blockedPlanesCarrySave13:
            let total = PixelPlanes.build32(pixels: px, n: n, bits: bits, into: planes)
            BlockedDenseKernel.planesCarrySave(planes, count: PixelPlanes.count(bits: bits), constantFirstPlane: bits < 8, total: total,
                                               weights: w64, n: n, m: m, sink: one, rowCounts: rowCounts)
        case .blockedBitsCarrySave, .blockedBitsCarrySave19: BlockedDenseKernel.bitsCarrySave(input: xb, weights: w64, n: n, m: m, sink: one)
        case .columnsPixels: ColumnDenseKernel.pixels(px, bits: bits, weights: o.weights, n: n, m: m, scratch: scratch, sink: one)
        case .columnsBits: ColumnDenseKernel.bits(input: xb, weights: o.weights, n: n, m: m, scratch: scratch, sink: one)
        #if !BITSHIELD_MINIMAL && !COMPACT_COLUMN_SUMS   // the minimal build reads columns32 only; the M0 runs columns32s on `bits`
        case .columnsBitsBounds:
            guard case let .signs(_, flips, _, _, out) = one else { break }   // the choice fuses the signs
            ColumnDenseKernel.bitsBounds(input: xb, weights: o.weights, n: n, m: m, scratch: scratch, flips: flips, bits: out)
        #endif
        case .fusedDensePlanes:
            FusedDenseKernel.bitplanePixels(pixels: px, bits: bits, weights: w64, n: n, m: m, planes: planes, sink: one)
        case .fusedDenseBits: FusedDenseKernel.popcountBits(input: xb, weights: w64, n: n, m: m, sink: one)
        case .xorConv32:
            XorConv32Kernel.run(xb, h: o.h, w: o.w, c: o.c, k: o.size, weights: w64, m: m, pool: pool, scratch: scratch, sink: one)
        case .planeConv32:
            PlaneConv32Kernel.run(px, bits: bits, h: o.h, w: o.w, c: o.c, k: o.size, weights: w64, m: m, pool: pool, scratch: scratch, sink: one)
        default: runReference(kernel, o, image: b)
        }
    }

    /// Image `b` on a reference kernel (i32 accumulators out; the reference kernel set runs ops one by one).
    @_noAllocation @inline(__always)
    static func runReference(_ kernel: Kernel, _ o: LayerOperands, image b: Int) {
        let x = o.input + b * o.inStride
        let out = (o.output + b * o.stride).assumingMemoryBound(to: Int32.self)
        let w64 = o.weights.assumingMemoryBound(to: UInt64.self)
        let (n, m, h, w, c, k) = (o.n, o.m, o.h, o.w, o.c, o.size)
        let rows = o.weightType.isColumns ? PackedRows(columns: w64, n: n)
            : PackedRows(w64, words: BitPacking.words(n), blocked: o.weightType == .bits8)
        switch kernel {
        case .referenceDenseBits:
            BinaryDenseKernel.referenceBits(input: x.assumingMemoryBound(to: UInt64.self), weights: rows, n: n, m: m, output: out)
        case .referenceDenseCodes:
            BinaryDenseKernel.referenceCodes(codes: x.assumingMemoryBound(to: UInt8.self), weights: rows, n: n, m: m, output: out)
        case .referenceConvBits:
            BinaryConvKernel.referenceBits(input: x.assumingMemoryBound(to: UInt64.self), h: h, w: w, c: c, k: k, weights: w64, m: m, output: out)
        case .referenceConvCodes:
            BinaryConvKernel.referenceCodes(codes: x.assumingMemoryBound(to: UInt8.self), h: h, w: w, c: c, k: k, weights: w64, m: m, output: out)
        default: break
        }
    }
}
