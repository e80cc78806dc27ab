// libFuzzer target for the CIFAR binary reader (scripts/fuzz.sh): the first byte picks CIFAR-10 or -100
// and where to split the input into two files; any input must give a consistent set or an error.
import Datasets

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(Array(UnsafeBufferPointer(start: data, count: size)))
    let mode = input.byte()
    let variant: CIFARBinary.Variant = mode & 1 == 0 ? .cifar10 : .cifar100
    let rest = input.rest()
    let record = variant == .cifar10 ? 3073 : 3074
    // One file, or two split after `mode >> 2` records.
    let cut = min(rest.count, record * Int(mode >> 2))
    let files = mode & 2 == 0 ? [("a", rest)] : [("a", Array(rest[..<cut])), ("b", Array(rest[cut...]))]
    guard let set = try? CIFARBinary.parse(files, variant: variant) else { return 0 }
    let classes = variant == .cifar10 ? 10 : 100
    guard set.count * record == rest.count, set.pixels.count == set.count * 3072, set.labels.allSatisfy({ Int($0) < classes }) else {
        broken("CIFAR set of \(set.count) images from \(rest.count) bytes")
    }
    return 0
}
