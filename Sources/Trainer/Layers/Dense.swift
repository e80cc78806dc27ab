// Dense (fully connected) layer with float, binary (BNN), XNOR or sparse ternary weights. The product, its output
// scales and its gradients are WeightedProduct.swift; how weights are binarized is WeightQuantizer.swift.

/// `y = (x * W^T) * c (+ b)`: x `[batch, in]`, W `[out, in]`, y `[batch, out]` (c: WeightedProduct).
public final class Dense: Layer {
    /// Input features.
    public let inputs: Int
    /// Output features.
    public let outputs: Int
    /// The weights and their scaled product.
    public let product: WeightedProduct
    /// `[out]` bias, or nil.
    public let bias: Parameter?

    /// Float, binary, XNOR or ternary weights.
    public var kind: WeightQuantizer { product.kind }
    /// `[out, in]` weights (latent weights when binary).
    public var weight: Parameter { product.weight }

    /// A layer initialised as PyTorch's `nn.Linear`: U(-1/sqrt(in), 1/sqrt(in)) for weights and bias;
    /// `sparsity` is the fraction of zeros of ternary weights.
    public init(name: String, inputs: Int, outputs: Int, weights kind: WeightQuantizer, sparsity: Float = 0, bias: Bool,
                random: inout SeededRandom) {
        self.inputs = inputs
        self.outputs = outputs
        let bound = 1 / Float(inputs).squareRoot()
        let w = (0..<(inputs * outputs)).map { _ in random.uniform(-bound, bound) }
        product = WeightedProduct(kind: kind, weight: Parameter(name: name + ".weight", shape: [outputs, inputs],
                                                                value: w, decays: true, clip: kind.clip),
                                   sparsity: sparsity)
        self.bias = bias
            ? Parameter(name: name + ".bias", shape: [outputs],
                        value: (0..<outputs).map { _ in random.uniform(-bound, bound) }, decays: false)
            : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        precondition(x.cols == inputs, "Dense expects \(inputs) inputs, got \(x.cols)")
        var y = product.forward(x)
        if let bias { y.addRowVector(bias.value) }
        return y
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        if let bias { bias.grad = dy.columnSums() }
        return product.backward(dy, inputGradient: inputGradient)
    }
}
