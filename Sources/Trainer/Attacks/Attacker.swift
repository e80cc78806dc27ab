import Datasets
import Foundation

// The attack runner: batches, scoring on the stored pixels, the ball and the rounding every attack shares.
// Each attack has its own file, with its source: FGSM (`Attacker+FGSM.swift`, the paper's Eq. 1), R-FGSM
// (`Attacker+RFGSM.swift`), PGD (`Attacker+PGD.swift`), transfer (`Attacker+Transfer.swift`: PGD crafted on a source model), the edge attack (`EdgeAttack.swift`)
// and Square (`SquareAttack.swift`). Every result is rounded to 8-bit pixels inside the eps-ball in pixel
// units (|x_adv - x| <= floor(255 eps)) and [0, 255], and every accuracy is measured on those stored
// pixels. Deviation: the gradient sign of a zero gradient is 0 (no step).

/// What an attack run produced.
public struct AttackResult: Sendable {
    /// The adversarial images (same shape and labels as the input set).
    public var images: ImageSet
    /// Accuracy on the clean images.
    public var cleanAccuracy: Double
    /// Accuracy on the stored adversarial images.
    public var robustAccuracy: Double
    /// Clean-correct images that the attack turned wrong.
    public var successes: Int
    /// Clean-correct images (the success rate's denominator).
    public var cleanCorrect: Int
    /// Largest |x_adv - x| in pixel units.
    public var maxPerturbation: Int
    /// Mean over images of the largest |x_adv - x| in pixel units.
    public var meanPerturbation: Double
    /// Fraction of gradient entries that were exactly zero.
    public var zeroGradientFraction: Double
    /// Wall-clock seconds, scoring included.
    public var seconds: Double
    /// Wall-clock seconds of crafting the examples alone (what an attack benchmark compares).
    public var attackSeconds: Double = 0
    /// Edge attack: the most search rounds any batch ran before its stop rule ended it (nil for the others).
    public var searchRounds: Int?
    /// Gradient entries that were exactly zero, and all entries seen (`zeroGradientFraction`'s parts).
    public var gradientZeros = 0, gradientEntries = 0

    /// Successes over clean-correct images.
    public var successRate: Double { cleanCorrect == 0 ? 0 : Double(successes) / Double(cleanCorrect) }
}

/// Runs white-box attacks on a network.
public struct Attacker {
    /// The model under attack (scored).
    public let network: Network
    /// The model whose gradients craft the examples: the target itself, or a transfer source.
    public let crafter: Network
    /// The attack.
    public let config: AttackConfig

    /// An attacker for `network`; a transfer attack needs `source`, the model it crafts on.
    public init(network: Network, config: AttackConfig, source: Network? = nil) throws(TrainerError) {
        try config.validate()
        self.network = network
        crafter = try Attacker.crafter(for: config, target: network, source: source)
        self.config = config
    }

    /// Images per batch unless a caller says otherwise (a sweep's, and so a grid's, batch size).
    public static let defaultBatchSize = 500

    /// Attacks every image of `data`, in batches; first checks that `data` fits the attacked model and
    /// the crafting one (`ModelConfig.checkFits`). An edge attack given `start` (a finished PGD run of its
    /// `edgeStart` settings, EdgeAttack+GivenStart.swift) starts from it instead of re-running PGD.
    public func run(on data: ImageSet, batchSize: Int = Attacker.defaultBatchSize, start given: EdgeStart? = nil,
                    onBatch: (Int, Int) -> Void = { _, _ in }) throws(TrainerError) -> AttackResult {
        try network.checkFits(data, role: "attacked set")
        if crafter !== network { try crafter.checkFits(data, role: "attacked set (transfer source)") }
        if let given { try check(given, against: data) }
        let start = Date()
        var adversarial = data.pixels
        var zeros = 0, entries = 0, rounds: Int?
        var begin = 0
        while begin < data.count {
            let end = min(begin + batchSize, data.count)
            let (x, labels) = TrainingSession.batch(data, indices: begin..<end)
            let givenPixels = given.map { Array($0.images.pixels[begin * data.imageSize..<end * data.imageSize]) }
            let outcome = try attackBatch(x, labels: labels, batch: begin / batchSize, start: givenPixels)
            zeros += outcome.zeros
            entries += outcome.entries
            if let r = outcome.searchRounds { rounds = max(rounds ?? 0, r) }
            for i in 0..<outcome.pixels.count { adversarial[begin * data.imageSize + i] = outcome.pixels[i] }
            begin = end
            onBatch(end, data.count)
        }
        if let given {
            zeros += given.gradientZeros
            entries += given.gradientEntries
        }
        let attackSeconds = Date().timeIntervalSince(start)
        let adv = try! ImageSet(height: data.height, width: data.width, channels: data.channels, classes: data.classes,
                                pixels: adversarial, labels: data.labels)
        let clean = try Evaluation.predictions(network, on: data)
        let attacked = try Evaluation.predictions(network, on: adv)
        var cleanCorrect = 0, robust = 0, successes = 0, maxP = 0, sumP = 0
        for i in 0..<data.count {
            let y = Int(data.labels[i])
            if clean[i] == y { cleanCorrect += 1; if attacked[i] != y { successes += 1 } }
            if attacked[i] == y { robust += 1 }
            var m = 0
            for k in 0..<data.imageSize {
                m = max(m, abs(Int(adversarial[i * data.imageSize + k]) - Int(data.pixels[i * data.imageSize + k])))
            }
            maxP = max(maxP, m)
            sumP += m
        }
        let n = Double(max(data.count, 1))
        return AttackResult(images: adv, cleanAccuracy: Double(cleanCorrect) / n, robustAccuracy: Double(robust) / n,
                            successes: successes, cleanCorrect: cleanCorrect, maxPerturbation: maxP,
                            meanPerturbation: Double(sumP) / n, zeroGradientFraction: entries == 0 ? 0 : Double(zeros) / Double(entries),
                            seconds: Date().timeIntervalSince(start), attackSeconds: attackSeconds, searchRounds: rounds,
                            gradientZeros: zeros, gradientEntries: entries)
    }

    /// Rounds `x` to 8-bit pixels inside the ball around the clean pixels `x0` (both on [0, 1]).
    func store(_ x: Matrix, around x0: Matrix) -> [UInt8] {
        let budget = config.pixelBudget
        return (0..<x.data.count).map { i in
            let p0 = Int((x0.data[i] * 255).rounded())
            let p = Int((x.data[i] * 255).rounded())
            return UInt8(min(max(p, max(p0 - budget, 0)), min(p0 + budget, 255)))
        }
    }

    /// Projects `x` onto the ball around `x0` (radius eps) and [0, 1].
    func project(_ x: inout Matrix, around x0: Matrix) {
        let eps = Float(config.pixelBudget) / 255
        for i in 0..<x.data.count {
            x.data[i] = min(max(x.data[i], max(x0.data[i] - eps, 0)), min(x0.data[i] + eps, 1))
        }
    }

    /// One batch: the stored adversarial pixels, and the zero-gradient count over the entries seen.
    /// Each attack is in its own file: `Attacker+FGSM`, `Attacker+RFGSM`, `Attacker+PGD` (PGD, and
    /// transfer, which is PGD on the source model), `EdgeAttack`, `SquareAttack`.
    /// `start`: an edge attack's PGD start for this batch, already run (its counts are the caller's).
    func attackBatch(_ x0: Matrix, labels: [Int], batch: Int, start: [UInt8]? = nil) throws(TrainerError) -> BatchOutcome {
        var random = SeededRandom(seed: config.seed, stream: 7000 + UInt64(batch))
        var steps = SignedSteps()
        let pixels: [UInt8]
        switch config.kind {
        case .fgsm: pixels = try fgsm(x0, labels: labels, steps: &steps)
        case .rfgsm: pixels = try rfgsm(x0, labels: labels, random: &random, steps: &steps)
        case .pgd, .transfer: pixels = try pgd(x0, labels: labels, random: &random, steps: &steps)
        case .edge: return try edgeBatch(x0, labels: labels, batch: batch, start: start)
        case .square: return try squareBatch(x0, labels: labels, batch: batch)
        }
        return BatchOutcome(pixels: pixels, zeros: steps.zeros, entries: steps.entries)
    }
}

/// What an attack made of one batch.
struct BatchOutcome {
    /// The stored adversarial pixels.
    var pixels: [UInt8]
    /// Gradient entries that were exactly zero, and all entries seen.
    var zeros = 0, entries = 0
    /// Edge attack: the search rounds run (nil for the others).
    var searchRounds: Int?
}

/// Signed-gradient steps on the crafting model, projected onto the ball, counting the zero gradients
/// (FGSM, R-FGSM and PGD share it). Deviation: the sign of a zero gradient is 0 (no step).
struct SignedSteps {
    /// Gradient entries that were exactly zero, and all entries seen.
    var zeros = 0, entries = 0

    /// x <- project(x + size * sign(dL/dx)) around x0, with the attack's loss and gradient.
    mutating func step(_ attacker: Attacker, _ x: inout Matrix, around x0: Matrix, labels: [Int], size: Float) throws(TrainerError) {
        let c = attacker.config
        let (g, _) = try attacker.crafter.inputGradient(x, labels: labels, loss: c.loss, gradient: c.gradient)
        for i in 0..<x.data.count {
            let s = stepSign(g.data[i])
            if s == 0 { zeros += 1 }
            x.data[i] += size * s
        }
        entries += g.data.count
        attacker.project(&x, around: x0)
    }
}
