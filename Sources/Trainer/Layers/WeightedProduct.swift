// The product every weight layer (Dense, Conv2D) computes, in the order an integer runtime computes it:
//
//   z = X * S^T          X `[rows, fanIn]`, S `[out, fanIn]` the forward weights (W, sign(W), or ternary)
//   y = z * c            one scale per output: c_o = inputScale * alpha_o
//
// alpha_o is XNOR-Net's mean |W_o| (1 for float and binary weights); inputScale is the input
// quantizer's code unit for a model's first weight layer (InputQuantizer.swift), 1 elsewhere. With
// +/-1 or integer-code inputs and sign weights z is an integer, exact in any summation order.
// Backward, with H = dy^T X:
//   dL/dX = (dy * c) S,    dL/dW = inputScale * latent(H)   (WeightQuantizer.latentGradient).

/// Weights, their quantizer and the scaled product of a Dense or Conv2D layer.
public final class WeightedProduct {
    /// Float, binary, XNOR or ternary weights.
    public let kind: WeightQuantizer
    /// `[out, fanIn]` latent weights.
    public let weight: Parameter
    /// Ternary weights: the fraction of the layer's forward weights that are 0, in [0, 1) (unused by the other kinds).
    public let sparsity: Float
    /// Scale of the layer's input values (the input quantizer's code unit for a first layer, else 1).
    public var inputScale: Float = 1
    /// Whether `backward` fills the weight gradient (attacks, which need only dL/dX, turn it off).
    public var computesWeightGradient = true

    private var cachedInput = Matrix(rows: 0, cols: 0)
    /// S and c of the last forward pass (`prepareForward`), read by the block products (WeightedProduct+Blocks.swift).
    private(set) var cachedWeights = Matrix(rows: 0, cols: 0)
    private(set) var cachedScales: [Float]? = nil

    /// Output rows of the weight matrix.
    public var outputs: Int { weight.shape[0] }
    /// Fan-in per output.
    public var fanIn: Int { weight.value.count / weight.shape[0] }

    /// A product over `weight` (shape `[out, ...]`, flattened to `[out, fanIn]`); `sparsity` for ternary weights.
    public init(kind: WeightQuantizer, weight: Parameter, sparsity: Float = 0) {
        self.kind = kind
        self.weight = weight
        self.sparsity = sparsity
    }

    /// The forward weights S, `[out, fanIn]`.
    public func forwardWeights() -> Matrix {
        Matrix(rows: outputs, cols: fanIn, data: kind.forwardWeights(weight.value, sparsity: sparsity))
    }

    /// The per-output scales c (nil when every c_o is 1).
    public func outputScales() -> [Float]? {
        let alpha = kind.outputScales(weight.value, rows: outputs, cols: fanIn)
        if let alpha { return alpha.map { inputScale * $0 } }
        return inputScale == 1 ? nil : [Float](repeating: inputScale, count: outputs)
    }

    /// y = (X S^T) * c, caching what `backward` needs.
    public func forward(_ x: Matrix) -> Matrix {
        cachedInput = x
        prepareForward()
        var y = Matrix.product(x, cachedWeights, transposeB: true)
        if let c = cachedScales { y.scaleColumns(c) }
        return y
    }

    /// Caches S and c for this forward pass: `forward` does, and so does a layer that computes its product
    /// block by block (`forwardBlock`) before its first block.
    func prepareForward() {
        cachedWeights = forwardWeights()
        cachedScales = outputScales()
    }

    /// Fills the latent weight gradient and returns dL/dX when asked.
    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        if computesWeightGradient {
            setWeightGradient(Matrix.product(dy, transposeA: true, cachedInput).data)      // [out, fanIn]
        }
        guard inputGradient else { return nil }
        var scaled = dy
        if let c = cachedScales { scaled.scaleColumns(c) }
        return Matrix.product(scaled, cachedWeights)
    }

    /// Sets the latent weight gradient from H = dy^T X (`[out, fanIn]`, however it was summed).
    func setWeightGradient(_ h: [Float]) {
        var g = kind.latentGradient(h, latent: weight.value, rows: outputs, cols: fanIn)
        if inputScale != 1 { for i in 0..<g.count { g[i] *= inputScale } }
        weight.grad = g
    }
}
