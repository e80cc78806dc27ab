import ModelFormat

/// Runs a dense or conv layer with f32 weights on `count` images: codes or bits are widened to f32 in
/// the scratch first (`WidenKernel`; for `floatConvSIMD` any input is copied into channel planes there),
/// then the kernel the choice named; four images per call where the choice has a four-image kernel
/// (`floatDenseSIMD4`), the rest image by image.
enum FloatLayerStep {
    @_noAllocation @inline(__always)
    static func run(_ kernel: Kernel, _ query: Kernel.Query, _ o: LayerOperands, count: Int, bias: UnsafePointer<Float>?) {
        let wf = o.weights.assumingMemoryBound(to: Float.self)
        var b = 0
        #if !_pointerBitWidth(_32)   // no SIMD kernels where pointers are 32 bits (KernelSet.resolve)
        var byFour = query
        byFour.four = true
        if count >= 4, case .floatDenseSIMD4 = Kernel.choose(byFour) {
            while b + 4 <= count {
                let x = input(o, image: b)
                for i in 1..<4 { _ = input(o, image: b + i) }
                var stride = o.scratchStride / 4
                if case .f32 = o.inputKind { stride = o.inStride / 4 }
                FloatDenseKernel.simd4(input: x, stride: stride, n: o.n, weights: wf, m: o.m, bias: bias,
                                       output: (o.output + b * o.stride).assumingMemoryBound(to: Float.self), outStride: o.stride / 4)
                b += 4
            }
        }
        #endif
        while b < count {
            let out = (o.output + b * o.stride).assumingMemoryBound(to: Float.self)
            #if !_pointerBitWidth(_32)
            if case .floatConvSIMD = kernel {
                let f = (o.scratch + b * o.scratchStride).assumingMemoryBound(to: Float.self)
                FloatConvKernel.planes(o.input + b * o.inStride, kind: o.inputKind, pixels: o.h &* o.w, c: o.c, into: f)
                FloatConvKernel.simd(planes: f, h: o.h, w: o.w, c: o.c, k: o.size, weights: wf, m: o.m, output: out)
                b += 1
                continue
            }
            #endif
            let x = input(o, image: b)
            switch kernel {
            case .floatDenseSIMD: FloatDenseKernel.simd(input: x, n: o.n, weights: wf, m: o.m, bias: bias, output: out)
            case .floatDenseReference: FloatDenseKernel.reference(input: x, n: o.n, weights: wf, m: o.m, bias: bias, output: out)
            default: FloatConvKernel.reference(input: x, h: o.h, w: o.w, c: o.c, k: o.size, weights: wf, m: o.m, output: out)
            }
            b += 1
        }
    }

    /// Image `b`'s input as f32: the value itself, or codes or bits widened into the image's scratch.
    @_noAllocation @inline(__always)
    static func input(_ o: LayerOperands, image b: Int) -> UnsafePointer<Float> {
        let f = (o.scratch + b * o.scratchStride).assumingMemoryBound(to: Float.self)
        let source = o.input + b * o.inStride
        switch o.inputKind {
        case .f32: return source.assumingMemoryBound(to: Float.self)
        case .bits: WidenKernel.bits(source.assumingMemoryBound(to: UInt64.self), count: o.n, into: f)
        default: WidenKernel.codes(source.assumingMemoryBound(to: UInt8.self), count: o.n, into: f)
        }
        return UnsafePointer(f)
    }
}
