// The host library's text for a C API failure (`bitshield_error_message`): built only where text may be
// formatted (hosted targets, and aarch64 Linux built as aarch64-none-none-elf with -D BITSHIELD_HOST_MESSAGES;
// never on a device, where the caller formats the code and numbers itself).
#if os(Linux) || os(macOS) || BITSHIELD_HOST_MESSAGES
import Inference
import ModelFormat

extension CError {
    /// The message the tools print for the same failure, with the numbers; the names that the device
    /// leaves behind are replaced by what the code says ("a part of the image").
    public var message: String {
        let (a, b, c) = (Int(values.0), Int(values.1), Int(values.2))
        let part = "a part of the image"
        func format(_ e: ModelFormatError) -> String { InferenceError.format(e).message }
        switch code {
        case CError.ok: return "no error"
        case CError.badMagic: return "bad magic: not a BitShield model image"
        case CError.unsupportedVersion: return format(.unsupportedVersion(found: a, newest: b))
        case CError.truncated: return "\(part) needs \(a) bytes, has \(b)"
        case CError.badField: return "a field of the image is \(a): the format forbids this value"
        case CError.misaligned: return "\(part) at offset \(a) is not 64-byte aligned"
        case CError.outOfBounds: return "\(part) ends at \(a), image has \(b) bytes"
        case CError.overlap: return "\(part) overlaps another"
        case CError.outOfOrder: return "\(part) starts at \(a), before the end of the part before it at \(b) (parts must be in ascending order: header, op table, tensor table, tensors by index; none may overlap)"
        case CError.accumulatorOverflow:
            return format(.accumulatorOverflow(op: a, fanIn: b, largestInput: c, bound: Int(Int32.max)))
        case CError.nonZeroPadding: return "\(part) has a non-zero byte or bit at offset \(a)"
        case CError.unknownOp: return format(.unknownOp(index: a, id: b))
        case CError.unknownTensorType: return format(.unknownTensorType(index: a, id: b))
        case CError.shapeOverflow: return "a shape: shape overflows or exceeds the caps"
        case CError.sizeMismatch: return "a tensor has \(a) bytes, its type and shape need \(b)"
        case CError.badTensorReference: return "op \(a): refers to a tensor that is missing or of the wrong type or shape"
        case CError.chainMismatch: return "op \(a): its input is not the previous op's output"
        case CError.arenaTooSmall: return InferenceError.arenaTooSmall(needs: a, has: b).message
        case CError.arenaMisaligned: return InferenceError.arenaMisaligned(address: UInt(bitPattern: a)).message
        case CError.planOverflow: return InferenceError.planOverflow(largestValue: a, batch: b).message
        case CError.badArgument:
            let argument = "argument \(a) of the call"
            let address = "0x" + String(UInt64(bitPattern: values.1), radix: 16)
            switch values.2 {
            case CError.argumentMisaligned:
                return "\(argument) is at address \(address), not on the \(imageAlignment)-byte boundary bitshield.h requires of the image and the model handle (\(address) mod \(imageAlignment) = \(UInt64(bitPattern: values.1) % UInt64(imageAlignment)))"
            case CError.argumentOverlaps:
                return "\(argument) at address \(address) overlaps another buffer of the call (the image, the arena and the model handle must not share a byte)"
            case CError.argumentSize:
                return "\(argument) is \(UInt64(bitPattern: values.1)), past SIZE_MAX / 2 (a negative ssize_t passed as size_t?)"
            case CError.argumentKernels:
                return "\(argument) is \(b), not a BITSHIELD_KERNELS_ value (0 optimized, 1 reference, 2 carry-save)"
            default:
                return "\(argument) is " + (b == 0 ? "NULL" : "\(b), outside what bitshield.h allows")
            }
        case CError.notInitialized: return "the model handle was not set up by a successful bitshield_init"
        case CError.modelStorage: return "the model handle needs \(a) bytes, bitshield.h gives \(b) (BITSHIELD_MODEL_BYTES): a header from another version"
        case CError.layoutNotBuilt:
            // Binary dense weights in another layout can be rewritten; float or conv layers cannot.
            let binaryDense = c == Int(OpKind.dense.rawValue) && (b == Int(TensorType.bits8.rawValue) || b == Int(TensorType.bits.rawValue)
                || b == Int(TensorType.columns32s.rawValue))
            if binaryDense {
                return "op \(a): dense weights of tensor type \(b) are not built into this minimal runtime, which runs columns32 weights only: convert the model for it with `convert MODEL.safetensors --layout columns32 -o MODEL.bsm`"
            }
            return "op \(a) (op id \(c)\(b >= 0 ? ", weights of tensor type \(b)" : "")) has no kernel in this minimal runtime, which runs binary dense layers on columns32 weights only: use the full library (`make lib`: .build-lib/TARGET/libbitshield.a)"
        default: return "unknown error code \(code) (values \(a), \(b), \(c))"
        }
    }
}

@_cdecl("bitshield_error_message")
public func bitshield_error_message(_ error: UnsafeRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: UInt) -> UInt {
    let text = error.map { CError(loading: $0).message } ?? "no error given (NULL)"
    var length: UInt = 0
    for byte in text.utf8 {
        if let buffer, length + 1 < capacity { buffer[Int(length)] = CChar(bitPattern: byte) }
        length += 1
    }
    if let buffer, capacity > 0 { buffer[Int(min(length, capacity - 1))] = 0 }
    return length
}
#endif
