import Inference
import ModelFormat

// The C ABI of the runtime (include/bitshield.h: the contract, its codes and structs). Each function is
// exported with @_cdecl under its C name; pointers arrive raw and are read and written at the offsets
// bitshield.h gives, so no Swift layout is part of the ABI (the handle's inside is private to this file).
// Compiled in Embedded Swift into libbitshield.a per target by scripts/build-lib.sh (`make lib`), and as
// the package target BitShieldC on the host, where tests call the same functions.

// The constants are computed properties, not global `let`s: a global with an initializer is set up
// lazily through swift_once, which needs atomics the Cortex-M0 does not have (__atomic_load_4 ...).

/// BITSHIELD_API_VERSION of bitshield.h.
public var bitshieldAPIVersion: UInt32 { 1 }

/// Bytes of `bitshield_model` (BITSHIELD_MODEL_BYTES).
public var bitshieldModelBytes: Int { 256 }

/// The first word of an initialized handle ("BSHM" and the API version); anything else is refused.
var handleTag: UInt64 { 0x4253_484D_0000_0000 | UInt64(bitshieldAPIVersion) }

/// Where the Interpreter sits in the handle (after the tag and the arena's address, aligned for it).
var handleOffset: Int { 16 }

/// Where the handle keeps its arena's address (bytes 8..<16: the Interpreter's own is internal to Inference),
/// for invoke's check that the caller's pixels and scores lie outside it.
var arenaAddressOffset: Int { 8 }

/// Handle bytes this build needs (at most `bitshieldModelBytes`, else init refuses: BITSHIELD_E_MODEL_STORAGE).
public var handleBytesNeeded: Int { handleOffset + MemoryLayout<Interpreter>.size }

/// The kernel set a C caller names (BITSHIELD_KERNELS_...), or nil for an unknown value.
func kernelSet(_ value: Int32) -> KernelSet? {
    switch value {
    case 0: return .optimized
    case 1: return .reference
    case 2: return .carrySave
    default: return nil
    }
}

/// The caller's bytes at `start` as a buffer, or the error naming argument `position` (NULL with a
/// non-zero count, or a count past Int.max: a negative `ssize_t` passed as `size_t`).
func buffer(_ start: UnsafeRawPointer?, _ count: UInt, position: Int64) throws(CError) -> UnsafeRawBufferPointer {
    guard count <= UInt(Int.max) else { throw CError.refused(position + 1, Int64(bitPattern: UInt64(count)), CError.argumentSize) }
    guard let start else { throw CError.refused(position, 0, CError.argumentNull) }
    return UnsafeRawBufferPointer(start: start, count: Int(count))
}

/// The alignment `bitshield_init` requires of the image and the handle: every part of an image is 64-byte
/// aligned relative to its start and the kernels read its words as u32 and u64 in place, which a Cortex-M
/// faults on (LDRD, LDM; any unaligned word on a Cortex-M0) when the image itself starts off a u64 boundary.
var imageAlignment: Int { 8 }

/// The caller's image: `buffer(image, count, position:)`, refused (argument `position`, its address) when it
/// does not start on an `imageAlignment` boundary.
func imageBuffer(_ start: UnsafeRawPointer?, _ count: UInt, position: Int64) throws(CError) -> UnsafeRawBufferPointer {
    let bytes = try buffer(start, count, position: position)
    let address = UInt(bitPattern: bytes.baseAddress)
    guard address % UInt(imageAlignment) == 0 else { throw CError.refused(position, Int64(bitPattern: UInt64(address)), CError.argumentMisaligned) }
    return bytes
}

/// Whether the caller's `count` bytes at `a` and `bytes` bytes at `b` share a byte (NULL, empty or a count
/// past Int.max, which `buffer` refuses as the bad argument it is: none; ends saturate at the top of the
/// address space, so no count wraps).
func overlap(_ a: UnsafeRawPointer?, _ count: UInt, _ b: UnsafeRawPointer?, _ bytes: UInt) -> Bool {
    guard let a, let b, count > 0, bytes > 0, count <= UInt(Int.max), bytes <= UInt(Int.max) else { return false }
    let (x, y) = (UInt(bitPattern: a), UInt(bitPattern: b))
    let (xEnd, o1) = x.addingReportingOverflow(count), (yEnd, o2) = y.addingReportingOverflow(bytes)
    return x < (o2 ? UInt.max : yEnd) && y < (o1 ? UInt.max : xEnd)
}

/// Runs `body` and reports its error, or success, to the caller's `bitshield_error`; returns the code.
@inline(__always)
func reporting(_ out: UnsafeMutableRawPointer?, _ body: () throws(CError) -> Void) -> Int32 {
    do { try body() } catch { return report(error, to: out) }
    return report(CError(code: CError.ok), to: out)
}

/// Stores `error` at the caller's `bitshield_error` (when given) and returns its code.
func report(_ error: CError, to out: UnsafeMutableRawPointer?) -> Int32 {
    error.store(to: out)
    return error.code
}

/// The prepared interpreter in a handle set up by `bitshield_init`, or nil.
@inline(__always)
func interpreter(in model: UnsafeRawPointer?) -> UnsafePointer<Interpreter>? {
    guard let model, UInt(bitPattern: model) % UInt(imageAlignment) == 0, model.load(as: UInt64.self) == handleTag else { return nil }
    return (model + handleOffset).assumingMemoryBound(to: Interpreter.self)
}

@_cdecl("bitshield_api_version")
public func bitshield_api_version() -> UInt32 { bitshieldAPIVersion }

@_cdecl("bitshield_arena_bytes")
public func bitshield_arena_bytes(_ image: UnsafeRawPointer?, _ imageBytes: UInt, _ kernels: Int32,
                                  _ arenaBytes: UnsafeMutablePointer<UInt>?, _ errorOut: UnsafeMutableRawPointer?) -> Int32 {
    reporting(errorOut) { () throws(CError) in
        guard let set = kernelSet(kernels) else { throw CError.refused(3, Int64(kernels), CError.argumentKernels) }
        guard let arenaBytes else { throw CError.refused(4, 0, CError.argumentNull) }
        let bytes = try imageBuffer(image, imageBytes, position: 1)
        let model: ModelImage
        do throws(ModelFormatError) { model = try ModelImage(bytes: bytes) } catch { throw CError(format: error) }
        let needed = Interpreter.arenaBytes(for: model, kernels: set)
        guard needed != Int.max else { throw CError(.planOverflow(largestValue: model.largestValue, batch: 1)) }
        arenaBytes.pointee = UInt(needed)
    }
}

@_cdecl("bitshield_init")
public func bitshield_init(_ model: UnsafeMutableRawPointer?, _ image: UnsafeRawPointer?, _ imageBytes: UInt,
                           _ arena: UnsafeMutableRawPointer?, _ arenaBytes: UInt, _ kernels: Int32,
                           _ errorOut: UnsafeMutableRawPointer?) -> Int32 {
    reporting(errorOut) { () throws(CError) in
        guard let model else { throw CError.refused(1, 0, CError.argumentNull) }
        // A bitshield_model is u64-aligned in C; storage cast from bytes may not be, and the handle holds the
        // interpreter's words: refused, and never written.
        guard UInt(bitPattern: model) % UInt(imageAlignment) == 0 else {
            throw CError.refused(1, Int64(bitPattern: UInt64(UInt(bitPattern: model))), CError.argumentMisaligned)
        }
        // A handle over the image (a const array in flash) or the arena is never written, not even to clear it.
        let handleBytes = UInt(bitshieldModelBytes)
        guard !overlap(model, handleBytes, image, imageBytes), !overlap(model, handleBytes, arena, arenaBytes) else {
            throw CError.refused(1, Int64(bitPattern: UInt64(UInt(bitPattern: model))), CError.argumentOverlaps)
        }
        model.storeBytes(of: 0, as: UInt64.self)   // not initialized until everything below succeeds
        guard handleBytesNeeded <= bitshieldModelBytes else {
            throw CError(code: CError.modelStorage, Int64(handleBytesNeeded), Int64(bitshieldModelBytes))
        }
        guard let set = kernelSet(kernels) else { throw CError.refused(6, Int64(kernels), CError.argumentKernels) }
        let bytes = try imageBuffer(image, imageBytes, position: 2)
        let area = try buffer(arena, arenaBytes, position: 4)
        // The runtime writes the arena while it reads the image in place: an arena over the image would rewrite
        // validated weights and tables under it.
        guard !overlap(arena, arenaBytes, image, imageBytes) else {
            throw CError.refused(4, Int64(bitPattern: UInt64(UInt(bitPattern: arena))), CError.argumentOverlaps)
        }
        let prepared: Interpreter
        do throws(InferenceError) {
            prepared = try Interpreter(image: bytes, arena: UnsafeMutableRawBufferPointer(mutating: area), kernels: set)
        } catch { throw CError(error) }
        if isMinimalBuild, let refusal = minimalBuildRefusal(prepared.image) { throw refusal }
        (model + handleOffset).initializeMemory(as: Interpreter.self, repeating: prepared, count: 1)
        model.storeBytes(of: UInt64(UInt(bitPattern: area.baseAddress)), toByteOffset: arenaAddressOffset, as: UInt64.self)
        model.storeBytes(of: handleTag, as: UInt64.self)
    }
}

@_cdecl("bitshield_invoke")
public func bitshield_invoke(_ model: UnsafeRawPointer?, _ pixels: UnsafePointer<UInt8>?,
                             _ scores: UnsafeMutablePointer<Float>?) -> Int32 {
    guard let model, let m = interpreter(in: model) else { return -CError.notInitialized }
    guard let pixels else { return -CError.badArgument }
    // The run writes the arena and then the scores while it reads the pixels and the image: pixels inside the
    // arena would be overwritten as they are read, scores inside the arena or the image would rewrite what
    // later runs read (the persistent row counts, weights). Four comparisons; nothing runs on such a call.
    let arena = UnsafeRawPointer(bitPattern: UInt(model.load(fromByteOffset: arenaAddressOffset, as: UInt64.self)))
    let f = m.pointee.footprint, image = m.pointee.image.bytes
    let scoreBytes = scores == nil ? 0 : UInt(4 * Int(m.pointee.image.header.classes))
    guard !overlap(pixels, UInt(f.inputBytes), arena, UInt(f.arenaBytes)), !overlap(scores, scoreBytes, arena, UInt(f.arenaBytes)),
          !overlap(scores, scoreBytes, image.baseAddress, UInt(image.count)) else { return -CError.badArgument }
    return Int32(truncatingIfNeeded: m.pointee.invoke(pixels, scores: scores))
}

@_cdecl("bitshield_footprint_of")
public func bitshield_footprint_of(_ model: UnsafeRawPointer?, _ out: UnsafeMutableRawPointer?) -> Int32 {
    guard let m = interpreter(in: model) else { return CError.notInitialized }
    guard let out else { return CError.badArgument }
    let f = m.pointee.footprint
    out.storeBytes(of: UInt64(f.imageBytes), toByteOffset: 0, as: UInt64.self)
    out.storeBytes(of: UInt64(f.arenaBytes), toByteOffset: 8, as: UInt64.self)
    out.storeBytes(of: UInt64(f.inputBytes), toByteOffset: 16, as: UInt64.self)
    out.storeBytes(of: UInt64(m.pointee.image.header.classes), toByteOffset: 24, as: UInt64.self)
    out.storeBytes(of: UInt64(f.maxScratchBytes), toByteOffset: 32, as: UInt64.self)
    return CError.ok
}
