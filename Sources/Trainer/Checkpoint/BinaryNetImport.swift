// Import of a BinaryNet.pytorch-style MNIST MLP state_dict (itayhubara/BinaryNet.pytorch,
// main_mnist.py; Hubara et al. 2016), as documented in spec/PYTORCH.md:
//   fc1..fc(K-1): BinarizeLinear [out, in] + bias, each followed by bnI (BatchNorm1d) and Hardtanh;
//   fcK: real-valued nn.Linear with bias (the logits);
//   inputs (pixel/255 - mean) / std, 784-wide first layer on the real input, later layers on sign(x).
// The import builds the equivalent BitShield network: 8-bit input, binary hidden layers, a float last
// layer (floatLastLayer), and BatchNorm parameters that absorb the input normalization and the
// BinarizeLinear biases: for y our layer's output and z = a*y + c_o theirs (a = 1/std and
// c_o = b_o - mean/std * sum_i sign(W_oi) for the first layer; a = 1, c_o = b_o after),
//   gamma' = gamma * a,  var' = var,  mean' = (mean - c_o) / a,  beta' = beta,
// which is the same BatchNorm in real arithmetic. Deviations: sign(0) = +1 (torch.sign(0) = 0), and
// float rounding differs from PyTorch's, so predictions agree up to rare ties (measured in the tests).

/// Builds a `Network` from a BinaryNet.pytorch MNIST MLP state_dict.
public enum BinaryNetImport {
    /// Whether `file` looks like such a state_dict (fc1.weight, bn1.*, and a last fcK without bnK).
    public static func matches(_ file: SafeTensorsFile) -> Bool {
        // A tensor of another dtype counts as present here, so `network(from:)` refuses it by name and dtype.
        let present = { (name: String) in file.tensor(name) != nil || file.skipped.contains(name) }
        return present("fc1.weight") && present("bn1.running_mean") && file.metadata["format"] == nil
    }

    /// Tensors of other dtypes the import may pass over: PyTorch's BatchNorm step counters (I64), which
    /// it does not read. Any other non-F32 tensor is refused: skipped, an F64 bias would silently become
    /// zero and an F64 `fcK.weight` would end the layer count early, each a wrong model with exit 0.
    static func ignorable(_ name: String) -> Bool { name.hasSuffix(".num_batches_tracked") }

    /// The equivalent network. `mean` and `std` are the input normalization the model was trained with.
    public static func network(from file: SafeTensorsFile, mean: Float = 0.1307, std: Float = 0.3081,
                               path: String) throws(TrainerError) -> Network {
        func tensor(_ name: String) throws(TrainerError) -> NamedArray {
            guard let t = file.tensor(name) else { throw .checkpointMismatch(path: path, reason: "BinaryNet import: " + file.absence(of: name)) }
            return t
        }
        for (name, dtype) in zip(file.skipped, file.skippedDTypes) where !ignorable(name) {
            throw .checkpointMismatch(path: path, reason: "BinaryNet import: tensor '\(name)' is stored as \(dtype); "
                                      + "the import reads F32 tensors only (save the state_dict after .float())")
        }
        try TrainingConfig.Limits.inputMean.check("input mean", mean)
        try TrainingConfig.Limits.inputStd.check("input std", std)
        try Checkpoint.checkValues(file.tensors, path: path)
        var layers = 0
        while file.tensor("fc\(layers + 1).weight") != nil { layers += 1 }
        guard layers >= 2 else { throw .checkpointMismatch(path: path, reason: "BinaryNet import: needs fc1 and at least one more fc layer") }
        var widths: [Int] = []
        for i in 1...layers {
            let w = try tensor("fc\(i).weight")
            guard w.shape.count == 2 else { throw .checkpointMismatch(path: path, reason: "fc\(i).weight has shape \(w.shape), not [out, in]") }
            if i == 1 {
                guard w.shape[1] == 784 else { throw .checkpointMismatch(path: path, reason: "fc1.weight takes \(w.shape[1]) inputs, not 784") }
            } else {
                guard w.shape[1] == widths.last! else {
                    throw .checkpointMismatch(path: path, reason: "fc\(i).weight takes \(w.shape[1]) inputs, fc\(i - 1) gives \(widths.last!)")
                }
            }
            guard w.shape[0] >= 1 else { throw .checkpointMismatch(path: path, reason: "fc\(i).weight has shape \(w.shape): no outputs") }
            widths.append(w.shape[0])
        }
        // Every bias and BatchNorm tensor has one value per output of its layer (the last layer's: one
        // per class), checked before anything is built: the exporter would write what the reader refuses.
        for i in 1...layers {
            let n = widths[i - 1]
            let what = i == layers ? "\(n) classes (fc\(i).weight has \(n) rows)" : "fc\(i) has \(n) outputs"
            var names = ["fc\(i).bias"]
            if i < layers { names += ["bn\(i).weight", "bn\(i).bias", "bn\(i).running_mean", "bn\(i).running_var"] }
            for name in names {
                guard let t = file.tensor(name) else {
                    if name == "fc\(i).bias" && i < layers { continue }  // a hidden layer's bias is optional
                    throw .checkpointMismatch(path: path, reason: "BinaryNet import: " + file.absence(of: name))
                }
                guard t.values.count == n else {
                    throw .checkpointMismatch(path: path, reason: "BinaryNet import: '\(name)' has \(t.values.count) values (shape \(t.shape)), but \(what)")
                }
            }
        }
        var config = ModelConfig.fcn(hidden: Array(widths.dropLast()), precision: .binary, inputBits: 8)
        config.classes = widths.last!
        config.floatLastLayer = true
        config.dropout = 0
        let net = try Network(config: config, seed: 0)
        let dense = net.layers.compactMap { $0 as? Dense }
        let norms = net.layers.compactMap { $0 as? BatchNorm }
        for i in 0..<layers {
            let w = try tensor("fc\(i + 1).weight")
            dense[i].weight.value = w.values
            guard i < layers - 1 else {
                dense[i].bias!.value = try tensor("fc\(i + 1).bias").values
                break
            }
            let n = widths[i]
            let bias = file.tensor("fc\(i + 1).bias")?.values ?? [Float](repeating: 0, count: n)
            let gamma = try tensor("bn\(i + 1).weight").values, beta = try tensor("bn\(i + 1).bias").values
            let mu = try tensor("bn\(i + 1).running_mean").values, variance = try tensor("bn\(i + 1).running_var").values
            for t in [bias, gamma, beta, mu, variance] where t.count != n {
                throw .checkpointMismatch(path: path, reason: "layer \(i + 1): a BatchNorm or bias tensor has \(t.count) values, the layer has \(n)")
            }
            let fanIn = i == 0 ? 784 : widths[i - 1]
            let a: Float = i == 0 ? 1 / std : 1
            let bn = norms[i]
            for o in 0..<n {
                var c = bias[o]
                if i == 0 {
                    var rowSum: Float = 0
                    for k in 0..<fanIn { rowSum += binarySign(w.values[o * fanIn + k]) }
                    c -= mean / std * rowSum
                }
                bn.gamma.value[o] = gamma[o] * a
                bn.beta.value[o] = beta[o]
                bn.runningMean.value[o] = (mu[o] - c) / a
                bn.runningVar.value[o] = variance[o]
            }
        }
        return net
    }
}
