import Datasets
import Foundation
import ModelFormat

/// What a training run reports after each batch (for progress lines).
public struct BatchReport: Sendable {
    /// 0-based epoch.
    public var epoch: Int
    /// Batches done in this epoch.
    public var batch: Int
    /// Batches in an epoch.
    public var batches: Int
    /// Running mean loss over this epoch.
    public var loss: Double
    /// Running training accuracy over this epoch (fraction).
    public var accuracy: Double
    /// Training throughput so far in this epoch.
    public var imagesPerSecond: Double
    /// Seconds elapsed in this epoch.
    public var seconds: Double
}

/// What a training run reports after each epoch.
public struct EpochReport: Sendable {
    /// 0-based epoch.
    public var epoch: Int
    /// Mean training loss.
    public var trainLoss: Double
    /// Training accuracy in training mode (fraction).
    public var trainAccuracy: Double
    /// Seconds spent training this epoch (evaluation excluded).
    public var seconds: Double
    /// Images per second of training.
    public var imagesPerSecond: Double
    /// CPU seconds (user + system, every thread of the process) spent training this epoch: the figure that
    /// stays comparable on a shared machine, where wall seconds depend on the other processes.
    public var cpuSeconds: Double = 0
}

/// Trains a `Network` with an `Optimizer` under a `TrainingConfig`, one epoch at a time.
///
/// Determinism: weights come from `seed`; epoch e shuffles with stream 1000 + e and drops out with
/// stream 2000 + e of the same seed, so a run resumed from a checkpoint after epoch e continues
/// exactly as the uninterrupted run would have.
public final class TrainingSession {
    /// The model being trained.
    public let network: Network
    /// Its optimizer.
    public let optimizer: Optimizer
    /// The settings.
    public let config: TrainingConfig
    /// Epochs completed (including those before a resume).
    public private(set) var epochsCompleted: Int
    /// Training seconds over all epochs (including those before a resume).
    public private(set) var seconds: Double

    /// A fresh run; refuses a model above `memoryBudget` bytes with the optimizer's state (ModelConfig+Bounds.swift).
    public init(model: ModelConfig, training: TrainingConfig,
                memoryBudget: Int = ModelConfig.defaultMemoryBudget) throws(TrainerError) {
        try training.validate()
        network = try Network(config: model, seed: training.seed, optimizer: training.optimizer, memoryBudget: memoryBudget)
        if let c = training.certify { _ = try network.certifiedBlocks(c.layerCount) }
        optimizer = Optimizer(kind: training.optimizer, momentum: training.momentum, weightDecay: training.weightDecay)
        config = training
        epochsCompleted = 0
        seconds = 0
    }

    /// A run resumed from `checkpoint` (its model and settings, with `epochs` possibly raised).
    public init(resuming checkpoint: Checkpoint, epochs: Int, path: String,
                memoryBudget: Int = ModelConfig.defaultMemoryBudget) throws(TrainerError) {
        var training = checkpoint.training
        training.epochs = epochs
        try training.validate()
        network = try Network(config: checkpoint.model, seed: training.seed, optimizer: training.optimizer, memoryBudget: memoryBudget)
        if let c = training.certify { _ = try network.certifiedBlocks(c.layerCount) }
        optimizer = Optimizer(kind: training.optimizer, momentum: training.momentum, weightDecay: training.weightDecay)
        try checkpoint.load(into: network, optimizer: optimizer, path: path)
        config = training
        epochsCompleted = checkpoint.progress.epochsCompleted
        seconds = checkpoint.progress.seconds
    }

    /// Batches per epoch for `count` training images (a last batch of fewer than 2 images is dropped).
    public func batchesPerEpoch(count: Int) -> Int {
        let full = count / config.batchSize
        return full + (count % config.batchSize >= 2 ? 1 : 0)
    }

    /// Trains one epoch on `data`, calling `onBatch` after each batch.
    public func trainEpoch(on data: ImageSet, onBatch: (BatchReport) -> Void = { _ in }) throws(TrainerError) -> EpochReport {
        try network.checkFits(data, role: "training split")
        let epoch = epochsCompleted
        let batches = batchesPerEpoch(count: data.count)
        try checkStepRoom(batchesPerEpoch: batches)
        let totalSteps = batches * config.epochs
        var shuffle = SeededRandom(seed: config.seed, stream: 1000 + UInt64(epoch))
        let order = shuffle.permutation(data.count)
        var context = ForwardContext(training: true, random: SeededRandom(seed: config.seed, stream: 2000 + UInt64(epoch)))
        let parameters = network.parameters
        var lossSum = 0.0, correct = 0, seen = 0
        let start = Date(), cpuStart = ProcessCPUTime.seconds()
        for b in 0..<batches {
            let lo = b * config.batchSize
            let hi = min(lo + config.batchSize, data.count)
            var (x, labels) = TrainingSession.batch(data, indices: order[lo..<hi])
            if let adversarial = config.adversarial {
                try replaceWithAdversarial(&x, labels: labels, settings: adversarial, batch: epoch * batches + b)
            }
            // The stable-unit and certified-interval penalties act on this pass only (not on the adversarial
            // examples' passes above); the certified interval is that of the images this pass sees.
            network.setStablePenalty(config.stablePenalty ?? 0)
            var certified: [Network.CertifiedBlock] = []
            let logits: Matrix
            if let c = config.certify {
                let (budget, weight) = c.scheduled(step: epoch * batches + b, stepsPerEpoch: batches)
                (logits, certified) = try network.forwardCertified(x, budget: budget, weight: weight,
                                                                   count: c.layerCount, context: &context)
            } else {
                logits = network.forward(x, context: &context)
            }
            var (loss, grad, ok) = try SoftmaxCrossEntropy.evaluate(logits: logits, labels: labels)
            loss += network.layers.reduce(0) { $0 + (($1 as? BatchNorm)?.lastPenalty ?? 0) }
            guard loss.isFinite else { throw .diverged(epoch: epoch, batch: b, reason: "the loss is \(loss)") }
            network.backward(grad)
            network.finishCertified(certified)
            network.setStablePenalty(0)
            let step = epoch * batches + b
            let lr = config.schedule.rate(base: config.learningRate, step: step, totalSteps: totalSteps,
                                          epoch: epoch, stepEpochs: config.stepEpochs, gamma: config.gamma)
            optimizer.update(parameters, lr: lr)
            lossSum += Double(loss) * Double(hi - lo)
            correct += ok
            seen += hi - lo
            let elapsed = Date().timeIntervalSince(start)
            onBatch(BatchReport(epoch: epoch, batch: b + 1, batches: batches, loss: lossSum / Double(seen),
                                accuracy: Double(correct) / Double(seen),
                                imagesPerSecond: Double(seen) / max(elapsed, 1e-9), seconds: elapsed))
        }
        // A step can leave a weight non-finite while the loss still looks finite (a clipped latent weight).
        for p in parameters {
            if let i = p.value.firstIndex(where: { !$0.isFinite }) {
                throw .diverged(epoch: epoch, batch: batches - 1, reason: "weight '\(p.name)' is \(p.value[i]) at index \(i)")
            }
        }
        let elapsed = Date().timeIntervalSince(start)
        epochsCompleted += 1
        seconds += elapsed
        return EpochReport(epoch: epoch, trainLoss: lossSum / Double(seen), trainAccuracy: Double(correct) / Double(seen),
                           seconds: elapsed, imagesPerSecond: Double(seen) / max(elapsed, 1e-9),
                           cpuSeconds: ProcessCPUTime.seconds() - cpuStart)
    }

    /// Refuses, before a step is taken, a run whose optimizer step count would pass what a checkpoint may
    /// record (`TrainingProgress.maxOptimizerStep`) by its last epoch: a resumed checkpoint near the bound
    /// would otherwise train a whole epoch and then fail to save it.
    func checkStepRoom(batchesPerEpoch batches: Int) throws(TrainerError) {
        let epochs = max(1, config.epochs - epochsCompleted), limit = TrainingProgress.maxOptimizerStep
        let (steps, overflow) = batches.multipliedReportingOverflow(by: epochs)
        guard !overflow, optimizer.step <= limit - steps else {
            throw .invalidConfig("optimizer_step \(optimizer.step) leaves no room for \(epochs) more epoch(s) of \(batches) batches: "
                                 + "a checkpoint records at most \(limit) steps")
        }
    }

    /// Replaces the first `ratio` of the rows of `x` by adversarial examples against the current model,
    /// stored as 8-bit pixels as any adversarial image is.
    func replaceWithAdversarial(_ x: inout Matrix, labels: [Int], settings: TrainingConfig.AdversarialTraining,
                                batch: Int) throws(TrainerError) {
        let rows = max(1, Int((Float(x.rows) * settings.ratio).rounded()))
        let head = Matrix(rows: rows, cols: x.cols, data: Array(x.data[0..<(rows * x.cols)]))
        var attack = AttackConfig(kind: settings.attack, epsilon: settings.epsilon, steps: settings.steps,
                                  seed: config.seed &+ 0xAD7)
        attack.fgsmCandidate = false   // Madry's PGD, as checkpoints trained before issue 16 item 4 were

        let attacker = try Attacker(network: network, config: attack)
        let pixels = try attacker.attackBatch(head, labels: Array(labels[0..<rows]), batch: batch).pixels
        for i in 0..<pixels.count { x.data[i] = Float(pixels[i]) / 255 }
    }

    /// The images at `indices` as a `[n, pixels]` matrix on the [0, 1] scale, with their labels.
    public static func batch<C: Collection>(_ data: ImageSet, indices: C) -> (Matrix, [Int]) where C.Element == Int {
        let size = data.imageSize
        var x = Matrix(rows: indices.count, cols: size)
        var labels: [Int] = []
        labels.reserveCapacity(indices.count)
        data.pixels.withUnsafeBufferPointer { px in
            x.data.withUnsafeMutableBufferPointer { pd in
                for (row, i) in indices.enumerated() {
                    let src = i * size, dst = row * size
                    for k in 0..<size { pd[dst + k] = Float(px[src + k]) / 255 }
                }
            }
        }
        for i in indices { labels.append(Int(data.labels[i])) }
        return (x, labels)
    }

    /// The checkpoint of the current state; refuses (`nonFinite`) a state with a NaN or infinite value.
    public func checkpoint(testAccuracy: Double?, last: EpochReport?) throws(TrainerError) -> Checkpoint {
        try Checkpoint(network: network, optimizer: optimizer, training: config,
                   progress: TrainingProgress(epochsCompleted: epochsCompleted, optimizerStep: optimizer.step,
                                              testAccuracy: testAccuracy, trainLoss: last?.trainLoss,
                                              trainAccuracy: last?.trainAccuracy, seconds: seconds))
    }
}

/// Scoring a network on a labelled set in evaluation mode.
public enum Evaluation {
    /// Predicted class of every image of `data` (which must fit the model: `ModelConfig.checkFits`): the
    /// first index of the largest score.
    public static func predictions(_ network: Network, on data: ImageSet, batchSize: Int = 1000) throws(TrainerError) -> [Int] {
        try scores(network, on: data, batchSize: batchSize).argmaxRows()
    }

    /// The evaluation-mode scores (logits) of every image of `data`, `[count, classes]`, its batches split
    /// over `workers` cores (ParallelEvaluation.swift; the scores do not depend on `workers`).
    public static func scores(_ network: Network, on data: ImageSet, batchSize: Int = 1000,
                              workers: Int = ParallelEvaluation.defaultWorkers) throws(TrainerError) -> Matrix {
        try network.checkFits(data, role: "evaluated set")
        let out = ParallelEvaluation.forward(network, on: data, batchSize: batchSize, workers: workers)
        return Matrix(rows: data.count, cols: network.config.classes, data: out)
    }

    /// Fraction of `data` classified correctly.
    public static func accuracy(_ network: Network, on data: ImageSet) throws(TrainerError) -> Double {
        let p = try predictions(network, on: data)
        var correct = 0
        for i in 0..<data.count where p[i] == Int(data.labels[i]) { correct += 1 }
        return Double(correct) / Double(max(data.count, 1))
    }
}
