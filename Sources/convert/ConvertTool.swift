import ArgumentParser
import CLISupport
import Datasets
import Foundation
import Inference
import ModelFile
import ModelFormat
import Trainer

/// `convert`: checkpoints to `.bsm` model files, and tools to look inside them.
struct ConvertTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert trained checkpoints into BitShield model files (.bsm) and inspect them.",
        discussion: """
        Examples:
          convert runs/bnn-2b.safetensors -o model.bsm
          convert runs/bnn-2b.safetensors -o device.bsm --target mcu
          convert inspect model.bsm --json
          convert image model.bsm -o model.img
        The format is specified in spec/FORMAT.md. Besides `train` checkpoints (and bitshield_torch.save's, python/), convert reads BinaryNet.pytorch state dicts saved as safetensors (the MNIST MLP's fc1/bn1 names or an nn.Sequential's features.N/classifier.N, unpadded conv nets included; spec/PYTORCH.md): --input-mean/--input-std give their input normalization, --input-bits their Eq. 2 input quantizer, --last-layer binary|real their last layer, --conv-padding 0 their convolutions, and every choice is recorded in the file's metadata.
        Memory: a checkpoint whose network (weights, gradients, statistics) exceeds 8 GiB is refused with the bytes it needs, before anything is allocated (convert export --memory-budget GiB raises it).
        Exit codes: 0 success, 1 failure, 64 bad usage.
        """,
        subcommands: [Export.self, Inspect.self, RawImage.self],
        defaultSubcommand: Export.self)
}

/// What the `.bsm` reader says about `bytes` (nil: they read back), for `AtomicFile.write(validate:)`.
func modelFileProblem(_ bytes: [UInt8]) -> String? {
    do throws(ModelFormatError) { _ = try ModelFile.parse(bytes) } catch { return error.message }
    return nil
}

/// What the model-image reader says about a bare image (nil: it reads back), for `AtomicFile.write(validate:)`.
func modelImageProblem(_ bytes: [UInt8]) -> String? {
    bytes.withUnsafeBytes { raw -> String? in
        do throws(ModelFormatError) { _ = try ModelImage(bytes: raw) } catch { return error.message }
        return nil
    }
}

/// Reads a whole `.bsm` file, bounded by the largest the container allows (a /dev/zero or a 10 GB file
/// is refused with its size before anything is allocated).
func readFile(_ path: String) throws(DatasetError) -> [UInt8] {
    try BoundedFile.contents(of: path, limit: ModelFile.maxFileBytes, what: "model file (.bsm)")
}

/// Parses a `.bsm` file's bytes; a format error names the file (exit 1).
func parseModelFile(_ bytes: [UInt8], path: String) throws(ToolError) -> ModelFile {
    do throws(ModelFormatError) { return try ModelFile.parse(bytes) } catch { throw .failure("\(path): \(error.message)") }
}

/// `convert CHECKPOINT -o FILE`.
struct Export: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Fold BatchNorm into thresholds, bit-pack binary weights and write a .bsm file (the default subcommand).",
        discussion: "Reads checkpoints written by `train` (metadata format 'bitshield.checkpoint'), and BinaryNet.pytorch state dicts saved as safetensors, with no metadata or Hugging Face's {\"format\": \"pt\"} (spec/PYTORCH.md: names, shapes and the import options). Unknown, extra or missing tensors are refused by name.")

    @Argument(help: "A checkpoint written by `train`, or a BinaryNet.pytorch state dict (.safetensors).")
    var checkpoint: String

    @Option(name: [.short, .customLong("output")], help: "The .bsm file to write (written atomically).")
    var output: String

    @Flag(help: "Store the image uncompressed instead of zlib-compressed.")
    var stored = false

    @Option(help: ArgumentHelp("How binary dense weights are stored: bits8 (64-bit hosts, the default), columns32 (32-bit microcontrollers, infer --device) or columns32s (columns32 with the hidden layers' threshold bounds, format version 4: the Cortex-M4's fastest).",
                               valueName: "layout"))
    var layout: DenseLayout?

    @Option(help: "Where the model will run, which picks the layout: host (bits8) or mcu (columns32s, the Cortex-M kernels). Give --target or --layout, not both.")
    var target: DeploymentTarget?

    /// The layout written: --layout, else the target's, else bits8.
    var denseLayout: DenseLayout { layout ?? target?.denseLayout ?? .bits8 }

    @Option(help: "Input normalization mean of an imported BinaryNet.pytorch MLP (spec/PYTORCH.md), in \(TrainingConfig.Limits.inputMean.text) (default \(Export.defaultInputMean)); recorded in the file's metadata. Refused for BitShield checkpoints, which have no normalization.")
    var inputMean: Float?

    @Option(help: "Input normalization std of an imported BinaryNet.pytorch MLP, in \(TrainingConfig.Limits.inputStd.text) (default \(Export.defaultInputStd)); recorded in the file's metadata. Refused for BitShield checkpoints.")
    var inputStd: Float?

    @Option(help: "Imports only: bits of the Eq. 2 input quantizer the imported model applies to the pixels before its normalization, 1-8 (default 8: the raw image); recorded as input_bits.")
    var inputBits: Int?

    @Option(help: ArgumentHelp("Imports only: the last layer is binary (BinarizeLinear on sign(x), a BatchNorm after it optional) or real (nn.Linear with bias on the hardtanh output, no BatchNorm). Default: binary when a BatchNorm follows it, else real; recorded as import_last_layer.",
                               valueName: "kind"))
    var lastLayer: BinaryNetImport.LastLayer?

    @Option(help: "Imports of conv nets: the padding their convolutions were built with, which the state dict does not hold; 0 (valid) imports, a padded conv is refused (the format has no padded conv op).")
    var convPadding: Int?

    /// The import-only options given, by flag, for the refusal of a BitShield checkpoint.
    var importOptionsGiven: [String] {
        [("--input-mean", inputMean != nil), ("--input-std", inputStd != nil), ("--input-bits", inputBits != nil),
         ("--last-layer", lastLayer != nil), ("--conv-padding", convPadding != nil)].filter(\.1).map(\.0)
    }

    /// BinaryNet.pytorch's MNIST normalization, the import's default.
    static let defaultInputMean: Float = 0.1307
    static let defaultInputStd: Float = 0.3081

    @Option(help: ArgumentHelp("Memory budget in GiB (1...\(ModelConfig.maxMemoryBudgetGiB)) for the checkpoint's network (weights, gradients, statistics); "
                               + "a larger one is refused, with the bytes it needs, before anything is allocated.", valueName: "GiB"))
    var memoryBudget: Int = ModelConfig.defaultMemoryBudget >> 30

    func validate() throws {
        for (option, value, limit) in [("--input-mean", inputMean, TrainingConfig.Limits.inputMean),
                                       ("--input-std", inputStd, TrainingConfig.Limits.inputStd)] {
            if let value, let problem = limit.problem(option, value) { throw ValidationError(problem) }
        }
        if let problem = ModelConfig.memoryBudgetsGiB.problem("--memory-budget", memoryBudget) { throw ValidationError(problem) }
        if let inputBits, !(1...8).contains(inputBits) { throw ValidationError("--input-bits \(inputBits) is outside 1...8") }
        if let convPadding, !(0...1024).contains(convPadding) { throw ValidationError("--conv-padding \(convPadding) is outside 0...1024") }
        if layout != nil && target != nil { throw ValidationError("give --target or --layout, not both (--target \(target!.rawValue) means --layout \(target!.denseLayout.rawValue))") }
        try requireWritableFile(output, option: "--output")
    }

    func execute() throws {
        try refuseOverwriting(inputs: [checkpoint], with: [output])
        let network: Network
        var meta: [String: Any] = [
            "format": "bitshield.model",
            "tool_version": "bitshield-convert 0.1.0",
            "created_by": "convert",
        ]
        do {
            // One memory-mapped read: the digest streams over the pages, and only the weights and
            // statistics are copied out (not the optimizer state).
            let file = try SafeTensorsFile.withMappedFile(checkpoint) { (raw) throws(TrainerError) -> SafeTensorsFile in
                meta["source_checkpoint_sha256"] = SHA256.hex(SHA256.hash(raw))
                return try SafeTensorsFile.parse(raw, path: checkpoint, include: { !$0.hasPrefix("optimizer.") })
            }
            if BinaryNetImport.matches(file) {
                let options = BinaryNetImport.Options(mean: inputMean ?? Export.defaultInputMean, std: inputStd ?? Export.defaultInputStd,
                                                      inputBits: inputBits ?? 8, lastLayer: lastLayer, convPadding: convPadding)
                let result = try BinaryNetImport.importModel(from: file, options: options, path: checkpoint)
                network = result.network
                // Every choice the import made (normalization as written: 0.1307, not its Float's binary expansion).
                meta.merge(result.metadata) { _, new in new }
            } else {
                let given = importOptionsGiven
                if !given.isEmpty {
                    throw ToolError.usage("\(given.joined(separator: ", ")): the import options (--input-mean, --input-std, --input-bits, --last-layer, --conv-padding) apply to BinaryNet.pytorch imports only; \(checkpoint) is a BitShield checkpoint (metadata format 'bitshield.checkpoint'), whose input is the discretized image with no normalization and whose layers its metadata names")
                }
                let ck = try Checkpoint(file: file, path: checkpoint)
                network = try ck.makeNetwork(path: checkpoint, memoryBudget: memoryBudget << 30)
                meta["source_format"] = "bitshield"
                meta["dataset"] = ck.training.dataset
                if let acc = ck.progress.testAccuracy { meta["test_accuracy"] = acc }
            }
        }
        meta["precision"] = network.config.precision.rawValue
        meta["input_bits"] = network.config.inputBits
        meta["architecture"] = network.config.summary
        let image: [UInt8]
        image = try ImageExport.image(of: network, denseLayout: denseLayout)
        // The layout of binary dense weights, when the image has any.
        if imageHasBinaryDense(image) { meta["dense_layout"] = denseLayoutName(image, denseLayout) }
        let imageHash = SHA256.hex(SHA256.hash(image))
        meta["image_sha256"] = imageHash
        let file = ModelFile(metadata: Array(try jsonLine(meta).utf8), image: image, compressed: !stored)
        let bytes = file.encoded()
        try AtomicFile.write(bytes, to: output, validate: modelFileProblem)
        print("wrote \(output): \(bytes.count) bytes (image \(image.count) bytes, sha256 \(imageHash))")
    }
}

/// `convert inspect FILE`.
struct Inspect: ToolCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a .bsm file's layers, shapes, bits per weight, section sizes and checksums; exit 1 on any defect.")

    @Argument(help: "A .bsm model file.")
    var file: String

    @Flag(help: "Print one JSON object on one line, as the last line of stdout.")
    var json = false

    @Option(help: "The kernel set whose arena plan and kernels are shown (optimized: this host's fastest).")
    var kernels: KernelSet = .optimized

    func execute() throws {
        let bytes = try readFile(file)
        let model = try parseModelFile(bytes, path: file)
        try model.image.withUnsafeBytes { raw in
            let image: ModelImage
            do throws(ModelFormatError) { image = try ModelImage(bytes: raw) } catch { throw ToolError.failure("\(file): \(error.message)") }
            var layers: [[String: Any]] = []
            var weightBits = 0, weights = 0
            for (i, op) in image.ops.enumerated() {
                var entry: [String: Any] = [
                    "index": i, "op": "\(op.kind)",
                    "input": "\(op.input.kind) \(op.input.height)x\(op.input.width)x\(op.input.channels)",
                    "output": "\(op.output.kind) \(op.output.height)x\(op.output.width)x\(op.output.channels)",
                ]
                if op.kind == .dense || op.kind == .conv2d {
                    let t = image.tensor(op.kind == .dense ? op.p(2) : op.p(5))
                    // A ternary dense (format version 5) stores two ±1 planes: 2 bits per weight.
                    let lower = op.kind == .dense ? image.lowerPlane(i) : -1
                    let bits = t.type.isPacked ? (lower >= 0 ? 2 : 1) : 32
                    entry["weights"] = t.elements
                    entry["bits_per_weight"] = bits
                    entry["weight_bytes"] = t.bytes + (lower >= 0 ? image.tensor(lower).bytes : 0)
                    entry["weight_type"] = "\(t.type)"
                    if lower >= 0 {
                        entry["ternary"] = true
                        entry["zero_weights"] = image.zeroWeights(upper: op.p(2), lower: lower, rows: op.p(1), n: op.p(0))
                    }
                    weights += t.elements
                    weightBits += t.elements * bits
                }
                layers.append(entry)
            }
            let tensors = (0..<image.tensorCount).map { i -> [String: Any] in
                let t = image.tensor(i)
                return ["index": i, "type": "\(t.type)", "shape": (0..<t.rank).map { t.dim($0) }, "offset": t.offset, "bytes": t.bytes]
            }
            let metadata = (try? JSONSerialization.jsonObject(with: Data(model.metadata))) as? [String: Any] ?? [:]
            let ratio = Double(model.image.count) / Double(max(model.storedBytes, 1))
            // The arena a runtime must give `Interpreter` (activations and scratch; input and scores are the caller's).
            let arena = Interpreter.arenaBytes(for: image, kernels: .simd), referenceArena = Interpreter.arenaBytes(for: image, kernels: .reference)
            let deviceArena = Interpreter.arenaBytes(for: image, kernels: .carrySave)
            let io = image.input.bytes + 4 * Int(image.header.classes)
            if json {
                print(try jsonLine([
                    "file_bytes": bytes.count, "image_bytes": model.image.count, "stored_bytes": model.storedBytes,
                    "compressed": model.compressed, "compression_ratio": ratio, "checksums_ok": true,
                    "image_sha256": SHA256.hex(model.imageSHA256), "layers": layers, "tensors": tensors,
                    "weights": weights, "weight_bits": weightBits, "metadata": metadata,
                    "input": [Int(image.header.inputHeight), Int(image.header.inputWidth), Int(image.header.inputChannels)],
                    "classes": Int(image.header.classes),
                    "arena_bytes": arena, "arena_bytes_carry_save": deviceArena, "arena_bytes_reference": referenceArena, "io_bytes": io,
                    "plan": planJSON(image, kernels: kernels),
                ]))
                return
            }
            print("\(file): \(bytes.count) bytes; image \(model.image.count) bytes, stored \(model.storedBytes) "
                  + "(\(model.compressed ? "zlib" : "uncompressed"), ratio \(String(format: "%.2f", ratio))); checksums OK")
            print("image sha256 \(SHA256.hex(model.imageSHA256))")
            print("input \(image.header.inputHeight)x\(image.header.inputWidth)x\(image.header.inputChannels), \(image.header.classes) classes; "
                  + "\(weights) weights in \(weightBits / 8) bytes")
            print("arena \(arena) B (64-bit hosts; \(deviceArena) B with the microcontrollers' kernels, "
                  + "\(referenceArena) B with the reference kernels); "
                  + "input and scores \(io) B more, the caller's; batch of B images: Interpreter.arenaBytes(for:batch:)")
            for l in layers {
                var line = "  \(l["index"]!)  \(l["op"]!)  \(l["input"]!) -> \(l["output"]!)"
                if let w = l["weights"] { line += "  \(w) weights x \(l["bits_per_weight"]!) bit = \(l["weight_bytes"]!) B (\(l["weight_type"]!))" }
                print(line)
            }
            for line in planLines(image, kernels: kernels) { print(line) }
            for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { print("  meta \(k): \(v)") }
        }
    }
}

/// `convert image FILE -o IMG`.
struct RawImage: ToolCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Write the bare, uncompressed model image (what goes into flash).")

    @Argument(help: "A .bsm model file.")
    var file: String

    @Option(name: [.short, .customLong("output")], help: "Where to write the image.")
    var output: String

    @Option(help: ArgumentHelp("Write C source instead: a 64-byte aligned `const uint8_t NAME[]` holding the image and `const size_t NAME_len`, for firmware that links the model (as `xxd -i` does for TensorFlow Lite Micro).",
                               valueName: "name"))
    var cArray: String?

    func validate() throws {
        try requireWritableFile(output, option: "--output")
        if let cArray { try CArraySource.checkIdentifier(cArray) }
    }

    func execute() throws {
        try refuseOverwriting(inputs: [file], with: [output])
        let model = try parseModelFile(try readFile(file), path: file)
        let sha = SHA256.hex(model.imageSHA256)
        if let cArray {
            let source = CArraySource.render(model.image, name: cArray, sha256: sha, from: PathText.lastComponent(of: file))
            try AtomicFile.write(Array(source.utf8), to: output)
            print("wrote \(output): C array \(cArray)[\(model.image.count)], sha256 \(sha)")
            return
        }
        try AtomicFile.write(model.image, to: output, validate: modelImageProblem)
        print("wrote \(output): \(model.image.count) bytes, sha256 \(sha)")
    }
}

extension DenseLayout: ExpressibleByArgument {}
extension BinaryNetImport.LastLayer: ExpressibleByArgument {}

/// The `dense_layout` metadata of `image` written in `layout`: `columns32s` only when some layer qualified
/// for bounds (else the image holds plain `columns32`, format version 3).
func denseLayoutName(_ image: [UInt8], _ layout: DenseLayout) -> String {
    guard layout == .columns32s else { return layout.rawValue }
    return image.withUnsafeBytes { raw -> String in
        guard let model = try? ModelImage(bytes: raw) else { return layout.rawValue }
        for i in 0..<model.tensorCount where model.hasBounds(i) { return DenseLayout.columns32s.rawValue }
        return DenseLayout.columns32.rawValue
    }
}

/// Whether `image` (just exported, so valid) holds binary dense weights (bits8 or columns32).
func imageHasBinaryDense(_ image: [UInt8]) -> Bool {
    image.withUnsafeBytes { raw -> Bool in
        let model: ModelImage
        do { model = try ModelImage(bytes: raw) } catch { return false }
        for i in 0..<model.tensorCount where model.isBlocked(i) || model.isColumns(i) { return true }
        return false
    }
}
