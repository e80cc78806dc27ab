// PGD (Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to Adversarial
// Attacks", ICLR 2018): `steps` signed-gradient steps of size alpha (default 2.5 eps / steps, the usual
// choice in Madry's group's robustness library: a walk that can cross the ball) from a uniform random
// start in the ball, projected after each step, best of `restarts`. The gradient goes through the input quantizer by BPDA (Athalye et al.
// 2018) unless `--gradient true`. Transfer (Papernot et al. 2016) is this attack crafted on a separately
// trained source model (`Attacker.crafter`) and scored on the target. Deviation: the restart kept per
// example is the one whose stored pixels the crafting model misclassifies, else the one with the larger
// margin loss, judged on the stored 8-bit pixels rather than on the float iterate.

extension Attacker {
    /// PGD (or transfer) on one batch: the stored adversarial pixels.
    func pgd(_ x0: Matrix, labels: [Int], random: inout SeededRandom, steps: inout SignedSteps) throws(TrainerError) -> [UInt8] {
        let eps = Float(config.pixelBudget) / 255
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
            for _ in 0..<config.steps { try steps.step(self, &x, around: x0, labels: labels, size: size) }
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
        return best
    }
}
