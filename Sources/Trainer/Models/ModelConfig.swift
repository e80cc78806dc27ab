/// What a model is: enough to rebuild it from a checkpoint. Stored as JSON in checkpoint metadata.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Architectures.
    public enum Architecture: String, Codable, Sendable, CaseIterable {
        /// Fully connected: input, `hidden` x `depth`, classes (FCN2 is 784-600x4-10).
        case fcn
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
    /// Input features (784 for 28x28 grey).
    public var inputSize: Int
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

    /// The paper's FCN2: 784-600x4-10.
    public static func fcn2(precision: Precision = .binary, inputBits: Int = 2) -> ModelConfig {
        ModelConfig(architecture: .fcn, inputSize: 784, hidden: [600, 600, 600, 600], classes: 10,
                    precision: precision, inputBits: inputBits, activation: .hardtanh,
                    dropout: ModelConfig.defaultDropout(precision), floatLastLayer: false)
    }

    /// Dropout used when none is given: 0.2 for both precisions (see README's training notes).
    public static func defaultDropout(_ precision: Precision) -> Float { 0.2 }

    /// Memberwise initialiser.
    public init(architecture: Architecture, inputSize: Int, hidden: [Int], classes: Int, precision: Precision,
                inputBits: Int, activation: Activation, dropout: Float, floatLastLayer: Bool) {
        self.architecture = architecture
        self.inputSize = inputSize
        self.hidden = hidden
        self.classes = classes
        self.precision = precision
        self.inputBits = inputBits
        self.activation = activation
        self.dropout = dropout
        self.floatLastLayer = floatLastLayer
    }

    /// Checks the numbers; the message names the bad one.
    public func validate() throws(TrainerError) {
        guard (1...8).contains(inputBits) else { throw .invalidConfig("input bits \(inputBits) outside 1...8") }
        guard inputSize > 0, classes > 1 else {
            throw .invalidConfig("input size \(inputSize) and classes \(classes) must be positive (classes >= 2)")
        }
        guard !hidden.isEmpty, hidden.allSatisfy({ $0 > 0 }) else {
            throw .invalidConfig("hidden widths \(hidden) must be a non-empty list of positive numbers")
        }
        guard dropout >= 0, dropout < 1 else { throw .invalidConfig("dropout \(dropout) outside [0, 1)") }
    }

    /// A short name like `fcn-784-600x4-10-binary-2b`.
    public var summary: String {
        let widths = Set(hidden).count == 1 ? "\(hidden[0])x\(hidden.count)" : hidden.map(String.init).joined(separator: "-")
        return "fcn-\(inputSize)-\(widths)-\(classes)-\(precision.rawValue)-\(inputBits)b"
    }
}
