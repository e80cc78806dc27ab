/// What a model is: enough to rebuild it from a checkpoint. Stored as JSON in checkpoint metadata.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Architectures.
    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// Fully connected: input, `hidden` x `depth`, classes (FCN2 is 784-600x4-10).
        case fcn
        /// BinaryNet-style conv net: (conv 3x3 -> max-pool 2 -> BatchNorm -> activation) per entry of
        /// `convChannels`, then the dense blocks of `hidden`, then the classifier.
        case conv
    }

    /// Numeric precision of weights and hidden activations.
    public enum Precision: String, Codable, Sendable, CaseIterable {
        /// Float32 weights and hardtanh (or ReLU) activations.
        case float
        /// BNN (Hubara et al. 2016): sign(W), sign(activations); the first layer sees the real input.
        case binary
        /// XNOR-Net (Rastegari et al. 2016): as binary, with a per-output-channel weight scale mean |W|.
        case xnor
    }

    /// Hidden activation of float models.
    public enum Activation: String, Codable, Sendable, CaseIterable {
        /// BinaryNet style.
        case hardtanh
        /// Rectified linear.
        case relu
    }

    /// The architecture family.
    public var architecture: Architecture
    /// Input image geometry (28x28x1 for MNIST; 32x32x3 for CIFAR), NHWC.
    public var input: FeatureMap
    /// Conv nets: output channels of each conv block (empty for FCNs).
    public var convChannels: [Int]
    /// Conv nets: kernel side.
    public var kernel: Int
    /// Widths of the hidden layers, first to last.
    public var hidden: [Int]
    /// Number of classes.
    public var classes: Int
    /// Weights and activations.
    public var precision: Precision
    /// Input discretization bits (1...8; 8 = raw image), the paper's Eq. 2.
    public var inputBits: Int
    /// Hidden activation for float models (binary models always use sign).
    public var activation: Activation
    /// Dropout after each hidden activation in training.
    public var dropout: Float
    /// Binary models only: the last dense layer keeps float weights and a bias, with no BatchNorm after it.
    public var floatLastLayer: Bool
    /// Binary fully connected models only: the fraction S of each binary layer's weights that are 0 in the
    /// forward pass, in [0, 1) (sparse ternary weights, WeightQuantizer.swift); 0 (the default, and what a
    /// checkpoint without the key means) is +/-1 weights.
    public var weightSparsity: Float = 0

    /// Input features per image.
    public var inputSize: Int { input.size }

    /// The paper's FCN2: 784-600x4-10.
    public static func fcn2(precision: Precision = .binary, inputBits: Int = 2) -> ModelConfig {
        fcn(hidden: [600, 600, 600, 600], precision: precision, inputBits: inputBits)
    }

    /// The paper's FCN1: 784-6144x4-10.
    public static func fcn1(precision: Precision = .binary, inputBits: Int = 2) -> ModelConfig {
        fcn(hidden: [6144, 6144, 6144, 6144], precision: precision, inputBits: inputBits)
    }

    /// A fully connected net on 28x28 grey images with the given hidden widths.
    public static func fcn(hidden: [Int], input: FeatureMap = FeatureMap(height: 28, width: 28, channels: 1),
                           precision: Precision, inputBits: Int) -> ModelConfig {
        ModelConfig(architecture: .fcn, input: input, convChannels: [], kernel: 3, hidden: hidden, classes: 10,
                    precision: precision, inputBits: inputBits, activation: .hardtanh,
                    dropout: ModelConfig.defaultDropout(precision), floatLastLayer: false)
    }

    /// The default conv net: conv 32 and conv 64 (3x3, each pooled), dense 512, classifier.
    public static func conv(input: FeatureMap = FeatureMap(height: 28, width: 28, channels: 1), classes: Int = 10,
                            precision: Precision = .binary, inputBits: Int = 2) -> ModelConfig {
        ModelConfig(architecture: .conv, input: input, convChannels: [32, 64], kernel: 3, hidden: [512],
                    classes: classes, precision: precision, inputBits: inputBits, activation: .hardtanh,
                    dropout: ModelConfig.defaultDropout(precision), floatLastLayer: false)
    }

    /// Dropout used when none is given: 0.2 for both precisions (see README's training notes).
    public static func defaultDropout(_ precision: Precision) -> Float { 0.2 }

    /// Memberwise initialiser.
    public init(architecture: Architecture, input: FeatureMap, convChannels: [Int], kernel: Int, hidden: [Int],
                classes: Int, precision: Precision, inputBits: Int, activation: Activation, dropout: Float,
                floatLastLayer: Bool, weightSparsity: Float = 0) {
        self.architecture = architecture
        self.input = input
        self.convChannels = convChannels
        self.kernel = kernel
        self.hidden = hidden
        self.classes = classes
        self.precision = precision
        self.inputBits = inputBits
        self.activation = activation
        self.dropout = dropout
        self.floatLastLayer = floatLastLayer
        self.weightSparsity = weightSparsity
    }

    /// Checks the numbers (first against the format's caps, ModelConfig+Bounds.swift, and the image's op
    /// count, ModelConfig+ImageOps.swift); the message names the bad one.
    public func validate() throws(TrainerError) {
        try checkBounds()
        try checkOpCount()
        guard (1...8).contains(inputBits) else { throw .invalidConfig("input bits \(inputBits) outside 1...8") }
        guard inputSize > 0, classes > 1 else {
            throw .invalidConfig("input size \(inputSize) and classes \(classes) must be positive (classes >= 2)")
        }
        guard hidden.allSatisfy({ $0 > 0 }), architecture == .conv || !hidden.isEmpty else {
            throw .invalidConfig("hidden widths \(hidden) must be a non-empty list of positive numbers")
        }
        if architecture == .conv {
            guard !convChannels.isEmpty, convChannels.allSatisfy({ $0 > 0 }), kernel >= 1 else {
                throw .invalidConfig("conv channels \(convChannels) and kernel \(kernel) must be positive")
            }
            var side = (input.height, input.width)
            for c in convChannels {
                side = ((side.0 - kernel + 1) / 2, (side.1 - kernel + 1) / 2)
                guard side.0 >= 1, side.1 >= 1 else {
                    throw .invalidConfig("\(input.height)x\(input.width) input is too small for \(convChannels.count) conv blocks (block of \(c) channels leaves \(side.0)x\(side.1))")
                }
            }
        }
        try TrainingConfig.Limits.dropout.check("dropout", dropout)
        try checkWeightSparsity()
    }

    /// The weight kind of the model's binary layers: ternary when `weightSparsity` > 0.
    public var binaryWeights: WeightQuantizer {
        precision == .xnor ? .xnor : (weightSparsity > 0 ? .ternary : .binary)
    }

    /// Refuses a weight sparsity outside [0, 1) or not finite, and a non-zero one on anything but a binary
    /// fully connected model (the model format stores ternary weights for dense layers only), naming the value.
    func checkWeightSparsity() throws(TrainerError) {
        try TrainingConfig.Limits.weightSparsity.check("weight sparsity", weightSparsity)
        guard weightSparsity > 0 else { return }
        guard precision == .binary, architecture == .fcn else {
            throw .invalidConfig("weight sparsity \(weightSparsity) needs a binary fully connected model (ternary weights), not \(precision.rawValue) \(architecture.rawValue)")
        }
    }

    /// A short name like `fcn-784-600x4-10-binary-2b` or `conv-28x28x1-c32-c64-512-10-binary-2b`; a ternary
    /// model ends in its weight sparsity, `fcn-784-600x4-10-binary-1b-t0.8`.
    public var summary: String {
        let widths = Set(hidden).count == 1 && hidden.count > 1
            ? "\(hidden[0])x\(hidden.count)" : hidden.map(String.init).joined(separator: "-")
        let tail = "\(widths)-\(classes)-\(precision.rawValue)-\(inputBits)b" + (weightSparsity > 0 ? "-t\(weightSparsity)" : "")
        switch architecture {
        case .fcn: return "fcn-\(inputSize)-" + tail
        case .conv:
            let convs = convChannels.map { "c\($0)" }.joined(separator: "-")
            return "conv-\(input.height)x\(input.width)x\(input.channels)-\(convs)-" + tail
        }
    }
}
