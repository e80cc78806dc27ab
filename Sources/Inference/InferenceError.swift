import ModelFormat

/// What can go wrong preparing a model. `invoke()` cannot fail: `prepare` checked everything.
public enum InferenceError: Error, Equatable {
    /// The image failed validation.
    case format(ModelFormatError)
    /// The caller's arena is smaller than the plan needs.
    case arenaTooSmall(needs: Int, has: Int)
    /// The caller's arena is not 16-byte aligned.
    case arenaMisaligned(address: UInt)
    /// A batch size outside 1...4096.
    case badBatch(Int)

    /// A message with the numbers.
    public var message: String {
        switch self {
        case let .format(e): return e.message
        case let .arenaTooSmall(needs, has): return "arena too small: needs \(needs), has \(has)"
        case let .arenaMisaligned(address): return "arena at address \(address) is not 16-byte aligned"
        case let .badBatch(batch): return "batch \(batch) is outside 1...4096"
        }
    }
}
