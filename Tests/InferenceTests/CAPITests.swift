import BitShieldC
import Foundation
import Inference
import ModelFile
import ModelFormat
import ToolSupport
import XCTest

/// The C API (include/bitshield.h, Embedding/CAPI) called the way C calls it: raw pointers, the
/// error struct at its C offsets, the handle in caller-owned storage. Every failure is a code and its
/// numbers, and the host message says what the tools say.
final class CAPITests: XCTestCase {
    /// The committed columns32 fixture's image (the bare image inside the .bsm).
    func fixtureImage() throws -> [UInt8] {
        try ModelFile.parse(Fixture.bytes(Fixture.binaryColumns32)).image
    }

    /// Calls `bitshield_init` over `image` with an arena of `arenaBytes` (16-aligned) and returns its
    /// result, the error struct it wrote, and (on success) the class of an all-zero image.
    func initialize(_ image: [UInt8], arenaBytes: Int, kernels: Int32 = 0, misalign: Bool = false)
        -> (status: Int32, error: CError, cls: Int32) {
        let handle = UnsafeMutableRawPointer.allocate(byteCount: bitshieldModelBytes, alignment: 16)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: arenaBytes + 16, alignment: 16)
        let errorStruct = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { handle.deallocate(); arena.deallocate(); errorStruct.deallocate() }
        errorStruct.initializeMemory(as: UInt8.self, repeating: 0xEE, count: 32)
        let status = image.withUnsafeBytes { img in
            bitshield_init(handle, img.baseAddress, UInt(img.count), arena + (misalign ? 8 : 0), UInt(arenaBytes), kernels, errorStruct)
        }
        let pixels = [UInt8](repeating: 0, count: 784)
        let cls = bitshield_invoke(handle, pixels, nil)
        return (status, CError(loading: errorStruct), cls)
    }

    func message(_ e: CError) -> String {
        let errorStruct = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { errorStruct.deallocate() }
        e.store(to: errorStruct)
        var buffer = [CChar](repeating: 0, count: 400)
        let n = bitshield_error_message(errorStruct, &buffer, UInt(buffer.count))
        XCTAssertLessThan(Int(n), buffer.count)
        return String(cString: buffer)
    }

    func testArenaBytesInitAndInvokeAgreeWithTheInterpreter() throws {
        let image = try fixtureImage()
        var needed: UInt = 0
        let status = image.withUnsafeBytes { bitshield_arena_bytes($0.baseAddress, UInt($0.count), 2, &needed, nil) }
        XCTAssertEqual(status, 0)
        let expected = try image.withUnsafeBytes { Interpreter.arenaBytes(for: try ModelImage(bytes: $0), kernels: .carrySave) }
        XCTAssertEqual(Int(needed), expected)
        let r = initialize(image, arenaBytes: Int(needed), kernels: 2)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.error, CError(code: 0))
        XCTAssertTrue((0..<10).contains(r.cls), "class \(r.cls)")
        XCTAssertLessThanOrEqual(handleBytesNeeded, bitshieldModelBytes, "BITSHIELD_MODEL_BYTES is too small for this target")
        XCTAssertTrue(_isPOD(Interpreter.self), "the handle is copied bytewise: Interpreter must hold no references")
    }

    /// A one-byte-short arena, a misaligned one, a truncated image, a bad magic, an unknown kernel set,
    /// NULL pointers: each a code with its numbers, the handle left unusable, and the tools' wording.
    func testEveryFailureIsACodeWithItsNumbersAndTheHandleStaysUninitialized() throws {
        let image = try fixtureImage()
        var needed: UInt = 0
        _ = image.withUnsafeBytes { bitshield_arena_bytes($0.baseAddress, UInt($0.count), 0, &needed, nil) }
        let n = Int(needed)

        let small = initialize(image, arenaBytes: n - 1)
        XCTAssertEqual(small.error, CError(code: CError.arenaTooSmall, Int64(n), Int64(n - 1)))
        XCTAssertEqual(small.status, CError.arenaTooSmall)
        XCTAssertEqual(small.cls, -CError.notInitialized)
        XCTAssertEqual(message(small.error), "arena too small: needs \(n), has \(n - 1)")

        XCTAssertEqual(initialize(image, arenaBytes: n, misalign: true).error.code, CError.arenaMisaligned)

        let cut = Array(image.prefix(100))
        let truncated = initialize(cut, arenaBytes: n)
        XCTAssertEqual(truncated.error.code, CError.truncated, message(truncated.error))
        XCTAssertEqual(truncated.cls, -CError.notInitialized)

        var bad = image
        bad[0] ^= 0xFF
        let magic = initialize(bad, arenaBytes: n)
        XCTAssertEqual(magic.error, CError(code: CError.badMagic))
        XCTAssertTrue(message(magic.error).hasPrefix("bad magic"), message(magic.error))

        let kernels = initialize(image, arenaBytes: n, kernels: 7)
        XCTAssertEqual(kernels.error, CError(code: CError.badArgument, 6, 7, CError.argumentKernels))
        XCTAssertEqual(message(kernels.error), "argument 6 of the call is 7, not a BITSHIELD_KERNELS_ value (0 optimized, 1 reference, 2 carry-save)")

        XCTAssertEqual(bitshield_init(nil, nil, 0, nil, 0, 0, nil), CError.badArgument)
        let handle = UnsafeMutableRawPointer.allocate(byteCount: bitshieldModelBytes, alignment: 16)
        defer { handle.deallocate() }
        XCTAssertEqual(bitshield_init(handle, nil, 10, nil, 0, 0, nil), CError.badArgument)
        XCTAssertEqual(bitshield_init(handle, image, UInt.max, nil, 0, 0, nil), CError.badArgument, "a size_t past SIZE_MAX/2")
        XCTAssertEqual(bitshield_invoke(nil, nil, nil), -CError.notInitialized)
        XCTAssertEqual(bitshield_footprint_of(handle, handle), CError.notInitialized)

        // The message buffer: cut short and NUL-terminated, the whole length returned.
        let errorStruct = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { errorStruct.deallocate() }
        small.error.store(to: errorStruct)
        var tiny = [CChar](repeating: 0x7F, count: 6)
        let full = bitshield_error_message(errorStruct, &tiny, UInt(tiny.count))
        XCTAssertEqual(Int(full), message(small.error).utf8.count)
        XCTAssertEqual(String(cString: tiny), "arena")
        XCTAssertEqual(bitshield_error_message(errorStruct, nil, 0), full)
    }

    /// An image at an address off a u64 boundary (a `uint8_t` buffer at an odd place): init accepted it and the
    /// kernels read its words in place, which faults on a Cortex-M (LDRD; any unaligned word on an M0). Now
    /// BITSHIELD_E_BAD_ARGUMENT naming argument 2 (1 for arena_bytes) and the address; a handle off its
    /// alignment likewise (argument 1), never written and never usable.
    func testMisalignedImageOrHandleIsABadArgument() throws {
        let image = try fixtureImage()
        var needed: UInt = 0
        XCTAssertEqual(image.withUnsafeBytes { bitshield_arena_bytes($0.baseAddress, UInt($0.count), 0, &needed, nil) }, 0)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: image.count + 64, alignment: 64)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: Int(needed), alignment: 16)
        let handle = UnsafeMutableRawPointer.allocate(byteCount: bitshieldModelBytes + 8, alignment: 16)
        let errorStruct = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { storage.deallocate(); arena.deallocate(); handle.deallocate(); errorStruct.deallocate() }
        for offset in [4, 1] {
            let at = storage + offset
            image.withUnsafeBytes { at.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            let address = Int64(Int(bitPattern: at))
            XCTAssertEqual(bitshield_arena_bytes(at, UInt(image.count), 0, &needed, errorStruct), CError.badArgument)
            XCTAssertEqual(CError(loading: errorStruct), CError(code: CError.badArgument, 1, address, CError.argumentMisaligned))
            XCTAssertEqual(bitshield_init(handle, at, UInt(image.count), arena, needed, 0, errorStruct), CError.badArgument)
            XCTAssertEqual(CError(loading: errorStruct), CError(code: CError.badArgument, 2, address, CError.argumentMisaligned))
            // The message names the alignment and the remainder, not only "outside what bitshield.h allows".
            let hex = "0x" + String(UInt64(bitPattern: address), radix: 16)
            XCTAssertEqual(message(CError(loading: errorStruct)), "argument 2 of the call is at address \(hex), not on the 8-byte boundary bitshield.h requires of the image and the model handle (\(hex) mod 8 = \(offset))")
            XCTAssertEqual(bitshield_invoke(handle, [UInt8](repeating: 0, count: 784), nil), -CError.notInitialized)
        }
        image.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        XCTAssertEqual(bitshield_init(handle + 4, storage, UInt(image.count), arena, needed, 0, errorStruct), CError.badArgument)
        XCTAssertEqual(CError(loading: errorStruct), CError(code: CError.badArgument, 1, Int64(Int(bitPattern: handle + 4)), CError.argumentMisaligned))
        XCTAssertEqual(bitshield_init(handle, storage, UInt(image.count), arena, needed, 0, errorStruct), CError.ok, "aligned: accepted")
        XCTAssertTrue((0..<10).contains(bitshield_invoke(handle, [UInt8](repeating: 0, count: 784), nil)))
    }

    /// Image, arena and handle in one buffer (one static array for everything): init accepted an arena over
    /// the image, and the runtime's writes rewrote the weights and op table it had validated (invoke then
    /// reads tables it never checked); a handle over the image was written even when the image is const.
    /// Each overlap is now BITSHIELD_E_BAD_ARGUMENT naming the arena (4) or the handle (1), nothing written;
    /// invoke's pixels in the arena, or scores in the arena or the image, are -BITSHIELD_E_BAD_ARGUMENT.
    func testOverlappingImageArenaOrHandleIsABadArgument() throws {
        let image = try fixtureImage()
        var needed: UInt = 0
        XCTAssertEqual(image.withUnsafeBytes { bitshield_arena_bytes($0.baseAddress, UInt($0.count), 0, &needed, nil) }, 0)
        let total = image.count + Int(needed) + 16 + bitshieldModelBytes
        let storage = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: 64)
        let errorStruct = UnsafeMutableRawPointer.allocate(byteCount: 32, alignment: 8)
        defer { storage.deallocate(); errorStruct.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        image.withUnsafeBytes { storage.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        let arenaOverImage = storage + image.count - 64, arena = storage + image.count, handle = arena + Int(needed + 15) / 16 * 16
        let size = UInt(image.count)
        XCTAssertEqual(bitshield_init(handle, storage, size, arenaOverImage, needed, 0, errorStruct), CError.badArgument)
        XCTAssertEqual(CError(loading: errorStruct), CError(code: CError.badArgument, 4, Int64(Int(bitPattern: arenaOverImage)), CError.argumentOverlaps))
        XCTAssertTrue(message(CError(loading: errorStruct)).hasSuffix("overlaps another buffer of the call (the image, the arena and the model handle must not share a byte)"))
        XCTAssertEqual(bitshield_invoke(handle, [UInt8](repeating: 0, count: 784), nil), -CError.notInitialized)
        let before = Array(UnsafeRawBufferPointer(start: storage, count: image.count))
        XCTAssertEqual(bitshield_init(storage + 128, storage, size, arena, needed, 0, errorStruct), CError.badArgument)
        XCTAssertEqual(CError(loading: errorStruct), CError(code: CError.badArgument, 1, Int64(Int(bitPattern: storage + 128)), CError.argumentOverlaps))
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: storage, count: image.count)), before, "the image was written")
        XCTAssertEqual(bitshield_init(arena, storage, size, arena, needed, 0, errorStruct), CError.badArgument, "a handle over the arena")
        XCTAssertEqual(bitshield_init(handle, storage, size, arena, needed, 0, errorStruct), CError.ok, "side by side: accepted")
        let pixels = [UInt8](repeating: 0, count: 784)
        let cls = bitshield_invoke(handle, pixels, nil)
        XCTAssertTrue((0..<10).contains(cls))
        // invoke: pixels inside the arena (overwritten as they are read), scores inside the arena (the row counts
        // later runs read) or over the image: refused before anything runs; the next proper call is unchanged.
        XCTAssertEqual(bitshield_invoke(handle, arena.assumingMemoryBound(to: UInt8.self) + 16, nil), -CError.badArgument)
        XCTAssertEqual(bitshield_invoke(handle, pixels, (arena + Int(needed) - 8).assumingMemoryBound(to: Float.self)), -CError.badArgument)
        XCTAssertEqual(bitshield_invoke(handle, pixels, (storage + 64).assumingMemoryBound(to: Float.self)), -CError.badArgument)
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: storage, count: image.count)), before, "the image was written")
        var scores = [Float](repeating: 0, count: 10)
        XCTAssertEqual(bitshield_invoke(handle, pixels, &scores), cls)
    }

    /// The minimal build's rule (item 4): a bits8 model is refused at its first dense layer with the
    /// weights' type id, and the host words it as the command that writes the layout it runs.
    func testMinimalBuildRefusesANonColumns32ModelWithTheConvertCommand() throws {
        let bits8 = try ModelFile.parse(Fixture.bytes(Fixture.binaryBits8)).image
        let columns = try fixtureImage()
        let refusal = try bits8.withUnsafeBytes { minimalBuildRefusal(try ModelImage(bytes: $0)) }
        XCTAssertEqual(refusal, CError(code: CError.layoutNotBuilt, 1, Int64(TensorType.bits8.rawValue), Int64(OpKind.dense.rawValue)))
        XCTAssertTrue(message(try XCTUnwrap(refusal)).contains("convert MODEL.safetensors --layout columns32 -o MODEL.bsm"))
        XCTAssertNil(try columns.withUnsafeBytes { minimalBuildRefusal(try ModelImage(bytes: $0)) })
        // columns32s (format version 4, what --target mcu writes) is left out of the minimal build: refused at
        // its first such layer (op 3, the hidden 64 -> 64), worded as the --layout columns32 command.
        let bounded = try GoldenTests.withBounds(columns)
        let boundedRefusal = try bounded.withUnsafeBytes { minimalBuildRefusal(try ModelImage(bytes: $0)) }
        XCTAssertEqual(boundedRefusal, CError(code: CError.layoutNotBuilt, 3, Int64(TensorType.columns32s.rawValue), Int64(OpKind.dense.rawValue)))
        XCTAssertTrue(message(try XCTUnwrap(boundedRefusal)).contains("convert MODEL.safetensors --layout columns32 -o MODEL.bsm"))
        XCTAssertFalse(isMinimalBuild, "the package target is the full build")
        // A conv layer, or float dense weights: no convert command helps; the message says to use the full library.
        let conv = CError(code: CError.layoutNotBuilt, 1, Int64(TensorType.bits.rawValue), Int64(OpKind.conv2d.rawValue))
        XCTAssertTrue(message(conv).contains("has no kernel in this minimal runtime"), message(conv))
        let float = CError(code: CError.layoutNotBuilt, 3, Int64(TensorType.f32.rawValue), Int64(OpKind.dense.rawValue))
        XCTAssertFalse(message(float).contains("--layout columns32"), message(float))
    }
}
