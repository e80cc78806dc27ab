import ModelFormat

/// What can go wrong preparing a model (numbers only: the host formats `message`, InferenceError+Message.swift). `invoke()` cannot fail: `prepare` checked everything.
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
}
