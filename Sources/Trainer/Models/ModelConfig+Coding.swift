// How a `ModelConfig` is stored (checkpoint metadata `model`, JSON with snake_case keys). Written by hand for one
// key: `weight_sparsity` is optional on reading, a checkpoint written before it existed meaning 0 (+/-1 weights,
// as it always did; present, it must be a number: null is refused like any other wrong type), and is written only when it is not 0, so a dense model's metadata stays byte for byte what
// it was. Every other key is required, as the synthesized coding required it. The value is checked by `validate()`
// at load (Checkpoint+Validation.swift), like every other number here.

extension ModelConfig {
    enum CodingKeys: String, CodingKey {
        case architecture, input, convChannels, kernel, hidden, classes, precision, inputBits, activation, dropout,
             floatLastLayer, weightSparsity
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(architecture: try c.decode(Architecture.self, forKey: .architecture),
                  input: try c.decode(FeatureMap.self, forKey: .input),
                  convChannels: try c.decode([Int].self, forKey: .convChannels),
                  kernel: try c.decode(Int.self, forKey: .kernel),
                  hidden: try c.decode([Int].self, forKey: .hidden),
                  classes: try c.decode(Int.self, forKey: .classes),
                  precision: try c.decode(Precision.self, forKey: .precision),
                  inputBits: try c.decode(Int.self, forKey: .inputBits),
                  activation: try c.decode(Activation.self, forKey: .activation),
                  dropout: try c.decode(Float.self, forKey: .dropout),
                  floatLastLayer: try c.decode(Bool.self, forKey: .floatLastLayer),
                  weightSparsity: c.contains(.weightSparsity) ? try c.decode(Float.self, forKey: .weightSparsity) : 0)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(input, forKey: .input)
        try c.encode(convChannels, forKey: .convChannels)
        try c.encode(kernel, forKey: .kernel)
        try c.encode(hidden, forKey: .hidden)
        try c.encode(classes, forKey: .classes)
        try c.encode(precision, forKey: .precision)
        try c.encode(inputBits, forKey: .inputBits)
        try c.encode(activation, forKey: .activation)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(floatLastLayer, forKey: .floatLastLayer)
        if weightSparsity != 0 { try c.encode(weightSparsity, forKey: .weightSparsity) }
    }
}
