// The writer of the model image (spec/FORMAT.md): header, op table, tensor table, then each tensor,
// every part 64-byte aligned with zero padding. Deterministic: the same calls give the same bytes.

/// Builds a model image from tensors and ops.
public struct ImageBuilder {
    private var inputHeight: Int, inputWidth: Int, inputChannels: Int, classes: Int
    private var tensors: [(type: TensorType, dims: [Int], bytes: [UInt8])] = []
    private var ops: [(kind: OpKind, params: [Int])] = []

    /// A builder for a model on `height x width x channels` images with `classes` outputs.
    public init(inputHeight: Int, inputWidth: Int, inputChannels: Int, classes: Int) {
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.inputChannels = inputChannels
        self.classes = classes
    }

    /// Adds a tensor of raw little-endian bytes; returns its index.
    public mutating func addTensor(_ type: TensorType, dims: [Int], bytes: [UInt8]) -> Int {
        tensors.append((type, dims, bytes))
        return tensors.count - 1
    }

    /// Adds a float32 tensor.
    public mutating func addF32(_ values: [Float], dims: [Int]) -> Int {
        var b: [UInt8] = []
        b.reserveCapacity(values.count * 4)
        for v in values { b.appendLE(v.bitPattern) }
        return addTensor(.f32, dims: dims, bytes: b)
    }

    /// Adds an i32 tensor.
    public mutating func addI32(_ values: [Int32], dims: [Int]) -> Int {
        var b: [UInt8] = []
        b.reserveCapacity(values.count * 4)
        for v in values { b.appendLE(UInt32(bitPattern: v)) }
        return addTensor(.i32, dims: dims, bytes: b)
    }

    /// Adds a u8 tensor.
    public mutating func addU8(_ values: [UInt8], dims: [Int]) -> Int {
        addTensor(.u8, dims: dims, bytes: values)
    }

    /// Adds a packed +/-1 tensor from words packed by `BitPacking` (rows of the last dim), of type `bits`
    /// or, with words already interleaved by `BitPacking.blocked`, `bits8`.
    public mutating func addBits(_ words: [UInt64], dims: [Int], type: TensorType = .bits) -> Int {
        precondition(type.isPacked, "addBits: \(type) is not a packed type")
        var b: [UInt8] = []
        b.reserveCapacity(words.count * 8)
        for w in words {
            b.appendLE(UInt32(truncatingIfNeeded: w))
            b.appendLE(UInt32(truncatingIfNeeded: w >> 32))
        }
        return addTensor(type, dims: dims, bytes: b)
    }

    /// Adds binary dense weights, `rows` rows of `n` values packed by `BitPacking.pack` (row-major), in the
    /// dense layout `type` names: `bits` as they are, `bits8` in blocks of eight rows (`BitPacking.blocked`),
    /// `columns32` in lanes of 32 rows (`addColumns`; n at most `BitPacking.maxColumns`). The one place that
    /// turns a ±1 matrix into each layout's tensor (the exporter, a ternary layer's two planes, the tests).
    public mutating func addDense(_ words: [UInt64], rows: Int, n: Int, type: TensorType) -> Int {
        switch type {
        case .bits: return addBits(words, dims: [rows, n])
        case .bits8: return addBits(BitPacking.blocked(words, rows: rows, words: BitPacking.words(n)), dims: [rows, n], type: .bits8)
        case .columns32: return addColumns(words, rows: rows, n: n)
        default: preconditionFailure("addDense: \(type) is not a dense weight layout (bits, bits8, columns32)")
        }
    }

    /// Adds binary dense weights, `rows` rows of `n` values packed by `BitPacking.pack`, in the
    /// `columns32` layout (with the rows' counts of -1 weights).
    public mutating func addColumns(_ words: [UInt64], rows: Int, n: Int) -> Int {
        addTensor(.columns32, dims: [rows, n], bytes: BitPacking.columns(words, rows: rows, n: n))
    }

    /// Turns the `columns32` tensor `index` into `columns32s` (format version 4): its bytes followed by
    /// the bounds of `thresholds`, those of the threshold_sign that follows its dense op.
    public mutating func addBounds(to index: Int, thresholds: [Int32]) {
        let t = tensors[index]
        precondition(t.type == .columns32 && t.dims.count == 2, "addBounds: tensor \(index) is not columns32")
        tensors[index] = (.columns32s, t.dims, t.bytes + BitPacking.columnBounds(t.bytes, rows: t.dims[0], n: t.dims[1], thresholds: thresholds))
    }

    /// Appends an op with its parameters (at most 15; the rest are 0).
    public mutating func addOp(_ kind: OpKind, _ params: [Int]) {
        precondition(params.count <= ImageLayout.opParameters, "an op has at most 15 parameters")
        ops.append((kind, params))
    }

    /// The version the image is written as: the lowest that has every type and op parameter it holds (a ternary
    /// dense, with a lower plane in parameter 6: 5; `columns32s`: 4, `columns32`: 3, `bits8`: 2, else 1), so a
    /// reader of an older version loads every image it could run.
    public var version: UInt16 {
        if ops.contains(where: { $0.kind == .dense && $0.params.count > 6 && $0.params[6] != 0 }) { return ImageLayout.ternaryVersion }
        if tensors.contains(where: { $0.type == .columns32s }) { return ImageLayout.columns32sVersion }
        if tensors.contains(where: { $0.type == .columns32 }) { return ImageLayout.columns32Version }
        if tensors.contains(where: { $0.type == .bits8 }) { return ImageLayout.bits8Version }
        return 1
    }

    /// The image bytes.
    public func build() -> [UInt8] {
        let opTable = ImageLayout.headerBytes
        let tensorTable = align(opTable + ops.count * ImageLayout.opBytes)
        var offset = align(tensorTable + tensors.count * ImageLayout.tensorBytes)
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset = align(offset + t.bytes.count)
        }
        let total = offset
        var out: [UInt8] = []
        out.reserveCapacity(total)
        out += ImageLayout.magic
        out.appendLE(version)
        out.appendLE(UInt16(ImageLayout.headerBytes))
        out.appendLE(UInt32(total))
        out.appendLE(UInt32(0))
        out.appendLE(UInt16(inputHeight)); out.appendLE(UInt16(inputWidth)); out.appendLE(UInt16(inputChannels))
        out.appendLE(UInt16(classes)); out.appendLE(UInt16(ops.count)); out.appendLE(UInt16(tensors.count))
        out.appendLE(UInt32(opTable)); out.appendLE(UInt32(tensorTable))
        out.padTo(ImageLayout.headerBytes)
        for op in ops {
            out.appendLE(op.kind.rawValue)
            out.appendLE(UInt16(0))
            for i in 0..<ImageLayout.opParameters { out.appendLE(UInt32(i < op.params.count ? op.params[i] : 0)) }
        }
        out.padTo(ImageLayout.alignment)
        for (i, t) in tensors.enumerated() {
            out.appendLE(t.type.rawValue)
            out.appendLE(UInt16(t.dims.count))
            for d in 0..<4 { out.appendLE(UInt32(d < t.dims.count ? t.dims[d] : 0)) }
            out.appendLE(UInt32(offsets[i]))
            out.appendLE(UInt32(t.bytes.count))
            out.appendLE(UInt32(0))
        }
        out.padTo(ImageLayout.alignment)
        for t in tensors {
            out += t.bytes
            out.padTo(ImageLayout.alignment)
        }
        return out
    }

    private func align(_ n: Int) -> Int { (n + ImageLayout.alignment - 1) / ImageLayout.alignment * ImageLayout.alignment }
}
