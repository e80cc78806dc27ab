import ModelFormat

// Where the certified-interval penalty (Loss/CertifiedIntervalPenalty.swift) attaches to a network: the first
// block, input quantizer → binary Dense → BatchNorm → sign. The session sets the batch's interval on that
// BatchNorm before the weight update's forward pass and adds the term's weight gradient after the backward
// pass (the Dense layer's own backward pass overwrites its gradient, so the term's part comes after it).

extension Network {
    /// The first block's Dense and BatchNorm when the term applies: a binary (not XNOR) Dense first weight
    /// layer on δ < 8 input codes, followed by a BatchNorm that feeds a sign; the error names what is not so.
    public func certifiedFirstBlock() throws(TrainerError) -> (dense: Dense, norm: BatchNorm) {
        guard config.inputBits < 8 else {
            throw .invalidConfig("the certified-interval penalty needs delta-bit input (input bits 1...7, not \(config.inputBits)): 8-bit input has no levels")
        }
        guard layers.count > 3, let dense = layers[1] as? Dense, let norm = layers[2] as? BatchNorm,
              layers[3] is SignActivation else {
            throw .invalidConfig("the certified-interval penalty needs a fully connected first block (Dense, BatchNorm, sign): \(config.summary) has none")
        }
        guard dense.kind == .binary else {
            throw .invalidConfig("the certified-interval penalty needs binary first-layer weights, not \(dense.kind.rawValue) (\(config.summary))")
        }
        return (dense, norm)
    }

    /// Sets the term for the batch `x` (pixels on the [0, 1] scale) under a budget of `budget` pixel units with
    /// weight `weight`; returns the slack the weight gradient needs (nil, and the term off, for weight 0).
    public func setCertifiedInterval(batch x: Matrix, budget: Int, weight: Float) throws(TrainerError) -> CertifiedIntervalPenalty.Slack? {
        let (dense, norm) = try certifiedFirstBlock()
        guard weight > 0 else { norm.certifiedInterval = nil; return nil }
        let slack = CertifiedIntervalPenalty.slack(x, bits: config.inputBits, budget: budget)
        norm.certifiedInterval = CertifiedIntervalPenalty.interval(slack, weights: dense.product.forwardWeights(),
                                                                   scale: dense.product.inputScale, weight: weight)
        return slack
    }

    /// After the backward pass: adds the term's gradient to the first layer's (latent, straight through) weight
    /// gradient, and turns the term off.
    public func finishCertifiedInterval(_ slack: CertifiedIntervalPenalty.Slack) throws(TrainerError) {
        let (dense, norm) = try certifiedFirstBlock()
        defer { norm.certifiedInterval = nil }
        let (dUp, dDown) = norm.intervalGradient
        guard !dUp.isEmpty else { return }
        let g = CertifiedIntervalPenalty.weightGradient(slack, dUp: dUp, dDown: dDown, units: dense.outputs,
                                                        scale: dense.product.inputScale)
        for k in 0..<g.count { dense.weight.grad[k] += g[k] }
    }
}
