import ArgumentParser
import CLISupport
import Trainer

extension AttackConfig.Kind: ExpressibleByArgument {}
extension AttackConfig.Loss: ExpressibleByArgument {}
extension AttackConfig.Gradient: ExpressibleByArgument {}

/// The attack settings `train attack` and `train sweep` share, and the one place they are checked: each
/// count and fraction against its range (TrainingConfig+Limits.swift; each count bounds a loop, so 2^62 is
/// refused rather than run forever), `--limit`, and that a transfer attack has its `--source` (`check`).
/// Every problem is a usage error (exit 64) naming the option.
struct AttackOptions: ParsableArguments {
    @Option(help: "PGD steps (also the edge attack's PGD start), in \(rangeText(TrainingConfig.Limits.steps)).")
    var steps: Int = AttackConfig.Defaults.steps

    @Option(help: "PGD step size on the [0, 1] scale, in \(TrainingConfig.Limits.stepSize.text) (default 2.5 * eps / steps).")
    var stepSize: Float?

    @Option(help: "PGD restarts (the worst case per image is kept), in \(rangeText(TrainingConfig.Limits.restarts)).")
    var restarts: Int = AttackConfig.Defaults.restarts

    @Flag(help: "PGD: start at the clean image instead of a random point of the ball.")
    var noRandomStart = false

    @Option(help: "Loss to ascend: ce (cross-entropy) or margin.")
    var loss: AttackConfig.Loss = .crossEntropy

    @Option(help: "Gradient of fgsm, rfgsm, pgd, transfer: ste (straight through, BPDA) or true (zero through the quantizer's steps and sign activations; reports the zero fraction).")
    var gradient: AttackConfig.Gradient = .straightThrough

    @Option(help: "Square attack: query budget (forward passes) per image, in \(rangeText(TrainingConfig.Limits.queries)).")
    var queries: Int = AttackConfig.Defaults.queries

    @Option(help: "Square attack: initial fraction of the image a square covers, in \(TrainingConfig.Limits.squareFraction.text).")
    var pInit: Float = AttackConfig.Defaults.squareFraction

    @Option(help: "Edge attack: the most local-search rounds after the PGD start (the hard cap of the stop rule; see --patience), in \(rangeText(TrainingConfig.Limits.rounds)).")
    var rounds: Int = AttackConfig.Defaults.searchRounds

    @Option(help: "Edge attack: single flips scored exactly per image and round, in \(rangeText(TrainingConfig.Limits.candidates)).")
    var candidates: Int = AttackConfig.Defaults.candidates

    @Option(help: "Edge attack: the stop rule. The search of a batch of 500 images ends once this many consecutive rounds broke no new image (or at --rounds); 0 runs every round. Set from certified figures (README, \"The edge attack's stop rule\"), in \(rangeText(TrainingConfig.Limits.patience)).")
    var patience: Int = AttackConfig.Defaults.patience

    @Option(help: "Transfer attack: the separately trained checkpoint the examples are crafted on.")
    var source: String?

    @Option(help: "Attack only the first N test images.")
    var limit: Int?

    @Option(help: "Seed of the random starts.")
    var seed: UInt64 = 1

    func validate() throws {
        let l = TrainingConfig.Limits.self
        try checkOption("--steps", steps, l.steps)
        try checkOption("--step-size", stepSize, l.stepSize)
        try checkOption("--restarts", restarts, l.restarts)
        try checkOption("--queries", queries, l.queries)
        try checkOption("--p-init", pInit, l.squareFraction)
        try checkOption("--rounds", rounds, l.rounds)
        try checkOption("--candidates", candidates, l.candidates)
        try checkOption("--patience", patience, l.patience)
        try requirePositive("--limit", limit)
    }

    /// Checks what depends on the attacks chosen (`option` names the option that chose them): a transfer
    /// attack needs `--source`.
    func check(_ kinds: [AttackConfig.Kind], option: String) throws {
        if kinds.contains(.transfer) && source == nil { throw ValidationError("\(option) transfer needs --source CHECKPOINT") }
    }

    /// The attack `kind` at budget `eps` with these settings.
    func config(_ kind: AttackConfig.Kind, eps: Float) -> AttackConfig {
        AttackConfig(kind: kind, epsilon: eps, steps: steps, stepSize: stepSize, restarts: restarts,
                     randomStart: !noRandomStart, loss: loss, seed: seed, gradient: gradient, queries: queries,
                     squareFraction: pInit, searchRounds: rounds, candidates: candidates, patience: patience)
    }
}
