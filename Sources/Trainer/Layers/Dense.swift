// Dense (fully connected) layer, float or binary weights.
//
// Binary weights follow Hubara et al. 2016 ("Binarized Neural Networks", Alg. 1) as implemented in
// BinaryNet.pytorch (itayhubara/BinaryNet.pytorch, models/binarized_modules.py, BinarizeLinear):
// forward uses sign(W) of float latent weights, the gradient with respect to sign(W) is applied to
// W unchanged (straight through), and W is clipped to [-1, 1] after each step (Parameter.clip), so the
// |W| > 1 cancellation of the paper's estimator never triggers. Deviation: sign(0) = +1 (Sign.swift).
// XNOR weights follow Rastegari et al. 2016 ("XNOR-Net", Sec. 3.1) as in jiecaoyu/XNOR-Net-PyTorch:
// W_b = alpha * sign(W) with one alpha = mean |W| per output row (channel). The latent gradient is the
// exact derivative of that expression with the straight-through sign:
//   dL/dW_ij = g_ij * alpha_i * 1{|W_ij| <= 1} + sign(W_ij) / n * sum_k g_ik sign(W_ik)
// Deviation: jiecaoyu's code further rescales this gradient by n * (1 - 1/n); Adam is invariant to it.
// The input-activation scale K of the paper is omitted, as in jiecaoyu's code (sign activations only).
// The layer does not binarize its input: a SignActivation before it does.

/// `y = x * W^T (+ b)`: x `[batch, in]`, W `[out, in]`, y `[batch, out]`.
public final class Dense: Layer {
    /// How the layer's weights are represented in the forward pass.
    public enum Weights: String, Sendable, Codable {
        /// Float weights.
        case float
        /// sign(W) of float latent weights (BNN).
        case binary
        /// alpha * sign(W), alpha = mean |W| per output row (XNOR-Net).
        case xnor
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
                           clip: kind == .float ? nil : 1)
        self.bias = bias
            ? Parameter(name: name + ".bias", shape: [outputs],
                        value: (0..<outputs).map { _ in random.uniform(-bound, bound) }, decays: false)
            : nil
    }

    public var parameters: [Parameter] { bias.map { [weight, $0] } ?? [weight] }

    /// The weights the forward pass multiplies by: W, sign(W) (binary) or alpha * sign(W) (XNOR).
    public func forwardWeights() -> Matrix {
        switch kind {
        case .float: return Matrix(rows: outputs, cols: inputs, data: weight.value)
        case .binary: return Matrix(rows: outputs, cols: inputs, data: weight.value.map(binarySign))
        case .xnor:
            let alpha = xnorScales()
            var w = weight.value
            for o in 0..<outputs {
                for i in 0..<inputs { w[o * inputs + i] = alpha[o] * binarySign(w[o * inputs + i]) }
            }
            return Matrix(rows: outputs, cols: inputs, data: w)
        }
    }

    /// XNOR-Net's per-output scales alpha_o = mean_i |W_oi|.
    public func xnorScales() -> [Float] {
        (0..<outputs).map { o in
            var sum: Float = 0
            for i in 0..<inputs { sum += abs(weight.value[o * inputs + i]) }
            return sum / Float(inputs)
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
        if kind == .xnor { weight.grad = xnorLatentGradient(weight.grad) }
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

    /// Maps dL/dW_b to dL/dW for W_b = alpha * sign(W) (see the header comment).
    private func xnorLatentGradient(_ g: [Float]) -> [Float] {
        let alpha = xnorScales()
        let w = weight.value
        var out = g
        let inv = 1 / Float(inputs)
        for o in 0..<outputs {
            let row = o * inputs
            var signed: Float = 0
            for i in 0..<inputs { signed += g[row + i] * binarySign(w[row + i]) }
            for i in 0..<inputs {
                let ste: Float = abs(w[row + i]) <= 1 ? 1 : 0
                out[row + i] = g[row + i] * alpha[o] * ste + binarySign(w[row + i]) * inv * signed
            }
        }
        return out
    }
}
