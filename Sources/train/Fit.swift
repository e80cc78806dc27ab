import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Trainer

extension ModelConfig.Precision: ExpressibleByArgument {}
extension ModelConfig.Activation: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}

/// `--arch`: the architectures `train fit` builds.
enum Architecture: String, CaseIterable, ExpressibleByArgument {
    /// 784-600x4-10 (the paper's FCN2), or --width and --depth.
    case fcn2
    /// 784-6144x4-10 (the paper's FCN1).
    case fcn1
    /// Fully connected, 600 wide and 4 deep unless --width and --depth say otherwise.
    case fcn
    /// conv 32, conv 64, dense 512.
    case conv
}

/// `--adversarial`: the attacks adversarial training crafts its examples with (`TrainingConfig.validate`
/// refuses the others), so `--help` and the parser's error list exactly these.
enum TrainingAttack: String, CaseIterable, ExpressibleByArgument {
    case rfgsm, fgsm, pgd

    var kind: AttackConfig.Kind {
        switch self {
        case .rfgsm: return .rfgsm
        case .fgsm: return .fgsm
        case .pgd: return .pgd
        }
    }
}

/// `train fit`: trains a model and writes its checkpoint.
struct Fit: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train a model and save it as a safetensors checkpoint (the default subcommand).")

    @Option(help: "Data set to train on (MNIST and Fashion-MNIST come with make data; CIFAR is your own copy of the binary version).")
    var dataset: Dataset = .mnist

    @Option(help: "Architecture: fcn2 (784-600x4-10), fcn1 (784-6144x4-10), fcn (set --width and --depth) or conv (conv 32, conv 64, dense 512).")
    var arch: Architecture = .fcn2

    @Option(help: "Hidden width, overriding the architecture's (1...\(ModelConfig.maxDimension)).")
    var width: Int?

    @Option(help: "Number of hidden layers, overriding the architecture's (1...\(ModelConfig.maxLayers); the model image holds at most \(ModelConfig.maxLayers) ops, so at most 510 binary or 340 float hidden layers).")
    var depth: Int?

    @Option(help: "Weights and activations: float, binary (BNN, Hubara et al.) or xnor (XNOR-Net, Rastegari et al.).")
    var precision: ModelConfig.Precision = .binary

    @Option(help: "Input discretization bits, 1-8 (the paper's Eq. 2; 8 = raw image).")
    var inputBits: Int = 2

    @Option(help: "Hidden activation of float models: hardtanh or relu.")
    var activation: ModelConfig.Activation = .hardtanh

    @Flag(help: "Binary models: a real-valued last layer (float weights and bias, no BatchNorm) on the last hidden block's hardtanh output, as in BinaryNet.pytorch's MNIST MLP.")
    var floatLastLayer = false

    @Option(help: ArgumentHelp("Sparse ternary weights: the fraction S of each layer's weights that are 0, in \(TrainingConfig.Limits.weightSparsity.text); 0 keeps +/-1 weights. Needs --precision binary and an fcn architecture.",
                               discussion: "Each binary layer multiplies by sign(W) with the floor(S * n) of its n latent weights of smallest |W| set to 0 (Ternary Weight Networks, Li et al. 2016, with a sparsity target), so each unit reads few inputs and `verify` decides images faster (EEV, Jia & Rinard 2020). The model's name ends in -tS.", valueName: "S"))
    var weightSparsity: Float = 0

    @Option(help: "Dropout probability after each hidden activation, in \(TrainingConfig.Limits.dropout.text) (default 0.2).")
    var dropout: Float?

    @Option(help: "Epochs to train, 1...\(TrainingConfig.maxEpochs) (when resuming: the total, counting the epochs already done).")
    var epochs: Int = 10

    @Option(help: "Images per batch, 2...\(TrainingConfig.maxBatchSize).")
    var batchSize: Int = 100

    @Option(help: "Optimizer: adam or sgd.")
    var optimizer: OptimizerKind = .adam

    @Option(help: "Base learning rate, in \(TrainingConfig.Limits.learningRate.text) (default: Adam 0.005 binary/xnor, 0.001 float; SGD 0.1 and 0.05).")
    var lr: Float?

    @Option(help: "SGD momentum, in \(TrainingConfig.Limits.momentum.text).")
    var momentum: Float = 0.9

    @Option(help: "L2 weight decay on dense weights, in \(TrainingConfig.Limits.weightDecay.text).")
    var weightDecay: Float = 0

    @Option(help: ArgumentHelp("Stable-unit penalty weight W, in \(TrainingConfig.Limits.stablePenalty.text) (default 0: none): a loss term that keeps each sign unit's accumulator away from its folded threshold, so that `verify` decides more images faster (binary and XNOR models).",
                               discussion: "The penalty is W * mean(exp(-v^2/2)) over the units before a sign, with v = (a - t) / std: the accumulator's distance to the folded threshold in units of its batch standard deviation (a growing BatchNorm gamma cannot meet it). After Xiao et al. 2019 (ReLU stability) and Jia & Rinard 2020 (EEV); see docs/VERIFY.md."))
    var stablePenalty: Float = 0

    @Option(help: ArgumentHelp("Certified-interval penalty: the L-infinity budget E on the [0, 1] scale, in \(TrainingConfig.Limits.certifyEpsilon.text), at which `verify` is to decide images (needs --certify-weight; binary first layer of an fcn net, delta-bit input).",
                               discussion: "Over the exact eps-ball of each training image (the pixels that reach another input level within floor(255 E) pixel units), the first layer's accumulator range is exact; a unit whose range straddles its folded threshold is open for `verify`. The term W * mean(softplus(m)), m = min(v + u, l - v) in BatchNorm-normalised units, pushes units out of that state. After Gowal et al. 2018 (IBP) and Jia & Rinard 2020 (EEV); see docs/VERIFY.md.", valueName: "E"))
    var certifyEps: Float?

    @Option(help: ArgumentHelp("Certified-interval penalty weight W, in \(TrainingConfig.Limits.certifyWeight.text) (needs --certify-eps).", valueName: "W"))
    var certifyWeight: Float?

    @Option(help: ArgumentHelp("How many hidden layers, from the first, the certified-interval penalty acts on (default 1; needs --certify-eps). A deeper layer's interval counts the previous layer's open units as its open inputs (interval bound propagation).", valueName: "N"))
    var certifyLayers: Int?

    @Option(help: ArgumentHelp("Epochs over which the certified-interval budget and weight grow linearly from 0 to E and W (default: a quarter of --epochs, rounded; 0: none; needs --certify-eps).",
                               discussion: "As interval bound propagation training does (Gowal et al. 2018, sec. 4): at step s of a ramp of R epochs of B batches the budget is floor(min(1, (s + 1) / (R B)) * floor(255 E)) pixel units and the weight min(1, (s + 1) / (R B)) * W. The checkpoint records it, so --resume continues the schedule.", valueName: "EPOCHS"))
    var certifyRamp: Int?

    @Option(help: "Learning-rate schedule: cosine (to 0 over the run), step, or constant.")
    var schedule: LearningRateSchedule = .cosine

    @Option(help: "Step schedule: epochs between decays, 1...\(TrainingConfig.maxEpochs).")
    var stepEpochs: Int = 3

    @Option(help: "Step schedule: decay factor, in \(TrainingConfig.Limits.gamma.text).")
    var gamma: Float = 0.1

    @Option(help: "Seed for initialisation, shuffling and dropout (same seed, same result).")
    var seed: UInt64 = 1

    @Option(help: "Adversarial training: replace part of each batch by rfgsm (the paper's choice), fgsm or pgd examples.")
    var adversarial: TrainingAttack?

    @Option(help: "Adversarial training budget on the [0, 1] scale (default as the paper: 0.3 for MNIST and Fashion-MNIST, 8/255 for CIFAR).")
    var adversarialEps: Float?

    @Option(help: "Fraction of each batch replaced by adversarial examples, in \(TrainingConfig.Limits.adversarialRatio.text).")
    var adversarialRatio: Float = 0.5

    @Option(help: "PGD steps for adversarial training, in \(rangeText(TrainingConfig.Limits.steps)).")
    var adversarialSteps: Int = 7

    @Option(help: "Train on the first N training images only.")
    var trainLimit: Int?

    @Option(help: "Evaluate on the first N test images only.")
    var testLimit: Int?

    @Option(help: "Checkpoint to resume from (its model and settings are used; --epochs is the new total).")
    var resume: String?

    @Option(help: "Where to write the checkpoint after each epoch (the model after the last epoch; default runs/MODEL.safetensors, or runs/MODEL-2.safetensors, -3, ... if that holds an earlier run; with --resume, the checkpoint itself). The run holds an flock on .NAME.lock beside it: a second run on the same checkpoint exits 1.")
    var out: String?

    @Option(help: "Stop after N epochs of this run, the checkpoint holding them (--resume continues with the same schedule): a long run in scheduler-sized pieces.")
    var stopAfter: Int?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        try requirePositive("--stop-after", stopAfter)
        guard (1...8).contains(inputBits) else {
            throw ValidationError("--input-bits \(inputBits) is outside 1...8")
        }
        // Every number against its range (TrainingConfig+Limits.swift), floats also finite.
        try checkOption("--epochs", epochs, 1...TrainingConfig.maxEpochs)
        try checkOption("--batch-size", batchSize, 2...TrainingConfig.maxBatchSize)
        try checkOption("--step-epochs", stepEpochs, 1...TrainingConfig.maxEpochs)
        try checkOption("--width", width, 1...ModelConfig.maxDimension)
        try checkOption("--depth", depth, 1...ModelConfig.maxLayers)
        try checkOption("--dropout", dropout, TrainingConfig.Limits.dropout)
        try checkOption("--lr", lr, TrainingConfig.Limits.learningRate)
        try checkOption("--momentum", momentum, TrainingConfig.Limits.momentum)
        try checkOption("--weight-decay", weightDecay, TrainingConfig.Limits.weightDecay)
        try checkOption("--stable-penalty", stablePenalty, TrainingConfig.Limits.stablePenalty)
        // Float models have no sign unit for the penalty to act on: the option would be silently ignored.
        if stablePenalty > 0 && precision == .float {
            throw ValidationError("--stable-penalty \(stablePenalty) needs sign units: give --precision binary or xnor, not float")
        }
        try checkOption("--certify-eps", certifyEps, TrainingConfig.Limits.certifyEpsilon)
        try checkOption("--certify-weight", certifyWeight, TrainingConfig.Limits.certifyWeight)
        try checkOption("--certify-layers", certifyLayers, TrainingConfig.Limits.certifyLayers)
        if certifyLayers != nil && certifyEps == nil {
            throw ValidationError("--certify-layers needs --certify-eps and --certify-weight (the term it extends)")
        }
        try checkOption("--certify-ramp", certifyRamp, 0...TrainingConfig.maxEpochs)
        if certifyRamp != nil && certifyEps == nil {
            throw ValidationError("--certify-ramp needs --certify-eps and --certify-weight (the term it ramps)")
        }
        if let certifyRamp, resume == nil, certifyRamp > epochs {
            throw ValidationError("--certify-ramp \(certifyRamp) is more than --epochs \(epochs): the budget would never reach --certify-eps")
        }
        if let certifyLayers, arch != .conv, certifyLayers > depth ?? 4 {
            throw ValidationError("--certify-layers \(certifyLayers) is more than the net's \(depth ?? 4) hidden layers (--depth)")
        }
        if (certifyEps == nil) != (certifyWeight == nil) {
            throw ValidationError(certifyEps == nil ? "--certify-weight needs --certify-eps (the budget the penalty is for)"
                                                    : "--certify-eps needs --certify-weight (the penalty's weight)")
        }
        // The term acts on a binary first layer's exact interval: a float or XNOR model, 8-bit input or a conv first
        // layer would be refused by the session; say so as a usage error before any data is read.
        // A resumed run keeps its checkpoint's settings: the options would be silently ignored.
        let certifyGiven = [("--certify-eps", certifyEps != nil), ("--certify-weight", certifyWeight != nil),
                            ("--certify-layers", certifyLayers != nil), ("--certify-ramp", certifyRamp != nil)]
        if resume != nil, let given = certifyGiven.first(where: \.1)?.0 {
            throw ValidationError("\(given) with --resume: a resumed run keeps the certified-interval setting its checkpoint records")
        }
        if certifyEps != nil {
            if precision != .binary { throw ValidationError("--certify-eps needs --precision binary (the first layer's +/-1 weights), not \(precision.rawValue)") }
            if inputBits == 8 { throw ValidationError("--certify-eps needs --input-bits 1...7 (8-bit input has no levels)") }
            if arch == .conv { throw ValidationError("--certify-eps needs a fully connected first layer (--arch fcn, fcn1 or fcn2), not conv") }
        }
        try checkWeightSparsity()
        try checkOption("--gamma", gamma, TrainingConfig.Limits.gamma)
        try checkOption("--adversarial-eps", adversarialEps, TrainingConfig.Limits.epsilon)
        try checkOption("--adversarial-ratio", adversarialRatio, TrainingConfig.Limits.adversarialRatio)
        try checkOption("--adversarial-steps", adversarialSteps, TrainingConfig.Limits.steps)
        if let n = trainLimit, n < batchSize { throw ValidationError("--train-limit \(n) is smaller than --batch-size \(batchSize)") }
        try requirePositive("--test-limit", testLimit)
        if let out { try requireWritableFile(out, option: "--out") }
    }

    /// `--weight-sparsity` against its range, and a non-zero one against what ternary weights need: binary
    /// weights, dense layers (the model format stores ternary weights for `dense` only) and a new run (a resumed
    /// one keeps its checkpoint's). The certified-interval penalty takes ternary layers (its interval counts each
    /// unit's non-zero weights).
    func checkWeightSparsity() throws {
        try checkOption("--weight-sparsity", weightSparsity, TrainingConfig.Limits.weightSparsity)
        guard weightSparsity > 0 else { return }
        let s = "--weight-sparsity \(weightSparsity)"
        if precision != .binary { throw ValidationError("\(s) needs --precision binary (ternary weights are sign(W) with zeros), not \(precision.rawValue)") }
        if arch == .conv { throw ValidationError("\(s) needs a fully connected net (--arch fcn, fcn1 or fcn2), not conv: the model format stores ternary weights for dense layers only") }
        if resume != nil { throw ValidationError("\(s) with --resume: a resumed run keeps the weight sparsity its checkpoint records") }
    }

    /// The model for images of `data`'s geometry and classes.
    func modelConfig(for data: ImageSet) -> ModelConfig {
        let input = FeatureMap(height: data.height, width: data.width, channels: data.channels)
        var m: ModelConfig
        if arch == .conv {
            m = ModelConfig.conv(input: input, classes: data.classes, precision: precision, inputBits: inputBits)
            if let width { m.hidden = Array(repeating: width, count: depth ?? m.hidden.count) }
        } else {
            let baseWidth = arch == .fcn1 ? 6144 : 600
            m = ModelConfig.fcn(hidden: Array(repeating: width ?? baseWidth, count: depth ?? 4), input: input,
                                precision: precision, inputBits: inputBits)
            m.classes = data.classes
        }
        m.activation = activation
        m.floatLastLayer = floatLastLayer
        m.dropout = dropout ?? ModelConfig.defaultDropout(precision)
        m.weightSparsity = weightSparsity
        return m
    }

    func execute() throws {
        let dir = DataDirectory.resolve(explicit: common.dataDir)
        // One run per checkpoint: the target's lock is held from before the resumed checkpoint is read
        // until the process ends, so a second run on the same file stops here instead of overwriting it.
        var lock = try (out ?? resume).map { try FileLock(guarding: $0, holder: Self.lockHolder) }
        defer { lock?.release() }
        let checkpoint = try resume.map { path throws(TrainerError) in try Checkpoint.read(path: path) }
        let data = try checkpoint.map { ck throws(DatasetError) in try Dataset.named(ck.training.dataset) } ?? dataset
        let fullTrain = try data.load(.train, dataDirectory: dir)
        let testSet = try data.load(.test, dataDirectory: dir).prefix(testLimit)
        let session: TrainingSession
        if let checkpoint, let resume {
            session = try TrainingSession(resuming: checkpoint, epochs: epochs, path: resume, memoryBudget: common.memoryBudgetBytes)
        } else {
            var training = TrainingConfig(
                dataset: dataset.rawValue, epochs: epochs, batchSize: batchSize, optimizer: optimizer,
                learningRate: lr ?? TrainingConfig.defaultLearningRate(precision: precision, optimizer: optimizer),
                momentum: momentum, weightDecay: weightDecay, schedule: schedule, stepEpochs: stepEpochs,
                gamma: gamma, seed: seed, trainLimit: trainLimit,
                adversarial: adversarial.map {
                    // The paper's budgets: 0.3 on the 28x28 grey sets, 8/255 on CIFAR.
                    let eps = adversarialEps ?? (data == .cifar10 || data == .cifar100 ? 8 / 255 : 0.3)
                    return .init(attack: $0.kind, epsilon: eps, steps: adversarialSteps, ratio: adversarialRatio)
                })
            training.stablePenalty = stablePenalty > 0 ? stablePenalty : nil
            if let certifyEps, let certifyWeight { 
                training.certify = .init(epsilon: certifyEps, weight: certifyWeight, layers: certifyLayers,
                                         rampEpochs: certifyRamp ?? TrainingConfig.CertifiedTraining.defaultRamp(epochs: epochs))
            }
            // The model comes from the options here: a model the options make too large is a usage error.
            do { session = try TrainingSession(model: modelConfig(for: fullTrain), training: training, memoryBudget: common.memoryBudgetBytes) }
            catch { throw ToolError.usage(error.description) }
        }
        let config = session.config
        let model = session.network.config
        let trainSet = fullTrain.prefix(config.trainLimit)
        // Resuming continues that run: without --out it is written back (atomically, to the file a symlink
        // names, not over the link), never to the default name, which may hold another run. The checkpoint is
        // read whole before any write, so --out X is the same.
        let outPath: String
        if let given = out ?? resume.map(FileIdentity.canonicalPath) {
            outPath = given
        } else {
            (outPath, lock) = try Self.freshRunPath(model.summary)
        }
        try refuseOverwriting(inputs: common.dataFiles, with: [outPath])
        try requireWritableFile(outPath, option: "--out")
        // Both splits against the model before the first step (a bad test split would otherwise stop after an epoch).
        try session.network.checkFits(trainSet, role: "training split")
        try session.network.checkFits(testSet, role: "test split")

        let progress = ProgressPrinter(enabled: !common.quiet)
        progress.line("train: \(model.summary) on \(config.dataset) (\(trainSet.count) train, \(testSet.count) test), "
                      + "\(config.optimizer.rawValue) lr \(config.learningRate) \(config.schedule.rawValue), batch \(config.batchSize), "
                      + "seed \(config.seed); BLAS \(BLASInfo.coreName) x\(BLASInfo.threads)")
        var epochSeconds: [Double] = [], epochCPUSeconds: [Double] = []
        var last: EpochReport?
        var testAccuracy: Double?
        if session.epochsCompleted >= config.epochs {
            progress.line("checkpoint already has \(session.epochsCompleted) epochs; nothing to train")
        }
        while session.epochsCompleted < config.epochs && epochSeconds.count < stopAfter ?? Int.max {
            let report = try session.trainEpoch(on: trainSet) { b in
                progress.batch(b, totalEpochs: config.epochs)
            }
            last = report
            epochSeconds.append(report.seconds)
            epochCPUSeconds.append(report.cpuSeconds)
            testAccuracy = try Evaluation.accuracy(session.network, on: testSet)
            progress.epoch(report, totalEpochs: config.epochs, testAccuracy: testAccuracy!)
            try session.checkpoint(testAccuracy: testAccuracy, last: report).write(to: outPath)
        }
        if testAccuracy == nil {
            testAccuracy = try Evaluation.accuracy(session.network, on: testSet)
            try session.checkpoint(testAccuracy: testAccuracy, last: nil).write(to: outPath)
        }
        let trained = epochSeconds.reduce(0, +)
        let images = Double(trainSet.count * epochSeconds.count)
        print("test accuracy \(String(format: "%.2f", testAccuracy! * 100))% after \(session.epochsCompleted) epochs; saved \(outPath)")
        if common.json {
            var summary: [String: Any] = [
                "test_accuracy": testAccuracy!,
                "epochs": session.epochsCompleted,
                "epochs_this_run": epochSeconds.count,
                "seconds": trained,
                "epoch_seconds": epochSeconds,
                "median_epoch_seconds": median(epochSeconds),
                "epoch_cpu_seconds": epochCPUSeconds,
                "images_per_second": trained > 0 ? images / trained : 0,
                "model": model.summary,
                "precision": model.precision.rawValue,
                "input_bits": model.inputBits,
                "dataset": config.dataset,
                "out": outPath,
                "seed": config.seed,
                "blas_core": BLASInfo.coreName,
            ]
            if let last { summary["train_loss"] = last.trainLoss; summary["train_accuracy"] = last.trainAccuracy }
            print(try jsonLine(summary))
        }
    }
}

func median(_ xs: [Double]) -> Double {
    guard !xs.isEmpty else { return 0 }
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

extension Fit {
    /// What a checkpoint's lock names as its holder.
    static let lockHolder = "training run"

    /// The default checkpoint of a fresh run, with its lock taken: `runs/SUMMARY.safetensors`, or the first
    /// of `runs/SUMMARY-2.safetensors`, `-3`, ... that does not exist yet and no other run holds, so a new
    /// run never replaces an earlier one that happens to share its configuration, nor a concurrent one.
    static func freshRunPath(_ summary: String) throws(DatasetError) -> (String, FileLock) {
        let base = "runs/\(summary)"
        var n = 1
        while true {
            let path = n == 1 ? base + ".safetensors" : "\(base)-\(n).safetensors"
            n += 1
            guard !FileManager.default.fileExists(atPath: path) else { continue }
            let lock: FileLock
            do { lock = try FileLock(guarding: path, holder: lockHolder) } catch {
                if case .locked = error { continue }
                throw error
            }
            // A run that held it may have finished and written it meanwhile.
            guard !FileManager.default.fileExists(atPath: path) else { lock.release(); continue }
            return (path, lock)
        }
    }
}
