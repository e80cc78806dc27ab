// The validating reader of the model image (spec/FORMAT.md). It reads the caller's bytes in place:
// no copy and no allocation beyond small fixed arrays during validation. Everything is checked before
// it is trusted: header fields, table and tensor offsets (aligned, inside, not overlapping), sizes
// against types and shapes (overflow-checked), zero padding bytes and padding bits, known ids, every
// op's parameters and tensor references, and that each op consumes what the previous one produced.

/// One op of a validated image.
public struct OpView {
    /// The op.
    public let kind: OpKind
    /// Its flags field.
    public let flags: UInt16
    /// What it consumes.
    public let input: Activation
    /// What it produces.
    public let output: Activation
    @usableFromInline let base: Int
    @usableFromInline let raw: UnsafeRawPointer

    /// Parameter `i` (0..<15).
    @inlinable public func p(_ i: Int) -> Int { Int(RawBytes(raw).u32(base + 4 + 4 * i)) }
}

/// A model image over caller-owned bytes, validated on construction.
public struct ModelImage {
    /// The bytes (owned by the caller; must outlive this value).
    public let bytes: UnsafeRawBufferPointer
    /// The header.
    public let header: ImageHeader
    /// The largest element count of any value between ops (the input image included): what bounds a
    /// runtime's arena arithmetic (`Interpreter` checks it fits before planning).
    public private(set) var largestValue = 0
    /// The work of one inference, in operations: n·m multiply-adds per `dense`, outputs·k·k·C per
    /// `conv2d`, outputs·s·s comparisons per `maxpool2d`, one per value for the other ops; saturating at
    /// Int.max. What a tool bounds before it runs a model it did not write (`infer --max-operations`).
    public private(set) var operations = 0

    /// Validates `bytes` as a model image.
    /// - Throws: the first defect found, with its numbers.
    public init(bytes: UnsafeRawBufferPointer) throws(ModelFormatError) {
        self.bytes = bytes
        header = try ModelImage.readHeader(bytes)
        let bounded = try validateTables()
        (largestValue, operations) = try validateGraph(bounded: bounded)
    }

    // MARK: accessors (valid after init)
    // After validation every u32 they read is below 2^31 (an offset or size within the image, a checked
    // parameter), so they convert with Int(_:), which costs nothing on a device; validation clamps.

    /// Number of ops.
    @inlinable public var opCount: Int { Int(header.opCount) }
    /// Number of tensors.
    @inlinable public var tensorCount: Int { Int(header.tensorCount) }
    /// The input image geometry as an activation.
    public var input: Activation {
        Activation(kind: .pixels, height: Int(header.inputHeight), width: Int(header.inputWidth), channels: Int(header.inputChannels))
    }

    /// Op `k`'s kind, without validation (the image was validated on construction).
    @inlinable public func opKind(_ k: Int) -> OpKind {
        OpKind(rawValue: RawBytes(bytes.baseAddress!).u16(Int(header.opTableOffset) + k * ImageLayout.opBytes))!
    }

    /// Op `k`'s parameter `i`, without validation.
    @inlinable public func opParameter(_ k: Int, _ i: Int) -> Int {
        Int(RawBytes(bytes.baseAddress!).u32(Int(header.opTableOffset) + k * ImageLayout.opBytes + 4 + 4 * i))
    }

    /// The lower plane of dense op `k`'s ternary weights (format version 5: w = (u + v) / 2 with u the op's
    /// weight tensor), or -1 when its weights are binary or float. Without validation (op `k` must be a dense).
    @inlinable public func lowerPlane(_ k: Int) -> Int { opParameter(k, 6) - 1 }

    /// Whether tensor `i` holds packed bits, `bits`, `bits8`, `columns32` or `columns32s` (ids 4...7; else
    /// f32, for weights), without validation. One unsigned range compare.
    @inlinable public func isBits(_ i: Int) -> Bool {
        let id = RawBytes(bytes.baseAddress!).u16(Int(header.tensorTableOffset) + i * ImageLayout.tensorBytes)
        return id &- TensorType.bits.rawValue <= TensorType.columns32s.rawValue &- TensorType.bits.rawValue
    }

    /// Whether tensor `i` is in the `columns32` layout (columns in lanes of 32 rows), or `columns32s`
    /// (the same bytes, then bounds; ids 6 and 7), without validation.
    @inlinable public func isColumns(_ i: Int) -> Bool {
        let id = RawBytes(bytes.baseAddress!).u16(Int(header.tensorTableOffset) + i * ImageLayout.tensorBytes)
        return id &- TensorType.columns32.rawValue <= TensorType.columns32s.rawValue &- TensorType.columns32.rawValue
    }

    /// Whether tensor `i` is `columns32s` (columns with threshold bounds), without validation.
    @inlinable public func hasBounds(_ i: Int) -> Bool {
        RawBytes(bytes.baseAddress!).u16(Int(header.tensorTableOffset) + i * ImageLayout.tensorBytes) == TensorType.columns32s.rawValue
    }

    /// Whether tensor `i` is in the `bits8` layout (rows interleaved in blocks of eight), without validation.
    @inlinable public func isBlocked(_ i: Int) -> Bool {
        RawBytes(bytes.baseAddress!).u16(Int(header.tensorTableOffset) + i * ImageLayout.tensorBytes) == TensorType.bits8.rawValue
    }

    /// Tensor record `i`.
    public func tensor(_ i: Int) -> TensorRecord {
        // Validated in validateTables, so the force-unwrap cannot fail.
        let r = RawBytes(bytes.baseAddress!), at = Int(header.tensorTableOffset) + i * ImageLayout.tensorBytes
        return ModelImage.record(r, at: at, type: TensorType(rawValue: r.u16(at))!)
    }

    /// A pointer to tensor `i`'s data (a direct read of the validated offset; no allocation).
    @inlinable public func data(_ i: Int) -> UnsafeRawPointer {
        let record = Int(header.tensorTableOffset) + i * ImageLayout.tensorBytes
        return bytes.baseAddress! + Int(RawBytes(bytes.baseAddress!).u32(record + 20))
    }

    /// Op `i`, with the activations it consumes and produces.
    public func op(_ i: Int) -> OpView {
        var current = input
        var view: OpView? = nil
        for k in 0...i {
            view = try! opView(k, input: current)
            current = view!.output
        }
        return view!
    }

    /// Every op in order (allocates an array; for tools and prepare, not for invoke).
    public var ops: [OpView] {
        var out: [OpView] = []
        var current = input
        for k in 0..<opCount {
            let v = try! opView(k, input: current)
            out.append(v)
            current = v.output
        }
        return out
    }

    // MARK: header

    static func readHeader(_ b: UnsafeRawBufferPointer) throws(ModelFormatError) -> ImageHeader {
        guard b.count >= ImageLayout.headerBytes, let base = b.baseAddress else {
            throw .truncated(what: .imageHeader, needs: ImageLayout.headerBytes, has: b.count)
        }
        let r = RawBytes(base)
        for i in 0..<4 where r.u8(i) != ImageLayout.magic[i] { throw .badMagic(expected: .image) }
        let version = r.u16(4)
        guard version >= 1 else { throw .badField(what: .imageVersion, value: Int(version), rule: .atLeast(1)) }
        guard version <= ImageLayout.version else {
            throw .unsupportedVersion(found: Int(version), newest: Int(ImageLayout.version))
        }
        let headerBytes = Int(r.u16(6))
        guard headerBytes == ImageLayout.headerBytes else {
            throw .badField(what: .headerBytes, value: headerBytes, rule: .headerBytes64)
        }
        let h = ImageHeader(version: version, imageBytes: r.u32(8), inputHeight: r.u16(16), inputWidth: r.u16(18),
                            inputChannels: r.u16(20), classes: r.u16(22), opCount: r.u16(24), tensorCount: r.u16(26),
                            opTableOffset: r.u32(28), tensorTableOffset: r.u32(32))
        guard Int(clamping: h.imageBytes) == b.count else {
            throw Int(clamping: h.imageBytes) > b.count
                ? .truncated(what: .image, needs: Int(clamping: h.imageBytes), has: b.count)
                : .badField(what: .imageBytes, value: Int(clamping: h.imageBytes), rule: .trailingBytes(imageBytes: b.count))
        }
        guard b.count % ImageLayout.alignment == 0 else {
            throw .badField(what: .imageBytes, value: b.count, rule: .multipleOf64)
        }
        let flags = r.u32(12)
        guard flags == 0 else { throw .badField(what: .flags, value: Int(flags), rule: .noFlags) }
        for i in 36..<64 where r.u8(i) != 0 { throw .nonZeroPadding(what: .headerReserved, offset: i) }
        guard h.inputHeight > 0, h.inputWidth > 0, h.inputChannels > 0 else {
            throw .badField(what: .inputGeometry, value: Int(h.inputHeight) * Int(h.inputWidth) * Int(h.inputChannels), rule: .positiveDimensions)
        }
        guard h.classes >= 1 else { throw .badField(what: .classes, value: 0, rule: .atLeast(1)) }
        guard h.opCount >= 1, Int(h.opCount) <= ImageLayout.maxOps else {
            throw .badField(what: .opCount, value: Int(h.opCount), rule: .oneThrough(ImageLayout.maxOps))
        }
        guard Int(h.tensorCount) <= ImageLayout.maxTensors else {
            throw .badField(what: .tensorCount, value: Int(h.tensorCount), rule: .atMost(ImageLayout.maxTensors))
        }
        return h
    }

    // MARK: tables and tensors

    static func readTensor(_ b: UnsafeRawBufferPointer, offset at: Int, index: Int) throws(ModelFormatError) -> TensorRecord {
        let r = RawBytes(b.baseAddress!)
        let typeID = r.u16(at)
        guard let type = TensorType(rawValue: typeID) else { throw .unknownTensorType(index: index, id: Int(typeID)) }
        #if BITSHIELD_MINIMAL
        // The minimal build leaves columns32s out (its kernel and the check of its bounds: code size), so it
        // refuses the tensor here, before its size rule, as a dense layout it was not built with (op -1: found
        // in the tensor table; the C API words it as the `convert --layout columns32` command).
        if type == .columns32s { throw .notBuilt(op: -1, tensorType: Int(typeID), opKind: Int(OpKind.dense.rawValue)) }
        #endif
        let rank = Int(r.u16(at + 2))
        guard (1...4).contains(rank) else { throw .badField(what: .tensorRank(tensor: index), value: rank, rule: .oneThrough(4)) }
        var elements = 1
        for i in 0..<4 {
            let d = Int(clamping: r.u32(at + 4 + 4 * i))
            if i < rank {
                guard d >= 1, d <= ImageLayout.maxDimension else { throw .shapeOverflow(what: .tensorDim(tensor: index, dim: i, size: d)) }
                let (p, o) = elements.multipliedReportingOverflow(by: d)
                guard !o, p <= ImageLayout.maxElements else { throw .shapeOverflow(what: .part(.tensor(index))) }
                elements = p
            } else if d != 0 {
                throw .nonZeroPadding(what: .tensorUnusedDim(tensor: index, dim: i), offset: at + 4 + 4 * i)
            }
        }
        let record = ModelImage.record(r, at: at, type: type)
        if r.u32(at + 28) != 0 { throw .nonZeroPadding(what: .tensorRecord(tensor: index), offset: at + 28) }
        let expected = ModelImage.expectedBytes(record)
        guard record.bytes == expected else { throw .sizeMismatch(what: .part(.tensor(index)), bytes: record.bytes, expected: expected) }
        return record
    }

    /// The tensor record at byte `at` of the tensor table, read without checks (`readTensor` checks a
    /// record first; `tensor(_:)` reads validated ones, with no error buffer in its frame).
    @inline(__always)
    static func record(_ r: RawBytes, at: Int, type: TensorType) -> TensorRecord {
        TensorRecord(type: type, rank: Int(r.u16(at + 2)),
                     dims: (Int(clamping: r.u32(at + 4)), Int(clamping: r.u32(at + 8)), Int(clamping: r.u32(at + 12)), Int(clamping: r.u32(at + 16))),
                     offset: Int(clamping: r.u32(at + 20)), bytes: Int(clamping: r.u32(at + 24)))
    }

    /// The byte size a record's type and shape give.
    public static func expectedBytes(_ t: TensorRecord) -> Int {
        switch t.type {
        case .u8: return t.elements
        case .i32, .f32: return 4 * t.elements
        case .bits: return 8 * t.rows * BitPacking.words(t.rowLength)
        case .bits8: return 8 * BitPacking.blockedRows(t.rows) * BitPacking.words(t.rowLength)
        case .columns32: return BitPacking.columnsBytes(rows: t.rows, n: t.rowLength)
        #if BITSHIELD_MINIMAL
        case .columns32s: return 0   // refused before (readTensor)
        #else
        case .columns32s: return BitPacking.columnsBytes(rows: t.rows, n: t.rowLength) + ColumnBounds.bytes(rows: t.rows, n: t.rowLength)
        #endif
        }
    }

    /// Returns the number of `columns32s` tensors (validateGraph checks their bounds when there are any).
    private func validateTables() throws(ModelFormatError) -> Int {
        var bounded = 0
        let size = bytes.count
        let r = RawBytes(bytes.baseAddress!)
        // The parts in the order the spec requires, in two passes (PartWalk).
        var parts = PartWalk(r, size: size)
        for pass in 0..<2 {
            parts.start(padding: pass == 1)
            try parts.place(-2, Int(clamping: header.opTableOffset), opCount * ImageLayout.opBytes)
            try parts.place(-1, Int(clamping: header.tensorTableOffset), tensorCount * ImageLayout.tensorBytes)
            // The tables are in bounds: the records can be read (and are checked in the first pass).
            for i in 0..<tensorCount {
                let at = Int(clamping: header.tensorTableOffset) + i * ImageLayout.tensorBytes
                let t = parts.padding ? tensor(i) : try ModelImage.readTensor(bytes, offset: at, index: i)
                try parts.place(i, t.offset, t.bytes)
            }
        }
        let cursor = parts.cursor
        for i in cursor..<size where r.u8(i) != 0 { throw .nonZeroPadding(what: .endPadding, offset: i) }
        // Op records: reserved parameters checked per op; bits tensors: padding bits zero; flips 0/1 checked per op.
        for i in 0..<tensorCount {
            let t = tensor(i)
            if t.type == .bits8 {
                guard header.version >= ImageLayout.bits8Version else {
                    throw .unknownTensorType(index: i, id: Int(TensorType.bits8.rawValue))
                }
                guard t.rank == 2 else { throw .badField(what: .tensorRank(tensor: i), value: t.rank, rule: .rank2(.bits8)) }
            }
            #if BITSHIELD_MINIMAL
            let columns = t.type == .columns32, first = ImageLayout.columns32Version   // columns32s refused in readTensor
            #else
            let columns = t.type.isColumns, first = t.type == .columns32 ? ImageLayout.columns32Version : ImageLayout.columns32sVersion
            #endif
            if columns {
                guard header.version >= first else {
                    throw .unknownTensorType(index: i, id: Int(t.type.rawValue))
                }
                guard t.rank == 2 else { throw .badField(what: .tensorRank(tensor: i), value: t.rank, rule: .rank2(t.type)) }
                try validateColumns(t, index: i)
                #if !BITSHIELD_MINIMAL
                if t.type != .columns32 { bounded += 1 }
                #endif
                continue
            }
            if t.type == .f32 {
                for j in 0..<t.elements {
                    let v = Float(bitPattern: r.u32(t.offset + 4 * j))
                    guard v.isFinite else {
                        throw .badField(what: .tensorValue(tensor: i, index: j), value: Int(clamping: r.u32(t.offset + 4 * j)), rule: .finite(nan: v.isNaN))
                    }
                }
                continue
            }
            guard t.type.isPacked else { continue }
            let words = BitPacking.words(t.rowLength)
            let mask = BitPacking.lastWordMask(t.rowLength)
            let p = (bytes.baseAddress! + t.offset)
            let blocked = t.type == .bits8
            let stored = blocked ? BitPacking.blockedRows(t.rows) : t.rows
            for row in 0..<stored {
                // Padding bits of each row, and every word of the padding rows of a bits8 tensor, are 0.
                for j in (row < t.rows ? words - 1 : 0)..<words {
                    let at = 8 * (blocked ? BitPacking.blockedIndex(row: row, word: j, words: words) : row * words + j)
                    let w = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                    let valid = row < t.rows && j == words - 1 ? mask : (row < t.rows ? ~0 : 0)
                    if w & ~valid != 0 { throw .nonZeroPadding(what: .tensorRowPadding(tensor: i, row: row), offset: t.offset + at) }
                }
            }
        }
        return bounded
    }

    /// A `columns32` tensor: the lanes past the last row are 0, each stored count is its row's count
    /// of -1 weights, and the bytes after the counts are 0.
    ///
    /// Start-up cost on a device: each lane group's words are read once and counted lane by lane in
    /// widening sums (nibbles for 15 columns, bytes for 255, halfwords for the rest: a row holds at most
    /// 65,535 values), about 20 instructions a word on a Cortex-M4: FCN2's 49,696 words take about
    /// 1.0 M instructions (the four per-lane nibble passes before took 9.0 M).
    private func validateColumns(_ t: TensorRecord, index i: Int) throws(ModelFormatError) {
        let r = RawBytes(bytes.baseAddress!)
        let (m, n) = (t.rows, t.rowLength)
        guard n <= BitPacking.maxColumns else {
            throw .badField(what: .tensorValuesPerRow(tensor: i), value: n, rule: .maxColumns(BitPacking.maxColumns))
        }
        let groups = BitPacking.laneGroups(m)
        let countsAt = t.offset + 4 * groups * n
        for g in 0..<groups {
            let lanes = min(32, m - 32 * g)
            let first = t.offset + 4 * g * n
            let fault = ColumnCounts.check(r, at: first, n: n, lanes: lanes, countsAt: countsAt + 64 * g)
            if fault.column >= 0 {
                throw .nonZeroPadding(what: .tensorLanes(tensor: i, column: fault.column, rows: m), offset: first + 4 * fault.column)
            }
            if fault.lane >= 0 {
                throw .badField(what: .tensorRowCount(tensor: i, row: 32 * g + fault.lane), value: fault.stored, rule: .rowCount(fault.counted))
            }
        }
        // The bounds of a columns32s tensor follow (checked against its thresholds: validateBounds).
        for at in (countsAt + 2 * m)..<(t.offset + BitPacking.columnsBytes(rows: m, n: n)) where r.u8(at) != 0 {
            throw .nonZeroPadding(what: .tensorCountsPadding(tensor: i), offset: at)
        }
    }

    // MARK: graph

    /// Checks the chain of ops; returns the largest element count of any value along it and the work.
    private func validateGraph(bounded: Int) throws(ModelFormatError) -> (largest: Int, operations: Int) {
        var current = input
        var largest = current.count
        var work = 0
        // Saturating products and sums (dimensions are at most 2^24, values at most 2^28 elements).
        func times(_ a: Int, _ b: Int) -> Int { let (p, o) = a.multipliedReportingOverflow(by: b); return o ? Int.max : p }
        func plus(_ a: Int, _ b: Int) -> Int { let (p, o) = a.addingReportingOverflow(b); return o ? Int.max : p }
        for k in 0..<opCount {
            let v = try opView(k, input: current)
            largest = max(largest, v.output.count)
            switch v.kind {
            case .dense: work = plus(work, times(v.p(0), v.p(1)))
            case .conv2d: work = plus(work, times(times(v.output.count, times(v.p(3), v.p(3))), v.p(2)))
            case .maxpool2d: work = plus(work, times(v.output.count, times(v.p(3), v.p(3))))
            default: work = plus(work, max(v.input.count, v.output.count))
            }
            if v.kind == .argmax, k != opCount - 1 {
                throw .chainMismatch(op: k, reason: .argmaxNotLast)
            }
            current = v.output
        }
        guard current.kind == .classIndex else { throw .chainMismatch(op: opCount - 1, reason: .lastNotArgmax) }
        #if !BITSHIELD_MINIMAL   // the minimal build refuses columns32s weights (readTensor: notBuilt)
        if bounded > 0 { try validateBoundsTensors() }   // no pass over the ops for images without them
        #endif
        return (largest, work)
    }

    /// A ternary dense op's lower plane (spec/FORMAT.md, "Ternary `dense` weights"): binary weights in a layout
    /// without bounds, a tensor other than the upper plane with the same type and shape, the two planes' sums
    /// within the accumulator bound, and every −1 of the upper plane a −1 of the lower one (checked on the
    /// packed words, which the planes share position for position: in columns32 the lanes, not the counts).
    @inline(never)
    func validateLowerPlane(op k: Int, upper: Int, lower: Int, type: TensorType, m: Int, n: Int,
                            largestInput: Int) throws(ModelFormatError) {
        guard type == .bits || type == .bits8 || type == .columns32 else {
            throw .badTensorReference(op: k, reason: .lowerPlaneNeedsBinary(type))
        }
        guard lower != upper else { throw .badTensorReference(op: k, reason: .lowerPlaneIsUpper(tensor: upper)) }
        guard lower < tensorCount else {
            throw .badTensorReference(op: k, reason: .missingTensor(.lowerPlane, index: lower, tensors: tensorCount))
        }
        let found = tensor(lower)
        guard found.type == type, found.rank == 2, found.dims.0 == m, found.dims.1 == n else {
            throw .badTensorReference(op: k, reason: .wrongTensor(.lowerPlane, expected: type, shape: Dims(m, n), found: found.type, rank: found.rank))
        }
        // n <= 2^24 and largestInput <= 255, so the product cannot overflow.
        guard 2 * n * largestInput <= InputCodes.accumulatorBound else {
            throw .badTensorReference(op: k, reason: .planesOverflow(fanIn: n, largestInput: largestInput))
        }
        let u = tensor(upper), packedBytes = type == .columns32 ? 4 * ((m + 31) / 32) * n : u.bytes
        let r = RawBytes(bytes.baseAddress!), ua = Int(u.offset), va = Int(found.offset)
        var at = 0
        while at < packedBytes {   // whole u32 words: every packed size is a multiple of 4
            let stray = r.u32(ua + at) & ~r.u32(va + at)
            guard stray == 0 else {
                throw .badField(what: .tensorPlanes(upper: upper, lower: lower, byte: at + stray.trailingZeroBitCount / 8),
                                value: Int(stray), rule: .upperWithinLower)
            }
            at += 4
        }
    }

    #if !BITSHIELD_MINIMAL
    /// The `columns32s` tensors, after the chain of ops is validated (in a pass of its own, so its frame is
    /// never on the stack with opView's): each is the weights of exactly one dense op, in tensor order,
    /// whose input is packed bits (opView) and whose next op is threshold_sign, and its bounds agree with
    /// that op's thresholds. One pass over the ops and the tensors.
    @inline(never)
    private func validateBoundsTensors() throws(ModelFormatError) {
        var cursor = 0   // the columns32s tensors before it are the weights of earlier ops
        for k in 0..<opCount where opKind(k) == .dense && hasBounds(opParameter(k, 2)) {
            let weights = opParameter(k, 2), next = nextBounds(from: cursor)
            guard weights == next else { throw .badTensorReference(op: k, reason: .boundsOrder(tensor: weights, expected: next)) }
            cursor = next + 1
            guard k + 1 < opCount, opKind(k + 1) == .thresholdSign else {
                throw .chainMismatch(op: k, reason: .boundsNeedThreshold(next: k + 1))
            }
            try validateBounds(weights: weights, thresholds: opParameter(k + 1, 3), op: k + 1)
        }
        let unused = nextBounds(from: cursor)
        guard unused == tensorCount else {
            throw .badField(what: .part(.tensor(unused)), value: Int(TensorType.columns32s.rawValue), rule: .boundsWithoutDense)
        }
    }

    /// The first `columns32s` tensor at or after `from` (`tensorCount` if none).
    private func nextBounds(from: Int) -> Int {
        var j = from
        while j < tensorCount && !hasBounds(j) { j += 1 }
        return j
    }

    /// The bounds of `columns32s` tensor `weights` (validated as `columns32` already: lanes, row counts)
    /// against the thresholds (tensor `thresholds`, one per row) of threshold_sign op `op`: every word
    /// recomputed by ColumnBounds' rule, lanes past the last row 0. About 8 instructions a lane and plane
    /// on a Cortex-M4 (FCN2's three hidden layers: 57 groups x 2 sides x 11 planes x 32 lanes).
    @inline(never)
    private func validateBounds(weights i: Int, thresholds: Int, op: Int) throws(ModelFormatError) {
        let r = RawBytes(bytes.baseAddress!)
        let t = tensor(i)
        let (m, n) = (t.rows, t.rowLength)
        let planes = ColumnBounds.planes(n: n), groups = BitPacking.laneGroups(m)
        let countsAt = t.offset + 4 * groups * n
        let boundsAt = t.offset + BitPacking.columnsBytes(rows: m, n: n)
        let thresholdsAt = data(thresholds) - UnsafeRawPointer(bytes.baseAddress!)
        var expected = InlineArray<36, UInt32>(repeating: 0)   // 2 sides x at most 18 planes (n <= 65,535)
        for g in 0..<groups {
            for j in 0..<2 * planes { expected[j] = 0 }
            for k in 0..<min(32, m - 32 * g) {
                let row = 32 * g + k
                let threshold = Int32(bitPattern: r.u32(thresholdsAt + 4 * row)), count = Int(r.u16(countsAt + 2 * row))
                let set = ColumnBounds.start(threshold: threshold, count: count, n: n, side: 0)
                let clear = ColumnBounds.start(threshold: threshold, count: count, n: n, side: 1)
                for j in 0..<planes {
                    expected[j] |= UInt32((set >> j) & 1) << UInt32(k)
                    expected[planes + j] |= UInt32((clear >> j) & 1) << UInt32(k)
                }
            }
            for j in 0..<2 * planes {
                let at = boundsAt + 4 * (2 * planes * g + j)
                let stored = r.u32(at)
                guard stored == expected[j] else {
                    throw .badField(what: .tensorBounds(tensor: i, group: g, side: j / planes, plane: j % planes),
                                    value: Int(stored), rule: .bounds(expected: Int(expected[j]), op: op))
                }
            }
        }
    }
    #endif

    #if BITSHIELD_MINIMAL
    /// True: the minimal build's weight layers are dense (a constant the optimizer folds, so the conv
    /// checks drop out, but not a literal, which would draw "will never be executed" warnings).
    static var denseOnly: Bool { true }
    #endif

    /// Decodes and checks op `k` given what it consumes.
    func opView(_ k: Int, input: Activation) throws(ModelFormatError) -> OpView {
        let base = Int(clamping: header.opTableOffset) + k * ImageLayout.opBytes
        let raw = bytes.baseAddress!
        let r = RawBytes(raw)
        let id = r.u16(base)
        guard let kind = OpKind(rawValue: id) else { throw .unknownOp(index: k, id: Int(id)) }
        let flags = r.u16(base + 2)
        guard flags == 0 else { throw .badField(what: .opFlags(op: k), value: Int(flags), rule: .noOpFlags) }
        func p(_ i: Int) -> Int { Int(clamping: r.u32(base + 4 + 4 * i)) }
        func unused(from first: Int) throws(ModelFormatError) {
            for i in first..<ImageLayout.opParameters where p(i) != 0 {
                throw .nonZeroPadding(what: .opParameter(op: k, index: i), offset: base + 4 + 4 * i)
            }
        }
        func fail(_ reason: ModelFormatError.Reason) -> ModelFormatError { .chainMismatch(op: k, reason: reason) }
        // Records are read field by field from the table (validated in validateTables) and shapes passed as
        // integers: a TensorRecord or Dims argument is a stack copy at every inlined call site (init's
        // stack is RAM on a device).
        let table = Int(clamping: header.tensorTableOffset)
        func tensorRef(_ index: Int, _ what: ModelFormatError.Role) throws(ModelFormatError) -> TensorType {
            guard index < tensorCount else {
                throw .badTensorReference(op: k, reason: .missingTensor(what, index: index, tensors: tensorCount))
            }
            return TensorType(rawValue: r.u16(table + index * ImageLayout.tensorBytes))!
        }
        @inline(never) func expect(_ index: Int, _ what: ModelFormatError.Role, _ type: TensorType,
                    _ d0: Int, _ d1: Int = -1, _ d2: Int = -1, _ d3: Int = -1) throws(ModelFormatError) {
            let found = try tensorRef(index, what)
            let at = table + index * ImageLayout.tensorBytes
            let rank = Int(r.u16(at + 2)), d = Dims(d0, d1, d2, d3)
            func dim(_ i: Int) -> Int { Int(clamping: r.u32(at + 4 + 4 * i)) }
            guard found == type, rank == d.rank, dim(0) == d0, rank < 2 || dim(1) == d1, rank < 3 || dim(2) == d2,
                  rank < 4 || dim(3) == d3 else {
                throw .badTensorReference(op: k, reason: .wrongTensor(what, expected: type, shape: d, found: found, rank: rank))
            }
        }
        func map(_ h: Int, _ w: Int, _ c: Int, codes: Bool = false, bits: Bool = false, i32: Bool = false, f32: Bool = false) throws(ModelFormatError) {
            let allowed: Bool
            switch input.kind {
            case .codes: allowed = codes
            case .bits: allowed = bits
            case .i32: allowed = i32
            case .f32: allowed = f32
            default: allowed = false
            }
            guard allowed else { throw fail(.cannotTake(input.kind)) }
            guard input.height == h, input.width == w, input.channels == c else {
                throw fail(.inputShape(height: h, width: w, channels: c, given: Dims(input.height, input.width, input.channels)))
            }
        }
        func positive(_ a: Int, _ b: Int, _ c: Int, _ e: Int = -1, _ f: Int = -1) throws(ModelFormatError) {
            let i = Dims(a, b, c, e, f).firstOutside(1, ImageLayout.maxDimension)
            guard i < 0 else {
                let value = i == 0 ? a : i == 1 ? b : i == 2 ? c : i == 3 ? e : f
                throw .badField(what: .opShape(op: k), value: value, rule: .oneThrough(ImageLayout.maxDimension))
            }
        }
        #if BITSHIELD_MINIMAL
        // The minimal build (scripts/build-lib.sh TARGET-minimal) has kernels for binary dense layers on
        // columns32 weights only: it refuses any other weight layer, and maxpool2d, here, before their
        // checks, which it leaves out (the file is refused either way; the C API reports the first such
        // op as BITSHIELD_E_LAYOUT_NOT_BUILT with its weights' type, -1 for none).
        let weights = kind == .dense ? p(2) : kind == .conv2d ? p(5) : -1
        let weightType = weights >= 0 && weights < tensorCount ? Int(r.u16(table + weights * ImageLayout.tensorBytes)) : -1
        if kind == .conv2d || kind == .maxpool2d || kind == .dense && weightType != Int(TensorType.columns32.rawValue) {
            throw .notBuilt(op: k, tensorType: weightType, opKind: Int(id))
        }
        #endif
        var output = input
        switch kind {
        case .inputCodes:
            guard input.kind == .pixels else { throw fail(.inputCodesFirst) }
            guard (1...8).contains(p(0)) else { throw .badField(what: .opInputBits(op: k), value: p(0), rule: .oneThrough(8)) }
            try unused(from: 1)
            output.kind = .codes
        case .dense, .conv2d:
            #if BITSHIELD_MINIMAL
            let isDense = ModelImage.denseOnly   // conv2d refused above
            #else
            let isDense = kind == .dense
            #endif
            let (h, w, c) = isDense ? (1, 1, p(0)) : (p(0), p(1), p(2))
            let m = isDense ? p(1) : p(4)
            let kernel = isDense ? 1 : p(3)
            try isDense ? positive(p(0), m, -1) : positive(h, w, c, kernel, m)
            let inputKind = InputKind(rawValue: UInt32(isDense ? p(3) : p(6)))
            let codeBits = isDense ? p(4) : p(7)
            let weightIndex = isDense ? p(2) : p(5)
            guard let inputKind else { throw .badField(what: .opInputKind(op: k), value: isDense ? p(3) : p(6), rule: .inputKinds) }
            if isDense {
                guard input.count == c else { throw fail(.denseInputs(expects: c, given: input.count)) }
            } else {
                try map(h, w, c, codes: true, bits: true, f32: true)
                guard kernel <= h, kernel <= w else { throw .badField(what: .opKernel(op: k), value: kernel, rule: .largerThanInput(height: h, width: w)) }
            }
            switch inputKind {
            case .codes:
                guard input.kind == .codes else { throw fail(.declares(.codes, given: input.kind)) }
                // Codes come only from input_codes, which only op 0 can be (it reads the pixels): its δ.
                let delta = Int(clamping: r.u32(Int(clamping: header.opTableOffset) + 4))
                let expected = InputCodes.codeBits(delta: delta)
                guard codeBits == expected else {
                    throw .badField(what: .opCodeBits(op: k), value: codeBits, rule: .codeBits(delta: delta, expected: expected))
                }
            case .bits:
                guard input.kind == .bits else { throw fail(.declares(.bits, given: input.kind)) }
                let want: BitLayout = isDense ? .flat : .pixel
                guard input.layout == want else { throw fail(.packing(wants: want, given: input.layout)) }
                guard codeBits == 0 else { throw .nonZeroPadding(what: .opCodeBitsForBits(op: k), offset: base) }
            case .f32:
                guard input.kind == .f32 else { throw fail(.declares(.f32, given: input.kind)) }
                guard codeBits == 0 else { throw .nonZeroPadding(what: .opCodeBitsForF32(op: k), offset: base) }
            }
            let weightType = try tensorRef(weightIndex, .weight)
            let (d1, d2, d3) = isDense ? (c, -1, -1) : (kernel, kernel, c)
            switch weightType {
            case .bits, .bits8, .columns32, .columns32s:
                guard inputKind != .f32 else { throw .badTensorReference(op: k, reason: .binaryNeedsCodesOrBits) }
                // Its bounds count packed inputs (ColumnBounds.swift).
                guard weightType != .columns32s || inputKind == .bits else { throw .badTensorReference(op: k, reason: .boundsNeedBits) }
                guard isDense || weightType == .bits else {
                    throw .badTensorReference(op: k, reason: .convWeightsBits(found: weightType))
                }
                try expect(weightIndex, .weight, weightType, m, d1, d2, d3)
                // Accumulator bound: |A| <= fan-in x the largest input must fit an i32 (every kernel sums
                // exactly in 32 bits up to it). Dimensions are at most 2^24, so the product cannot overflow.
                let fanIn = isDense ? c : kernel * kernel * c
                let largest = inputKind == .bits ? 1 : InputCodes.largest(delta: Int(clamping: r.u32(Int(clamping: header.opTableOffset) + 4)))
                guard fanIn <= InputCodes.accumulatorBound / largest else {
                    throw .accumulatorOverflow(op: k, fanIn: fanIn, largestInput: largest, bound: InputCodes.accumulatorBound)
                }
                output = isDense ? Activation(kind: .i32, height: 1, width: 1, channels: m)
                    : Activation(kind: .i32, height: h - kernel + 1, width: w - kernel + 1, channels: m)
            #if !BITSHIELD_MINIMAL   // float weights refused above
            case .f32:
                // A float conv2d reads codes or f32: its packed-bits input would be pixel-packed, which the
                // float kernels do not read (no writer produces it; refused rather than misread).
                guard isDense || inputKind != .bits else {
                    throw .badTensorReference(op: k, reason: .floatConvOnBits)
                }
                try expect(weightIndex, .weight, .f32, m, d1, d2, d3)
                output = isDense ? Activation(kind: .f32, height: 1, width: 1, channels: m)
                    : Activation(kind: .f32, height: h - kernel + 1, width: w - kernel + 1, channels: m)
            #endif
            default:
                throw .badTensorReference(op: k, reason: .weightType(weightType))
            }
            if isDense {
                if p(5) != 0 {
                    guard weightType == .f32 else { throw .badTensorReference(op: k, reason: .biasNeedsFloat) }
                    try expect(p(5) - 1, .bias, .f32, m)
                }
                if p(6) != 0 && header.version >= ImageLayout.ternaryVersion {
                    try validateLowerPlane(op: k, upper: weightIndex, lower: p(6) - 1, type: weightType, m: m, n: c,
                                           largestInput: inputKind == .bits ? 1 : InputCodes.largest(delta: Int(clamping: r.u32(Int(clamping: header.opTableOffset) + 4))))
                    try unused(from: 7)
                } else {
                    try unused(from: 6)
                }
            } else {
                try unused(from: 8)
            }
        #if BITSHIELD_MINIMAL
        case .maxpool2d: break   // refused above
        #else
        case .maxpool2d:
            try positive(p(0), p(1), p(2), p(3))
            try map(p(0), p(1), p(2), i32: true, f32: true)
            guard p(0) / p(3) >= 1, p(1) / p(3) >= 1 else { throw .badField(what: .opPoolSize(op: k), value: p(3), rule: .largerThanInput(height: p(0), width: p(1))) }
            try unused(from: 4)
            output.height = p(0) / p(3)
            output.width = p(1) / p(3)
        #endif
        case .thresholdSign:
            try positive(p(0), p(1), p(2))
            try map(p(0), p(1), p(2), i32: true)
            try expect(p(3), .threshold, .i32, p(2))
            try expect(p(4), .flip, .u8, p(2))
            let flips = data(p(4)) - UnsafeRawPointer(raw)
            for c in 0..<p(2) where r.u8(flips + c) > 1 {
                throw .badField(what: .opFlip(op: k, channel: c), value: Int(r.u8(flips + c)), rule: .zeroOrOne)
            }
            guard let layout = BitLayout(rawValue: UInt32(p(5))) else {
                throw .badField(what: .opLayout(op: k), value: p(5), rule: .layouts)
            }
            try unused(from: 6)
            output.kind = .bits
            output.layout = layout
        case .affine:
            try positive(p(0), p(1), p(2))
            try map(p(0), p(1), p(2), i32: true, f32: true)
            if p(3) != 0 { try expect(p(3) - 1, .outputScale, .f32, p(2)) }
            try expect(p(4), .scale, .f32, p(2))
            try expect(p(5), .shift, .f32, p(2))
            try unused(from: 6)
            output.kind = .f32
        case .hardtanh, .relu:
            guard input.kind == .f32 else { throw fail(.needsF32(given: input.kind)) }
            guard p(0) == input.count else { throw fail(.countDiffers(p(0), input: input.count)) }
            try unused(from: 1)
        case .argmax:
            guard input.kind == .f32 else { throw fail(.needsF32(given: input.kind)) }
            guard p(0) == input.count, p(0) == Int(header.classes) else {
                throw fail(.argmaxCount(p(0), input: input.count, classes: Int(header.classes)))
            }
            try unused(from: 1)
            output = Activation(kind: .classIndex, height: 1, width: 1, channels: 1)
        }
        guard output.count <= ImageLayout.maxElements else { throw .shapeOverflow(what: .opOutput(op: k)) }
        return OpView(kind: kind, flags: flags, input: input, output: output, base: base, raw: raw)
    }
}

/// Up to five dimensions without an array (validation allocates nothing); an error's shapes.
public struct Dims: Equatable, Sendable {
    public let rank: Int
    let d: (Int, Int, Int, Int, Int)

    public static func == (l: Dims, r: Dims) -> Bool {
        l.rank == r.rank && l.d.0 == r.d.0 && l.d.1 == r.d.1 && l.d.2 == r.d.2 && l.d.3 == r.d.3 && l.d.4 == r.d.4
    }

    public init(_ a: Int, _ b: Int = -1, _ c: Int = -1, _ e: Int = -1, _ f: Int = -1) {
        rank = b < 0 ? 1 : c < 0 ? 2 : e < 0 ? 3 : f < 0 ? 4 : 5
        d = (a, b, c, e, f)
    }

    /// Whether `t` has this rank and these dimensions. Straight-line, without indexing: validation's
    /// frames stay small (a loop over `self[i]` puts a copy of both in memory at every inlined use).
    @inline(__always)
    func holds(_ t: TensorRecord) -> Bool {
        t.rank == rank && t.dims.0 == d.0 && (rank < 2 || t.dims.1 == d.1) && (rank < 3 || t.dims.2 == d.2)
            && (rank < 4 || t.dims.3 == d.3)
    }

    /// The first dimension outside `lo...hi`, or -1 (straight-line, as `holds`).
    @inline(__always)
    func firstOutside(_ lo: Int, _ hi: Int) -> Int {
        func out(_ v: Int) -> Bool { v < lo || v > hi }
        if out(d.0) { return 0 }
        if rank > 1 && out(d.1) { return 1 }
        if rank > 2 && out(d.2) { return 2 }
        if rank > 3 && out(d.3) { return 3 }
        if rank > 4 && out(d.4) { return 4 }
        return -1
    }

    public subscript(_ i: Int) -> Int {
        switch i { case 0: return d.0; case 1: return d.1; case 2: return d.2; case 3: return d.3; default: return d.4 }
    }
}

/// The parts of an image in the order the spec requires ("Parts and padding"): the header, the op
/// table, the tensor table, then the tensors in index order, each starting at or after the end of the
/// one before. Two passes, O(parts), no allocation (this runs on the device at start-up, and a struct
/// rather than closures over local variables, which a debug build boxes on the heap): the first refuses a
/// part out of bounds, misaligned, out of order or overlapping its predecessor; the second, with the
/// order known, that the bytes between parts (padding) are zero. Parts by number: -2 the op table, -1
/// the tensor table, i >= 0 tensor i (-3: the header). Errors name parts by number (ModelFormatError.Part).
struct PartWalk {
    let r: RawBytes
    let size: Int
    /// The end of the last non-empty part so far.
    private(set) var cursor = ImageLayout.headerBytes
    private var previous = -3
    /// The second pass (zero padding) rather than the first (order and bounds).
    private(set) var padding = false

    init(_ r: RawBytes, size: Int) {
        self.r = r
        self.size = size
    }

    static func part(_ part: Int) -> ModelFormatError.Part {
        part == -3 ? .header : part == -2 ? .opTable : part == -1 ? .tensorTable : .tensor(part)
    }

    mutating func start(padding: Bool) {
        self.padding = padding
        cursor = ImageLayout.headerBytes
        previous = -3
    }

    mutating func place(_ part: Int, _ start: Int, _ length: Int) throws(ModelFormatError) {
        if padding {
            for i in cursor..<start where r.u8(i) != 0 { throw .nonZeroPadding(what: .paddingBefore(PartWalk.part(part)), offset: i) }
        } else {
            guard start % ImageLayout.alignment == 0 else { throw .misaligned(what: .part(PartWalk.part(part)), offset: start) }
            let (end, o) = start.addingReportingOverflow(length)
            guard !o, end <= size else { throw .outOfBounds(what: .part(PartWalk.part(part)), end: o ? Int.max : end, size: size) }
            guard start >= cursor else {
                throw .outOfOrder(what: PartWalk.part(part), offset: start, previous: PartWalk.part(previous), previousEnd: cursor)
            }
        }
        // An empty part (a tensor table of no tensors) moves nothing.
        if length > 0 {
            cursor = start + length
            previous = part
        }
    }
}
