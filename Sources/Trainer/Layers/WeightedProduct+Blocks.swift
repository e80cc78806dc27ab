// The weighted product over a block of rows at a time, on one thread, for a layer that forms its input
// rows itself and keeps them in cache (Conv2D+Blocks.swift: a few images' im2col patches at a time, never
// the whole batch's). The same three products as `forward` and `backward`, with the same scaling rules:
//
//   y = (A S^T) c            forwardBlock, after prepareForward
//   H (+)= dy^T A            weightGradientBlock; the layer sums its blocks' H, then setWeightGradient(H)
//   dA = (dy c) S            inputGradientBlock

extension WeightedProduct {
    /// `y[rows, out] = (a S^T) c` for `rows` rows of `a` (`[rows, fanIn]`, contiguous), after `prepareForward`.
    func forwardBlock(_ a: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let (n, k) = (outputs, fanIn)
        cachedWeights.data.withUnsafeBufferPointer { s in
            Matrix.gemm(transposeB: true, m: rows, n: n, k: k, a: a, lda: k, b: s.baseAddress!, ldb: k, c: y, ldc: n,
                        scales: cachedScales)
        }
    }

    /// `h[out, fanIn] = dy^T a` (`+=` when `accumulate`) for `rows` rows of `dy` (`[rows, out]`) and `a`.
    func weightGradientBlock(dy: UnsafePointer<Float>, _ a: UnsafePointer<Float>, rows: Int,
                             into h: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let (m, n) = (outputs, fanIn)
        Matrix.gemm(transposeA: true, m: m, n: n, k: rows, a: dy, lda: m, b: a, ldb: n, c: h, ldc: n,
                    accumulate: accumulate)
    }

    /// `da[rows, fanIn] = (dy c) S` for `rows` rows of `dy`, after `prepareForward`; `scratch` holds at least
    /// `rows * outputs` values when the product has scales (`dy c` goes there; `dy` is not changed).
    func inputGradientBlock(dy: UnsafePointer<Float>, rows: Int, into da: UnsafeMutablePointer<Float>,
                            scratch: UnsafeMutablePointer<Float>) {
        let (n, k) = (fanIn, outputs)
        var g = dy
        if let c = cachedScales {
            c.withUnsafeBufferPointer { c in
                for r in 0..<rows {
                    for j in 0..<k { scratch[r * k + j] = dy[r * k + j] * c[j] }
                }
            }
            g = UnsafePointer(scratch)
        }
        cachedWeights.data.withUnsafeBufferPointer { s in
            Matrix.gemm(m: rows, n: n, k: k, a: g, lda: k, b: s.baseAddress!, ldb: n, c: da, ldc: n)
        }
    }
}
