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
    /// The arena for `batch` images of a model whose largest value has `largestValue` elements does not
    /// fit this target's address arithmetic (`Interpreter.planFits`).
    case planOverflow(largestValue: Int, batch: Int)

    /// A message with the numbers.
    public var message: String {
        switch self {
        case let .format(e): return e.message
        case let .arenaTooSmall(needs, has): return "arena too small: needs \(needs), has \(has)"
        case let .arenaMisaligned(address): return "arena at address \(address) is not 16-byte aligned"
        case let .badBatch(batch): return "batch \(batch) is outside 1...4096"
        case let .planOverflow(largest, batch):
            return "the arena for \(batch) image(s) with a largest value of \(largest) elements exceeds what this target can address (\(Int.max / 4) bytes with 32 bytes per element)"
        }
    }
}
