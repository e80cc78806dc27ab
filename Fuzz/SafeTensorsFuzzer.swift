// libFuzzer target for the safetensors reader (scripts/fuzz.sh): any bytes must parse or throw; what
// parses must be self-consistent and survive a round trip through the writer.
import Trainer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensorsFile.parse(bytes, path: "fuzz") else { return 0 }
    for t in file.tensors where t.values.count != t.shape.reduce(1, *) {
        broken("tensor '\(t.name)' has \(t.values.count) values for shape \(t.shape)")
    }
    let again: SafeTensorsFile
    do { again = try SafeTensorsFile.parse(file.encoded(), path: "again") } catch {
        broken("the writer's output of an accepted file is refused: \(error)")
    }
    guard again.metadata == file.metadata, again.tensors.count == file.tensors.count else { broken("round trip changed the file") }
    for (a, b) in zip(file.tensors, again.tensors)
    where a.name != b.name || a.shape != b.shape || a.values.map(\.bitPattern) != b.values.map(\.bitPattern) {
        broken("round trip changed tensor '\(a.name)'")
    }
    return 0
}
