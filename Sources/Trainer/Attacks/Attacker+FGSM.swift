// FGSM (Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015), the
// paper's Eq. 1 (Panda, Chakraborty, Roy): x_adv = x + eps * sign(dL/dx), one step, clipped to [0, 1] and
// stored as 8-bit pixels within floor(255 eps) of the original. The gradient goes through the input
// quantizer by BPDA unless `--gradient true`. Deviation: the sign of a zero gradient is 0 (no step).

extension Attacker {
    /// FGSM on one batch: the stored adversarial pixels.
    func fgsm(_ x0: Matrix, labels: [Int], steps: inout SignedSteps) throws(TrainerError) -> [UInt8] {
        var x = x0
        try steps.step(self, &x, around: x0, labels: labels, size: Float(config.pixelBudget) / 255)
        return store(x, around: x0)
    }
}
