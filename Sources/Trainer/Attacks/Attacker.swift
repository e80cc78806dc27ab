import Datasets
import Foundation

// FGSM (Goodfellow et al. 2015; Panda et al. Eq. 1), R-FGSM (Tramer et al. 2018) and PGD (Madry et al.
// 2018) with BPDA through the input quantizer (or the true gradient, `AttackConfig.Gradient`); transfer
// crafts PGD on a source model and scores the target; the edge attack (EdgeAttack.swift) and Square
// (SquareAttack.swift) have their own files. Every result is rounded to 8-bit pixels inside the
// eps-ball in pixel units (|x_adv - x| <= floor(255 eps)) and [0, 255], and every accuracy is measured
// on those stored pixels. Deviation: the gradient sign of a zero gradient is 0 (no step).

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
        if config.kind == .transfer {
            guard let source else { throw .invalidConfig("a transfer attack needs a source model") }
            guard source.config.input == network.config.input, source.config.classes == network.config.classes else {
                throw .invalidConfig("the source model (\(source.config.summary)) does not take the target's inputs (\(network.config.summary))")
            }
        }
        self.network = network
        crafter = config.kind == .transfer ? source! : network
        self.config = config
    }

    /// Attacks every image of `data`, in batches; first checks that `data` fits the attacked model and
    /// the crafting one (`ModelConfig.checkFits`).
    public func run(on data: ImageSet, batchSize: Int = 500, onBatch: (Int, Int) -> Void = { _, _ in }) throws(TrainerError) -> AttackResult {
        try network.checkFits(data, role: "attacked set")
        if crafter !== network { try crafter.checkFits(data, role: "attacked set (transfer source)") }
        let start = Date()
        var adversarial = data.pixels
        var zeros = 0, entries = 0
        var begin = 0
        while begin < data.count {
            let end = min(begin + batchSize, data.count)
            let (x, labels) = TrainingSession.batch(data, indices: begin..<end)
            let (pixels, z, n) = try attackBatch(x, labels: labels, batch: begin / batchSize)
            zeros += z
            entries += n
            for i in 0..<pixels.count { adversarial[begin * data.imageSize + i] = pixels[i] }
            begin = end
            onBatch(end, data.count)
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
                            seconds: Date().timeIntervalSince(start), attackSeconds: attackSeconds)
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
    func attackBatch(_ x0: Matrix, labels: [Int], batch: Int) throws(TrainerError) -> ([UInt8], Int, Int) {
        var random = SeededRandom(seed: config.seed, stream: 7000 + UInt64(batch))
        var zeros = 0, entries = 0
        func gradientStep(_ x: inout Matrix, size: Float) throws(TrainerError) {
            let (g, _) = try crafter.inputGradient(x, labels: labels, loss: config.loss, gradient: config.gradient)
            for i in 0..<x.data.count {
                let s = stepSign(g.data[i])
                if s == 0 { zeros += 1 }
                x.data[i] += size * s
            }
            entries += g.data.count
            project(&x, around: x0)
        }
        let eps = Float(config.pixelBudget) / 255
        switch config.kind {
        case .fgsm:
            var x = x0
            try gradientStep(&x, size: eps)
            return (store(x, around: x0), zeros, entries)
        case .rfgsm:
            let alpha = eps / 2
            var x = x0
            for i in 0..<x.data.count { x.data[i] += alpha * (random.normal() >= 0 ? 1 : -1) }
            project(&x, around: x0)
            try gradientStep(&x, size: eps - alpha)
            return (store(x, around: x0), zeros, entries)
        case .edge:
            return try edgeBatch(x0, labels: labels, batch: batch)
        case .square:
            return try squareBatch(x0, labels: labels, batch: batch)
        case .pgd, .transfer:
            let size = config.stepSize ?? 2.5 * eps / Float(config.steps)
            var best = store(x0, around: x0)
            var bestLoss = [Float](repeating: -.infinity, count: labels.count)
            var bestWrong = [Bool](repeating: false, count: labels.count)
            for _ in 0..<config.restarts {
                var x = x0
                if config.randomStart {
                    for i in 0..<x.data.count { x.data[i] += random.uniform(-eps, eps) }
                    project(&x, around: x0)
                }
                for _ in 0..<config.steps { try gradientStep(&x, size: size) }
                // Keep, per example, the restart that misclassifies, else the one with the larger loss,
                // judged on the stored pixels.
                let stored = store(x, around: x0)
                let xs = Matrix(rows: x.rows, cols: x.cols, data: stored.map { Float($0) / 255 })
                let z = crafter.logits(xs)
                try checkLabels(labels, of: z)
                for r in 0..<labels.count {
                    var arg = 0
                    for c in 1..<z.cols where z[r, c] > z[r, arg] { arg = c }
                    let wrong = arg != labels[r]
                    var other = -Float.infinity
                    for c in 0..<z.cols where c != labels[r] { other = max(other, z[r, c]) }
                    let margin = other - z[r, labels[r]]
                    if (wrong && !bestWrong[r]) || (wrong == bestWrong[r] && margin > bestLoss[r]) {
                        bestWrong[r] = wrong
                        bestLoss[r] = margin
                        for k in 0..<x.cols { best[r * x.cols + k] = stored[r * x.cols + k] }
                    }
                }
            }
            return (best, zeros, entries)
        }
    }
}

extension ImageSet {
    /// The IDX pair `writeIDX(prefix:)` writes: images (idx3, or idx4 with channels), then labels.
    public func idxPaths(prefix: String) -> [String] {
        [prefix + (channels == 1 ? "-images-idx3-ubyte" : "-images-idx4-ubyte"), prefix + "-labels-idx1-ubyte"]
    }

    /// Writes the set as an IDX pair `prefix-images-idx3-ubyte` and `prefix-labels-idx1-ubyte`, atomically,
    /// each checked with the IDX reader before it is renamed into place.
    public func writeIDX(prefix: String) throws(DatasetError) {
        let dims = channels == 1 ? [count, height, width] : [count, height, width, channels]
        let paths = idxPaths(prefix: prefix)
        try IDXFile(dimensions: dims, bytes: pixels).write(to: paths[0])
        try IDXFile(dimensions: [count], bytes: labels).write(to: paths[1])
    }
}
