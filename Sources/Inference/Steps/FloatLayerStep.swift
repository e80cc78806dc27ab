import ModelFormat

/// Runs a dense or conv layer with f32 weights on `count` images: codes or bits are widened to f32 in
/// the scratch first (`WidenKernel`; for `floatConvSIMD` any input is copied into channel planes there),
/// then the kernel the choice named.
enum FloatLayerStep {
    @_noAllocation @inline(__always)
    static func run(_ kernel: Kernel, _ o: LayerOperands, count: Int, bias: UnsafePointer<Float>?) {
        let wf = o.weights.assumingMemoryBound(to: Float.self)
        for b in 0..<count {
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
}
