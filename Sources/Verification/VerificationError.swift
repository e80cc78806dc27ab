import ModelFormat

/// Why the verifier cannot take a model or an input, with the numbers involved.
public enum VerificationError: Error, Equatable, CustomStringConvertible {
    /// The model has a layer or op the verifier does not reason about (op index, what it is, why).
    case unsupported(op: Int, what: String)
    /// An image's size differs from the model's input.
    case inputSize(expected: Int, found: Int)
    /// A label at or past the model's classes.
    case label(Int, classes: Int)
    /// A verifier bug caught by its own check (a SAT model that is not a counterexample, say).
    case unsound(String)
    /// The model image itself is invalid (the reader's error).
    case model(ModelFormatError)

    public var description: String {
        switch self {
        case let .unsupported(op, what): return "op \(op): \(what) is not supported by verify"
        case let .inputSize(expected, found): return "the model takes \(expected) input values, the image has \(found)"
        case let .label(l, classes): return "label \(l) is not below the model's \(classes) classes"
        case let .unsound(what): return "bug: \(what)"
        case let .model(e): return e.message
        }
    }
}
