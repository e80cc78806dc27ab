import Foundation

// A verification-friendly training penalty (issue 16, item 3): keep each binary unit's pre-sign value away
// from its threshold, so that a small input perturbation cannot flip it and exact verification has few
// undecided units. It follows the ReLU-stability loss of Xiao et al. 2019 ("Training for faster adversarial
// robustness verification via inducing ReLU stability", ICLR) and the verification-friendly BNN training of
// Jia & Rinard 2020 ("Efficient exact verification of binarized neural networks", NeurIPS, EEV).
//
// A sign unit fires on y = gamma * xhat + beta >= 0 with xhat = (a - mean) / std the batch-normalized
// accumulator a. A penalty on y alone is met by growing gamma, which leaves the folded integer threshold
// t = mean - beta * std / gamma (and every verification problem) unchanged. The penalty is therefore on
//     v = y / gamma = xhat + beta / gamma = (a - t) / std,
// the accumulator's distance to its folded threshold in units of the batch's standard deviation of the
// accumulator, which no rescaling of gamma and beta changes: p(v) = exp(-v^2 / 2), largest at the threshold
// and smooth (its gradient -v exp(-v^2/2) pushes hardest at |v| = 1). The mean over the batch and units,
// times the weight, is added to the loss; its gradient enters BatchNorm's backward pass through xhat (hence
// the batch mean and variance), beta and gamma.

/// The stable-unit penalty of one BatchNorm layer that feeds a sign, on one batch.
enum StableUnitPenalty {
    /// |gamma| is taken as at least this in beta / gamma (a gamma near 0 would make v, and its gradient, explode).
    static let minGamma: Float = 1e-3

    /// gamma with its magnitude raised to `minGamma` (its sign kept; +minGamma for 0).
    static func safeGamma(_ g: Float) -> Float { abs(g) >= minGamma ? g : (g < 0 ? -minGamma : minGamma) }

    /// The penalty `weight * mean(exp(-v^2/2))` over `xhat` (`[rows, features]` data), and dPenalty/dv per element.
    static func evaluate(xhat: [Float], features: Int, gamma: [Float], beta: [Float], weight: Float) -> (value: Float, dv: [Float]) {
        let count = xhat.count
        guard count > 0 else { return (0, []) }
        let offset = (0..<features).map { beta[$0] / safeGamma(gamma[$0]) }
        let scale = weight / Float(count)
        var dv = [Float](repeating: 0, count: count)
        var total = 0.0
        for i in 0..<count {
            let v = xhat[i] + offset[i % features]
            let p = Foundation.exp(-0.5 * v * v)
            total += Double(p)
            dv[i] = -scale * v * p
        }
        return (Float(total) * scale, dv)
    }
}
