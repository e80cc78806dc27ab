/// Everything a model image (or, on the host, its `.bsm` container) can be wrong about. Typed, so it works
/// in Embedded Swift, and without text on the device path: the part, field, rule or reason is an enum
/// case with integer payloads (tensor and op indices, offsets, sizes), so a failing validation allocates
/// nothing and pulls no string formatting into a firmware. The host formats the message with the numbers
/// ("tensor 3 ends at 9120, image has 9000 bytes"): `message`, in ModelFormatError+Message.swift, which
/// only host builds compile. `container` (zlib, CRC, metadata) is thrown only by the host's ModelFile.
///
/// The payloads stay small (at most a `Dims` and a few integers): a typed error is returned through a
/// buffer in every calling frame, so its size is stack on the device (RAM for FCN2 counts the stack
/// high-water of init).
public enum ModelFormatError: Error, Equatable {
    /// The first four bytes are not the expected magic.
    case badMagic(expected: Magic)
    /// A version this reader does not know (newer than it).
    case unsupportedVersion(found: Int, newest: Int)
    /// Fewer bytes than a structure needs.
    case truncated(what: Field, needs: Int, has: Int)
    /// A header field holds a value the format forbids.
    case badField(what: Field, value: Int, rule: Rule)
    /// A table or tensor starts at an offset that is not 64-aligned.
    case misaligned(what: Field, offset: Int)
    /// A table or tensor extends past the end of the image.
    case outOfBounds(what: Field, end: Int, size: Int)
    /// Two regions overlap.
    case overlap(first: Part, second: Part)
    /// A part (table or tensor) starts before the end of the part the spec puts before it: parts are in
    /// ascending order (header, op table, tensor table, tensors by index) and never overlap.
    case outOfOrder(what: Part, offset: Int, previous: Part, previousEnd: Int)
    /// A binary layer whose accumulator could exceed the i32 range (spec/FORMAT.md, "Accumulator bound").
    case accumulatorOverflow(op: Int, fanIn: Int, largestInput: Int, bound: Int)
    /// Bytes that should be zero (padding, reserved fields, padding bits) are not.
    case nonZeroPadding(what: Field, offset: Int)
    /// An op id this reader does not know.
    case unknownOp(index: Int, id: Int)
    /// A tensor type id this reader does not know.
    case unknownTensorType(index: Int, id: Int)
    /// A shape whose size overflows or exceeds the caps.
    case shapeOverflow(what: Field)
    /// A tensor's byte count disagrees with its type and shape.
    case sizeMismatch(what: Field, bytes: Int, expected: Int)
    /// An op refers to a tensor that does not exist or has the wrong type or shape.
    case badTensorReference(op: Int, reason: Reason)
    /// An op's input does not match the previous op's output.
    case chainMismatch(op: Int, reason: Reason)
    /// A layer this build of the reader has no kernel for: only the minimal device build
    /// (`-D BITSHIELD_MINIMAL`, binary dense layers on columns32 weights) throws it, for the first conv2d,
    /// maxpool2d or dense layer on other weights, with the weights' tensor type id (-1 for none) and the
    /// op id. The C API reports it as BITSHIELD_E_LAYOUT_NOT_BUILT.
    case notBuilt(op: Int, tensorType: Int, opKind: Int)
    /// Container-level checks (CRC, compression, metadata): host only (ModelFile), never on a device.
    case container(String)

    /// Which magic was expected.
    public enum Magic: Equatable, Sendable {
        /// "model image (BSMI)".
        case image
        /// "model file (BSM1)".
        case file
    }

    /// The part of an image in the order the spec requires.
    public enum Part: Equatable, Sendable {
        case header, opTable, tensorTable
        case tensor(Int)
    }

    /// What a check is about: a part, a header field, a byte or bit of a tensor, an op's parameter.
    public enum Field: Equatable, Sendable {
        /// A whole part ("op table", "tensor 3").
        case part(Part)
        /// The padding bytes before a part, and after the last one.
        case paddingBefore(Part), endPadding
        // The image header.
        case imageHeader, image, imageVersion, headerBytes, imageBytes, flags, headerReserved, inputGeometry, classes
        case opCount, tensorCount
        // The container (host only).
        case containerHeader, modelFile, containerVersion, containerFlags, metadataBytes
        // Tensor `tensor`'s record and data.
        case tensorRank(tensor: Int), tensorDim(tensor: Int, dim: Int, size: Int), tensorUnusedDim(tensor: Int, dim: Int)
        case tensorRecord(tensor: Int), tensorValue(tensor: Int, index: Int), tensorRowPadding(tensor: Int, row: Int)
        case tensorValuesPerRow(tensor: Int), tensorLanes(tensor: Int, column: Int, rows: Int)
        case tensorRowCount(tensor: Int, row: Int), tensorCountsPadding(tensor: Int)
        /// Word `plane` of side `side` (0 set, 1 clear) of lane group `group`'s bounds in a columns32s tensor.
        case tensorBounds(tensor: Int, group: Int, side: Int, plane: Int)
        /// Byte `byte` of the packed bits of a ternary dense op's upper plane `upper` (lower plane `lower`).
        case tensorPlanes(upper: Int, lower: Int, byte: Int)
        // Op `op`'s record.
        case opFlags(op: Int), opParameter(op: Int, index: Int), opShape(op: Int), opInputBits(op: Int)
        case opInputKind(op: Int), opKernel(op: Int), opCodeBits(op: Int), opCodeBitsForBits(op: Int)
        case opCodeBitsForF32(op: Int), opPoolSize(op: Int), opFlip(op: Int, channel: Int), opLayout(op: Int)
        case opOutput(op: Int)
    }

    /// The rule a field's value breaks.
    public enum Rule: Equatable, Sendable {
        case atLeast(Int), atMost(Int), oneThrough(Int)
        case headerBytes64, trailingBytes(imageBytes: Int), multipleOf64, noFlags, positiveDimensions
        case rank2(TensorType), finite(nan: Bool), maxColumns(Int), rowCount(Int), noOpFlags, inputKinds
        case largerThanInput(height: Int, width: Int), codeBits(delta: Int, expected: Int), zeroOrOne, layouts
        case compressedBitOnly
        /// The bounds word the thresholds of op `op` and the row counts give (ColumnBounds.swift).
        case bounds(expected: Int, op: Int)
        /// A columns32s tensor must be the weights of a dense op (its bounds need that op's thresholds).
        case boundsWithoutDense
        /// Every −1 of a ternary layer's upper plane is a −1 of its lower plane (no u = −1, v = +1 pair).
        case upperWithinLower
    }

    /// The tensor an op refers to, by its role.
    public enum Role: Equatable, Sendable {
        case weight, bias, threshold, flip, outputScale, scale, shift
        /// A ternary dense op's second ±1 tensor (op parameter 6).
        case lowerPlane
    }

    /// Why an op's tensor reference or input is wrong.
    public enum Reason: Equatable, Sendable {
        // Tensor references.
        case missingTensor(Role, index: Int, tensors: Int)
        case wrongTensor(Role, expected: TensorType, shape: Dims, found: TensorType, rank: Int)
        case binaryNeedsCodesOrBits, convWeightsBits(found: TensorType), floatConvOnBits
        case weightType(TensorType), biasNeedsFloat
        // columns32s weights: on packed bits, followed by threshold_sign (op `next` is not), each tensor the
        // weights of one dense op in tensor order (`tensor` is not the next one, `expected`).
        case boundsNeedBits, boundsNeedThreshold(next: Int), boundsOrder(tensor: Int, expected: Int)
        // Ternary dense weights (version 5): a lower plane needs binary weights that are not columns32s, must
        // not be the upper plane itself, and the planes' two sums together must fit an i32.
        case lowerPlaneNeedsBinary(TensorType), lowerPlaneIsUpper(tensor: Int)
        case planesOverflow(fanIn: Int, largestInput: Int)
        // The chain of ops.
        case argmaxNotLast, lastNotArgmax, inputCodesFirst
        case cannotTake(ActivationKind)
        case inputShape(height: Int, width: Int, channels: Int, given: Dims)
        case denseInputs(expects: Int, given: Int)
        case declares(InputKind, given: ActivationKind)
        case packing(wants: BitLayout, given: BitLayout)
        case needsF32(given: ActivationKind)
        case countDiffers(Int, input: Int)
        case argmaxCount(Int, input: Int, classes: Int)
    }
}
