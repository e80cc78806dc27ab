// Dense (fully connected) layer, float or binary weights.
//
// Binary weights follow Hubara et al. 2016 ("Binarized Neural Networks", Alg. 1) as implemented in
// BinaryNet.pytorch (itayhubara/BinaryNet.pytorch, models/binarized_modules.py, BinarizeLinear):
// forward uses sign(W) of float latent weights, the gradient with respect to sign(W) is applied to
// W unchanged (straight through), and W is clipped to [-1, 1] after each step (Parameter.clip), so the
// |W| > 1 cancellation of the paper's estimator never triggers. Deviation: sign(0) = +1 (Sign.swift).
// The layer does not binarize its input: a SignActivation before it does.

/// `y = x * W^T (+ b)`: x `[batch, in]`, W `[out, in]`, y `[batch, out]`.
public final class Dense: Layer {
    /// How the layer's weights are represented in the forward pass.
    public enum Weights: String, Sendable, Codable {
        /// Float weights.
        case float
        /// sign(W) of float latent weights (BNN).
        case binary
    }

    /// Input features.
    public let inputs: Int
    /// Output features.
    public let outputs: Int
    /// Float or binary weights.
    public let kind: Weights
    /// `[out, in]` weights (latent weights when binary).
    public let weight: Parameter
    /// `[out]` bias, or nil.
    public let bias: Parameter?

    private var cachedInput = Matrix(rows: 0, cols: 0)
    private var effectiveWeight = Matrix(rows: 0, cols: 0)

    /// A layer initialised as PyTorch's `nn.Linear`: U(-1/sqrt(in), 1/sqrt(in)) for weights and bias.
    public init(name: String, inputs: Int, outputs: Int, weights kind: Weights, bias: Bool,
                random: inout SeededRandom) {
        self.inputs = inputs
        self.outputs = outputs
        self.kind = kind
        let bound = 1 / Float(inputs).squareRoot()
        let w = (0..<(inputs * outputs)).map { _ in random.uniform(-bound, bound) }
        weight = Parameter(name: name + ".weight", shape: [outputs, inputs], value: w, decays: true,
                           clip: kind == .binary ? 1 : nil)
        self.bias = bias
            ? Parameter(name: name + ".bias", shape: [outputs],
                        value: (0..<outputs).map { _ in random.uniform(-bound, bound) }, decays: false)
            : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// The weights the forward pass multiplies by: W, or sign(W) for binary layers.
    public func forwardWeights() -> Matrix {
        switch kind {
        case .float: return Matrix(rows: outputs, cols: inputs, data: weight.value)
        case .binary: return Matrix(rows: outputs, cols: inputs, data: weight.value.map(binarySign))
        }
    }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        precondition(x.cols == inputs, "Dense expects \(inputs) inputs, got \(x.cols)")
        cachedInput = x
        effectiveWeight = forwardWeights()
        var y = Matrix.product(x, effectiveWeight, transposeB: true)   // [B, out]
        if let bias {
            bias.value.withUnsafeBufferPointer { b in
                y.data.withUnsafeMutableBufferPointer { p in
                    for r in 0..<y.rows {
                        for c in 0..<outputs { p[r * outputs + c] += b[c] }
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        // dW = dy^T x: [out, B] x [B, in]; straight through sign(W) for binary weights.
        weight.grad = Matrix.product(dy, transposeA: true, cachedInput).data
        if let bias {
            var g = [Float](repeating: 0, count: outputs)
            dy.data.withUnsafeBufferPointer { p in
                for r in 0..<dy.rows {
                    for c in 0..<outputs { g[c] += p[r * outputs + c] }
                }
            }
            bias.grad = g
        }
        // dx = dy W: [B, out] x [out, in].
        return inputGradient ? Matrix.product(dy, effectiveWeight) : nil
    }
}
