// libFuzzer target for raw IDX files (scripts/fuzz.sh). The first byte picks the file kind (labels or
// images, or a pair split at the second byte); the in-memory parser and the streaming reader must agree.
import Datasets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(Array(UnsafeBufferPointer(start: data, count: size)))
    let mode = input.byte()
    if mode & 2 != 0 {
        let split = Int(input.byte()) * 4
        let rest = input.rest()
        let cut = min(split, rest.count)
        do {
            let set = try IDXLoader.pair(images: IDXReader(bytes: Array(rest[..<cut]), path: "images", expectedDims: 3),
                                         labels: IDXReader(bytes: Array(rest[cut...]), path: "labels", expectedDims: 1),
                                         classes: 10)
            guard set.pixels.count == set.count * set.imageSize, set.labels.allSatisfy({ $0 < 10 }) else { broken("inconsistent pair") }
        } catch {}
        return 0
    }
    let dims = mode & 1 == 0 ? 1 : 3
    let bytes = input.rest()
    // IDXReader takes a file that starts with the gzip magic as gzip (the idx-gzip target's ground).
    guard !Gzip.isGzip(bytes) else { return 0 }
    let parsed = Result { () throws(DatasetError) in try IDXFile.parse(bytes, expectedDims: dims, path: "f") }
    let streamed = Result { () throws(DatasetError) -> IDXFile in
        let reader = try IDXReader(bytes: bytes, path: "f", expectedDims: dims)
        return IDXFile(dimensions: reader.dimensions, bytes: try reader.readPayload())
    }
    switch (parsed, streamed) {
    case (.success(let a), .success(let b)): if a != b { broken("parse and IDXReader read different files") }
    case (.failure(let a), .failure(let b)): if a != b { broken("parse says \(a), IDXReader says \(b)") }
    default: broken("parse and IDXReader disagree: \(parsed) vs \(streamed)")
    }
    return 0
}
