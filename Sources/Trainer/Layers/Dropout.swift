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
        // Four 16-bit uniform draws per 64-bit random number; keep when draw < keep * 65536.
        let threshold = UInt64((keep * 65_536).rounded())
        let n = x.data.count
        mask = [Float](repeating: 0, count: n)
        var y = x
        mask.withUnsafeMutableBufferPointer { m in
            y.data.withUnsafeMutableBufferPointer { py in
                var i = 0
                while i < n {
                    var bits = context.random.next()
                    for _ in 0..<min(4, n - i) {
                        let keepIt = (bits & 0xFFFF) < threshold
                        m[i] = keepIt ? scale : 0
                        py[i] *= m[i]
                        bits >>= 16
                        i += 1
                    }
                }
            }
        }
        return y
    }

    public func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        guard inputGradient else { return nil }
        guard trainedLast else { return dy }
        var dx = dy
        mask.withUnsafeBufferPointer { m in
            dx.data.withUnsafeMutableBufferPointer { d in
                for i in 0..<d.count { d[i] *= m[i] }
            }
        }
        return dx
    }
}
