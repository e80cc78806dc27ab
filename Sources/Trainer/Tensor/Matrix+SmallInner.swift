// Products with a short inner dimension (a first conv over one channel: k = 3 x 3 = 9), computed
// directly. The BLAS packs both operands and zeroes C (beta 0) before a kernel tuned for long inner
// loops; with k = 9 and C of 67,600 x 32 per batch those passes cost more than the 9 multiply-adds per
// output (perf: packing, sgemm_beta and im2col were each 3-6% of a conv epoch).
//
// Each output is one sum over p = 0..<k in order, each product rounded then added; the BLAS
// re-associates (blocks of k, FMA), so results differ from it within float rounding (ConvKernelReferenceTests
// states the tolerance). Every output is written by one sum, so how the rows are split between calls
// does not change the result.

extension Matrix {
    /// Inner dimensions at most this long take the direct kernel.
    static let smallInnerLimit = 16
    /// ... when the product has at least this many rows (a conv's batch x positions; a dense layer's
    /// products, batch-sized, stay with the BLAS).
    static let smallInnerMinimumRows = 4_096

    /// `C = A op(B)` for `A` `[m, k]` with `k <= smallInnerLimit`, `B` `[k, n]` (or `[n, k]` when
    /// `transposeB`), on one thread: sixteen output columns at a time as SIMD multiply-adds over the k terms.
    /// With `scales`, each sum is multiplied by its column's scale as it is stored (the same single rounding
    /// as scaling C afterwards, without a second pass over C).
    static func smallInnerProduct(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                  b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                                  c: UnsafeMutablePointer<Float>, ldc: Int, scales: [Float]? = nil) {
        // bt[p, j] = op(B)[p, j], padded to whole SIMD groups of 16 columns with zeros.
        let groups = (n + 15) / 16
        var bt = [SIMD16<Float>](repeating: .zero, count: k * groups)
        for p in 0..<k {
            for j in 0..<n { bt[p * groups + j / 16][j % 16] = transposeB ? b[j * ldb + p] : b[p * ldb + j] }
        }
        // The scales by SIMD group, 1 past n (unused lanes).
        var sc = [SIMD16<Float>](repeating: SIMD16(repeating: 1), count: groups)
        if let scales { for j in 0..<n { sc[j / 16][j % 16] = scales[j] } }
        let scaled = scales != nil
        bt.withUnsafeBufferPointer { pb in
            for i in 0..<m {
                for g in 0..<groups {
                    var acc = SIMD16<Float>.zero
                    for p in 0..<k {
                        // Multiply, then add (two roundings): the package builds for generic x86-64,
                        // where a fused multiply-add is a libm call per lane.
                        acc += SIMD16(repeating: a[i * lda + p]) * pb[p * groups + g]
                    }
                    if scaled { acc *= sc[g] }
                    let j0 = g * 16
                    if j0 + 16 <= n {
                        UnsafeMutableRawPointer(c + i * ldc + j0).storeBytes(of: acc, as: SIMD16<Float>.self)
                    } else {
                        for j in j0..<n { c[i * ldc + j] = acc[j - j0] }
                    }
                }
            }
        }
    }
}
