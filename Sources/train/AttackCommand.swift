import ArgumentParser
import Datasets
import Foundation
import Trainer

extension AttackConfig.Kind: ExpressibleByArgument {}
extension AttackConfig.Loss: ExpressibleByArgument {}
extension AttackConfig.Gradient: ExpressibleByArgument {}

/// `train attack`: white-box attacks on a checkpoint's test set, written as IDX files the runtime scores.
struct AttackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Attack a checkpoint's test set (FGSM, R-FGSM, PGD, transfer, edge, Square) and write the adversarial images as an IDX pair.",
        discussion: """
        Example:
          train attack runs/x.safetensors --attack pgd --eps 0.1 --out adv/x-pgd-0.1
        writes adv/x-pgd-0.1-images-idx3-ubyte and adv/x-pgd-0.1-labels-idx1-ubyte, which
        `infer MODEL --images ... --labels ...` scores. eps is on the [0, 1] pixel scale; the stored images stay
        within floor(255 eps) of the originals, and every accuracy reported is measured on them.
        """)

    @Argument(help: "A checkpoint written by `train`.")
    var checkpoint: String

    @Option(help: "Attack: fgsm (the paper's Eq. 1), rfgsm (Tramer et al.), pgd (Madry et al., BPDA through the quantizer), transfer (PGD on --source), edge (knows the input quantizer's bin edges; PGD on 8-bit input) or square (Andriushchenko et al., gradient-free).")
    var attack: AttackConfig.Kind = .fgsm

    @Option(help: "Transfer attack: the separately trained checkpoint the examples are crafted on.")
    var source: String?

    @Option(help: "L-infinity budget on the [0, 1] scale, in \(TrainingConfig.Limits.epsilon.text) (MNIST: 0.1, 0.2, 0.3).")
    var eps: Float

    @Option(help: "Output prefix: PREFIX-images-idx3-ubyte and PREFIX-labels-idx1-ubyte.")
    var out: String

    @Option(help: "PGD steps, in \(rangeText(TrainingConfig.Limits.steps)).")
    var steps: Int = 40

    @Option(help: "PGD step size on the [0, 1] scale, in \(TrainingConfig.Limits.stepSize.text) (default 2.5 * eps / steps).")
    var stepSize: Float?

    @Option(help: "PGD restarts (the worst case per image is kept), in \(rangeText(TrainingConfig.Limits.restarts)).")
    var restarts: Int = 1

    @Flag(help: "PGD: start at the clean image instead of a random point of the ball.")
    var noRandomStart = false

    @Option(help: "Loss to ascend: ce (cross-entropy) or margin.")
    var loss: AttackConfig.Loss = .crossEntropy

    @Option(help: "Gradient of fgsm, rfgsm, pgd, transfer: ste (straight through, BPDA) or true (zero through the quantizer's steps and sign activations; reports the zero fraction).")
    var gradient: AttackConfig.Gradient = .straightThrough

    @Option(help: "Square attack: query budget (forward passes) per image, in \(rangeText(TrainingConfig.Limits.queries)).")
    var queries: Int = 1000

    @Option(help: "Square attack: initial fraction of the image a square covers, in \(TrainingConfig.Limits.squareFraction.text).")
    var pInit: Float = 0.3

    @Option(help: "Edge attack: local-search rounds after the PGD start, in \(rangeText(TrainingConfig.Limits.rounds)).")
    var rounds: Int = 20

    @Option(help: "Edge attack: single flips scored exactly per image and round, in \(rangeText(TrainingConfig.Limits.candidates)).")
    var candidates: Int = 8

    @Option(help: "Seed of the random starts.")
    var seed: UInt64 = 1

    @Option(help: "Attack only the first N test images.")
    var limit: Int?


    @OptionGroup var common: CommonOptions

    func validate() throws {
        try checkOption("--eps", eps, TrainingConfig.Limits.epsilon)
        try checkAttackCounts(steps: steps, restarts: restarts, queries: queries, rounds: rounds, candidates: candidates)
        try checkOption("--step-size", stepSize, TrainingConfig.Limits.stepSize)
        if let limit, limit < 1 { throw ValidationError("--limit \(limit) must be positive") }
        try checkOption("--p-init", pInit, TrainingConfig.Limits.squareFraction)
        if attack == .transfer && source == nil { throw ValidationError("--attack transfer needs --source CHECKPOINT") }
    }

    func run() throws {
        try reportingErrors(attackRun)
    }

    private func attackRun() throws {
        let outputs = ["-images-idx3-ubyte", "-images-idx4-ubyte", "-labels-idx1-ubyte"].map { out + $0 }
        try FileIdentity.requireDistinct(outputs: outputs, inputs: [checkpoint] + (source.map { [$0] } ?? []) + common.dataFiles)
        try requireFilePrefix(out, option: "--out")
        for o in outputs { try requireWritableFile(o, option: "--out") }
        let ck = try Checkpoint.read(path: checkpoint)
        let network = try ck.makeNetwork(path: checkpoint, memoryBudget: common.memoryBudgetBytes)
        let test = try Dataset.named(ck.training.dataset).load(.test, dataDirectory: DataDirectory.resolve(explicit: common.dataDir)).prefix(limit)
        let config = AttackConfig(kind: attack, epsilon: eps, steps: steps, stepSize: stepSize, restarts: restarts,
                                  randomStart: !noRandomStart, loss: loss, seed: seed, gradient: gradient, queries: queries,
                                  squareFraction: pInit, searchRounds: rounds, candidates: candidates)
        let sourceNetwork = try source.map { path throws(TrainerError) in
            try Checkpoint.read(path: path).makeNetwork(path: path, memoryBudget: common.memoryBudgetBytes)
        }
        let attacker = try Attacker(network: network, config: config, source: sourceNetwork)
        let live = !common.quiet && isatty(STDERR_FILENO) != 0
        let result = try attacker.run(on: test) { done, total in
            if live { FileHandle.standardError.write(Data("\r\u{1B}[2K\(attack.rawValue) eps \(eps): \(done)/\(total) images".utf8)) }
        }
        if live { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        try result.images.writeIDX(prefix: out)
        let iterative = attack == .pgd || attack == .transfer || attack == .edge
        let stepsUsed = iterative ? steps : 1
        print(String(format: "%@ eps %.4g (%d/255) on %d images of %@: clean %.2f%%, robust %.2f%%, success %d/%d (%.2f%%) of the clean-correct",
                     attack.rawValue, eps, config.pixelBudget, test.count, ck.model.summary, result.cleanAccuracy * 100,
                     result.robustAccuracy * 100, result.successes, result.cleanCorrect, result.successRate * 100))
        if result.zeroGradientFraction > 0.5 {
            print(String(format: "warning: %.1f%% of the gradient entries were zero: gradients are masked; this accuracy is not a robustness claim",
                         result.zeroGradientFraction * 100))
        }
        print(String(format: "perturbation: max %d/255, mean of per-image max %.2f/255; zero gradients %.2f%%; %.1f s; wrote %@-images-idx3-ubyte",
                     result.maxPerturbation, result.meanPerturbation, result.zeroGradientFraction * 100, result.seconds, out))
        if common.json {
            let object: [String: Any] = [
                "attack": attack.rawValue, "eps": Double(eps), "pixel_budget": config.pixelBudget,
                "clean_accuracy": result.cleanAccuracy, "robust_accuracy": result.robustAccuracy,
                "attack_success_rate": result.successRate, "successes": result.successes, "clean_correct": result.cleanCorrect,
                "images": test.count, "max_perturbation": result.maxPerturbation, "mean_perturbation": result.meanPerturbation,
                "zero_gradient_fraction": result.zeroGradientFraction, "seconds": result.seconds, "attack_seconds": result.attackSeconds, "steps": stepsUsed,
                "restarts": iterative ? restarts : 1, "source": source ?? NSNull(), "loss": loss.rawValue, "model": ck.model.summary,
                "gradient": gradient.rawValue, "settings": config.settingsSummary, "queries": attack == .square ? queries : NSNull(),
                "images_file": out + "-images-idx3-ubyte", "labels_file": out + "-labels-idx1-ubyte",
            ]
            let d = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: d, as: UTF8.self))
        }
    }
}
