import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

/// `train attack`: white-box attacks on a checkpoint's test set, written as IDX files the runtime scores.
struct AttackCommand: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Attack a checkpoint's test set (FGSM, R-FGSM, PGD, transfer, edge, Square) and write the adversarial images as an IDX pair.",
        discussion: """
        Example:
          train attack runs/x.safetensors --attack pgd --eps 0.1 --out adv/x-pgd-0.1
        writes adv/x-pgd-0.1-images-idx3-ubyte (idx4, count x height x width x channels, for colour images) and adv/x-pgd-0.1-labels-idx1-ubyte, which `infer MODEL --images ... --labels ...` scores. eps is on the [0, 1] pixel scale and is rounded down to whole pixel steps: it acts as floor(255 eps)/255 (0.1 acts as 25/255 = 0.098, 0.3 as 76/255), the printed pixel budget; the stored images stay within floor(255 eps) of the originals, and every accuracy reported is measured on them.
        """)

    @Argument(help: "A checkpoint written by `train`.")
    var checkpoint: String

    @Option(help: "Attack: fgsm (the paper's Eq. 1), rfgsm (Tramer et al.), pgd (Madry et al., BPDA through the quantizer), transfer (PGD on --source), edge (knows the input quantizer's bin edges; PGD on 8-bit input) or square (Andriushchenko et al., gradient-free).")
    var attack: AttackConfig.Kind = .fgsm

    @Option(help: "L-infinity budget on the [0, 1] scale, in \(TrainingConfig.Limits.epsilon.text) (MNIST: 0.1, 0.2, 0.3); it acts as floor(255 eps)/255.")
    var eps: Float

    @Option(help: "Output prefix: PREFIX-images-idx3-ubyte (idx4 for colour images) and PREFIX-labels-idx1-ubyte.")
    var out: String

    @OptionGroup(title: "Attack settings") var settings: AttackOptions

    @OptionGroup var common: CommonOptions

    /// Both images spellings (idx3 grey, idx4 colour: the data set's geometry decides) and the labels.
    var outputs: [String] { ["-images-idx3-ubyte", "-images-idx4-ubyte", "-labels-idx1-ubyte"].map { out + $0 } }

    func validate() throws {
        try checkOption("--eps", eps, TrainingConfig.Limits.epsilon)
        try settings.check([attack], option: "--attack")
        try requireFilePrefix(out, files: outputs, option: "--out")
    }

    func execute() throws {
        try refuseOverwriting(inputs: [checkpoint] + (settings.source.map { [$0] } ?? []) + common.dataFiles, with: outputs)
        let ck = try Checkpoint.read(path: checkpoint)
        let test = try Dataset.named(ck.training.dataset).load(.test, dataDirectory: DataDirectory.resolve(explicit: common.dataDir))
            .prefix(settings.limit)
        let files = test.idxPaths(prefix: out)
        let network = try ck.makeNetwork(path: checkpoint, memoryBudget: common.memoryBudgetBytes)
        let config = settings.config(attack, eps: eps)
        let sourceNetwork = try settings.source.map { path throws(TrainerError) in
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
        print(String(format: "%@ eps %.4g (%d/255) on %d images of %@: clean %.2f%%, robust %.2f%%, success %d/%d (%.2f%%) of the clean-correct",
                     attack.rawValue, eps, config.pixelBudget, test.count, ck.model.summary, result.cleanAccuracy * 100,
                     result.robustAccuracy * 100, result.successes, result.cleanCorrect, result.successRate * 100))
        if result.zeroGradientFraction > 0.5 {
            print(String(format: "warning: %.1f%% of the gradient entries were zero: gradients are masked; this accuracy is not a robustness claim",
                         result.zeroGradientFraction * 100))
        }
        print(String(format: "perturbation: max %d/255, mean of per-image max %.2f/255; zero gradients %.2f%%; %.1f s; wrote %@",
                     result.maxPerturbation, result.meanPerturbation, result.zeroGradientFraction * 100, result.seconds, files[0]))
        if let rounds = result.searchRounds {
            print("search: the longest batch ran \(rounds) rounds (stop rule: \(config.patience) rounds without a new success, cap \(config.searchRounds))")
        }
        if common.json {
            print(try jsonLine([
                "attack": attack.rawValue, "eps": Double("\(eps)") ?? Double(eps), "pixel_budget": config.pixelBudget,
                "clean_accuracy": result.cleanAccuracy, "robust_accuracy": result.robustAccuracy,
                "attack_success_rate": result.successRate, "successes": result.successes, "clean_correct": result.cleanCorrect,
                "images": test.count, "max_perturbation": result.maxPerturbation, "mean_perturbation": result.meanPerturbation,
                "zero_gradient_fraction": result.zeroGradientFraction, "seconds": result.seconds, "attack_seconds": result.attackSeconds,
                "steps": iterative ? settings.steps : 1, "restarts": iterative ? settings.restarts : 1,
                "source": settings.source ?? NSNull(), "loss": settings.loss.rawValue, "model": ck.model.summary,
                "gradient": settings.gradient.rawValue, "settings": config.settingsSummary,
                "queries": attack == .square ? settings.queries : NSNull(),
                "search_rounds": result.searchRounds.map { $0 as Any } ?? NSNull(),
                "images_file": files[0], "labels_file": files[1],
            ]))
        }
    }
}
