// Stable numeric ids of the model format (spec/FORMAT.md). Never renumber; a removed id stays listed
// with a comment and is never reused.

/// Op ids.
public enum OpKind: UInt16, Sendable, CaseIterable {
    /// pixels -> input codes (Eq. 2).
    case inputCodes = 1
    /// Fully connected layer.
    case dense = 2
    /// 2-D convolution, stride 1, no padding.
    case conv2d = 3
    /// Max-pooling over s x s windows.
    case maxpool2d = 4
    /// BatchNorm + sign folded into per-channel integer thresholds.
    case thresholdSign = 5
    /// y = ((x * c) * scale) + shift per channel, float32.
    case affine = 6
    /// clamp(x, -1, 1).
    case hardtanh = 7
    /// max(x, 0).
    case relu = 8
    /// Index of the first largest value.
    case argmax = 9
}

/// Tensor element types.
public enum TensorType: UInt16, Sendable, CaseIterable {
    /// Unsigned byte.
    case u8 = 1
    /// Signed 32-bit integer.
    case i32 = 2
    /// IEEE binary32.
    case f32 = 3
    /// Packed +/-1 (BitPacking.swift).
    case bits = 4
    /// Packed +/-1 rows interleaved word by word in blocks of eight rows (BitPacking.swift, version 2;
    /// binary `dense` weights).
    case bits8 = 5
    /// Packed +/-1 columns in lanes of 32 rows, then each row's count of -1 (BitPacking.swift, version 3;
    /// binary `dense` weights, for 32-bit CPUs without popcount).
    case columns32 = 6
    /// `columns32` followed by each lane group's threshold bounds, bit-sliced (ColumnBounds.swift, version 4;
    /// binary `dense` weights on packed bits followed by `threshold_sign`).
    case columns32s = 7

    /// Whether the type holds packed +/-1 values (`bits`, `bits8`, `columns32` or `columns32s`: ids 4...7,
    /// one unsigned range compare).
    @inlinable public var isPacked: Bool { rawValue &- TensorType.bits.rawValue <= TensorType.columns32s.rawValue &- TensorType.bits.rawValue }
    /// Whether the type stores columns in lanes of 32 rows with row counts (`columns32`, or `columns32s`,
    /// whose first bytes are a `columns32` tensor's).
    @inlinable public var isColumns: Bool { self == .columns32 || self == .columns32s }
}

/// What a layer's input is (the `input kind` parameter of dense and conv2d).
public enum InputKind: UInt32, Sendable {
    /// u8 input codes.
    case codes = 1
    /// Packed +/-1 activations.
    case bits = 2
    /// Float32 activations.
    case f32 = 3
}

/// How packed activations are laid out.
public enum BitLayout: UInt32, Sendable {
    /// The whole H*W*C map is one packed row (dense reads it).
    case flat = 0
    /// Each pixel's C channels are a packed row (conv2d reads it).
    case pixel = 1
}
