// The networks of Panda, Chakraborty & Roy (FCN2 = 784-600x4-10, FCN1 = 784-6144x4-10), built in the style of
// the MNIST MLP of Hubara et al. 2016 (BinaryNet; itayhubara/BinaryNet.pytorch): each block is
// Dense (no bias) -> BatchNorm -> activation -> dropout, and the last Dense is followed by
// BatchNorm, whose outputs are the logits.
// The conv net (`architecture: .conv`) puts BinaryNet's CIFAR blocks before the dense ones:
// Conv2D 3x3 (valid) -> MaxPool 2 -> BatchNorm -> activation, NHWC throughout.
// Binary precision: every Dense and Conv2D has binary weights (the first one too) and the activation is sign,
// so every Dense but the first sees +/-1 inputs; the first sees the discretized image.
// XNOR precision is binary with XNOR-Net's per-output scale on every Dense (Dense.swift).
// Weight sparsity S > 0 (binary FCNs): every binary Dense has sparse ternary weights, sign(W) with the fraction S
// of smallest |W| zeroed per layer (WeightQuantizer.swift).
// Option floatLastLayer (binary and XNOR nets): the last Dense keeps float weights and a bias, with no
// BatchNorm after it, and sees the last hidden block's real-valued hardtanh output, as the real-valued
// last layer of BinaryNet.pytorch's MNIST MLP does.
// Deviation from BinaryNet: sign(0) = +1 everywhere.

/// A sequential network: the input quantizer, then blocks of layers.
public final class Network {
    /// The configuration it was built from.
    public let config: ModelConfig
    /// Layers in order, the input quantizer first.
    public let layers: [Layer]

    /// Builds a freshly initialised network; `seed` fixes every initial weight. Refuses a configuration
    /// whose weights, gradients, `optimizer` state and statistics would exceed `memoryBudget` bytes
    /// (ModelConfig+Bounds.swift) before allocating any of it.
    public init(config: ModelConfig, seed: UInt64, optimizer: OptimizerKind? = nil,
                memoryBudget: Int = ModelConfig.defaultMemoryBudget) throws(TrainerError) {
        try config.checkMemory(optimizer: optimizer, budget: memoryBudget)
        self.config = config
        var random = SeededRandom(seed: seed, stream: 0xC0FFEE)
        var layers: [Layer] = [InputQuantizer(bits: config.inputBits)]
        let binary = config.precision != .float
        let kind: WeightQuantizer = binary ? config.binaryWeights : .float
        func activation() -> Layer {
            binary ? SignActivation() : (config.activation == .relu ? ReLU() as Layer : HardTanh())
        }
        var map = config.input
        for (i, channels) in config.convChannels.enumerated() where config.architecture == .conv {
            let conv = Conv2D(name: "conv\(i)", input: map, outputChannels: channels, kernel: config.kernel,
                              weights: kind, random: &random)
            let pool = MaxPool2D(input: conv.output)
            layers += [conv, pool, BatchNorm(name: "convbn\(i)", features: channels), activation()]
            map = pool.output
        }
        let widths = [map.size] + config.hidden
        for i in 0..<config.hidden.count {
            layers.append(Dense(name: "fc\(i)", inputs: widths[i], outputs: widths[i + 1],
                                weights: kind, sparsity: config.weightSparsity, bias: false, random: &random))
            layers.append(BatchNorm(name: "bn\(i)", features: widths[i + 1]))
            let lastHidden = i == config.hidden.count - 1
            layers.append(binary && config.floatLastLayer && lastHidden ? HardTanh() : activation())
            if config.dropout > 0 { layers.append(Dropout(p: config.dropout)) }
        }
        let last = config.hidden.count
        let floatLast = binary && config.floatLastLayer
        layers.append(Dense(name: "fc\(last)", inputs: widths[last], outputs: config.classes,
                            weights: floatLast ? .float : kind, sparsity: config.weightSparsity, bias: floatLast,
                            random: &random))
        if !floatLast { layers.append(BatchNorm(name: "bn\(last)", features: config.classes)) }
        // The input quantizer emits integer codes; the first weight layer scales its outputs back.
        let quantizer = layers[0] as! InputQuantizer
        for layer in layers {
            if let d = layer as? Dense { d.product.inputScale = quantizer.scale; break }
            if let c = layer as? Conv2D { c.product.inputScale = quantizer.scale; break }
        }
        self.layers = layers
    }

    /// Sets the stable-unit penalty weight (Loss/StableUnitPenalty.swift) on every BatchNorm that feeds a sign
    /// (the units a verifier must decide); returns those layers.
    @discardableResult
    public func setStablePenalty(_ weight: Float) -> [BatchNorm] {
        var out: [BatchNorm] = []
        for (i, layer) in layers.enumerated().dropLast() {
            guard let bn = layer as? BatchNorm, layers[i + 1] is SignActivation else { continue }
            bn.stablePenalty = weight
            out.append(bn)
        }
        return out
    }

    /// Every trainable parameter, in layer order.
    public var parameters: [Parameter] { layers.flatMap(\.parameters) }

    /// Every non-trainable state tensor (BatchNorm running statistics), in layer order.
    public var state: [StateTensor] { layers.flatMap(\.state) }

    /// Logits for a batch of inputs on the [0, 1] pixel scale, `[batch, inputSize]`.
    public func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix {
        var h = x
        for layer in layers { h = layer.forward(h, context: &context) }
        return h
    }

    /// Back-propagates dL/dlogits through the last forward pass; returns dL/dinput when asked.
    /// The first weight layer skips its input gradient unless asked (training never needs it).
    @discardableResult
    public func backward(_ dLogits: Matrix, inputGradient: Bool = false) -> Matrix? {
        var g: Matrix? = dLogits
        let firstDense = layers.firstIndex { $0 is Dense || $0 is Conv2D } ?? 0
        for (i, layer) in layers.enumerated().reversed() {
            guard let dy = g else { break }
            g = layer.backward(dy, inputGradient: inputGradient || i > firstDense)
        }
        return g
    }
}
