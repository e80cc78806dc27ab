import ModelFormat

// Where the certified-interval penalty (Loss/CertifiedIntervalPenalty.swift) attaches to a network: the first
// block, input quantizer → binary Dense → BatchNorm → sign, and with `--certify-layers N` the next N − 1 blocks,
// Dense → BatchNorm → sign (→ dropout). The session runs the weight update's forward pass through
// `forwardCertified`, which sets each block's interval on its BatchNorm just before that BatchNorm runs (a deeper
// block's interval needs the previous block's open units, known only once it has run), and adds the term's weight
// gradients after the backward pass (a Dense layer's own backward pass overwrites its gradient, so the term's part
// comes after it).

extension Network {
    /// One block the term acts on in a pass: its Dense, its BatchNorm and the slack of the Dense's input.
    public struct CertifiedBlock {
        public let dense: Dense
        public let norm: BatchNorm
        public let slack: CertifiedIntervalPenalty.Slack
    }

    /// The first block's Dense and BatchNorm when the term applies: a binary (not XNOR) Dense first weight
    /// layer on δ < 8 input codes, followed by a BatchNorm that feeds a sign; the error names what is not so.
    public func certifiedFirstBlock() throws(TrainerError) -> (dense: Dense, norm: BatchNorm) {
        try certifiedBlocks(1)[0]
    }

    /// The first `count` blocks' Dense and BatchNorm when the term applies to all of them: the first as
    /// `certifiedFirstBlock` says, each later one a binary Dense on the previous block's signs, then a BatchNorm
    /// that feeds a sign; the error names what is not so (also a count above the hidden layers there are).
    public func certifiedBlocks(_ count: Int) throws(TrainerError) -> [(dense: Dense, norm: BatchNorm)] {
        guard config.inputBits < 8 else {
            throw .invalidConfig("the certified-interval penalty needs delta-bit input (input bits 1...7, not \(config.inputBits)): 8-bit input has no levels")
        }
        guard layers.count > 3, layers[1] is Dense, layers[2] is BatchNorm, layers[3] is SignActivation else {
            throw .invalidConfig("the certified-interval penalty needs a fully connected first block (Dense, BatchNorm, sign): \(config.summary) has none")
        }
        var blocks: [(dense: Dense, norm: BatchNorm)] = []
        for (i, layer) in layers.enumerated() where i + 2 < layers.count {
            guard let dense = layer as? Dense, let norm = layers[i + 1] as? BatchNorm, layers[i + 2] is SignActivation else { continue }
            guard dense.kind == .binary || dense.kind == .ternary else {
                throw .invalidConfig("the certified-interval penalty needs binary weights in the layers it acts on, not \(dense.kind.rawValue) in layer \(blocks.count + 1) (\(config.summary))")
            }
            blocks.append((dense, norm))
            if blocks.count == count { return blocks }
        }
        throw .invalidConfig("the certified-interval penalty on \(count) layers needs \(count) hidden sign layers: \(config.summary) has \(blocks.count)")
    }

    /// Sets the term for the batch `x` (pixels on the [0, 1] scale) under a budget of `budget` pixel units with
    /// weight `weight`; returns the slack the weight gradient needs (nil, and the term off, for weight 0).
    public func setCertifiedInterval(batch x: Matrix, budget: Int, weight: Float) throws(TrainerError) -> CertifiedIntervalPenalty.Slack? {
        let (dense, norm) = try certifiedFirstBlock()
        guard weight > 0 else { norm.certifiedInterval = nil; return nil }
        let slack = CertifiedIntervalPenalty.slack(x, bits: config.inputBits, budget: budget)
        norm.certifiedInterval = CertifiedIntervalPenalty.interval(slack, weights: dense.product.forwardWeights(),
                                                                   scale: dense.product.inputScale, weight: weight,
                                                                   ternary: dense.kind == .ternary)
        return slack
    }

    /// The training forward pass with the term on the first `count` blocks (`certifiedBlocks`): logits, and the
    /// blocks with their slacks for `finishCertifiedInterval`. The first block's interval is exact over the ball;
    /// each later one counts as open the inputs whose unit the previous block's term found open.
    public func forwardCertified(_ x: Matrix, budget: Int, weight: Float, count: Int,
                                 context: inout ForwardContext) throws(TrainerError) -> (logits: Matrix, blocks: [CertifiedBlock]) {
        let wanted = try certifiedBlocks(count)
        var blocks: [CertifiedBlock] = []
        var h = x, denseInput = x
        var open: [Float] = []
        for layer in layers {
            if layer is Dense { denseInput = h }
            if blocks.count < wanted.count, layer === wanted[blocks.count].norm {
                let (dense, norm) = wanted[blocks.count]
                let slack = blocks.isEmpty ? CertifiedIntervalPenalty.slack(x, bits: config.inputBits, budget: budget)
                                           : CertifiedIntervalPenalty.hiddenSlack(denseInput, open: open)
                norm.certifiedInterval = CertifiedIntervalPenalty.interval(slack, weights: dense.product.forwardWeights(),
                                                                           scale: dense.product.inputScale, weight: weight,
                                                                           bounded: !blocks.isEmpty, ternary: dense.kind == .ternary)
                blocks.append(CertifiedBlock(dense: dense, norm: norm, slack: slack))
                h = layer.forward(h, context: &context)
                open = norm.lastOpen
                continue
            }
            h = layer.forward(h, context: &context)
        }
        return (h, blocks)
    }

    /// After the backward pass of `forwardCertified`: adds each block's term gradient to its Dense's (latent,
    /// straight through) weight gradient, and turns the term off.
    public func finishCertified(_ blocks: [CertifiedBlock]) {
        for b in blocks { finish(dense: b.dense, norm: b.norm, slack: b.slack) }
    }

    /// After the backward pass: adds the term's gradient to the first layer's (latent, straight through) weight
    /// gradient, and turns the term off.
    public func finishCertifiedInterval(_ slack: CertifiedIntervalPenalty.Slack) throws(TrainerError) {
        let (dense, norm) = try certifiedFirstBlock()
        finish(dense: dense, norm: norm, slack: slack)
    }

    private func finish(dense: Dense, norm: BatchNorm, slack: CertifiedIntervalPenalty.Slack) {
        defer { norm.certifiedInterval = nil }
        let (dUp, dDown) = norm.intervalGradient
        guard !dUp.isEmpty else { return }
        let g = CertifiedIntervalPenalty.weightGradient(slack, dUp: dUp, dDown: dDown, units: dense.outputs,
                                                        scale: dense.product.inputScale,
                                                        ternaryWeights: dense.kind == .ternary ? dense.product.forwardWeights() : nil)
        for k in 0..<g.count { dense.weight.grad[k] += g[k] }
    }
}
