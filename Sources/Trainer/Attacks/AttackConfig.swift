/// Which attack, and its settings. Budgets are L-infinity on the [0, 1] pixel scale, applied to the
/// 8-bit image before the model's own input quantizer.
public struct AttackConfig: Codable, Equatable, Sendable {
    /// The attacks.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Goodfellow et al. 2015, the paper's Eq. 1: x + eps * sign(grad).
        case fgsm
        /// Tramer et al. 2018: a random step of eps/2, then a gradient step of eps/2.
        case rfgsm
        /// Madry et al. 2018: projected gradient descent with a random start (BPDA through the quantizer).
        case pgd
        /// Black-box transfer (Papernot et al. 2017; Tramer et al. 2018): PGD crafted on a separately
        /// trained source model, scored on the target.
        case transfer
    }

    /// The loss the attacks ascend.
    public enum Loss: String, Codable, Sendable, CaseIterable {
        /// Softmax cross-entropy.
        case crossEntropy = "ce"
        /// Carlini-Wagner margin: max_{j != y} z_j - z_y.
        case margin
    }

    /// The attack.
    public var kind: Kind
    /// L-infinity budget on the [0, 1] scale.
    public var epsilon: Float
    /// PGD steps.
    public var steps: Int
    /// PGD step size (default 2.5 * eps / steps).
    public var stepSize: Float?
    /// PGD restarts (the worst case per example is kept).
    public var restarts: Int
    /// PGD starts at a uniform random point of the ball.
    public var randomStart: Bool
    /// The loss.
    public var loss: Loss
    /// Seed of the random starts and R-FGSM's random step.
    public var seed: UInt64

    /// An attack with the defaults of `train attack`.
    public init(kind: Kind, epsilon: Float, steps: Int = 40, stepSize: Float? = nil, restarts: Int = 1,
                randomStart: Bool = true, loss: Loss = .crossEntropy, seed: UInt64 = 1) {
        self.kind = kind
        self.epsilon = epsilon
        self.steps = steps
        self.stepSize = stepSize
        self.restarts = restarts
        self.randomStart = randomStart
        self.loss = loss
        self.seed = seed
    }

    /// The largest per-pixel change in 8-bit units: floor(255 * eps), so stored images stay in the ball.
    public var pixelBudget: Int { Int((255 * epsilon + 1e-4).rounded(.down)) }

    /// Checks the numbers.
    public func validate() throws(TrainerError) {
        guard epsilon >= 0, epsilon <= 1 else { throw .invalidConfig("eps \(epsilon) outside [0, 1]") }
        guard steps >= 1 else { throw .invalidConfig("steps \(steps) must be at least 1") }
        guard restarts >= 1 else { throw .invalidConfig("restarts \(restarts) must be at least 1") }
        if let s = stepSize, !(s > 0) { throw .invalidConfig("step size \(s) must be positive") }
    }
}
