import Datasets

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

    public var description: String {
        switch self {
        case let .invalidConfig(s): return "invalid configuration: \(s)"
        case let .dataset(e): return e.description
        case let .badCheckpoint(path, reason): return "\(path): bad checkpoint: \(reason)"
        case let .checkpointMismatch(path, reason): return "\(path): checkpoint does not fit the model: \(reason)"
        case let .dataMismatch(s): return "data does not fit the model: \(s)"
        case let .io(path, reason): return "\(path): \(reason)"
        }
    }
}
