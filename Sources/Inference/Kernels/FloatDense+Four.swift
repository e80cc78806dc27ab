import ModelFormat

// Four images per pass over a float dense layer's weights (`Kernel.floatDenseSIMD4`, the batch path on
// 64-bit hosts): each weight vector is loaded once for four images, so a layer whose weights do not fit
// the caches (the Fashion-MNIST conv net's 1600 x 512, 3.3 MB) reads them a quarter as often. Each image's
// output is summed exactly as `FloatDenseKernel.simd` sums it (eight partial sums, their `sum()`, the tail,
// the bias: `finish`), so the two agree bit for bit (FloatKernelTests). Not on 32-bit targets.

#if !_pointerBitWidth(_32)
extension FloatDenseKernel {
    /// `simd` on four images: inputs `x + b·stride` and outputs `output + b·outStride` (floats), b = 0...3.
    @_noAllocation @inline(never)
    public static func simd4(input x: UnsafePointer<Float>, stride: Int, n: Int, weights: UnsafePointer<Float>, m: Int,
                             bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, outStride: Int) {
        let (x0, x1, x2, x3) = (x, x + stride, x + 2 &* stride, x + 3 &* stride)
        let (r0, r1, r2, r3) = (UnsafeRawPointer(x0), UnsafeRawPointer(x1), UnsafeRawPointer(x2), UnsafeRawPointer(x3))
        for o in 0..<m {
            let row = weights + o &* n, wr = UnsafeRawPointer(row)
            var (a0, a1, a2, a3) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
            var at = 0, i = 0
            while i &+ 8 <= n {
                let wv = wr.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self)
                a0 += r0.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) * wv
                a1 += r1.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) * wv
                a2 += r2.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) * wv
                a3 += r3.loadUnaligned(fromByteOffset: at, as: SIMD8<Float>.self) * wv
                i &+= 8
                at &+= 32
            }
            output[o] = finish(a0, x0, row, from: i, n: n, bias: bias, o)
            output[outStride &+ o] = finish(a1, x1, row, from: i, n: n, bias: bias, o)
            output[2 &* outStride &+ o] = finish(a2, x2, row, from: i, n: n, bias: bias, o)
            output[3 &* outStride &+ o] = finish(a3, x3, row, from: i, n: n, bias: bias, o)
        }
    }
}
#endif
