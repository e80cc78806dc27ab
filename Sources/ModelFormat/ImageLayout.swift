/// The fixed structures of the image (spec/FORMAT.md, "The image").
public enum ImageLayout {
    /// "BSMI".
    public static let magic: [UInt8] = [0x42, 0x53, 0x4D, 0x49]
    /// The newest image version this code reads (a writer writes the lowest version its types need: `ImageBuilder.version`).
    public static let version: UInt16 = 5
    /// The first version with the `bits8` tensor type.
    public static let bits8Version: UInt16 = 2
    /// The first version with the `columns32` tensor type.
    public static let columns32Version: UInt16 = 3
    /// The first version with the `columns32s` tensor type.
    public static let columns32sVersion: UInt16 = 4
    /// The first version with ternary `dense` weights (a lower plane in op parameter 6).
    public static let ternaryVersion: UInt16 = 5
    /// Header size.
    public static let headerBytes = 64
    /// Op record size.
    public static let opBytes = 64
    /// Tensor record size.
    public static let tensorBytes = 32
    /// Alignment of every table and tensor.
    public static let alignment = 64
    /// Most ops in an image.
    public static let maxOps = 1024
    /// Most tensors in an image.
    public static let maxTensors = 4096
    /// Largest single dimension.
    public static let maxDimension = 1 << 24
    /// Largest element count of a tensor or activation.
    public static let maxElements = 1 << 28
    /// Number of op parameters.
    public static let opParameters = 15
}

/// The image header's fields (spec/FORMAT.md, `ImageHeader`).
public struct ImageHeader: Equatable, Sendable {
    /// Format version.
    public var version: UInt16
    /// Total image size.
    public var imageBytes: UInt32
    /// Input image rows.
    public var inputHeight: UInt16
    /// Input image columns.
    public var inputWidth: UInt16
    /// Input image channels.
    public var inputChannels: UInt16
    /// Output classes.
    public var classes: UInt16
    /// Number of ops.
    public var opCount: UInt16
    /// Number of tensors.
    public var tensorCount: UInt16
    /// Offset of the op table.
    public var opTableOffset: UInt32
    /// Offset of the tensor table.
    public var tensorTableOffset: UInt32
}

/// A tensor record (spec/FORMAT.md, `TensorRecord`).
public struct TensorRecord: Equatable, Sendable {
    /// Element type.
    public var type: TensorType
    /// Number of dimensions, 1...4.
    public var rank: Int
    /// The dimensions (unused ones are 0).
    public var dims: (Int, Int, Int, Int)
    /// Offset from the start of the image.
    public var offset: Int
    /// Size in bytes.
    public var bytes: Int

    /// Dimension `i`.
    public func dim(_ i: Int) -> Int {
        switch i { case 0: return dims.0; case 1: return dims.1; case 2: return dims.2; default: return dims.3 }
    }

    /// Number of logical elements (for bits: +/-1 values).
    public var elements: Int {
        var n = 1
        for i in 0..<rank { n *= dim(i) }
        return n
    }

    /// Packed rows (bits tensors): the product of all dims but the last.
    public var rows: Int { rank == 1 ? 1 : elements / max(dim(rank - 1), 1) }

    /// Values per packed row (bits tensors): the last dim.
    public var rowLength: Int { dim(rank - 1) }

    public static func == (a: TensorRecord, b: TensorRecord) -> Bool {
        a.type == b.type && a.rank == b.rank && a.dims == b.dims && a.offset == b.offset && a.bytes == b.bytes
    }
}
