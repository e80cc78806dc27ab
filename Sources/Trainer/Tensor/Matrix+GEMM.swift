import CBLAS

extension Matrix {
    /// `op(a) * op(b)` (`op` transposes when asked): the one place the trainer multiplies matrices, so a
    /// faster backend changes one function. The BLAS, except a short inner dimension with `a` as given
    /// and many rows (Matrix+SmallInner.swift: a first conv over one channel).
    public static func product(_ a: Matrix, transposeA: Bool = false,
                               _ b: Matrix, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "product: inner dimensions \(k) and \(kb) differ")
        if m == 0 || n == 0 || k == 0 { return Matrix(rows: m, cols: n) }
        if !transposeA && k <= smallInnerLimit && m >= smallInnerMinimumRows { return smallInnerProduct(a, b, transposeB: transposeB) }
        // beta 0: the BLAS writes every element of C without reading it, so C is not zeroed first.
        return a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                Matrix(rows: m, cols: n) { pc in
                    cblas_sgemm(CblasRowMajor,
                                transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1,
                                pa.baseAddress, Int32(a.cols),
                                pb.baseAddress, Int32(b.cols), 0,
                                pc.baseAddress, Int32(n))
                }
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

    /// The number of threads OpenBLAS uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
