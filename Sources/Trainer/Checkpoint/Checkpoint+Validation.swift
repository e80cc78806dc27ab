// What a checkpoint must satisfy before anything is built from it. Its metadata says how large the
// network is; its tensors (already bounded by the file's size: the safetensors reader checks every
// offset) say how large it can be. Comparing the two, shape by shape, before `Network.init` means a small
// file can never make the trainer allocate from its metadata alone, and a tensor stored in another
// layout with the same number of values (a transposed `[in, out]` weight) is refused rather than loaded
// scrambled. Every value must be finite: a NaN in a BatchNorm statistic or in Adam's moments would
// otherwise surface as a wrong answer or a trap an epoch later.

extension Checkpoint {
    /// Refuses NaN or an infinity in any of `tensors`, and a negative value in a tensor that holds
    /// variances (BatchNorm's `running_var`, Adam's second moment `optimizer.NAME.second`: a negative
    /// one becomes NaN under the square root, which folds silently into constant thresholds), naming
    /// the tensor and the first bad index. The one value rule for every tensor read or written.
    static func checkValues(_ tensors: [NamedArray], path: String) throws(TrainerError) {
        for t in tensors {
            if let i = t.values.firstIndex(where: { !$0.isFinite }) {
                throw .nonFinite(path: path, tensor: t.name, index: i, value: t.values[i])
            }
            if holdsVariances(t.name), let i = t.values.firstIndex(where: { $0 < 0 }) {
                throw .badValue(path: path, tensor: t.name, index: i, value: t.values[i],
                                rule: "a variance (BatchNorm running_var, Adam second moment) must not be negative")
            }
        }
    }

    /// Whether the tensor called `name` holds variances, which are never negative.
    static func holdsVariances(_ name: String) -> Bool {
        name.hasSuffix(".running_var") || (name.hasPrefix("optimizer.") && name.hasSuffix(".second"))
    }

    /// Checks the metadata against the tensors: the model's numbers within the format's caps, every
    /// tensor the model needs present with exactly its shape, optimizer state (where the file holds
    /// any) shaped as its parameter with the moments the optimizer keeps (Adam two, SGD one), every
    /// value finite (variances not negative), the training settings and the progress counters in range.
    func validate(path: String) throws(TrainerError) {
        func mismatch(_ reason: String) -> TrainerError { .checkpointMismatch(path: path, reason: reason) }
        let specs: [TensorSpec]
        do { specs = try model.tensorSpecs() } catch {
            throw .badCheckpoint(path: path, reason: "metadata 'model': \(error)")
        }
        // The training settings bound the loops a resumed run takes (adversarial PGD steps, epochs):
        // checked here, at load, like the options that set them.
        do { try training.validate() } catch {
            throw .badCheckpoint(path: path, reason: "metadata 'training': \(error)")
        }
        // `train` writes F32 only: a tensor of another dtype would be read as absent (optimizer state
        // silently dropped on resume, say), so any is refused.
        for (name, dtype) in zip(file.skipped, file.skippedDTypes) {
            throw mismatch("tensor '\(name)' is stored as \(dtype); a checkpoint holds F32 tensors only")
        }
        for spec in specs {
            guard let t = file.tensor(spec.name) else { throw mismatch(file.absence(of: spec.name)) }
            guard t.shape == spec.shape else {
                throw mismatch("tensor '\(spec.name)' has shape \(t.shape), the model \(model.summary) needs \(spec.shape)")
            }
        }
        for spec in specs where spec.trainable {
            let first = file.tensor("optimizer.\(spec.name).first"), second = file.tensor("optimizer.\(spec.name).second")
            guard let first else {
                if second != nil { throw mismatch("tensor 'optimizer.\(spec.name).second' has no '.first' beside it") }
                continue
            }
            for t in [first, second].compactMap({ $0 }) where t.shape != spec.shape {
                throw mismatch("tensor '\(t.name)' has shape \(t.shape), its parameter has \(spec.shape)")
            }
            if training.optimizer == .adam, second == nil {
                throw mismatch("Adam state for '\(spec.name)' has a first moment but no 'optimizer.\(spec.name).second'")
            }
            if training.optimizer == .sgd, second != nil {
                throw mismatch("SGD state for '\(spec.name)' has a second moment ('optimizer.\(spec.name).second'); SGD keeps one")
            }
        }
        try Checkpoint.checkValues(file.tensors, path: path)
        try progress.validate(path: path)
    }
}

extension TrainingProgress {
    /// Most optimizer steps a checkpoint may record (far above any run, far below the counter's overflow).
    public static let maxOptimizerStep = 1 << 53

    /// Counters in range (epochs in 0...`TrainingConfig.maxEpochs`, steps not negative) and scores finite
    /// (accuracies in [0, 1]).
    func validate(path: String) throws(TrainerError) {
        func fail(_ r: String) -> TrainerError { .badCheckpoint(path: path, reason: "metadata 'progress': \(r)") }
        guard (0...TrainingConfig.maxEpochs).contains(epochsCompleted) else {
            throw fail("epochs_completed \(epochsCompleted) is outside 0...\(TrainingConfig.maxEpochs)")
        }
        guard (0...TrainingProgress.maxOptimizerStep).contains(optimizerStep) else {
            throw fail("optimizer_step \(optimizerStep) is outside 0...\(TrainingProgress.maxOptimizerStep)")
        }
        guard seconds.isFinite, seconds >= 0 else { throw fail("seconds \(seconds) is not a finite, non-negative number") }
        for (key, v) in [("test_accuracy", testAccuracy), ("train_accuracy", trainAccuracy)] {
            if let v, !(v >= 0 && v <= 1) { throw fail("\(key) \(v) is outside [0, 1]") }
        }
        if let loss = trainLoss, !loss.isFinite { throw fail("train_loss \(loss) is not finite") }
    }
}
