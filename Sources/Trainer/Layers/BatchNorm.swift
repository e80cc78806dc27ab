// Batch normalization over features (Ioffe & Szegedy 2015), PyTorch's BatchNorm1d conventions:
// biased batch variance for normalizing, unbiased variance for the running estimate, momentum 0.1,
// eps 1e-5. Evaluation uses the precomputed per-channel affine y = x * scale + shift (`evalAffine`),
// the form the model file stores, so a runtime reproduces it exactly.
// Over conv feature maps (NHWC, `[B, H*W*C]`) the same layer normalizes per channel: the batch is viewed
// as `[B*H*W, C]`, which is PyTorch's BatchNorm2d.

/// BatchNorm over the feature (channel) axis of `[rows, features]`, or of `[B, H*W*features]` NHWC maps.
public final class BatchNorm: Layer {
    /// Number of features.
    public let features: Int
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// Weight of the newest batch in the running statistics.
    public let momentum: Float
    /// Scale (gamma), initialised to 1.
    public let gamma: Parameter
    /// Shift (beta), initialised to 0.
    public let beta: Parameter
    /// Running mean, initialised to 0.
    public let runningMean: StateTensor
    /// Running (unbiased) variance, initialised to 1.
    public let runningVar: StateTensor

    /// Weight of the stable-unit penalty (StableUnitPenalty.swift) on the next training-mode forward pass, 0 for
    /// none; the training session sets it on layers that feed a sign, for the weight update's pass only.
    public var stablePenalty: Float = 0
    /// The penalty's value on the last training-mode forward pass (0 without one).
    public private(set) var lastPenalty: Float = 0
    /// dPenalty/dv of that pass, per element (empty without one); used by the next backward pass.
    private var penaltyGrad: [Float] = []
    /// The first layer's reachable interval for the certified-interval penalty (CertifiedIntervalPenalty.swift)
    /// on the next training-mode forward pass, nil for none; set by the training session on the first block.
    public var certifiedInterval: CertifiedIntervalPenalty.Interval?
    /// dPenalty/d(up) and d(down) of the certified-interval term on the last training pass (empty without one),
    /// for the first layer's weight gradient (Network+CertifiedInterval.swift).
    public private(set) var intervalGradient: (up: [Float], down: [Float]) = ([], [])
    /// Per element of that pass, 1 where the term found the unit open, else 0 (empty without one).
    public private(set) var lastOpen: [Float] = []
    /// dPenalty/dσ per feature of that term (empty without one): reaches the input through dσ/dx = x̂ / N.
    private var stdGrad: [Float] = []

    private var xhat = Matrix(rows: 0, cols: 0)
    private var invStd: [Float] = []
    private var evalScale: [Float] = []
    private var trainedLast = true

    /// A fresh layer named `name` (tensors `name.weight`, `name.bias`, `name.running_mean`, `name.running_var`).
    public init(name: String, features: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        self.features = features
        self.epsilon = epsilon
        self.momentum = momentum
        gamma = Parameter(name: name + ".weight", shape: [features],
                          value: [Float](repeating: 1, count: features), decays: false)
        beta = Parameter(name: name + ".bias", shape: [features],
                         value: [Float](repeating: 0, count: features), decays: false)
        runningMean = StateTensor(name: name + ".running_mean", value: [Float](repeating: 0, count: features))
        runningVar = StateTensor(name: name + ".running_var", value: [Float](repeating: 1, count: features))
    }

    public var parameters: [Parameter] { [gamma, beta] }
    public var state: [StateTensor] { [runningMean, runningVar] }

    /// The evaluation-mode affine: scale = gamma / sqrt(running_var + eps), shift = beta - running_mean * scale.
    /// Evaluation computes `x * scale + shift` as two rounded float operations (multiply, then add).
    public func evalAffine() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: features)
        var shift = [Float](repeating: 0, count: features)
        for c in 0..<features {
            scale[c] = gamma.value[c] / (runningVar.value[c] + epsilon).squareRoot()
            shift[c] = beta.value[c] - runningMean.value[c] * scale[c]
        }
        return (scale, shift)
    }

    public func forward(_ input: Matrix, context: inout ForwardContext) -> Matrix {
        precondition(input.cols % features == 0, "BatchNorm over \(features) channels got \(input.cols) values per row")
        let x = Matrix(rows: input.rows * (input.cols / features), cols: features, data: input.data)
        return Matrix(rows: input.rows, cols: input.cols, data: normalize(x, context: context).data)
    }

    public func backward(_ dyInput: Matrix, inputGradient: Bool) -> Matrix? {
        let dy = Matrix(rows: dyInput.rows * (dyInput.cols / features), cols: features, data: dyInput.data)
        return gradient(dy, inputGradient: inputGradient).map {
            Matrix(rows: dyInput.rows, cols: dyInput.cols, data: $0.data)
        }
    }

    private func normalize(_ x: Matrix, context: ForwardContext) -> Matrix {
        var y = Matrix(rows: x.rows, cols: features)
        trainedLast = context.training
        if !context.training {
            let (scale, shift) = evalAffine()
            evalScale = scale
            x.data.withUnsafeBufferPointer { px in
                y.data.withUnsafeMutableBufferPointer { py in
                    for r in 0..<x.rows {
                        let o = r * features
                        for c in 0..<features {
                            let scaled = px[o + c] * scale[c]
                            py[o + c] = scaled + shift[c]
                        }
                    }
                }
            }
            return y
        }
        let n = x.rows
        var mean = [Float](repeating: 0, count: features)
        var variance = [Float](repeating: 0, count: features)
        x.data.withUnsafeBufferPointer { px in
            for r in 0..<n {
                for c in 0..<features { mean[c] += px[r * features + c] }
            }
            for c in 0..<features { mean[c] /= Float(n) }
            for r in 0..<n {
                for c in 0..<features {
                    let d = px[r * features + c] - mean[c]
                    variance[c] += d * d
                }
            }
        }
        for c in 0..<features { variance[c] /= Float(n) }
        invStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
        xhat = Matrix(rows: n, cols: features)
        let g = gamma.value, b = beta.value, inv = invStd
        x.data.withUnsafeBufferPointer { px in
            xhat.data.withUnsafeMutableBufferPointer { ph in
                y.data.withUnsafeMutableBufferPointer { py in
                    for r in 0..<n {
                        let o = r * features
                        for c in 0..<features {
                            let h = (px[o + c] - mean[c]) * inv[c]
                            ph[o + c] = h
                            py[o + c] = g[c] * h + b[c]
                        }
                    }
                }
            }
        }
        if stablePenalty > 0 {
            (lastPenalty, penaltyGrad) = StableUnitPenalty.evaluate(xhat: xhat.data, features: features, gamma: g, beta: b, weight: stablePenalty)
        } else {
            (lastPenalty, penaltyGrad) = (0, [])
        }
        (intervalGradient, stdGrad, lastOpen) = (([], []), [], [])
        if let interval = certifiedInterval {
            precondition(interval.up.count == xhat.data.count, "certified interval of \(interval.up.count) values for \(xhat.data.count)")
            let e = CertifiedIntervalPenalty.evaluate(xhat: xhat.data, features: features, invStd: inv, gamma: g, beta: b, interval: interval)
            lastPenalty += e.value
            penaltyGrad = penaltyGrad.isEmpty ? e.dv : zip(penaltyGrad, e.dv).map { $0 + $1 }
            (intervalGradient, stdGrad, lastOpen) = ((e.dUp, e.dDown), e.dStd, e.open)
        }
        let unbias = n > 1 ? Float(n) / Float(n - 1) : 1
        for c in 0..<features {
            runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * mean[c]
            runningVar.value[c] = (1 - momentum) * runningVar.value[c] + momentum * variance[c] * unbias
        }
        return y
    }

    private func gradient(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        var dx = Matrix(rows: dy.rows, cols: features)
        if !trainedLast {
            // Eval mode is a fixed affine: dx = dy * scale; gamma and beta gradients are not needed
            // for attacks, which is the only use of an eval-mode backward.
            let s = evalScale
            dy.data.withUnsafeBufferPointer { pd in
                dx.data.withUnsafeMutableBufferPointer { px in
                    for r in 0..<dy.rows {
                        for c in 0..<features { px[r * features + c] = pd[r * features + c] * s[c] }
                    }
                }
            }
            return dx
        }
        let n = dy.rows
        if penaltyGrad.count == dy.data.count {
            defer { penaltyGrad = [] }
            return penalizedGradient(dy, inputGradient: inputGradient)
        }
        var sumDy = [Float](repeating: 0, count: features)
        var sumDyXhat = [Float](repeating: 0, count: features)
        dy.data.withUnsafeBufferPointer { pd in
            xhat.data.withUnsafeBufferPointer { ph in
                for r in 0..<n {
                    let o = r * features
                    for c in 0..<features {
                        sumDy[c] += pd[o + c]
                        sumDyXhat[c] += pd[o + c] * ph[o + c]
                    }
                }
            }
        }
        gamma.grad = sumDyXhat
        beta.grad = sumDy
        guard inputGradient else { return nil }
        // dx = gamma * invstd / N * (N dy - sum(dy) - xhat * sum(dy xhat))
        let g = gamma.value, inv = invStd
        let fn = Float(n)
        dy.data.withUnsafeBufferPointer { pd in
            xhat.data.withUnsafeBufferPointer { ph in
                dx.data.withUnsafeMutableBufferPointer { px in
                    for r in 0..<n {
                        let o = r * features
                        for c in 0..<features {
                            let k = g[c] * inv[c] / fn
                            px[o + c] = k * (fn * pd[o + c] - sumDy[c] - ph[o + c] * sumDyXhat[c])
                        }
                    }
                }
            }
        }
        return dx
    }

    /// The training-mode backward pass with the stable-unit penalty of the forward pass: v = xhat + beta / gamma
    /// adds dP/dv to dL/dxhat (beside gamma * dy), dP/dv / gamma to beta's gradient and -dP/dv * beta / gamma^2
    /// to gamma's (0 where |gamma| is below StableUnitPenalty.minGamma, where v uses the clamped gamma). The
    /// certified-interval term's dPenalty/dσ adds dPenalty/dσ · x̂ / N to dx (σ² is the batch's biased variance).
    /// Kept apart from `gradient` so that a run without the penalty computes exactly what it did before.
    private func penalizedGradient(_ dy: Matrix, inputGradient: Bool) -> Matrix? {
        let n = dy.rows, g = gamma.value, b = beta.value, inv = invStd, dv = penaltyGrad
        var dxhat = [Float](repeating: 0, count: dy.data.count)
        var gammaGrad = [Float](repeating: 0, count: features), betaGrad = gammaGrad
        var sumDxhat = gammaGrad, sumDxhatXhat = gammaGrad
        for r in 0..<n {
            for c in 0..<features {
                let i = r * features + c, h = xhat.data[i], d = dy.data[i]
                let safe = StableUnitPenalty.safeGamma(g[c])
                gammaGrad[c] += d * h - (abs(g[c]) >= StableUnitPenalty.minGamma ? dv[i] * b[c] / (safe * safe) : 0)
                betaGrad[c] += d + dv[i] / safe
                dxhat[i] = g[c] * d + dv[i]
                sumDxhat[c] += dxhat[i]
                sumDxhatXhat[c] += dxhat[i] * h
            }
        }
        gamma.grad = gammaGrad
        beta.grad = betaGrad
        guard inputGradient else { return nil }
        // dx = invstd / N * (N dxhat - sum(dxhat) - xhat * sum(dxhat xhat))
        var dx = Matrix(rows: n, cols: features)
        let fn = Float(n)
        for r in 0..<n {
            for c in 0..<features {
                let i = r * features + c
                dx.data[i] = inv[c] / fn * (fn * dxhat[i] - sumDxhat[c] - xhat.data[i] * sumDxhatXhat[c])
                if !stdGrad.isEmpty { dx.data[i] += stdGrad[c] * xhat.data[i] / fn }
            }
        }
        return dx
    }
}
