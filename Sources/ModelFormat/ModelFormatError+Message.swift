// The host's text for a reader's error: compiled only where text may be formed (the host, and a host
// library built with BITSHIELD_HOST_MESSAGES), never into a device build, whose errors carry numbers only.
#if os(Linux) || os(macOS) || BITSHIELD_HOST_MESSAGES

extension ModelFormatError {
    /// A human-readable message with the numbers.
    public var message: String {
        switch self {
        case let .badMagic(expected): return "bad magic: not a BitShield \(expected == .image ? "model image (BSMI)" : "model file (BSM1)")"
        case let .unsupportedVersion(found, newest):
            return "version \(found) is newer than this reader's \(newest)"
        case let .truncated(what, needs, has): return "\(what.name) needs \(needs) bytes, has \(has)"
        case let .badField(what, value, rule): return "\(what.name) is \(value): \(rule.text)"
        case let .misaligned(what, offset): return "\(what.name) at offset \(offset) is not 64-byte aligned"
        case let .outOfBounds(what, end, size): return "\(what.name) ends at \(end), image has \(size) bytes"
        case let .overlap(first, second): return "\(first.name) overlaps \(second.name)"
        case let .outOfOrder(what, offset, previous, previousEnd):
            return "\(what.name) starts at \(offset), before the end of \(previous.name) at \(previousEnd) (parts must be in ascending order: header, op table, tensor table, tensors by index; none may overlap)"
        case let .accumulatorOverflow(op, fanIn, largestInput, bound):
            return "op \(op): fan-in \(fanIn) x largest input \(largestInput) exceeds the accumulator bound \(bound) (2^31 - 1): at most \(bound / max(largestInput, 1)) inputs"
        case let .nonZeroPadding(what, offset): return "\(what.name) has a non-zero byte or bit at offset \(offset)"
        case let .unknownOp(index, id): return "op \(index) has unknown op id \(id)"
        case let .unknownTensorType(index, id): return "tensor \(index) has unknown type id \(id)"
        case let .shapeOverflow(what): return "\(what.name): shape overflows or exceeds the caps"
        case let .sizeMismatch(what, bytes, expected): return "\(what.name) has \(bytes) bytes, its type and shape need \(expected)"
        case let .badTensorReference(op, reason): return "op \(op): \(reason.text)"
        case let .chainMismatch(op, reason): return "op \(op): \(reason.text)"
        case let .notBuilt(op, type, kind):
            return "op \(op) (op id \(kind)\(type >= 0 ? ", weights of tensor type \(type)" : "")) has no kernel in this minimal build, which runs binary dense layers on columns32 weights only"
        case let .container(s): return s
        }
    }
}

extension ModelFormatError.Part {
    /// "header", "op table", "tensor table", "tensor 3".
    public var name: String {
        switch self {
        case .header: return "header"
        case .opTable: return "op table"
        case .tensorTable: return "tensor table"
        case let .tensor(i): return "tensor \(i)"
        }
    }
}

extension ModelFormatError.Field {
    /// The field as the messages name it ("tensor 3 rank", "op 2 flip[5]").
    public var name: String {
        switch self {
        case let .part(p): return p.name
        case let .paddingBefore(p): return "padding before \(p.name)"
        case .endPadding: return "padding at the end"
        case .imageHeader: return "image header"
        case .image: return "image"
        case .imageVersion: return "image version"
        case .headerBytes: return "header_bytes"
        case .imageBytes: return "image_bytes"
        case .flags: return "flags"
        case .headerReserved: return "header reserved bytes"
        case .inputGeometry: return "input geometry"
        case .classes: return "classes"
        case .opCount: return "op_count"
        case .tensorCount: return "tensor_count"
        case .containerHeader: return "container header"
        case .modelFile: return "model file"
        case .containerVersion: return "container version"
        case .containerFlags: return "container flags"
        case .metadataBytes: return "metadata_bytes"
        case let .tensorRank(t): return "tensor \(t) rank"
        case let .tensorDim(t, dim, size): return "tensor \(t) dim \(dim) = \(size)"
        case let .tensorUnusedDim(t, dim): return "tensor \(t) unused dim \(dim)"
        case let .tensorRecord(t): return "tensor \(t) record"
        case let .tensorValue(t, index): return "tensor \(t) value \(index)"
        case let .tensorRowPadding(t, row): return "tensor \(t) row \(row) padding bits"
        case let .tensorValuesPerRow(t): return "tensor \(t) values per row"
        case let .tensorLanes(t, column, rows): return "tensor \(t) column \(column) lanes past row \(rows)"
        case let .tensorRowCount(t, row): return "tensor \(t) row \(row) count of -1 weights"
        case let .tensorCountsPadding(t): return "tensor \(t) padding after the row counts"
        case let .tensorPlanes(upper, lower, byte): return "ternary planes: tensor \(upper) (upper) and tensor \(lower) (lower), byte \(byte) of their packed bits"
        case let .tensorBounds(t, g, side, plane): return "tensor \(t) lane group \(g) \(side == 0 ? "set" : "clear")-side bounds plane \(plane)"
        case let .opFlags(k): return "op \(k) flags"
        case let .opParameter(k, i): return "op \(k) unused parameter p\(i)"
        case let .opShape(k): return "op \(k) shape"
        case let .opInputBits(k): return "op \(k) input bits"
        case let .opInputKind(k): return "op \(k) input kind"
        case let .opKernel(k): return "op \(k) kernel"
        case let .opCodeBits(k): return "op \(k) code bits"
        case let .opCodeBitsForBits(k): return "op \(k) code bits for a bits input"
        case let .opCodeBitsForF32(k): return "op \(k) code bits for an f32 input"
        case let .opPoolSize(k): return "op \(k) pool size"
        case let .opFlip(k, c): return "op \(k) flip[\(c)]"
        case let .opLayout(k): return "op \(k) layout"
        case let .opOutput(k): return "op \(k) output"
        }
    }
}

extension ModelFormatError.Rule {
    /// The rule as the messages state it.
    public var text: String {
        switch self {
        case let .atLeast(n): return "must be at least \(n)"
        case let .atMost(n): return "must be at most \(n)"
        case let .oneThrough(n): return "must be 1...\(n)"
        case .headerBytes64: return "must be 64 in versions 1 to 4"
        case let .trailingBytes(n): return "the image has \(n) bytes (trailing bytes)"
        case .multipleOf64: return "must be a multiple of 64"
        case .noFlags: return "no flags are defined in versions 1 to 4"
        case .positiveDimensions: return "every dimension must be positive"
        case let .rank2(type): return "a \(type) tensor has rank 2"
        case let .finite(nan): return "f32 tensors hold finite values only (this is the bit pattern of \(nan ? "a NaN" : "an infinity"))"
        case let .maxColumns(n): return "a columns32 row holds at most \(n) (u16 column indices and counts)"
        case let .rowCount(n): return "the row has \(n)"
        case .noOpFlags: return "no op flags are defined in versions 1 to 4"
        case .inputKinds: return "must be 1 (codes), 2 (bits) or 3 (f32)"
        case let .largerThanInput(h, w): return "larger than the \(h)x\(w) input"
        case let .codeBits(delta, expected): return "codes of \(delta)-bit input (op 0) need \(expected) (δ + 1, or 8 when δ = 8)"
        case .zeroOrOne: return "must be 0 or 1"
        case .layouts: return "must be 0 (flat) or 1 (pixel)"
        case .compressedBitOnly: return "only bit 0 (compressed) is defined"
        case let .bounds(expected, op): return "op \(op)'s thresholds and the row counts give \(expected) (spec/FORMAT.md, the columns32s layout)"
        case .upperWithinLower: return "the upper plane has a -1 where the lower plane has +1 (the zero weight is u = +1, v = -1; spec/FORMAT.md, ternary dense weights)"
        case .boundsWithoutDense: return "a columns32s tensor (type 7) must be the weights of a dense op followed by threshold_sign"
        }
    }
}

extension ModelFormatError.Role {
    /// "weight", "output scale", ...
    public var name: String {
        switch self {
        case .weight: return "weight"
        case .bias: return "bias"
        case .threshold: return "threshold"
        case .flip: return "flip"
        case .outputScale: return "output scale"
        case .scale: return "scale"
        case .shift: return "shift"
        case .lowerPlane: return "lower plane"
        }
    }
}

extension ModelFormatError.Reason {
    /// The reason as the messages state it.
    public var text: String {
        switch self {
        case let .missingTensor(role, index, tensors): return "\(role.name) tensor \(index) does not exist (\(tensors) tensors)"
        case let .wrongTensor(role, expected, shape, found, rank):
            return "\(role.name) tensor must be \(expected) \(shape.description), is \(found) rank \(rank)"
        case .binaryNeedsCodesOrBits: return "binary weights need codes or bits input"
        case let .convWeightsBits(found): return "conv2d weights must be bits (\(found) is for dense weights)"
        case .floatConvOnBits: return "a float conv2d takes codes or f32 input, not packed bits"
        case let .weightType(type): return "weight tensor has type \(type), must be bits or f32"
        case .biasNeedsFloat: return "a bias needs float weights"
        case let .lowerPlaneNeedsBinary(type): return "a lower plane (ternary weights) needs bits, bits8 or columns32 weights, not \(type)"
        case let .lowerPlaneIsUpper(tensor): return "its lower plane is its weight tensor \(tensor) itself (a ternary layer has two planes)"
        case let .planesOverflow(fanIn, largest):
            return "ternary weights: the two planes' sums reach 2 x fan-in \(fanIn) x largest input \(largest) = \(2 * fanIn * largest), past the accumulator bound 2^31 - 1 (at most \(Int(Int32.max) / (2 * max(largest, 1))) inputs)"
        case .boundsNeedBits: return "columns32s weights need packed bits input (their bounds count set inputs)"
        case let .boundsNeedThreshold(next): return "columns32s weights need threshold_sign right after their dense op; op \(next) is not"
        case let .boundsOrder(tensor, expected):
            return "its weights are columns32s tensor \(tensor), but the next unused columns32s tensor is \(expected) (each is the weights of one dense op, in tensor order)"
        case .argmaxNotLast: return "argmax must be the last op"
        case .lastNotArgmax: return "the last op must be argmax"
        case .inputCodesFirst: return "input_codes must read the input image"
        case let .cannotTake(kind): return "cannot take a \(kind) input"
        case let .inputShape(h, w, c, given):
            return "expects a \(h)x\(w)x\(c) input, the previous op gives \(given[0])x\(given[1])x\(given[2])"
        case let .denseInputs(expects, given): return "dense expects \(expects) inputs, the previous op gives \(given)"
        case let .declares(kind, given): return "declares \(kind) input, the previous op gives \(given)"
        case let .packing(wants, given): return "reads \(wants) packed bits, the previous op packs \(given)"
        case let .needsF32(given): return "needs an f32 input, the previous op gives \(given)"
        case let .countDiffers(count, input): return "count \(count) differs from the input's \(input)"
        case let .argmaxCount(count, input, classes):
            return "argmax over \(count) values; the input has \(input) and the header says \(classes) classes"
        }
    }
}

extension Dims {
    /// "[a, b, ...]", for error messages.
    public var description: String {
        var s = "["
        for i in 0..<rank { s += (i > 0 ? ", " : "") + "\(self[i])" }
        return s + "]"
    }
}

#endif
