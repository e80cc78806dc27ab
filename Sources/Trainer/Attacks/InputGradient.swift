import Foundation

// The gradient of an attack loss with respect to the input pixels (on the [0, 1] scale), in evaluation
// mode: BatchNorm as its fixed affine, dropout off, the sign activations and the input quantizer
// passed straight through (BPDA, Athalye et al. 2018; the paper's PyTorch code did the same).

extension Network {
    /// Logits of `x` in evaluation mode.
    public func logits(_ x: Matrix) -> Matrix {
        var context = ForwardContext.evaluation
        return forward(x, context: &context)
    }

    /// dLoss/dx for each row of `x` with its label, and the logits at `x`.
    public func inputGradient(_ x: Matrix, labels: [Int], loss: AttackConfig.Loss) -> (gradient: Matrix, logits: Matrix) {
        let z = logits(x)
        let dz: Matrix
        switch loss {
        case .crossEntropy:
            dz = SoftmaxCrossEntropy.evaluate(logits: z, labels: labels).gradient
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
        return (backward(dz, inputGradient: true)!, z)
    }
}

/// The sign used for attack steps: 0 for a zero gradient (no information, no step), unlike the
/// sign(0) = +1 of weights and activations. Zero gradients are counted and reported.
@inline(__always)
func stepSign(_ g: Float) -> Float { g > 0 ? 1 : (g < 0 ? -1 : 0) }
