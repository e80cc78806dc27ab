/// How a model is trained. Stored as JSON in checkpoint metadata.
public struct TrainingConfig: Codable, Equatable, Sendable {
    /// Data set name (`mnist`, `fashion-mnist`).
    public var dataset: String
    /// Total epochs.
    public var epochs: Int
    /// Images per batch.
    public var batchSize: Int
    /// Optimizer.
    public var optimizer: OptimizerKind
    /// Base learning rate.
    public var learningRate: Float
    /// SGD momentum.
    public var momentum: Float
    /// L2 weight decay on dense weights.
    public var weightDecay: Float
    /// Learning-rate schedule.
    public var schedule: LearningRateSchedule
    /// For the step schedule: epochs between decays.
    public var stepEpochs: Int
    /// For the step schedule: the decay factor.
    public var gamma: Float
    /// Seed for initialisation, shuffling and dropout.
    public var seed: UInt64
    /// Use only the first N training images (nil: all).
    public var trainLimit: Int?
    /// Adversarial training (nil: clean training).
    public var adversarial: AdversarialTraining?
    /// Weight of the stable-unit penalty (Loss/StableUnitPenalty.swift; `train fit --stable-penalty`), which keeps
    /// every sign unit's accumulator away from its folded threshold so exact verification decides more images;
    /// nil or 0: none (a checkpoint without the key trained without it).
    public var stablePenalty: Float?
    /// The certified-interval penalty (Loss/CertifiedIntervalPenalty.swift; `train fit --certify-eps E
    /// --certify-weight W`), which keeps the first layer's units from straddling their thresholds over the ε-ball
    /// so exact verification at that ε has few open units; nil: none (a checkpoint without the key trained without it).
    public var certify: CertifiedTraining?

    /// The certified-interval penalty's settings.
    public struct CertifiedTraining: Codable, Equatable, Sendable {
        /// The ε-ball on the [0, 1] scale (floor(255 ε) pixel units, `PixelBudget`), at least one pixel unit.
        public var epsilon: Float
        /// The term's weight W.
        public var weight: Float
        /// How many hidden layers, from the first, the term acts on (`--certify-layers`); nil: the first only (a
        /// checkpoint without the key trained so).
        public var layers: Int?
        /// Epochs over which the budget and the weight grow linearly from 0 to `epsilon` and `weight`
        /// (`--certify-ramp`, TrainingConfig+CertifyRamp.swift); nil: no ramp (a checkpoint without the key trained so).
        public var rampEpochs: Int?

        /// Settings for `epsilon` and `weight` on the first `layers` hidden layers (nil or 1: the first only),
        /// ramped in over the first `rampEpochs` epochs (nil or 0: none).
        public init(epsilon: Float, weight: Float, layers: Int? = nil, rampEpochs: Int? = nil) {
            self.epsilon = epsilon
            self.weight = weight
            self.layers = layers == 1 ? nil : layers
            self.rampEpochs = rampEpochs == 0 ? nil : rampEpochs
        }

        /// The hidden layers the term acts on.
        public var layerCount: Int { layers ?? 1 }
    }

    /// Adversarial training as the paper used it: a fraction of every batch replaced by adversarial
    /// examples crafted against the current model (Panda et al. Sec. 3: R-FGSM, eps 0.3 on MNIST;
    /// Tramer et al. 2018 and Kurakin et al. 2017 for the mixed batch). PGD is the stronger option
    /// (Madry et al. 2018). Examples are crafted in evaluation mode (BatchNorm's running statistics).
    public struct AdversarialTraining: Codable, Equatable, Sendable {
        /// The attack crafting the examples.
        public var attack: AttackConfig.Kind
        /// Its budget on the [0, 1] scale.
        public var epsilon: Float
        /// PGD steps.
        public var steps: Int
        /// Fraction of each batch replaced, (0, 1].
        public var ratio: Float

        /// Adversarial training settings.
        public init(attack: AttackConfig.Kind = .rfgsm, epsilon: Float = 0.3, steps: Int = 7, ratio: Float = 0.5) {
            self.attack = attack
            self.epsilon = epsilon
            self.steps = steps
            self.ratio = ratio
        }
    }

    /// Default base learning rate for Adam: 0.005 binary and XNOR, 0.001 float (SGD: 0.1 and 0.05).
    public static func defaultLearningRate(precision: ModelConfig.Precision, optimizer: OptimizerKind) -> Float {
        switch (optimizer, precision) {
        case (.adam, .binary), (.adam, .xnor): return 0.005
        case (.adam, .float): return 0.001
        case (.sgd, .binary), (.sgd, .xnor): return 0.1
        case (.sgd, .float): return 0.05
        }
    }

    /// Memberwise initialiser with the defaults of `train`.
    public init(dataset: String = "mnist", epochs: Int = 10, batchSize: Int = 100, optimizer: OptimizerKind = .adam,
                learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0,
                schedule: LearningRateSchedule = .cosine, stepEpochs: Int = 3, gamma: Float = 0.1,
                seed: UInt64 = 1, trainLimit: Int? = nil, adversarial: AdversarialTraining? = nil) {
        self.dataset = dataset
        self.epochs = epochs
        self.batchSize = batchSize
        self.optimizer = optimizer
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.schedule = schedule
        self.stepEpochs = stepEpochs
        self.gamma = gamma
        self.seed = seed
        self.trainLimit = trainLimit
        self.adversarial = adversarial
    }

    /// Checks the numbers against their ranges (TrainingConfig+Limits.swift); the message names the bad one.
    public func validate() throws(TrainerError) {
        guard (1...TrainingConfig.maxEpochs).contains(epochs) else {
            throw .invalidConfig("epochs \(epochs) is outside 1...\(TrainingConfig.maxEpochs)")
        }
        guard (2...TrainingConfig.maxBatchSize).contains(batchSize) else {
            throw .invalidConfig("batch size \(batchSize) is outside 2...\(TrainingConfig.maxBatchSize) (BatchNorm needs a batch)")
        }
        guard (1...TrainingConfig.maxEpochs).contains(stepEpochs) else {
            throw .invalidConfig("step epochs \(stepEpochs) is outside 1...\(TrainingConfig.maxEpochs)")
        }
        try Limits.learningRate.check("learning rate", learningRate)
        try Limits.weightDecay.check("weight decay", weightDecay)
        try Limits.momentum.check("momentum", momentum)
        try Limits.gamma.check("gamma", gamma)
        if let w = stablePenalty { try Limits.stablePenalty.check("stable penalty", w) }
        if let c = certify {
            try Limits.certifyEpsilon.check("certify epsilon", c.epsilon)
            try Limits.certifyWeight.check("certify weight", c.weight)
            guard Limits.certifyLayers.contains(c.layerCount) else {
                throw .invalidConfig("certify layers \(c.layerCount) outside \(Limits.certifyLayers.lowerBound)...\(Limits.certifyLayers.upperBound)")
            }
            // A ramp longer than the run would never train at the budget asked for.
            if let ramp = c.rampEpochs, !(0...epochs).contains(ramp) {
                throw .invalidConfig("certify ramp \(ramp) epochs outside 0...\(epochs) (the run's epochs)")
            }
        }
        if let a = adversarial {
            try Limits.adversarialRatio.check("adversarial ratio", a.ratio)
            let trainable: [AttackConfig.Kind] = [.fgsm, .rfgsm, .pgd]
            guard trainable.contains(a.attack) else {
                throw .invalidConfig("adversarial training takes fgsm, rfgsm or pgd examples, not \(a.attack.rawValue)")
            }
            try AttackConfig(kind: a.attack, epsilon: a.epsilon, steps: a.steps).validate()
        }
        if let n = trainLimit, n < batchSize {
            throw .invalidConfig("train limit \(n) is smaller than the batch size \(batchSize)")
        }
    }
}
