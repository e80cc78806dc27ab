// The host's text for a runtime error: compiled only where text may be formed (see ModelFormatError+Message.swift).
#if os(Linux) || os(macOS) || BITSHIELD_HOST_MESSAGES
import ModelFormat

extension InferenceError {
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

#endif
