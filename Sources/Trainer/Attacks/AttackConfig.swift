import ModelFormat

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
        /// Knows the input quantizer: pushes chosen near-edge pixels into the adjacent bin, guided by the
        /// gradient with respect to the codes and refined by a search on the exact quantized model
        /// (EdgeAttack.swift). On 8-bit input it is PGD.
        case edge
        /// Andriushchenko et al. 2020, Square Attack: gradient-free random search over square patches of
        /// the ball's vertices, forward passes of the exact model only (SquareAttack.swift).
        case square

        /// The algorithm's revision: raised whenever what the attack does for the same settings changes,
        /// so that results keyed by it (a grid's attack job ids, GridPlan.swift) are not reused. 2 (issue 16
        /// item 4): the edge attack's stop rule, and PGD's FGSM candidate (PGD, transfer, the edge start).
        public var revision: Int {
            switch self {
            case .fgsm, .rfgsm, .square: return 1
            case .pgd, .transfer, .edge: return 2
            }
        }
    }

    /// Which gradient the gradient attacks follow.
    public enum Gradient: String, Codable, Sendable, CaseIterable {
        /// Straight-through (BPDA, Athalye et al. 2018): the quantizer and sign activations pass gradients.
        case straightThrough = "ste"
        /// The true gradient: zero through the input quantizer's steps (below 8 bits) and through every
        /// sign activation. It shows gradient masking; the zero fraction is reported.
        case trueGradient = "true"
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
    /// The gradient followed by FGSM, R-FGSM, PGD and transfer.
    public var gradient: Gradient
    /// Square attack: forward passes allowed per image (the first one scores the initial stripes).
    public var queries: Int
    /// Square attack: initial fraction of the image a square covers (p_init).
    public var squareFraction: Float
    /// Edge attack: rounds of the local search after its start.
    public var searchRounds: Int
    /// Edge attack: single flips scored exactly per image and round.
    public var candidates: Int
    /// Edge attack: stop after this many consecutive rounds broke no new image (0: run every round).
    public var patience: Int
    /// PGD (and transfer, and the edge attack's PGD start): score the FGSM point beside the restarts and keep
    /// it where it is worse for the model (Attacker+PGD.swift). Off for adversarial training.
    public var fgsmCandidate = true

    /// The defaults of `train attack` and `train sweep` (AttackOptions reads them here, and a grid's attack
    /// job ids hash the settings they resolve to, GridPlan.swift): one place, so a changed default changes
    /// every id and journal key that depends on it.
    public enum Defaults {
        public static let steps = 40
        public static let restarts = 1
        public static let queries = 1000
        public static let squareFraction: Float = 0.3
        /// Edge attack: the hard cap on search rounds (EdgeAttack.swift, "Stop rule").
        public static let searchRounds = 300
        /// Edge attack: single moves scored exactly per image and round.
        public static let candidates = 8
        /// Edge attack: consecutive rounds without a new success that end the search.
        public static let patience = 30
    }

    /// An attack with the defaults of `train attack` (`Defaults`).
    public init(kind: Kind, epsilon: Float, steps: Int = Defaults.steps, stepSize: Float? = nil,
                restarts: Int = Defaults.restarts, randomStart: Bool = true, loss: Loss = .crossEntropy, seed: UInt64 = 1,
                gradient: Gradient = .straightThrough, queries: Int = Defaults.queries,
                squareFraction: Float = Defaults.squareFraction, searchRounds: Int = Defaults.searchRounds,
                candidates: Int = Defaults.candidates, patience: Int = Defaults.patience) {
        self.kind = kind
        self.epsilon = epsilon
        self.steps = steps
        self.stepSize = stepSize
        self.restarts = restarts
        self.randomStart = randomStart
        self.loss = loss
        self.seed = seed
        self.gradient = gradient
        self.queries = queries
        self.squareFraction = squareFraction
        self.searchRounds = searchRounds
        self.candidates = candidates
        self.patience = patience
    }

    /// Whether the attack follows gradients of the model under attack (white-box gradient attacks).
    public var isGradientAttack: Bool { [.fgsm, .rfgsm, .pgd].contains(kind) }

    /// The settings that matter for `kind`, in one short string (e.g. `steps=40 restarts=1 loss=ce grad=ste`).
    /// It is the sweep journal's key for the attack (with the seed, `journalSettings`), so every setting that
    /// changes the attacked images is in it: a step size given explicitly ends it as ` step=S` (PGD, transfer,
    /// and the edge attack's PGD start); the default, 2.5 eps / steps, follows from the rest and is left out,
    /// so summaries written before the step size was part of them keep their meaning.
    public var settingsSummary: String {
        let g = gradient == .straightThrough ? "" : " grad=\(gradient.rawValue)"
        let step = stepSize.map { " step=\($0)" } ?? ""
        switch kind {
        case .fgsm: return "loss=\(loss.rawValue)\(g)"
        case .rfgsm: return "alpha=eps/2 loss=\(loss.rawValue)\(g)"
        case .pgd, .transfer:
            return "steps=\(steps) restarts=\(restarts)\(randomStart ? "" : " no-random-start")\(fgsmCandidate ? " +fgsm" : "") loss=\(loss.rawValue)\(g)\(step)"
        case .edge:
            return "pgd\(fgsmCandidate ? "+fgsm" : "")-start steps=\(steps) rounds=\(searchRounds) patience=\(patience) candidates=\(candidates) loss=\(loss.rawValue)\(step)"
        case .square: return "queries=\(queries) p_init=\(squareFraction)"
        }
    }

    /// Whether the attacked images depend on `seed`: every attack but FGSM (deterministic) draws random
    /// numbers (R-FGSM's step, PGD's random starts, the edge attack's start and candidates, Square's squares).
    public var usesSeed: Bool { kind != .fgsm }

    /// `settingsSummary` and, when the attack draws random numbers from a seed other than the default 1,
    /// ` seed=N`: what tells two sweep cells apart (a sweep run with `--seed 2` must not take the cells of a
    /// `--seed 1` run from the journal). Seed 1 is left out so journals written before stay valid.
    public var journalSettings: String {
        settingsSummary + (usesSeed && seed != 1 ? " seed=\(seed)" : "")
    }

    /// The largest per-pixel change in 8-bit units: floor(255 * eps), so stored images stay in the ball
    /// (the rule is `PixelBudget.units`, shared with the verifier).
    public var pixelBudget: Int { PixelBudget.units(epsilon: epsilon) }

    /// Checks the numbers against their ranges (TrainingConfig+Limits.swift).
    public func validate() throws(TrainerError) {
        let limits = TrainingConfig.Limits.self
        try limits.epsilon.check("eps", epsilon)
        try limits.steps.check("steps", steps)
        try limits.restarts.check("restarts", restarts)
        if let s = stepSize { try limits.stepSize.check("step size", s) }
        try limits.queries.check("queries", queries)
        try limits.squareFraction.check("square fraction", squareFraction)
        try limits.rounds.check("search rounds", searchRounds)
        try limits.candidates.check("candidates", candidates)
        try limits.patience.check("patience", patience)
    }
}
