// Inverted dropout (Srivastava et al. 2014): in training each value is zeroed with probability p and
// the survivors are scaled by 1/(1-p); evaluation is the identity. Placed after the activation, so in
// a binary net it drops +/-1 values (a dropped value removes that connection from the next product,
// as BinaryNet.pytorch's dropout-then-sign with torch.sign(0) = 0 does).

/// Dropout with drop probability `p`.
public final class Dropout: Layer {
    /// Probability of dropping a value in training.
    public let p: Float
    private var mask: [Float] = []
    private var trainedLast = false

    /// Dropout dropping with probability `p` (0 <= p < 1).
    public init(p: Float) {
        precondition(p >= 0 && p < 1, "dropout probability \(p) outside [0, 1)")
        self.p = p
    }

    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        trainedLast = context.training && p > 0
        guard trainedLast else { return x }
        let keep = 1 - p
        let scale = 1 / keep
        mask = [Float](repeating: 0, count: x.data.count)
        for i in 0..<mask.count where context.random.nextUnit() < keep { mask[i] = scale }
        var y = x
        for i in 0..<y.data.count { y.data[i] *= mask[i] }
        return y
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        guard trainedLast else { return dy }
        var dx = dy
        for i in 0..<dx.data.count { dx.data[i] *= mask[i] }
        return dx
    }
}
