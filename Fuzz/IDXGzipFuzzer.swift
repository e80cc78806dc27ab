// libFuzzer target for gzip IDX files and the gzip reader (scripts/fuzz.sh). The first byte picks:
// the input itself as a gzip file (corrupt streams, bombs); or the input compressed by us, split into
// two members at a fuzzer-chosen point and optionally followed by trailing bytes, which must read
// exactly as the raw file does (or, with trailing bytes, be refused).
import Datasets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(Array(UnsafeBufferPointer(start: data, count: size)))
    let mode = input.byte()
    let dims = mode & 1 == 0 ? 1 : 3
    if mode & 6 == 0 {
        let bytes = input.rest()
        _ = try? Gzip.decompress(bytes, path: "g", limit: 1 << 20)
        if let reader = try? IDXReader(bytes: bytes, path: "g", expectedDims: dims) { _ = try? reader.readPayload() }
        return 0
    }
    let split = Int(input.byte())
    let garbage = mode & 4 != 0 ? Int(input.byte() % 4) : 0
    let raw = input.rest()
    let cut = raw.isEmpty ? 0 : split % (raw.count + 1)
    var gz = Gzip.compress(Array(raw[..<cut])) + Gzip.compress(Array(raw[cut...]))
    let trailing = [UInt8](repeating: UInt8(split), count: garbage)
    gz += trailing
    do {
        let out = try Gzip.decompress(gz, path: "g")
        guard trailing.isEmpty || (trailing.count >= 2 && trailing[0] == 0x1f && trailing[1] == 0x8b) else {
            broken("\(trailing.count) bytes of trailing garbage accepted")
        }
        guard out == raw else { broken("two members inflate to \(out.count) bytes, not the \(raw.count) compressed") }
    } catch {
        guard !trailing.isEmpty else { broken("a valid two-member gzip is refused: \(error)") }
    }
    guard trailing.isEmpty else { return 0 }
    let fromRaw = Result { () throws(DatasetError) -> [UInt8] in try IDXReader(bytes: raw, path: "f", expectedDims: dims).readPayload() }
    let fromGzip = Result { () throws(DatasetError) -> [UInt8] in try IDXReader(bytes: gz, path: "f", expectedDims: dims).readPayload() }
    switch (fromRaw, fromGzip) {
    case (.success(let a), .success(let b)): if a != b { broken("raw and gzip payloads differ") }
    case (.failure, .failure): break    // sizes are reported differently (file size vs inflated size)
    default: broken("raw and gzip readers disagree: \(fromRaw) vs \(fromGzip)")
    }
    return 0
}
