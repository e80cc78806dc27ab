// The ranges of every numeric setting, in one place: the library's `validate()` checks configurations
// against them (a checkpoint's metadata included) and the tools check their options against the same
// values at parse time and print them in `--help`. Floats must also be finite: NaN compares false with
// everything and slips through a `x > 0` test, and an infinite rate or decay makes a non-finite weight
// after one step.

/// The interval a `Float` setting must lie in (finite, and within the bounds).
public struct FloatLimit: Sendable {
    /// Lower bound, and whether it is excluded.
    public let lower: Float, lowerOpen: Bool
    /// Upper bound, and whether it is excluded.
    public let upper: Float, upperOpen: Bool

    /// An interval; `lowerOpen` / `upperOpen` exclude the bound.
    public init(_ lower: Float, _ upper: Float, lowerOpen: Bool = false, upperOpen: Bool = false) {
        (self.lower, self.lowerOpen, self.upper, self.upperOpen) = (lower, lowerOpen, upper, upperOpen)
    }

    /// The interval as `--help` prints it, e.g. `(0, 10]`.
    public var text: String {
        func n(_ v: Float) -> String { v == v.rounded() && abs(v) < 1e6 ? String(Int(v)) : "\(v)" }
        return (lowerOpen ? "(" : "[") + n(lower) + ", " + n(upper) + (upperOpen ? ")" : "]")
    }

    /// Whether `v` is finite and inside.
    public func contains(_ v: Float) -> Bool {
        v.isFinite && (lowerOpen ? v > lower : v >= lower) && (upperOpen ? v < upper : v <= upper)
    }

    /// nil when `v` is inside, else the message naming `name` (an option like `--lr`, or a setting).
    public func problem(_ name: String, _ v: Float) -> String? {
        if contains(v) { return nil }
        return v.isFinite ? "\(name) \(v) is outside \(text)" : "\(name) \(v) is not a finite number (allowed: \(text))"
    }

    /// Throws `invalidConfig` unless `v` is inside.
    public func check(_ name: String, _ v: Float) throws(TrainerError) {
        if let p = problem(name, v) { throw .invalidConfig(p) }
    }
}

extension ClosedRange<Int> {
    /// nil when `v` is inside, else the message naming `name` (an option like `--steps`, or a setting).
    public func problem(_ name: String, _ v: Int) -> String? {
        contains(v) ? nil : "\(name) \(v) is outside \(lowerBound)...\(upperBound)"
    }

    /// Throws `invalidConfig` unless `v` is inside.
    public func check(_ name: String, _ v: Int) throws(TrainerError) {
        if let p = problem(name, v) { throw .invalidConfig(p) }
    }
}

extension TrainingConfig {
    /// Most epochs of a run (keeps every epoch, step and random-stream number far from overflow).
    public static let maxEpochs = 1_000_000
    /// Largest batch.
    public static let maxBatchSize = 1 << 20

    /// The ranges of the floating-point settings.
    public enum Limits {
        /// Base learning rate.
        public static let learningRate = FloatLimit(0, 10, lowerOpen: true)
        /// SGD momentum.
        public static let momentum = FloatLimit(0, 1, upperOpen: true)
        /// L2 weight decay.
        public static let weightDecay = FloatLimit(0, 1)
        /// Stable-unit penalty weight (0: none); the penalty per unit is at most 1, so 100 already outweighs any loss.
        public static let stablePenalty = FloatLimit(0, 100)
        /// The certified-interval penalty's ε: at least one pixel unit (1/255), at most the whole range.
        public static let certifyEpsilon = FloatLimit(1 / 255, 1)
        /// The certified-interval penalty's weight (its per-unit value is about the open margin in σ, a few at most).
        public static let certifyWeight = FloatLimit(0, 100, lowerOpen: true)
        /// How many hidden layers the certified-interval penalty acts on, from the first.
        public static let certifyLayers = 1...ModelConfig.maxLayers
        /// Step schedule's decay factor.
        public static let gamma = FloatLimit(0, 1, lowerOpen: true)
        /// Dropout probability.
        public static let dropout = FloatLimit(0, 1, upperOpen: true)
        /// Fraction of each layer's weights that are 0 in a ternary model (`ModelConfig.weightSparsity`; 0: +/-1 weights).
        public static let weightSparsity = FloatLimit(0, 1, upperOpen: true)
        /// Fraction of a batch replaced by adversarial examples.
        public static let adversarialRatio = FloatLimit(0, 1, lowerOpen: true)
        /// A perturbation budget on the [0, 1] pixel scale.
        public static let epsilon = FloatLimit(0, 1)
        /// A PGD step on the [0, 1] pixel scale.
        public static let stepSize = FloatLimit(0, 1, lowerOpen: true)
        /// The Square attack's initial fraction of the image.
        public static let squareFraction = FloatLimit(0, 1, lowerOpen: true)
        /// Input normalization mean of an imported BinaryNet model (pixels on the [0, 1] scale).
        public static let inputMean = FloatLimit(0, 1)
        /// Input normalization std of an imported BinaryNet model.
        public static let inputStd = FloatLimit(0.001, 10)

        // The attacks' counts (`train attack`, `train sweep`, adversarial training and a checkpoint's
        // `training.adversarial`). Each bounds a loop: without a cap, 2^62 steps or restarts is a hang,
        // not an error. The caps sit far above any published setting (PGD: tens to hundreds of steps and
        // up to tens of restarts; Square: 10,000 queries).

        /// PGD steps (also the edge attack's PGD start and adversarial training's PGD).
        public static let steps = 1...100_000
        /// PGD restarts.
        public static let restarts = 1...10_000
        /// Square attack: forward passes per image.
        public static let queries = 1...1_000_000
        /// Edge attack: local-search rounds.
        public static let rounds = 0...100_000
        /// Edge attack: single flips scored exactly per image and round.
        public static let candidates = 1...100_000
        /// Edge attack: consecutive rounds without a new success that end the search (0: never).
        public static let patience = 0...100_000
    }
}
