/// A trainable tensor with its gradient. Layers own their parameters; optimizers update them.
public final class Parameter {
    /// Checkpoint name, e.g. `fc0.weight`.
    public let name: String
    /// Shape, outermost first (`[out, in]` for dense weights).
    public let shape: [Int]
    /// Current values (for binary layers: the float latent weights).
    public var value: [Float]
    /// Gradient of the loss with respect to `value`, filled by `backward`.
    public var grad: [Float]
    /// Whether weight decay applies (weights yes; BatchNorm's gamma and beta no).
    public let decays: Bool
    /// Values are clipped to [-clip, clip] after each optimizer step (binary latent weights: 1).
    public let clip: Float?

    /// A parameter with initial values.
    public init(name: String, shape: [Int], value: [Float], decays: Bool, clip: Float? = nil) {
        precondition(shape.reduce(1, *) == value.count, "\(name): shape \(shape) given \(value.count) values")
        self.name = name
        self.shape = shape
        self.value = value
        self.grad = [Float](repeating: 0, count: value.count)
        self.decays = decays
        self.clip = clip
    }
}

/// A named non-trainable tensor (BatchNorm running statistics) kept in checkpoints.
public final class StateTensor {
    /// Checkpoint name, e.g. `bn0.running_mean`.
    public let name: String
    /// Current values.
    public var value: [Float]

    /// A state tensor with initial values.
    public init(name: String, value: [Float]) {
        self.name = name
        self.value = value
    }
}

/// How a forward pass runs: training (batch statistics, dropout) or evaluation.
public struct ForwardContext {
    /// Training mode: BatchNorm uses batch statistics and updates its running ones; dropout drops.
    public var training: Bool
    /// Randomness for dropout.
    public var random: SeededRandom

    /// A context; evaluation needs no randomness.
    public init(training: Bool, random: SeededRandom = SeededRandom(seed: 0)) {
        self.training = training
        self.random = random
    }

    /// Evaluation mode.
    public static var evaluation: ForwardContext { ForwardContext(training: false) }
}

/// One layer: a forward pass that caches what its backward pass needs, and that backward pass.
/// Shapes are `[batch, features]` throughout.
public protocol Layer: AnyObject {
    /// The layer's trainable parameters (may be empty).
    var parameters: [Parameter] { get }
    /// The layer's non-trainable state saved in checkpoints (may be empty).
    var state: [StateTensor] { get }
    /// Computes the output and caches what `backward` needs.
    func forward(_ x: Matrix, context: inout ForwardContext) -> Matrix
    /// Given dL/dy for the last forward, accumulates parameter gradients and returns dL/dx
    /// (nil when `inputGradient` is false and the layer can skip it).
    func backward(_ dy: Matrix, inputGradient: Bool) -> Matrix?
}

extension Layer {
    public var parameters: [Parameter] { [] }
    public var state: [StateTensor] { [] }
}
