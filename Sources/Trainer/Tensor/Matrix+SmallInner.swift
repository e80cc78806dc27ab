// Products with a short inner dimension (a first conv over one channel: k = 3 x 3 = 9), computed
// directly. The BLAS packs both operands and zeroes C (beta 0) before a kernel tuned for long inner
// loops; with k = 9 and C of 67,600 x 32 per batch those passes cost more than the 9 multiply-adds per
// output (perf: packing, sgemm_beta and im2col were each 3-6% of a conv epoch).
//
// Each output is one sum over p = 0..<k in order, each product rounded then added; the BLAS
// re-associates (blocks of k, FMA), so results differ from it within float rounding (ConvKernelReferenceTests
// states the tolerance). Rows are split between the cores by `Parallel`'s fixed chunks and every output
// is written by one sum, so the result does not depend on the split.

extension Matrix {
    /// Inner dimensions at most this long take the direct kernel.
    static let smallInnerLimit = 16
    /// ... when the product has at least this many rows (a conv's batch x positions; a dense layer's
    /// products, batch-sized, stay with the BLAS).
    static let smallInnerMinimumRows = 4_096

    /// `a * op(b)` for `a` `[m, k]` with `k <= smallInnerLimit`, `b` `[k, n]` (or `[n, k]` when
    /// `transposeB`): sixteen output columns at a time as SIMD multiply-adds over the k terms.
    static func smallInnerProduct(_ a: Matrix, _ b: Matrix, transposeB: Bool) -> Matrix {
        let (m, k) = (a.rows, a.cols)
        let n = transposeB ? b.rows : b.cols
        // bt[p, j] = op(b)[p, j], padded to whole SIMD groups of 16 columns with zeros.
        let groups = (n + 15) / 16
        var bt = [SIMD16<Float>](repeating: .zero, count: k * groups)
        for p in 0..<k {
            for j in 0..<n { bt[p * groups + j / 16][j % 16] = transposeB ? b[j, p] : b[p, j] }
        }
        return a.data.withUnsafeBufferPointer { pa in
            bt.withUnsafeBufferPointer { pb in
                Matrix(rows: m, cols: n) { pc in
                    Parallel.forChunks(count: m, minimum: 4_096) { lo, hi in
                        for i in lo..<hi {
                            for g in 0..<groups {
                                var acc = SIMD16<Float>.zero
                                for p in 0..<k {
                                    // Multiply, then add (two roundings): the package builds for generic x86-64,
                                    // where a fused multiply-add is a libm call per lane.
                                    acc += SIMD16(repeating: pa[i * k + p]) * pb[p * groups + g]
                                }
                                let j0 = g * 16
                                if j0 + 16 <= n {
                                    UnsafeMutableRawPointer(pc.baseAddress! + i * n + j0)
                                        .storeBytes(of: acc, as: SIMD16<Float>.self)
                                } else {
                                    for j in j0..<n { pc[i * n + j] = acc[j - j0] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
