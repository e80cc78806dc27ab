// PGD (Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to Adversarial
// Attacks", ICLR 2018): `steps` signed-gradient steps of size alpha (default 2.5 eps / steps, the usual
// choice in Madry's group's robustness library: a walk that can cross the ball) from a uniform random
// start in the ball, projected after each step, best of `restarts`. The gradient goes through the input quantizer by BPDA (Athalye et al.
// 2018) unless `--gradient true`. Transfer (Papernot et al. 2016) is this attack crafted on a separately
// trained source model (`Attacker.crafter`) and scored on the target. Deviation: the restart kept per
// example is the best by the search attacks' rule (`AttackScore.beats`, AttackScoring.swift: misclassified
// first, then the larger Carlini-Wagner margin), scored by the crafting model (the source, for transfer:
// the target is never queried) on the stored 8-bit pixels rather than on the float iterate. Deviation
// (issue 16, `fgsmCandidate`, on by default for evaluation): the FGSM point (Attacker+FGSM.swift) is scored
// beside the restarts and kept per example when it is worse for the model, so PGD never leaves more images
// right than FGSM of the same loss and gradient. On a 2-bit BNN, a random start and steps of 2.5 eps/40 keep
// most pixels inside their input bins, where the straight-through gradient's sign flips from step to step;
// FGSM's corner of the ball crosses every bin edge within eps at once (demo BNN-2b, eps 0.1, first 1,000
// test images: PGD-40 left 92.1%, FGSM 91.8%). Adversarial training crafts without it (Madry's PGD as
// before, so checkpoints resume bit-identically).

extension Attacker {
    /// PGD (or transfer) on one batch: the stored adversarial pixels.
    func pgd(_ x0: Matrix, labels: [Int], random: inout SeededRandom, steps: inout SignedSteps) throws(TrainerError) -> [UInt8] {
        let eps = Float(config.pixelBudget) / 255
        let size = config.stepSize ?? 2.5 * eps / Float(config.steps)
        var best = store(x0, around: x0)
        var bestScore = [AttackScore](repeating: .worst, count: labels.count)
        if config.fgsmCandidate {
            best = try fgsm(x0, labels: labels, steps: &steps)
            bestScore = try crafter.scores(pixels: best, rows: x0.rows, cols: x0.cols, labels: labels)
        }
        for _ in 0..<config.restarts {
            var x = x0
            if config.randomStart {
                for i in 0..<x.data.count { x.data[i] += random.uniform(-eps, eps) }
                project(&x, around: x0)
            }
            for _ in 0..<config.steps { try steps.step(self, &x, around: x0, labels: labels, size: size) }
            // Keep, per example, the restart the crafting model scores worst for itself, on the stored pixels.
            let stored = store(x, around: x0)
            let scores = try crafter.scores(pixels: stored, rows: x.rows, cols: x.cols, labels: labels)
            for r in 0..<labels.count where scores[r].beats(bestScore[r]) {
                bestScore[r] = scores[r]
                for k in 0..<x.cols { best[r * x.cols + k] = stored[r * x.cols + k] }
            }
        }
        return best
    }
}
