// Black-box transfer (Papernot et al. 2017, "Practical Black-Box Attacks against Machine Learning";
// Tramer et al. 2018, "Ensemble Adversarial Training"): the examples are crafted with PGD
// (`Attacker+PGD.swift`) on a separately trained source model and scored on the target, which the
// attacker never differentiates. PGD's restarts are chosen by the source's scores (`AttackScore.beats`),
// as a black-box attacker would; the stored pixels are then scored on the target like every attack's.

extension Attacker {
    /// The model whose gradients craft the examples: `source` for a transfer attack (it must take the
    /// target's inputs and give its classes), the target itself for every other attack.
    static func crafter(for config: AttackConfig, target: Network, source: Network?) throws(TrainerError) -> Network {
        guard config.kind == .transfer else { return target }
        guard let source else { throw .invalidConfig("a transfer attack needs a source model") }
        guard source.config.input == target.config.input, source.config.classes == target.config.classes else {
            throw .invalidConfig("the source model (\(source.config.summary)) does not take the target's inputs (\(target.config.summary))")
        }
        return source
    }
}
