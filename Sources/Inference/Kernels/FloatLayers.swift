import ModelFormat

// Float dense and conv layers (full-precision models, and a binary net's real-valued last layer).
// Inputs that are codes or packed bits are first widened to f32 (codes as their integer values,
// bits as +/-1) in scratch (Widen.swift). The SIMD dense kernels (`simd`, and `simd4` on 64-bit hosts,
// FloatDense+Four.swift) sum in a different order than the reference (spec/FORMAT.md, "Float summation
// order"), so they agree with it within a tolerance (tests: relative 1e-5), and with each other bit for bit.

/// Dense layers with float weights `[m, n]`.
public enum FloatDenseKernel {
    /// Reference: y_o = sum_i x_i w_oi in index order, plus the bias.
    @_noAllocation @inline(never)
    public static func reference(input x: UnsafePointer<Float>, n: Int, weights: UnsafePointer<Float>, m: Int,
                                 bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        for o in 0..<m {
            var sum: Float = 0
            for i in 0..<n { sum += x[i] * weights[o * n + i] }
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
