// Element-wise activations. HardTanh is BinaryNet's activation for real-valued nets
// (Courbariaux, Hubara et al. 2016); ReLU is offered for float models.

/// `y = clamp(x, -1, 1)`; gradient 1 inside [-1, 1], 0 outside.
public final class HardTanh: Layer {
    private var cachedInput = Matrix(rows: 0, cols: 0)

    /// A hardtanh activation.
    public init() {}

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        cachedInput = x
        return x.map { min(max($0, -1), 1) }
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        return elementwiseGradient(dy, cachedInput) { abs($0) <= 1 ? 1 : 0 }
    }
}

/// `y = max(x, 0)`; gradient 1 for x > 0.
public final class ReLU: Layer {
    private var cachedInput = Matrix(rows: 0, cols: 0)

    /// A ReLU activation.
    public init() {}

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        cachedInput = x
        return x.map { max($0, 0) }
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        return elementwiseGradient(dy, cachedInput) { $0 > 0 ? 1 : 0 }
    }
}

/// Binary activation (Hubara et al. 2016, Sec. 1.1): y = sign(x) with sign(0) = +1, and the
/// straight-through gradient dy * 1{|x| <= 1}.
public final class SignActivation: Layer {
    private var cachedInput = Matrix(rows: 0, cols: 0)

    /// A sign activation with the straight-through estimator.
    public init() {}

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        cachedInput = x
        return x.map(binarySign)
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        return elementwiseGradient(dy, cachedInput, signSTEGradient)
    }
}

/// `dy * f'(x)` element by element.
@inline(__always)
func elementwiseGradient(_ dy: Matrix, _ x: Matrix, _ derivative: (Float) -> Float) -> Matrix {
    precondition(dy.rows == x.rows && dy.cols == x.cols, "gradient shape differs from the input's")
    var dx = dy
    x.data.withUnsafeBufferPointer { px in
        dx.data.withUnsafeMutableBufferPointer { pd in
            for i in 0..<pd.count { pd[i] *= derivative(px[i]) }
        }
    }
    return dx
}
