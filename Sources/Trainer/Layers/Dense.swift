// Dense (fully connected) layer with float, binary (BNN) or XNOR weights; how weights are binarized
// and how their gradients pass through is WeightQuantizer.swift, shared with Conv2D.

/// `y = x * W^T (+ b)`: x `[batch, in]`, W `[out, in]`, y `[batch, out]`.
public final class Dense: Layer {
    /// Input features.
    public let inputs: Int
    /// Output features.
    public let outputs: Int
    /// Float, binary or XNOR weights.
    public let kind: WeightQuantizer
    /// `[out, in]` weights (latent weights when binary).
    public let weight: Parameter
    /// `[out]` bias, or nil.
    public let bias: Parameter?

    private var cachedInput = Matrix(rows: 0, cols: 0)
    private var effectiveWeight = Matrix(rows: 0, cols: 0)

    /// A layer initialised as PyTorch's `nn.Linear`: U(-1/sqrt(in), 1/sqrt(in)) for weights and bias.
    public init(name: String, inputs: Int, outputs: Int, weights kind: WeightQuantizer, bias: Bool,
                random: inout SeededRandom) {
        self.inputs = inputs
        self.outputs = outputs
        self.kind = kind
        let bound = 1 / Float(inputs).squareRoot()
        let w = (0..<(inputs * outputs)).map { _ in random.uniform(-bound, bound) }
        weight = Parameter(name: name + ".weight", shape: [outputs, inputs], value: w, decays: true, clip: kind.clip)
        self.bias = bias
            ? Parameter(name: name + ".bias", shape: [outputs],
                        value: (0..<outputs).map { _ in random.uniform(-bound, bound) }, decays: false)
            : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// The weights the forward pass multiplies by, `[out, in]`.
    public func forwardWeights() -> Matrix {
        Matrix(rows: outputs, cols: inputs, data: kind.forwardWeights(weight.value, rows: outputs, cols: inputs))
    }

    /// XNOR-Net's per-output scales (meaningful for XNOR weights).
    public func xnorScales() -> [Float] { WeightQuantizer.xnorScales(weight.value, rows: outputs, cols: inputs) }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        precondition(x.cols == inputs, "Dense expects \(inputs) inputs, got \(x.cols)")
        cachedInput = x
        effectiveWeight = forwardWeights()
        var y = Matrix.product(x, effectiveWeight, transposeB: true)   // [B, out]
        if let bias { y.addRowVector(bias.value) }
        return y
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        // dW = dy^T x: [out, B] x [B, in], then through the weight quantizer.
        weight.grad = kind.latentGradient(Matrix.product(dy, transposeA: true, cachedInput).data,
                                          latent: weight.value, rows: outputs, cols: inputs)
        if let bias { bias.grad = dy.columnSums() }
        // dx = dy W: [B, out] x [out, in].
        return inputGradient ? Matrix.product(dy, effectiveWeight) : nil
    }
}
