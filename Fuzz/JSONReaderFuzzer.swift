// libFuzzer target for JSONReader (scripts/fuzz.sh): the first byte sets the depth cap (1-8), the rest
// is the document. Any bytes must give tokens or a JSONError, never a crash; reading token by token and
// skipping the whole value must agree on whether the document is valid, and where it is not.
import JSONReader

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let depth = Int(data[0] % 8) + 1
    let raw = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    var tokens = JSONReader(raw, maxDepth: depth)
    var read: Result<Int, JSONError>
    do {
        var n = 0
        while let t = try tokens.next() {
            n += 1
            if case .number(let number) = t { _ = number.integer; _ = number.double }
        }
        guard tokens.offset == raw.count else { broken("valid document ends at \(tokens.offset), has \(raw.count) bytes") }
        read = .success(n)
    } catch {
        read = .failure(error)
    }
    var skipper = JSONReader(raw, maxDepth: depth)
    var skipped: Result<Int, JSONError>
    do {
        try skipper.skipValue()
        guard try skipper.next() == nil else { broken("skipValue left tokens behind") }
        skipped = .success(0)
    } catch {
        skipped = .failure(error)
    }
    switch (read, skipped) {
    case (.success, .success): break
    case (.failure(let a), .failure(let b)):
        // Both refuse; skipping builds no strings but checks the same grammar at the same byte.
        guard a == b else { broken("next() says \(a), skipValue() says \(b)") }
    default: broken("next() and skipValue() disagree: \(read) vs \(skipped)")
    }
    return 0
}
