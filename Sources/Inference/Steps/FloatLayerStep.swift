import ModelFormat

/// Runs a dense or conv layer with f32 weights on `count` images: codes or bits are widened to f32 in
/// the scratch first (`WidenKernel`; for `floatConvSIMD` any input is copied into channel planes there),
/// then the kernel the choice named; on 64-bit hosts first four images per call where the choice has a
/// four-image kernel (`floatDenseSIMD4`, on f32 input), the rest image by image.
enum FloatLayerStep {
    @_noAllocation @inline(__always)
    static func run(_ kernel: Kernel, _ query: Kernel.Query, _ o: LayerOperands, count: Int, bias: UnsafePointer<Float>?) {
        let wf = o.weights.assumingMemoryBound(to: Float.self)
        #if _pointerBitWidth(_32)   // the firmware's code as it was (DeviceTests pin it)
        let first = 0
        #else
        let first = runFour(query, o, count: count, bias: bias)
        #endif
        for b in first..<count {
            let f = (o.scratch + b * o.scratchStride).assumingMemoryBound(to: Float.self)
            let source = o.input + b * o.inStride
            #if !_pointerBitWidth(_32)
            if case .floatConvSIMD = kernel {
                FloatConvKernel.planes(source, kind: o.inputKind, pixels: o.h &* o.w, c: o.c, into: f)
                FloatConvKernel.simd(planes: f, h: o.h, w: o.w, c: o.c, k: o.size, weights: wf, m: o.m,
                                     output: (o.output + b * o.stride).assumingMemoryBound(to: Float.self))
                continue
            }
            #endif
            let x: UnsafePointer<Float>
            switch o.inputKind {
            case .f32: x = source.assumingMemoryBound(to: Float.self)
            case .bits: WidenKernel.bits(source.assumingMemoryBound(to: UInt64.self), count: o.n, into: f); x = UnsafePointer(f)
            default: WidenKernel.codes(source.assumingMemoryBound(to: UInt8.self), count: o.n, into: f); x = UnsafePointer(f)
            }
            let out = (o.output + b * o.stride).assumingMemoryBound(to: Float.self)
            switch kernel {
            case .floatDenseSIMD: FloatDenseKernel.simd(input: x, n: o.n, weights: wf, m: o.m, bias: bias, output: out)
            case .floatDenseReference: FloatDenseKernel.reference(input: x, n: o.n, weights: wf, m: o.m, bias: bias, output: out)
            default: FloatConvKernel.reference(input: x, h: o.h, w: o.w, c: o.c, k: o.size, weights: wf, m: o.m, output: out)
            }
        }
    }

    #if !_pointerBitWidth(_32)
    /// Images 0 ..< 4·⌊count/4⌋ on `floatDenseSIMD4` when the choice for four images names it (f32 input,
    /// read in place: no scratch); returns how many images it ran.
    @_noAllocation @inline(__always)
    static func runFour(_ query: Kernel.Query, _ o: LayerOperands, count: Int, bias: UnsafePointer<Float>?) -> Int {
        var byFour = query
        byFour.four = true
        guard count >= 4, case .floatDenseSIMD4 = Kernel.choose(byFour) else { return 0 }
        var b = 0
        while b + 4 <= count {
            FloatDenseKernel.simd4(input: (o.input + b * o.inStride).assumingMemoryBound(to: Float.self), stride: o.inStride / 4, n: o.n,
                                   weights: o.weights.assumingMemoryBound(to: Float.self), m: o.m, bias: bias,
                                   output: (o.output + b * o.stride).assumingMemoryBound(to: Float.self), outStride: o.stride / 4)
            b += 4
        }
        return b
    }
    #endif
}
