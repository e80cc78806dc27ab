import Foundation

// The gradient of an attack loss with respect to the input pixels (on the [0, 1] scale), in evaluation
// mode: BatchNorm as its fixed affine, dropout off, the sign activations and the input quantizer
// passed straight through (BPDA, Athalye et al. 2018; the paper's PyTorch code did the same).
// With `.trueGradient` the piecewise-constant parts keep their true derivative, zero almost everywhere:
// a sign activation, or an input quantizer below 8 bits, zeroes the whole input gradient. At 8 bits the
// quantizer is the identity on 8-bit images (it only rounds mid-attack inputs) and passes the gradient.

extension Network {
    /// Logits of `x` in evaluation mode.
    public func logits(_ x: Matrix) -> Matrix {
        var context = ForwardContext.evaluation
        return forward(x, context: &context)
    }

    /// dLoss/dx for each row of `x` with its label, and the logits at `x` (a label outside the logits'
    /// columns throws `dataMismatch`).
    public func inputGradient(_ x: Matrix, labels: [Int], loss: AttackConfig.Loss,
                              gradient: AttackConfig.Gradient = .straightThrough) throws(TrainerError) -> (gradient: Matrix, logits: Matrix) {
        let z = logits(x)
        try checkLabels(labels, of: z)
        let dz: Matrix
        switch loss {
        case .crossEntropy:
            dz = try SoftmaxCrossEntropy.evaluate(logits: z, labels: labels).gradient
        case .margin:
            // max_{j != y} z_j - z_y: +1 on the best wrong class, -1 on the true one.
            var g = Matrix(rows: z.rows, cols: z.cols)
            for r in 0..<z.rows {
                var best = -1
                for c in 0..<z.cols where c != labels[r] && (best < 0 || z[r, c] > z[r, best]) { best = c }
                g[r, best] = 1
                g[r, labels[r]] = -1
            }
            dz = g
        }
        if gradient == .trueGradient && hasPiecewiseConstantPath {
            return (Matrix(rows: x.rows, cols: x.cols), z)
        }
        // Only dL/dx is wanted: skip the weight-gradient products (a third of the backward pass).
        let products = layers.compactMap { ($0 as? Dense)?.product ?? ($0 as? Conv2D)?.product }
        let saved = products.map(\.computesWeightGradient)
        for p in products { p.computesWeightGradient = false }
        defer { for (p, s) in zip(products, saved) { p.computesWeightGradient = s } }
        return (backward(dz, inputGradient: true)!, z)
    }

    /// Whether every path from the input to the logits crosses a piecewise-constant function (a sign
    /// activation, or the input quantizer below 8 bits), so the true input gradient is zero almost everywhere.
    public var hasPiecewiseConstantPath: Bool {
        layers.contains { layer in
            if layer is SignActivation { return true }
            if let q = layer as? InputQuantizer { return q.bits < 8 }
            return false
        }
    }

    /// The input quantizer's bits (8: the raw image).
    public var inputBits: Int { (layers.first as? InputQuantizer)?.bits ?? 8 }
}

/// The sign used for attack steps: 0 for a zero gradient (no information, no step), unlike the
/// sign(0) = +1 of weights and activations. Zero gradients are counted and reported.
@inline(__always)
func stepSign(_ g: Float) -> Float { g > 0 ? 1 : (g < 0 ? -1 : 0) }
