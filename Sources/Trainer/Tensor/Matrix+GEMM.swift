import CBLAS

extension Matrix {
    /// `op(a) * op(b)` (`op` transposes when asked): the one place the trainer multiplies whole matrices, so a
    /// faster backend changes one function. Large products are split into two fixed halves of C's rows (or of
    /// its columns when C is wider than tall) over `Parallel`'s workers, each half one single-threaded
    /// `gemm`; the inner dimension is never split, so every element is the same sum as in one call
    /// (`GEMMSplitTests` holds them equal bit for bit) and the result does not depend on the worker count.
    public static func product(_ a: Matrix, transposeA: Bool = false,
                               _ b: Matrix, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "product: inner dimensions \(k) and \(kb) differ")
        if m == 0 || n == 0 || k == 0 { return Matrix(rows: m, cols: n) }
        let splitRows = m >= n
        let work = m * n * k
        return a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                Matrix(rows: m, cols: n) { pc in
                    let (a0, b0, c0) = (pa.baseAddress!, pb.baseAddress!, pc.baseAddress!)
                    // Products under splitMinimumWork multiply-adds run as one call (count below minimum).
                    Parallel.forChunks(count: splitRows ? m : n, minimum: work >= splitMinimumWork ? 2 : Int.max) { lo, hi in
                        if splitRows {
                            gemm(transposeA: transposeA, transposeB: transposeB, m: hi - lo, n: n, k: k,
                                 a: transposeA ? a0 + lo : a0 + lo * a.cols, lda: a.cols, b: b0, ldb: b.cols,
                                 c: c0 + lo * n, ldc: n)
                        } else {
                            gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: hi - lo, k: k,
                                 a: a0, lda: a.cols, b: transposeB ? b0 + lo * b.cols : b0 + lo, ldb: b.cols,
                                 c: c0 + lo, ldc: n)
                        }
                    }
                }
            }
        }
    }

    /// Products with fewer multiply-adds than this run as one call, on one core.
    static let splitMinimumWork = 1 << 18

    /// `C = op(A) op(B)` (or `C += ...` when `accumulate`), then column j of C times `scales[j]` when given, on
    /// one thread, row-major with leading dimensions: the direct short-inner kernel for `A` as given with
    /// `k <= smallInnerLimit` and at least `smallInnerMinimumRows` rows (Matrix+SmallInner.swift; it scales
    /// as it stores), else the BLAS. With `accumulate` false, C is written without being read (beta 0), so
    /// it need not be zeroed first.
    static func gemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool = false, scales: [Float]? = nil) {
        if m == 0 || n == 0 { return }
        _ = Parallel.workers      // sets OpenBLAS to one thread before its first product
        if !transposeA && !accumulate && k <= smallInnerLimit && m >= smallInnerMinimumRows {
            return smallInnerProduct(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transposeB: transposeB,
                                     c: c, ldc: ldc, scales: scales)
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), accumulate ? 1 : 0, c, Int32(ldc))
        guard let scales else { return }
        precondition(scales.count == n, "gemm: \(scales.count) column scales for \(n) columns")
        scales.withUnsafeBufferPointer { s in
            for i in 0..<m {
                for j in 0..<n { c[i * ldc + j] *= s[j] }
            }
        }
    }
}

/// The BLAS behind `Matrix.product`, for reports.
public enum BLASInfo {
    /// The kernel family OpenBLAS picked for this CPU (for example "SkylakeX" or "Prescott").
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads the trainer's products run on (`Parallel.workers`; OpenBLAS itself runs one per call).
    public static var threads: Int { Parallel.workers }
}
