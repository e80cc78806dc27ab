// The names of a BinaryNet.pytorch state dict, read into an ordered list of modules (spec/PYTORCH.md,
// "Importing BinaryNet.pytorch models"). Two namings are known:
//   mlp:        main_mnist.py's attributes, 1-based: fc1, bn1, fc2, bn2, ..., fcK [, bnK];
//   sequential: an nn.Sequential, as in models/vgg_cifar10_binary.py: features.N.*, classifier.N.* (or a
//               bare N.*), N the module's index; parameterless modules (Hardtanh, MaxPool2d, Dropout)
//               leave gaps in N, which is how a conv block's MaxPool2d between conv and BatchNorm shows.
// A weight layer has `weight` (rank 2: Linear, rank 4: Conv2d) and an optional `bias`; a BatchNorm has
// `running_mean` and `running_var`, `weight` and `bias` unless affine=False, and `num_batches_tracked`.
// Every other name is refused by name: the import reads everything it is given or nothing.

extension BinaryNetImport {
    /// The naming a state dict uses.
    public enum Naming: String, Sendable {
        /// main_mnist.py's `fcI`/`bnI`, 1-based.
        case mlp
        /// nn.Sequential indices, `features.N` then `classifier.N`.
        case sequential
    }

    /// One module of the state dict.
    struct Module {
        enum Kind: String { case linear = "Linear", conv = "Conv2d", batchNorm = "BatchNorm" }
        /// The name prefix, e.g. `fc2` or `features.3`.
        var prefix: String
        var kind: Kind
        /// Its number: I of fcI/bnI, or N of features.N.
        var index: Int
        /// The sort key: container (features before classifier), then index, then fc before bn.
        var order: (Int, Int, Int)
    }

    /// The module a tensor prefix names, with its naming; nil for a name of neither.
    static func parsePrefix(_ prefix: String) -> (naming: Naming, container: Int, index: Int, isNorm: Bool?)? {
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.count <= 6, s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber) else { return nil }
            return Int(s)
        }
        for (stem, isNorm) in [("fc", false), ("bn", true)] where prefix.hasPrefix(stem) {
            if let n = number(prefix.dropFirst(stem.count)), n >= 1, prefix.dropFirst(stem.count).first != "0" {
                return (.mlp, 0, n, isNorm)
            }
        }
        let parts = prefix.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count == 1, let n = number(parts[0]) { return (.sequential, 0, n, nil) }
        if parts.count == 2, let n = number(parts[1]) {
            if parts[0] == "features" { return (.sequential, 0, n, nil) }
            if parts[0] == "classifier" { return (.sequential, 1, n, nil) }
        }
        return nil
    }

    /// The tensors that are not modules' (`skip` also passes over BatchNorm step counters).
    static func isCounter(_ name: String) -> Bool { name.hasSuffix(".num_batches_tracked") }

    /// The modules of `file` in order, each checked to have the tensors of its kind and no others.
    static func modules(of file: SafeTensorsFile, path: String) throws(TrainerError) -> (Naming, [Module]) {
        func fail(_ reason: String) -> TrainerError { .checkpointMismatch(path: path, reason: "BinaryNet import: " + reason) }
        let names = file.tensors.map(\.name) + file.skipped
        if let xnor = names.first(where: { $0.hasPrefix("bin_conv") || $0.hasPrefix("bin_ip") || $0.hasPrefix("bn_conv") }) {
            throw fail("tensor '\(xnor)' is XNOR-Net-PyTorch's naming (jiecaoyu/XNOR-Net-PyTorch), whose blocks are "
                       + "BatchNorm -> sign -> conv -> ReLU with a real-valued first conv; BitShield's blocks are "
                       + "weights -> BatchNorm -> sign, so that layout is not imported (spec/PYTORCH.md)")
        }
        var byPrefix: [String: [String]] = [:]
        var naming: Naming?
        var prefixOrder: [String] = []
        for name in names {
            guard let dot = name.lastIndex(of: ".") else {
                throw fail("tensor '\(name)' is not a module's tensor (expected NAME.weight, NAME.bias or NAME.running_mean ...)")
            }
            let prefix = String(name[..<dot])
            guard let parsed = parsePrefix(prefix) else {
                throw fail("tensor '\(name)' is in no layout the import knows: BinaryNet.pytorch's MLP (fc1, bn1, ... 1-based) "
                           + "or an nn.Sequential (features.N, classifier.N); a BitShield checkpoint (fc0, bn0, ...) needs its "
                           + "metadata, 'format' = 'bitshield.checkpoint' (spec/PYTORCH.md)")
            }
            if let naming, naming != parsed.naming {
                throw fail("tensor '\(name)' uses the \(parsed.naming.rawValue) naming, the file's first tensors the \(naming.rawValue) naming: one model, one naming")
            }
            naming = parsed.naming
            if byPrefix[prefix] == nil { prefixOrder.append(prefix) }
            byPrefix[prefix, default: []].append(String(name[name.index(after: dot)...]))
        }
        guard let naming else { throw fail("the file holds no tensors") }
        var modules: [Module] = []
        for prefix in prefixOrder {
            let parsed = parsePrefix(prefix)!
            let suffixes = Set(byPrefix[prefix]!)
            let isNorm = parsed.isNorm ?? (suffixes.contains("running_mean") || suffixes.contains("running_var"))
            let allowed: Set<String> = isNorm ? ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"] : ["weight", "bias"]
            if let extra = suffixes.subtracting(allowed).sorted().first {
                throw fail("tensor '\(prefix).\(extra)' is not a tensor of a \(isNorm ? "BatchNorm" : "Linear or Conv2d") (\(allowed.sorted().joined(separator: ", ")))")
            }
            let required = isNorm ? (suffixes.contains("weight") || suffixes.contains("bias") ? ["running_mean", "running_var", "weight", "bias"]
                                                                                                : ["running_mean", "running_var"])
                                  : ["weight"]
            for r in required where file.tensor("\(prefix).\(r)") == nil {
                throw fail(file.absence(of: "\(prefix).\(r)") + (isNorm ? " (BatchNorm '\(prefix)')" : ""))
            }
            var kind = Module.Kind.batchNorm
            if !isNorm {
                let w = file.tensor("\(prefix).weight")!
                switch (w.shape.count, naming) {
                case (2, _): kind = .linear
                case (4, .sequential): kind = .conv
                default:
                    throw fail("tensor '\(prefix).weight' has shape \(w.shape): neither a Linear's [out, in]"
                               + (naming == .sequential ? " nor a Conv2d's [out, in, k, k]" : " (fcI layers are Linear)"))
                }
            }
            modules.append(Module(prefix: prefix, kind: kind, index: parsed.index,
                                  order: (parsed.container, parsed.index, isNorm ? 1 : 0)))
        }
        modules.sort { $0.order < $1.order }
        return (naming, modules)
    }
}
