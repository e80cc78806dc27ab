// libFuzzer target for the model readers: `make fuzz` builds it outside the package (so a plain
// `swift build` stays clean) with -sanitize=fuzzer,address, seeded with spec/golden. Any input must
// make the readers return or throw; a crash, hang or sanitizer report is a bug.
import ModelFile
import ModelFormat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The bare image, read in place.
    bytes.withUnsafeBytes { raw in
        if let image = try? ModelImage(bytes: raw) {
            // A valid image's accessors must be safe too.
            for op in image.ops { _ = op.output.bytes }
            for i in 0..<image.tensorCount { _ = image.tensor(i).bytes }
        }
    }
    // The container (which validates the image it holds).
    _ = try? ModelFile.parse(bytes)
    return 0
}
