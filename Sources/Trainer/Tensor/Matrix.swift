/// A dense row-major matrix of `Float`, the trainer's one tensor type: activations are
/// `[batch, features]`, dense weights `[out, in]` (PyTorch's layout, so checkpoints line up).
public struct Matrix: Equatable, Sendable {
    /// Number of rows (the batch dimension for activations).
    public var rows: Int
    /// Number of columns (features).
    public var cols: Int
    /// `rows * cols` values, row after row.
    public var data: [Float]

    /// A zero-filled matrix.
    public init(rows: Int, cols: Int) {
        self.init(rows: rows, cols: cols, data: [Float](repeating: 0, count: rows * cols))
    }

    /// A matrix whose every value `fill` writes (given the `rows * cols` buffer), without zeroing it first:
    /// for outputs that a kernel overwrites entirely (im2col patches, pooled maps, BLAS products with
    /// beta 0), where the zeroing pass was measured at 6-7% of a conv epoch. `fill` must write every
    /// element; a value it skips is undefined.
    public init(rows: Int, cols: Int, overwrittenBy fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = rows * cols
        self.init(rows: rows, cols: cols, data: [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer)
            initialized = count
        })
    }

    /// A matrix over existing values (`data.count == rows * cols`).
    public init(rows: Int, cols: Int, data: [Float]) {
        precondition(data.count == rows * cols, "Matrix \(rows)x\(cols) given \(data.count) values")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// Element at (`r`, `c`).
    @inlinable public subscript(r: Int, c: Int) -> Float {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    /// Applies `f` to every element.
    @inlinable public func map(_ f: (Float) -> Float) -> Matrix {
        Matrix(rows: rows, cols: cols, data: data.map(f))
    }

    /// Index of the largest value in each row (first one on ties).
    public func argmaxRows() -> [Int] {
        var out = [Int](repeating: 0, count: rows)
        data.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                var best = 0
                var bestValue = p[r * cols]
                for c in 1..<max(cols, 1) where p[r * cols + c] > bestValue {
                    best = c
                    bestValue = p[r * cols + c]
                }
                out[r] = best
            }
        }
        return out
    }

    /// Adds `v` (length `cols`) to every row.
    public mutating func addRowVector(_ v: [Float]) {
        precondition(v.count == cols, "row vector of \(v.count) for \(cols) columns")
        let c = cols
        data.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                for j in 0..<c { p[r * c + j] += v[j] }
            }
        }
    }

    /// The sum of each column, length `cols`.
    public func columnSums() -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        let c = cols
        data.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                for j in 0..<c { out[j] += p[r * c + j] }
            }
        }
        return out
    }

    /// Multiplies column j by `v[j]`.
    public mutating func scaleColumns(_ v: [Float]) {
        precondition(v.count == cols, "column scales of \(v.count) for \(cols) columns")
        let c = cols
        data.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows {
                for j in 0..<c { p[r * c + j] *= v[j] }
            }
        }
    }
}
