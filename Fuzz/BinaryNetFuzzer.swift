// libFuzzer target for the BinaryNet import, state dict to model image, as `convert` runs it
// (scripts/fuzz.sh). An even first byte: the rest is a safetensors file. An odd one: the rest describes
// a BinaryNet MLP (2-3 layers, widths 1-12, each tensor kept, dropped, or one value short or long,
// values from a table of awkward floats), written by the safetensors writer. Whatever the import and
// export accept must be an image the model reader accepts (a writer's output is valid, issue 12 item 11).
import ModelFormat
import Trainer

/// A BinaryNet.pytorch MNIST MLP state dict described by fuzz bytes.
func describedStateDict(_ input: inout FuzzBytes) -> [UInt8] {
    let layers = 2 + Int(input.byte() % 2)
    let widths = (0..<layers).map { _ in 1 + Int(input.byte() % 12) }
    var tensors: [NamedArray] = []
    func add(_ name: String, _ count: Int, shape: [Int]) {
        let how = input.byte()
        guard how % 16 != 1 else { return }                       // dropped
        let n = how % 16 == 2 ? max(0, count - 1) : how % 16 == 3 ? count + 1 : count
        let s = n == count ? shape : [n]
        tensors.append(NamedArray(name: name, shape: s, values: (0..<n).map { _ in input.float() }))
    }
    for (i, w) in widths.enumerated() {
        let fanIn = i == 0 ? 784 : widths[i - 1]
        add("fc\(i + 1).weight", w * fanIn, shape: [w, fanIn])
        add("fc\(i + 1).bias", w, shape: [w])
        guard i < layers - 1 else { break }
        for part in ["weight", "bias", "running_mean", "running_var"] { add("bn\(i + 1).\(part)", w, shape: [w]) }
    }
    return SafeTensorsFile(metadata: [:], tensors: tensors).encoded()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(Array(UnsafeBufferPointer(start: data, count: size)))
    let mode = input.byte()
    let bytes = mode & 1 == 0 ? input.rest() : describedStateDict(&input)
    let mean = mode & 2 == 0 ? Float(0.1307) : input.float()
    let std = mode & 4 == 0 ? Float(0.3081) : input.float()
    guard let file = try? SafeTensorsFile.parse(bytes, path: "fuzz"), BinaryNetImport.matches(file),
          let network = try? BinaryNetImport.network(from: file, mean: mean, std: std, path: "fuzz") else { return 0 }
    for layout in DenseLayout.allCases {
        guard let image = try? ImageExport.image(of: network, denseLayout: layout) else { continue }
        do {
            _ = try image.withUnsafeBytes { try ModelImage(bytes: $0) }
        } catch {
            broken("export wrote an image (\(layout)) its reader refuses: \(error)")
        }
    }
    return 0
}
