import Datasets
import Foundation

/// Everything the trainer can fail at. Messages carry the numbers.
public enum TrainerError: Error, CustomStringConvertible {
    /// A model or training setting is out of range.
    case invalidConfig(String)
    /// A data set could not be read.
    case dataset(DatasetError)
    /// A checkpoint file is malformed (offsets, sizes, JSON, dtype).
    case badCheckpoint(path: String, reason: String)
    /// A checkpoint lacks a tensor the model needs, or has one of the wrong size.
    case checkpointMismatch(path: String, reason: String)
    /// The data does not fit the model (input size, classes).
    case dataMismatch(String)
    /// Reading or writing a file failed.
    case io(path: String, reason: String)
    /// Building something would take more memory than the budget allows.
    case overBudget(what: String, bytes: Int, budget: Int)
    /// A tensor holds NaN or an infinity (`path` is the file, or a description when none was read).
    case nonFinite(path: String, tensor: String, index: Int, value: Float)
    /// A tensor holds a value its kind rules out (a negative variance, say), at `index`.
    case badValue(path: String, tensor: String, index: Int, value: Float, rule: String)
    /// Training produced a non-finite loss or weight; nothing from that step on is saved.
    case diverged(epoch: Int, batch: Int, reason: String)
    /// Export: a BatchNorm + sign that no integer threshold reproduces (the converter's verification of
    /// the folding, spec/FORMAT.md): at `accumulator` the trainer's float expression is `value`.
    case unfoldableThreshold(layer: Int, channel: Int, accumulator: Int, value: Float, threshold: Int32, flip: UInt8)
    /// An experiment grid file (`experiments/*.json`) is malformed: `cell` names the cell (nil: the file's
    /// top level) and `field` the key path inside it.
    case badGrid(path: String, cell: String?, field: String, problem: String)
    /// A stored PGD run (`train sweep --edge-start DIR`, EdgeStart+Stored.swift) is not the start of this
    /// edge attack: its `field` is `stored`, the attack's is `expected`.
    case startMismatch(path: String, field: String, stored: String, expected: String)

    public var description: String {
        switch self {
        case let .invalidConfig(s): return "invalid configuration: \(s)"
        case let .dataset(e): return e.description
        case let .badCheckpoint(path, reason): return "\(path): bad checkpoint: \(reason)"
        case let .checkpointMismatch(path, reason): return "\(path): checkpoint does not fit the model: \(reason)"
        case let .dataMismatch(s): return "data does not fit the model: \(s)"
        case let .io(path, reason): return "\(path): \(reason)"
        case let .overBudget(what, bytes, budget):
            return "\(what) needs \(bytes) bytes (\(TrainerError.gib(bytes)) GiB), above the memory budget of \(budget) bytes "
                + "(\(TrainerError.gib(budget)) GiB; --memory-budget raises it)"
        case let .nonFinite(path, tensor, index, value):
            return "\(path): tensor '\(tensor)' holds \(value) at index \(index); only finite values are accepted"
        case let .badValue(path, tensor, index, value, rule):
            return "\(path): tensor '\(tensor)' holds \(value) at index \(index): \(rule)"
        case let .unfoldableThreshold(layer, channel, accumulator, value, threshold, flip):
            return "layer \(layer) channel \(channel): BatchNorm and sign cannot be folded into a threshold: at accumulator "
                + "\(accumulator) the trainer's expression is \(value), but threshold \(threshold) with flip \(flip) gives the "
                + "other sign (an output scale so large that accumulator x scale overflows, times a zero BatchNorm scale, is NaN, "
                + "so -1, at the range's ends and +1 near 0)"
        case let .badGrid(path, cell, field, problem):
            return "\(path): " + (cell.map { "cell '\($0)', " } ?? "") + "field '\(field)': \(problem)"
        case let .startMismatch(path, field, stored, expected):
            return "\(path): not the PGD start of this edge attack: its \(field) is \(stored), this attack's is \(expected)"
        case let .diverged(epoch, batch, reason):
            return "training diverged in epoch \(epoch + 1), batch \(batch + 1): \(reason); "
                + "stopped, the last checkpoint written (if any) is kept unchanged (try a lower --lr)"
        }
    }

    /// `bytes` in GiB with two decimals.
    static func gib(_ bytes: Int) -> String {
        String(format: "%.2f", Double(bytes) / Double(1 << 30))
    }
}
