// libFuzzer target for the model readers and the runtime behind them: `make fuzz` builds it outside the
// package (so a plain `swift build` stays clean) with -sanitize=fuzzer,address and -O (never -Ounchecked:
// Swift's own overflow and bounds checks must trap), seeded with spec/golden. Any input must make the
// readers return or throw; a crash, hang or sanitizer report is a bug.
//
// What validation accepts, the runtime must run in bounds: every accepted image goes through
// `Interpreter.init` and one `invoke` with each kernel set, on an arena of exactly the planned size
// followed by a guard band whose canaries are checked after the call. Images whose planned arena exceeds
// `maxArena` or whose work exceeds `maxWork` multiply-adds skip `invoke` (counted, printed at exit).
// For images without float weights every kernel set must give the same scores, bit for bit.
import Inference
import ModelFile
import ModelFormat

#if canImport(Glibc)
import Glibc
#endif

/// Largest arena the target runs (bytes).
let maxArena = 16 << 20
/// Largest work the target runs (`ModelImage.operations`: multiply-adds, comparisons, one per other value).
let maxWork = 1 << 24
/// Guard band after the arena.
let guardBytes = 64

nonisolated(unsafe) var accepted = 0, invoked = 0, skippedArena = 0, skippedWork = 0
nonisolated(unsafe) var reported = false

/// Runs `image` with `kernels` on a guarded arena; returns the scores (or nil when skipped).
func run(_ raw: UnsafeRawBufferPointer, _ image: ModelImage, _ kernels: KernelSet, pixels: UnsafePointer<UInt8>) -> [Float]? {
    let bytes = Interpreter.arenaBytes(for: image, kernels: kernels)
    guard bytes <= maxArena else { skippedArena += 1; return nil }
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes + guardBytes, alignment: 16)
    defer { storage.deallocate() }
    for i in 0..<storage.count { storage[i] = UInt8(truncatingIfNeeded: 0x5A &+ i) }
    let arena = UnsafeMutableRawBufferPointer(rebasing: storage[0..<bytes])
    let interpreter: Interpreter
    do { interpreter = try Interpreter(image: raw, arena: arena, kernels: kernels) } catch {
        // The image validated and the arena is the planned size: init may refuse nothing else.
        fatalError("Interpreter.init refused an image ModelImage accepted: \(error.message)")
    }
    var scores = [Float](repeating: 0, count: Int(image.header.classes))
    let cls = interpreter.invoke(pixels, scores: &scores)
    precondition(cls >= 0 && cls < scores.count, "class \(cls) outside 0..<\(scores.count)")
    for i in 0..<guardBytes where storage[bytes + i] != UInt8(truncatingIfNeeded: 0x5A &+ (bytes + i)) {
        fatalError("\(kernels) kernels wrote \(i) bytes past the \(bytes)-byte arena")
    }
    invoked += 1
    return scores
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    if !reported {
        reported = true
        atexit {
            print("model-fuzzer: \(accepted) images accepted, \(invoked) invokes, skipped \(skippedArena) over the arena cap "
                  + "(\(maxArena) B) and \(skippedWork) over the work cap (\(maxWork))")
        }
    }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The bare image, read in place from a 64-byte-aligned copy (as a device's flash holds it).
    let aligned = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
    defer { aligned.deallocate() }
    bytes.withUnsafeBytes { aligned.copyMemory(from: $0) }
    exercise(UnsafeRawBufferPointer(rebasing: aligned[0..<size]), data: data, size: size)
    // The container (which validates the image it holds), and the runtime on the image inside it.
    if let file = try? ModelFile.parse(bytes) {
        let inner = UnsafeMutableRawBufferPointer.allocate(byteCount: max(file.image.count, 1), alignment: 64)
        defer { inner.deallocate() }
        file.image.withUnsafeBytes { inner.copyMemory(from: $0) }
        exercise(UnsafeRawBufferPointer(rebasing: inner[0..<file.image.count]), data: data, size: size)
    }
    return 0
}

/// Validates `raw` as an image and, when accepted, runs it with every kernel set (see the file comment).
func exercise(_ raw: UnsafeRawBufferPointer, data: UnsafePointer<UInt8>, size: Int) {
    if let image = try? ModelImage(bytes: raw) {
        accepted += 1
        // A valid image's accessors must be safe too.
        for op in image.ops { _ = op.output.bytes }
        for i in 0..<image.tensorCount { _ = image.tensor(i).bytes }
        if image.operations > maxWork {
            skippedWork += 1
        } else {
            // Pixels from the input's own bytes, so the fuzzer steers them too.
            let n = image.input.count
            let pixels = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
            defer { pixels.deallocate() }
            for i in 0..<n { pixels[i] = size == 0 ? 0 : data[(i &* 7919) % size] }
            let exact = !(0..<image.opCount).contains { k in
                let kind = image.opKind(k)
                return (kind == .dense || kind == .conv2d) && !image.isBits(image.opParameter(k, kind == .dense ? 2 : 5))
            }
            var results: [[Float]] = []
            for kernels in [KernelSet.reference, .simd, .carrySave] {
                if let scores = run(raw, image, kernels, pixels: pixels) { results.append(scores) }
            }
            if exact, let first = results.first {
                for other in results.dropFirst() where other.map(\.bitPattern) != first.map(\.bitPattern) {
                    fatalError("kernel sets disagree on a binary model: \(first) vs \(other)")
                }
            }
        }
    }
}
