import Inference
import ModelFormat

/// A failure as the C API reports it (bitshield.h, `bitshield_error`): a code and up to three integers,
/// no text, so nothing is formatted on the device. One rule maps the runtime's typed error to it
/// (`init(_:)`); the host library turns it back into the tools' wording (CError+Message.swift).
public struct CError: Error, Equatable {
    /// The BITSHIELD_E_... code (0: none).
    public var code: Int32
    /// The numbers the code names, in the order bitshield.h lists them.
    public var values: (Int64, Int64, Int64)

    public init(code: Int32, _ a: Int64 = 0, _ b: Int64 = 0, _ c: Int64 = 0) {
        self.code = code
        values = (a, b, c)
    }

    public static func == (l: CError, r: CError) -> Bool {
        l.code == r.code && l.values.0 == r.values.0 && l.values.1 == r.values.1 && l.values.2 == r.values.2
    }

    // The codes of bitshield.h (computed, not stored: no lazy global initialization, which needs atomics).
    public static var ok: Int32 { 0 }; public static var badMagic: Int32 { 1 }; public static var unsupportedVersion: Int32 { 2 }
    public static var truncated: Int32 { 3 }; public static var badField: Int32 { 4 }; public static var misaligned: Int32 { 5 }
    public static var outOfBounds: Int32 { 6 }; public static var overlap: Int32 { 7 }; public static var outOfOrder: Int32 { 8 }
    public static var accumulatorOverflow: Int32 { 9 }; public static var nonZeroPadding: Int32 { 10 }; public static var unknownOp: Int32 { 11 }
    public static var unknownTensorType: Int32 { 12 }; public static var shapeOverflow: Int32 { 13 }; public static var sizeMismatch: Int32 { 14 }
    public static var badTensorReference: Int32 { 15 }; public static var chainMismatch: Int32 { 16 }; public static var arenaTooSmall: Int32 { 20 }
    public static var arenaMisaligned: Int32 { 21 }; public static var planOverflow: Int32 { 22 }; public static var badArgument: Int32 { 23 }
    public static var notInitialized: Int32 { 24 }; public static var modelStorage: Int32 { 25 }; public static var layoutNotBuilt: Int32 { 26 }

    /// The rule a BITSHIELD_E_BAD_ARGUMENT argument breaks, its value [2] (bitshield.h, BITSHIELD_ARGUMENT_...):
    /// NULL where a pointer is required, off the 8-byte boundary the image and the handle need, over another
    /// buffer of the call, a size past SIZE_MAX / 2 (a negative ssize_t), not a BITSHIELD_KERNELS_ value.
    public static var argumentNull: Int64 { 0 }; public static var argumentMisaligned: Int64 { 1 }
    public static var argumentOverlaps: Int64 { 2 }; public static var argumentSize: Int64 { 3 }; public static var argumentKernels: Int64 { 4 }

    /// BITSHIELD_E_BAD_ARGUMENT: argument `position` (1-based) with `value` (an address, a size or the
    /// kernels value; 0 for NULL) breaks `rule`.
    public static func refused(_ position: Int64, _ value: Int64, _ rule: Int64) -> CError {
        CError(code: badArgument, position, value, rule)
    }

    /// The runtime's error as a code and its numbers (the names in its text are left behind).
    public init(_ error: InferenceError) {
        switch error {
        case let .format(e): self.init(format: e)
        case let .arenaTooSmall(needs, has): self.init(code: CError.arenaTooSmall, Int64(needs), Int64(has))
        case let .arenaMisaligned(address): self.init(code: CError.arenaMisaligned, Int64(bitPattern: UInt64(address)))
        case let .badBatch(batch): self.init(code: CError.badArgument, 0, Int64(batch))
        case let .planOverflow(largest, batch): self.init(code: CError.planOverflow, Int64(largest), Int64(batch))
        }
    }

    /// A reader's error as a code and its numbers.
    init(format e: ModelFormatError) {
        switch e {
        case .badMagic: self.init(code: CError.badMagic)
        case let .unsupportedVersion(found, newest): self.init(code: CError.unsupportedVersion, Int64(found), Int64(newest))
        case let .truncated(_, needs, has): self.init(code: CError.truncated, Int64(needs), Int64(has))
        case let .badField(_, value, _): self.init(code: CError.badField, Int64(value))
        case let .misaligned(_, offset): self.init(code: CError.misaligned, Int64(offset))
        case let .outOfBounds(_, end, size): self.init(code: CError.outOfBounds, Int64(end), Int64(size))
        case .overlap: self.init(code: CError.overlap)
        case let .outOfOrder(_, offset, _, previousEnd): self.init(code: CError.outOfOrder, Int64(offset), Int64(previousEnd))
        case let .accumulatorOverflow(op, fanIn, largest, _):
            self.init(code: CError.accumulatorOverflow, Int64(op), Int64(fanIn), Int64(largest))
        case let .nonZeroPadding(_, offset): self.init(code: CError.nonZeroPadding, Int64(offset))
        case let .unknownOp(index, id): self.init(code: CError.unknownOp, Int64(index), Int64(id))
        case let .unknownTensorType(index, id): self.init(code: CError.unknownTensorType, Int64(index), Int64(id))
        case .shapeOverflow: self.init(code: CError.shapeOverflow)
        case let .sizeMismatch(_, bytes, expected): self.init(code: CError.sizeMismatch, Int64(bytes), Int64(expected))
        case let .badTensorReference(op, _): self.init(code: CError.badTensorReference, Int64(op))
        case let .chainMismatch(op, _): self.init(code: CError.chainMismatch, Int64(op))
        case let .notBuilt(op, type, kind): self.init(code: CError.layoutNotBuilt, Int64(op), Int64(type), Int64(kind))
        case .container: self.init(code: CError.badMagic)   // not an image error: a .bsm file was given as an image
        }
    }

    /// Writes the C struct (`int32 code; int32 reserved; int64 values[3]`, 32 bytes) at `p`, when not nil.
    public func store(to p: UnsafeMutableRawPointer?) {
        guard let p else { return }
        p.storeBytes(of: code, toByteOffset: 0, as: Int32.self)
        p.storeBytes(of: 0, toByteOffset: 4, as: Int32.self)
        p.storeBytes(of: values.0, toByteOffset: 8, as: Int64.self)
        p.storeBytes(of: values.1, toByteOffset: 16, as: Int64.self)
        p.storeBytes(of: values.2, toByteOffset: 24, as: Int64.self)
    }

    /// Reads the C struct at `p`.
    public init(loading p: UnsafeRawPointer) {
        self.init(code: p.loadUnaligned(as: Int32.self), p.loadUnaligned(fromByteOffset: 8, as: Int64.self),
                  p.loadUnaligned(fromByteOffset: 16, as: Int64.self), p.loadUnaligned(fromByteOffset: 24, as: Int64.self))
    }
}
