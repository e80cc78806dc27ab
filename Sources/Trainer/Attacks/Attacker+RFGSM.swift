// R-FGSM (Tramèr, Kurakin, Papernot, Goodfellow, Boneh, McDaniel, "Ensemble Adversarial Training:
// Attacks and Defenses", ICLR 2018), the attack the paper trains against: a random step of alpha = eps/2
// in a random sign direction (signs of a standard normal draw), then one FGSM step of eps - alpha,
// projected onto the eps-ball and [0, 1], stored as 8-bit pixels. Deviation: the sign of a zero gradient
// is 0 (no step).

extension Attacker {
    /// R-FGSM on one batch: the stored adversarial pixels.
    func rfgsm(_ x0: Matrix, labels: [Int], random: inout SeededRandom, steps: inout SignedSteps) throws(TrainerError) -> [UInt8] {
        let eps = Float(config.pixelBudget) / 255
        let alpha = eps / 2
        var x = x0
        for i in 0..<x.data.count { x.data[i] += alpha * (random.normal() >= 0 ? 1 : -1) }
        project(&x, around: x0)
        try steps.step(self, &x, around: x0, labels: labels, size: eps - alpha)
        return store(x, around: x0)
    }
}
