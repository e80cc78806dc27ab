/// The kind of value flowing between ops.
public enum ActivationKind: Equatable, Sendable {
    /// The input image, u8.
    case pixels
    /// Input codes, u8.
    case codes
    /// Packed +/-1 values.
    case bits
    /// 32-bit accumulators.
    case i32
    /// Float32 values.
    case f32
    /// The predicted class (argmax's output).
    case classIndex
}

/// What an op consumes or produces: kind, NHWC shape and (for bits) the packing layout.
public struct Activation: Equatable, Sendable {
    /// Value kind.
    public var kind: ActivationKind
    /// Rows.
    public var height: Int
    /// Columns.
    public var width: Int
    /// Channels.
    public var channels: Int
    /// Packing of bits activations.
    public var layout: BitLayout

    /// An activation.
    public init(kind: ActivationKind, height: Int, width: Int, channels: Int, layout: BitLayout = .flat) {
        self.kind = kind
        self.height = height
        self.width = width
        self.channels = channels
        self.layout = layout
    }

    /// Whether the values are i32 accumulators (a switch, so it inlines into allocation-free code).
    @inlinable public var isAccumulator: Bool {
        switch kind {
        case .i32: return true
        default: return false
        }
    }

    /// H * W * C.
    @inlinable public var count: Int { height * width * channels }

    /// Bytes of the buffer holding it.
    public var bytes: Int {
        switch kind {
        case .pixels, .codes: return count
        case .i32, .f32: return 4 * count
        case .classIndex: return 4
        case .bits:
            return layout == .flat ? 8 * BitPacking.words(count) : 8 * height * width * BitPacking.words(channels)
        }
    }
}
