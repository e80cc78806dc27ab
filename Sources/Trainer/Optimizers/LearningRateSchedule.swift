import Foundation

/// How the learning rate changes over training.
public enum LearningRateSchedule: String, Codable, Sendable, CaseIterable {
    /// The base rate throughout.
    case constant
    /// Cosine annealing from the base rate to 0 over all steps (Loshchilov & Hutter 2017, no restarts).
    case cosine
    /// Multiply by `gamma` every `stepEpochs` epochs.
    case step

    /// The rate at `step` (0-based) of `totalSteps`, in epoch `epoch` (0-based).
    public func rate(base: Float, step: Int, totalSteps: Int, epoch: Int, stepEpochs: Int, gamma: Float) -> Float {
        switch self {
        case .constant:
            return base
        case .cosine:
            let t = Double(step) / Double(max(totalSteps, 1))
            return Float(Double(base) * 0.5 * (1 + cos(Double.pi * t)))
        case .step:
            return base * pow(gamma, Float(epoch / max(stepEpochs, 1)))
        }
    }
}
