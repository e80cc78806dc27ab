// Import of BinaryNet.pytorch-style state dicts (itayhubara/BinaryNet.pytorch; Hubara et al. 2016) as
// documented in spec/PYTORCH.md, names read by BinaryNetImport+Layout.swift:
//   hidden blocks: BinarizeLinear / BinarizeConv2d [+ bias] (conv: -> MaxPool2d(2)) -> BatchNorm -> Hardtanh,
//   every weight layer but the first on sign(x), the first on the (optionally Eq. 2-quantized, then
//   normalized) input (pixel/255 - mean) / std;
//   the last layer: real-valued nn.Linear with bias on the last Hardtanh output (`--last-layer real`), or a
//   BinarizeLinear on sign(x) followed by an optional BatchNorm (`--last-layer binary`; BinaryNet's
//   VGG: BatchNorm1d(affine=False)). By default a last layer with a BatchNorm after it is binary and one
//   without is real.
// The import builds the equivalent BitShield network (binary precision, δ-bit input quantizer, a float
// last layer for `real`) and folds the input normalization and every bias into the BatchNorm statistics:
// for y our layer's output and z = a*y + c_o theirs (a = 1/std and c_o = b_o - mean/std * sum_i sign(W_oi)
// over the first layer's whole fan-in; a = 1, c_o = b_o after),
//   gamma' = gamma * a,  var' = var,  mean' = (mean - c_o) / a,  beta' = beta,
// which is the same BatchNorm in real arithmetic (a max-pool commutes with it: a > 0 and c_o is per channel).
// A binary last layer without BatchNorm gets an identity one (gamma 1, beta 0, var 1 - eps). Refused, by
// name: a BatchNorm after a real last layer (not foldable exactly), conv nets without a stated padding of 0
// (the format has valid convolutions only), a conv not followed by MaxPool2d and BatchNorm.
// Deviations: sign(0) = +1 (torch.sign(0) = 0), and float rounding differs from PyTorch's, so predictions
// agree up to rare near-ties (measured in the tests and scripts/torch_import_routes.py).

/// Builds a `Network` from a BinaryNet.pytorch state dict.
public enum BinaryNetImport {
    /// Whether the last weight layer is binarized (BinarizeLinear) or real-valued (nn.Linear).
    public enum LastLayer: String, CaseIterable, Sendable {
        case binary, real
    }

    /// The choices a state dict cannot tell; each is recorded in the `.bsm` metadata.
    public struct Options: Sendable {
        /// Input normalization the model was trained with (pixels on the [0, 1] scale).
        public var mean: Float
        public var std: Float
        /// Bits of the Eq. 2 input quantizer applied before the normalization (8: the raw image).
        public var inputBits: Int
        /// nil: binary when a BatchNorm follows the last layer, real otherwise.
        public var lastLayer: LastLayer?
        /// Conv nets: the padding their convolutions were built with (not in the state dict); only 0 imports.
        public var convPadding: Int?

        public init(mean: Float = 0.1307, std: Float = 0.3081, inputBits: Int = 8, lastLayer: LastLayer? = nil, convPadding: Int? = nil) {
            (self.mean, self.std, self.inputBits, self.lastLayer, self.convPadding) = (mean, std, inputBits, lastLayer, convPadding)
        }
    }

    /// The network and every choice the import made, as `.bsm` metadata keys (spec/PYTORCH.md).
    public struct Result {
        public var network: Network
        public var metadata: [String: Any]
    }

    /// Whether `convert` reads `file` as a state dict: no `format` metadata, or Hugging Face's
    /// `{"format": "pt"}` (safetensors.torch.save_file(..., metadata=...) as transformers writes it).
    public static func matches(_ file: SafeTensorsFile) -> Bool {
        file.metadata["format"] == nil || file.metadata["format"] == "pt"
    }

    /// Tensors of other dtypes the import may pass over: PyTorch's BatchNorm step counters (I64), which
    /// it does not read. Any other non-F32 tensor is refused: skipped, an F64 bias would silently become
    /// zero and an F64 `fcK.weight` would end the layer count early, each a wrong model with exit 0.
    static func ignorable(_ name: String) -> Bool { isCounter(name) }

    /// The equivalent network (the form the fuzz target and older callers use).
    public static func network(from file: SafeTensorsFile, mean: Float = 0.1307, std: Float = 0.3081,
                               path: String) throws(TrainerError) -> Network {
        try importModel(from: file, options: Options(mean: mean, std: std), path: path).network
    }

    /// A weight layer, the BatchNorm after it, and whether a MaxPool2d(2) sits between them (conv).
    struct Block {
        var layer: Module
        var norm: Module?
        var pooled: Bool
    }

    /// The equivalent network and the metadata that records the import's choices.
    public static func importModel(from file: SafeTensorsFile, options: Options, path: String) throws(TrainerError) -> Result {
        func fail(_ reason: String) -> TrainerError { .checkpointMismatch(path: path, reason: "BinaryNet import: " + reason) }
        for (name, dtype) in zip(file.skipped, file.skippedDTypes) where !ignorable(name) {
            throw fail("tensor '\(name)' is stored as \(dtype); the import reads F32 tensors only (save the state_dict after .float())")
        }
        try TrainingConfig.Limits.inputMean.check("input mean", options.mean)
        try TrainingConfig.Limits.inputStd.check("input std", options.std)
        guard (1...8).contains(options.inputBits) else { throw fail("input bits \(options.inputBits) outside 1...8") }
        try Checkpoint.checkValues(file.tensors.filter { !isCounter($0.name) }, path: path)
        let (naming, modules) = try self.modules(of: file, path: path)
        let blocks = try self.blocks(modules, naming: naming, fail: fail)
        let last = blocks.last!
        let lastLayer = options.lastLayer ?? (last.norm == nil ? .real : .binary)
        if lastLayer == .real, let norm = last.norm {
            throw fail("BatchNorm '\(norm.prefix)' after the real-valued last layer '\(last.layer.prefix)': BitShield's real last layer "
                       + "has no BatchNorm and folding one into float weights is not exact; give --last-layer binary if "
                       + "'\(last.layer.prefix)' is a BinarizeLinear")
        }
        let convs = blocks.filter { $0.layer.kind == .conv }
        if convs.isEmpty, let padding = options.convPadding {
            throw fail("--conv-padding \(padding) was given, but the state dict has no Conv2d (\(blocks.count) Linear blocks, "
                       + "'\(blocks[0].layer.prefix)' first): the option describes conv nets only; leave it out for an MLP")
        }
        if !convs.isEmpty {
            guard let padding = options.convPadding else {
                throw fail("'\(convs[0].layer.prefix)' is a Conv2d, whose padding is not in the state dict: give the padding the model "
                           + "was built with (convert --conv-padding 0 for valid convolutions)")
            }
            guard padding == 0 else {
                throw fail("'\(convs[0].layer.prefix)' with padding \(padding): padded convolutions need a padded conv op that the "
                           + "model format (version 3: valid convolutions only) does not have; not imported")
            }
        }
        let shapes = try self.shapes(blocks, file: file, fail: fail)
        let dense = shapes.dense
        var config: ModelConfig
        if convs.isEmpty {
            config = .fcn(hidden: Array(dense.dropLast()), precision: .binary, inputBits: options.inputBits)
        } else {
            config = .conv(input: shapes.input, classes: dense.last!, precision: .binary, inputBits: options.inputBits)
            config.convChannels = shapes.convChannels
            config.kernel = shapes.kernel
            config.hidden = Array(dense.dropLast())
        }
        config.input = shapes.input
        config.classes = dense.last!
        config.floatLastLayer = lastLayer == .real
        config.dropout = 0
        if config.floatLastLayer && config.hidden.isEmpty {
            throw fail("a real last layer '\(last.layer.prefix)' right after the conv blocks: BitShield's real last layer reads a dense "
                       + "block's hardtanh output, so at least one hidden Linear must come before it")
        }
        try config.validate()
        let net = try Network(config: config, seed: 0)
        try fill(net, blocks: blocks, file: file, options: options, permuteFirstDense: shapes.flattened)
        let metadata: [String: Any] = [
            "source_format": "binarynet-pytorch",
            "import_naming": naming.rawValue,
            "import_last_layer": lastLayer.rawValue,
            "import_last_batchnorm": last.norm != nil,
            "import_conv_padding": convs.isEmpty ? nil : 0 as Int?,
            "import_conv_pool": convs.isEmpty ? nil : "MaxPool2d(2) between each Conv2d and its BatchNorm" as String?,
            "input_mean": Double("\(options.mean)") ?? Double(options.mean),
            "input_std": Double("\(options.std)") ?? Double(options.std),
            "dataset": shapes.input.channels == 1 ? "mnist" : (config.classes == 100 ? "cifar100" : "cifar10"),
        ].compactMapValues { $0 }
        return Result(network: net, metadata: metadata)
    }

    /// The modules grouped into blocks: each weight layer with the BatchNorm after it; conv blocks first.
    static func blocks(_ modules: [Module], naming: Naming, fail: (String) -> TrainerError) throws(TrainerError) -> [Block] {
        var blocks: [Block] = []
        for m in modules {
            if m.kind != .batchNorm {
                if let previous = blocks.last, previous.norm == nil {
                    throw fail("'\(previous.layer.prefix)' (\(previous.layer.kind.rawValue)) has no BatchNorm after it"
                               + (naming == .mlp ? " (tensor 'bn\(previous.layer.index).running_mean' is missing)" : "") + ": only the last layer may lack one")
                }
                if m.kind == .conv, let previous = blocks.last, previous.layer.kind == .linear {
                    throw fail("Conv2d '\(m.prefix)' after Linear '\(previous.layer.prefix)': conv blocks come first")
                }
                blocks.append(Block(layer: m, norm: nil, pooled: false))
                continue
            }
            guard var block = blocks.last, block.norm == nil else {
                throw fail("BatchNorm '\(m.prefix)' follows no Linear or Conv2d" + (blocks.last.map { " (after '\($0.norm!.prefix)')" } ?? ""))
            }
            if naming == .mlp, m.index != block.layer.index {
                throw fail("BatchNorm '\(m.prefix)' follows '\(block.layer.prefix)': bnI belongs to fcI")
            }
            if block.layer.kind == .conv {
                // A Sequential's parameterless modules leave gaps: conv N, MaxPool2d N+1, BatchNorm N+2.
                let gap = m.index - block.layer.index - 1
                guard gap == 1 else {
                    throw fail("Conv2d '\(block.layer.prefix)' is followed by BatchNorm '\(m.prefix)' with \(gap) module(s) between: "
                               + "BitShield's conv block is conv -> MaxPool2d(2) -> BatchNorm -> sign (one parameterless module between)")
                }
                block.pooled = true
            }
            block.norm = m
            blocks[blocks.count - 1] = block
        }
        if let c = blocks.last, c.layer.kind == .conv { throw fail("the last layer '\(c.layer.prefix)' is a Conv2d: a Linear must end the model") }
        for (i, b) in blocks.enumerated() where naming == .mlp && b.layer.index != i + 1 {
            throw fail("'\(b.layer.prefix)' is the \(i + 1). Linear: the layers are fc1, fc2, ... without gaps")
        }
        return blocks
    }
}
