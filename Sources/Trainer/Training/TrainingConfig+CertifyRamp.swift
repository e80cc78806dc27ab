import ModelFormat

// The certified-interval term's ramp (issue 16, item 3; `train fit --certify-ramp EPOCHS`), after Gowal et al. 2018,
// "On the effectiveness of interval bound propagation for training verifiably robust models", sec. 4: training
// against the full budget from the first step, while the network is still random, gives loose bounds whose
// term swamps the clean loss; IBP instead grows the budget linearly from 0 to its target over a ramp period
// (on MNIST 10k of 60k steps, after 2k warm-up steps) and moves the term's weight with it.
//
// The schedule chosen here: with R ramp epochs of B batches, at global optimizer step s (0-based, counted over all
// epochs, so a resumed run continues it exactly) the ramp's fraction is f(s) = min(1, (s + 1) / (R·B)); the budget is
// floor(f(s) · U) pixel units, U = floor(255 E) (the ball is a whole number of pixel units, `PixelBudget`), and the
// weight f(s) · W. The last ramp step (s = R·B − 1) and every later one train at E and W. R = 0 is no ramp (a
// checkpoint without the key trained so). Deviations: no separate warm-up (the first steps' budget rounds down to 0
// pixel units, so the term there only keeps units off their thresholds at a tiny weight), and IBP also mixes the
// clean and certified losses with a κ that falls from 1 to 0.5; here the clean loss keeps weight 1 throughout.
// Default R: a quarter of the epochs, rounded (IBP's ramp is a sixth of training plus a thirtieth of warm-up).

extension TrainingConfig.CertifiedTraining {
    /// The ramp epochs a run of `epochs` epochs gets when `--certify-ramp` is not given: a quarter, rounded.
    public static func defaultRamp(epochs: Int) -> Int { (epochs + 2) / 4 }

    /// The budget (pixel units) and weight the term trains with at optimizer step `step` (0-based over the whole
    /// run) when an epoch has `stepsPerEpoch` batches: the full `PixelBudget.units(epsilon:)` and `weight` without a
    /// ramp or past it, else the linear ramp described at the top of this file.
    public func scheduled(step: Int, stepsPerEpoch: Int) -> (budget: Int, weight: Float) {
        let units = PixelBudget.units(epsilon: epsilon)
        let rampSteps = (rampEpochs ?? 0).multipliedReportingOverflow(by: max(stepsPerEpoch, 1))
        guard let ramp = rampEpochs, ramp > 0, !rampSteps.overflow, step + 1 < rampSteps.partialValue else {
            return (units, weight)
        }
        let fraction = Double(max(step, 0) + 1) / Double(rampSteps.partialValue)
        return (Int((fraction * Double(units)).rounded(.down)), Float(fraction) * weight)
    }
}
