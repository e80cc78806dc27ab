// How dense and conv weights appear in the forward pass: one place for every weight-bearing layer.
//
// Binary (BNN) weights follow Hubara et al. 2016 ("Binarized Neural Networks", Alg. 1) as implemented
// in BinaryNet.pytorch (itayhubara/BinaryNet.pytorch, models/binarized_modules.py): the forward pass
// uses sign(W) of float latent weights, the gradient with respect to sign(W) is applied to W unchanged
// (straight through), and W is clipped to [-1, 1] after each step (Parameter.clip), so the |W| > 1
// cancellation of the paper's estimator never triggers. Deviation: sign(0) = +1 (Sign.swift).
//
// XNOR weights follow Rastegari et al. 2016 ("XNOR-Net", Sec. 3.1) as in jiecaoyu/XNOR-Net-PyTorch:
// W_b = alpha * sign(W) with one alpha = mean |W| per output row (output channel). Layers multiply by
// sign(W) and then scale each output by alpha (the same value, and the order an integer runtime
// uses), so the forward weights are sign(W) and alpha is an output scale. With G = dL/dsign(W)
// computed from the unscaled product, the latent gradient is the exact derivative with the
// straight-through sign:
//   dL/dW_ij = G_ij * alpha_i * 1{|W_ij| <= 1} + sign(W_ij) / n * sum_k G_ik sign(W_ik)
// Deviations: jiecaoyu's code further rescales this gradient by n * (1 - 1/n) (Adam is invariant to
// it); the paper's input-activation scale K is omitted, as in jiecaoyu's code (sign activations only).
// Layers never binarize their input: a SignActivation before them does.
//
// Ternary weights follow Li, Zhang & Liu 2016 ("Ternary Weight Networks", arXiv:1605.04711, Eq. 5-6): the
// forward weight is sign(W) where |W| > Delta and 0 elsewhere, with one Delta per layer, and the gradient
// passes straight through to the latent weights (as binary). They make a layer sparse, so that each unit
// reads few inputs and `verify` has fewer to decide (EEV, Jia & Rinard, NeurIPS 2020). Deviations:
// Delta comes from a sparsity target S instead of TWN's 0.7 * E|W|: the floor(S * n) weights of smallest
// |W| in the layer's n are 0 (the rule and its O(n) selection: WeightQuantizer+Ternary.swift), so the
// fraction of zeros is S to within one weight per layer, whatever the weights' spread; no alpha scale
// (BatchNorm follows every layer and absorbs it); the weights not zeroed keep binarySign (sign(0) = +1).
// S = 0 zeroes none: the forward weights are exactly binary's.

/// The weight representation of a layer: `[rows = outputs, cols = fan-in]` latent weights in, forward weights out.
public enum WeightQuantizer: String, Sendable, Codable {
    /// Float weights.
    case float
    /// sign(W) of float latent weights (BNN).
    case binary
    /// alpha * sign(W), alpha = mean |W| per output row (XNOR-Net).
    case xnor
    /// Sparse ternary weights in {-1, 0, +1}: sign(W) with the fraction `sparsity` of the layer's weights
    /// of smallest |W| set to 0 (TWN with a sparsity target). The sparsity is the layer's
    /// (`WeightedProduct.sparsity`, from `ModelConfig.weightSparsity`); a binary model's layers only.
    case ternary

    /// Latent weights are clipped to [-clip, clip] after each step (nil: not clipped).
    public var clip: Float? { self == .float ? nil : 1 }

    /// The weights the forward pass multiplies by: W, or sign(W) for binary and XNOR, or for ternary sign(W)
    /// with the floor(`sparsity` * n) weights of smallest |W| zeroed (`ternaryWeights`). `sparsity` is read
    /// by the ternary case only.
    public func forwardWeights(_ w: [Float], sparsity: Float = 0) -> [Float] {
        switch self {
        case .float: return w
        case .binary, .xnor: return w.map(binarySign)
        case .ternary: return WeightQuantizer.ternaryWeights(w, zeros: WeightQuantizer.zeroCount(sparsity: sparsity, of: w.count))
        }
    }

    /// Per-output scales applied after the product: XNOR's alpha, nil otherwise.
    public func outputScales(_ w: [Float], rows: Int, cols: Int) -> [Float]? {
        self == .xnor ? WeightQuantizer.xnorScales(w, rows: rows, cols: cols) : nil
    }

    /// XNOR-Net's per-row scales alpha_o = mean_i |W_oi|.
    public static func xnorScales(_ w: [Float], rows: Int, cols: Int) -> [Float] {
        (0..<rows).map { o in
            var sum: Float = 0
            for i in 0..<cols { sum += abs(w[o * cols + i]) }
            return sum / Float(cols)
        }
    }

    /// Maps G = dL/d(forward weights), from the product before output scaling, to dL/d(latent weights):
    /// straight through for float, binary and ternary, the formula above for XNOR.
    public func latentGradient(_ g: [Float], latent w: [Float], rows: Int, cols: Int) -> [Float] {
        guard self == .xnor else { return g }
        let alpha = WeightQuantizer.xnorScales(w, rows: rows, cols: cols)
        var out = g
        let inv = 1 / Float(cols)
        for o in 0..<rows {
            let row = o * cols
            var signed: Float = 0
            for i in 0..<cols { signed += g[row + i] * binarySign(w[row + i]) }
            for i in 0..<cols {
                let ste: Float = abs(w[row + i]) <= 1 ? 1 : 0
                out[row + i] = g[row + i] * alpha[o] * ste + binarySign(w[row + i]) * inv * signed
            }
        }
        return out
    }
}
