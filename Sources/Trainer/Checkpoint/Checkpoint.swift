import Datasets
import Foundation

/// How far training has gone, and what the model scored. Stored as JSON in checkpoint metadata.
public struct TrainingProgress: Codable, Equatable, Sendable {
    /// Epochs completed.
    public var epochsCompleted: Int
    /// Optimizer steps taken.
    public var optimizerStep: Int
    /// Test accuracy (fraction) of the saved weights, if measured.
    public var testAccuracy: Double?
    /// Mean training loss of the last epoch.
    public var trainLoss: Double?
    /// Training accuracy (fraction, in training mode) of the last epoch.
    public var trainAccuracy: Double?
    /// Training seconds so far, over all epochs.
    public var seconds: Double

    /// A progress record.
    public init(epochsCompleted: Int, optimizerStep: Int, testAccuracy: Double?, trainLoss: Double?,
                trainAccuracy: Double?, seconds: Double) {
        self.epochsCompleted = epochsCompleted
        self.optimizerStep = optimizerStep
        self.testAccuracy = testAccuracy
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.seconds = seconds
    }
}

/// A checkpoint: safetensors with the float latent weights, BatchNorm statistics and optimizer state,
/// and JSON metadata in `__metadata__`:
///
/// | key | value |
/// |---|---|
/// | `format` | `bitshield.checkpoint` |
/// | `format_version` | `1` |
/// | `model` | `ModelConfig` as JSON (architecture, widths, precision, input bits, ...) |
/// | `training` | `TrainingConfig` as JSON (optimizer, rates, seed, ...) |
/// | `progress` | `TrainingProgress` as JSON (epochs done, test accuracy, ...) |
/// | `tool` | the program and version that wrote it |
///
/// Tensors: `fcN.weight` `[out, in]` (latent weights for binary layers), `fcN.bias`, `bnN.weight`,
/// `bnN.bias`, `bnN.running_mean`, `bnN.running_var` (PyTorch's names), and `optimizer.<name>.first`
/// / `.second` for resuming.
public struct Checkpoint {
    /// The metadata `format` value.
    public static let formatName = "bitshield.checkpoint"
    /// The metadata `format_version` value this code writes and reads.
    public static let formatVersion = 1
    /// The writer's name and version, stored under `tool`.
    public static let toolVersion = "bitshield-train 0.1.0"

    /// The model's configuration.
    public var model: ModelConfig
    /// The training configuration.
    public var training: TrainingConfig
    /// Progress and scores.
    public var progress: TrainingProgress
    /// Every tensor.
    public var file: SafeTensorsFile

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return e
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    /// A checkpoint of `network` (and `optimizer`'s state when given). Refuses (`nonFinite`, or
    /// `invalidConfig` for progress that cannot be stored) a state no reader would accept: a diverged run
    /// is never saved.
    public init(network: Network, optimizer: Optimizer?, training: TrainingConfig, progress: TrainingProgress) throws(TrainerError) {
        model = network.config
        self.training = training
        self.progress = progress
        var tensors: [NamedArray] = []
        for p in network.parameters { tensors.append(NamedArray(name: p.name, shape: p.shape, values: p.value)) }
        for s in network.state { tensors.append(NamedArray(name: s.name, shape: [s.value.count], values: s.value)) }
        if let optimizer {
            for p in network.parameters {
                guard let slot = optimizer.slots[p.name] else { continue }
                tensors.append(NamedArray(name: "optimizer.\(p.name).first", shape: p.shape, values: slot.first))
                if !slot.second.isEmpty {
                    tensors.append(NamedArray(name: "optimizer.\(p.name).second", shape: p.shape, values: slot.second))
                }
            }
        }
        let what = "the checkpoint being written"
        try Checkpoint.checkValues(tensors, path: what)
        try progress.validate(path: what)
        let enc = Checkpoint.encoder()
        func json<T: Encodable>(_ v: T) throws(TrainerError) -> String {
            do { return String(decoding: try enc.encode(v), as: UTF8.self) } catch {
                throw .invalidConfig("\(what): cannot encode \(T.self): \(error)")
            }
        }
        file = SafeTensorsFile(metadata: [
            "format": Checkpoint.formatName,
            "format_version": String(Checkpoint.formatVersion),
            "model": try json(model),
            "training": try json(training),
            "progress": try json(progress),
            "tool": Checkpoint.toolVersion,
        ], tensors: tensors)
    }

    /// Writes the checkpoint atomically (temporary file, then rename), after checking that the bytes read
    /// back as a checkpoint (safetensors reader, then the metadata and tensor checks of `init(file:path:)`).
    public func write(to path: String) throws(TrainerError) {
        do {
            try AtomicFile.write(file.encoded(), to: path) { bytes in
                do throws(TrainerError) {
                    _ = try Checkpoint(file: SafeTensorsFile.parse(bytes, path: path), path: path)
                    return nil
                } catch {
                    return error.description
                }
            }
        } catch { throw .dataset(error) }
    }

    /// Reads and validates a checkpoint.
    public static func read(path: String) throws(TrainerError) -> Checkpoint {
        try Checkpoint(file: try SafeTensorsFile.read(path: path), path: path)
    }

    /// A checkpoint from a parsed file (which may hold only some tensors: `convert` skips the optimizer's).
    public init(file: SafeTensorsFile, path: String) throws(TrainerError) {
        func fail(_ r: String) -> TrainerError { .badCheckpoint(path: path, reason: r) }
        let (name, version) = (Checkpoint.formatName, Checkpoint.formatVersion)
        guard file.metadata["format"] == name else {
            throw fail("metadata 'format' is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(name)'")
        }
        guard let v = file.metadata["format_version"].flatMap(Int.init), v <= version else {
            throw fail("format_version \(file.metadata["format_version"] ?? "missing") is newer than \(version) or unreadable")
        }
        func decode<T: Decodable>(_ key: String, _ type: T.Type) throws(TrainerError) -> T {
            guard let s = file.metadata[key] else { throw fail("metadata '\(key)' is missing") }
            return try Checkpoint.decodeMetadata(T.self, key: key, json: s, fail: fail)
        }
        model = try decode("model", ModelConfig.self)
        training = try decode("training", TrainingConfig.self)
        progress = try decode("progress", TrainingProgress.self)
        self.file = file
        try validate(path: path)
    }

    /// Builds the network this checkpoint describes and loads its weights and statistics; refuses one
    /// above `memoryBudget` bytes (weights and gradients: ModelConfig+Bounds.swift).
    public func makeNetwork(path: String = "checkpoint", memoryBudget: Int = ModelConfig.defaultMemoryBudget) throws(TrainerError) -> Network {
        let network = try Network(config: model, seed: 0, memoryBudget: memoryBudget)
        try load(into: network, optimizer: nil, path: path)
        return network
    }

    /// Copies weights and statistics into `network` (and optimizer state into `optimizer`).
    public func load(into network: Network, optimizer: Optimizer?, path: String) throws(TrainerError) {
        func take(_ name: String, _ shape: [Int]) throws(TrainerError) -> [Float] {
            guard let t = file.tensor(name) else { throw .checkpointMismatch(path: path, reason: file.absence(of: name)) }
            guard t.shape == shape, t.values.count == shape.reduce(1, *) else {
                throw .checkpointMismatch(path: path, reason: "tensor '\(name)' has shape \(t.shape), the model needs \(shape)")
            }
            return t.values
        }
        for p in network.parameters { p.value = try take(p.name, p.shape) }
        for s in network.state { s.value = try take(s.name, [s.value.count]) }
        guard let optimizer else { return }
        for p in network.parameters {
            guard let first = file.tensor("optimizer.\(p.name).first") else { continue }
            let second = file.tensor("optimizer.\(p.name).second")?.values ?? []
            // Adam's step reads both moments; SGD keeps only the first.
            let secondCount = optimizer.kind == .adam ? p.value.count : 0
            guard first.values.count == p.value.count, second.count == secondCount else {
                throw .checkpointMismatch(path: path, reason: "optimizer state for '\(p.name)' has \(first.values.count) and "
                                          + "\(second.count) values, \(optimizer.kind.rawValue) needs \(p.value.count) and \(secondCount)")
            }
            optimizer.slots[p.name] = Optimizer.Slot(first: first.values, second: second)
        }
        optimizer.restore(step: progress.optimizerStep)
    }
}
