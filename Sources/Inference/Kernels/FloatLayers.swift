import ModelFormat

// Float dense and conv layers (full-precision models, and a binary net's real-valued last layer).
// Inputs that are codes or packed bits are first widened to f32 (codes as their integer values,
// bits as +/-1) in scratch (Widen.swift). Every float kernel sums in the order spec/FORMAT.md defines
// ("Float summation order"): the dense kernels in eight partial sums and a tail, the conv in (ky, kx, c)
// order. Each reference is that order written out in scalars; the SIMD kernels (`simd`, and `simd4` on
// 64-bit hosts, FloatDense+Four.swift; FloatConv+Pixels.swift) agree with it bit for bit (FloatKernelTests).

/// Dense layers with float weights `[m, n]`.
public enum FloatDenseKernel {
    /// Reference: spec/FORMAT.md's order in scalars. For j = 0…7, partial sum s_j = +0, then
    /// s_j += x_i·w_oi for i = j, j+8, … below 8·⌊n/8⌋; then s = −0 + s_0 + … + s_7 left to right; then the
    /// last n mod 8 terms in index order; then y = s + b (or s + 0). Optimized for size: it is the
    /// definition, not the fast path, and at -O its eight lanes were unrolled (+400 B of firmware).
    @_noAllocation @inline(never) @_optimize(size)
    public static func reference(input x: UnsafePointer<Float>, n: Int, weights: UnsafePointer<Float>, m: Int,
                                 bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let whole = n - n % 8
        for o in 0..<m {
            let row = weights + o * n
            // Partial sum s_j is complete before s_{j+1} starts, so adding each to `sum` as it is finished
            // is the spec's left-to-right −0 + s_0 + … + s_7 (s_j is +0 when n < 8).
            var sum: Float = -0.0
            for j in 0..<8 {
                var partial: Float = 0
                var i = j
                while i < whole { partial += x[i] * row[i]; i += 8 }
                sum += partial
            }
            var i = whole
            while i < n { sum += x[i] * row[i]; i += 1 }
            output[o] = sum + (bias?[o] ?? 0)
        }
    }

    /// Optimized: eight partial sums in SIMD lanes, then the tail (spec/FORMAT.md's order for `infer`).
    @_noAllocation @inline(never)
    public static func simd(input x: UnsafePointer<Float>, n: Int, weights: UnsafePointer<Float>, m: Int,
                            bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        let xr = UnsafeRawPointer(x)
        for o in 0..<m {
            let wr = UnsafeRawPointer(weights + o * n)
            var acc = SIMD8<Float>()
            var i = 0
            while i + 8 <= n {
                acc += xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                    * wr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
                i += 8
            }
            var sum = acc.sum()
            while i < n { sum += x[i] * weights[o * n + i]; i += 1 }
            output[o] = sum + (bias?[o] ?? 0)
        }
    }

    #if !_pointerBitWidth(_32)
    /// Output `o` from its eight partial sums: their `sum()`, then the last n mod 8 terms from `i` in
    /// order, then the bias (or + 0): `simd`'s last three lines, which stay written out in `simd` so the
    /// firmware's code is as pinned (DeviceTests); FloatKernelTests holds `simd4` to `simd` bit for bit.
    @_noAllocation @inline(__always)
    static func finish(_ acc: SIMD8<Float>, _ x: UnsafePointer<Float>, _ row: UnsafePointer<Float>, from i: Int, n: Int,
                       bias: UnsafePointer<Float>?, _ o: Int) -> Float {
        var sum = acc.sum(), i = i
        while i < n { sum += x[i] * row[i]; i += 1 }
        return sum + (bias?[o] ?? 0)
    }
    #endif
}

/// Convolutions with float weights `[m, k, k, C]`, NHWC, stride 1, no padding.
public enum FloatConvKernel {
    /// Reference: the defining sum in (ky, kx, c) order.
    @_noAllocation @inline(never)
    public static func reference(input x: UnsafePointer<Float>, h: Int, w: Int, c: Int, k: Int,
                                 weights: UnsafePointer<Float>, m: Int, output: UnsafeMutablePointer<Float>) {
        let (oh, ow) = (h - k + 1, w - k + 1)
        for oy in 0..<oh {
            for ox in 0..<ow {
                for o in 0..<m {
                    var sum: Float = 0
                    for ky in 0..<k {
                        for kx in 0..<k {
                            for ch in 0..<c {
                                sum += x[((oy + ky) * w + ox + kx) * c + ch] * weights[((o * k + ky) * k + kx) * c + ch]
                            }
                        }
                    }
                    output[(oy * ow + ox) * m + o] = sum
                }
            }
        }
    }
}
